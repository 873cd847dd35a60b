"""CI: build the wheel, install it in a fresh virtual environment, run ``bayescred demo``.

What a user of ``pip install .`` (not editable) gets must fit the bundled example end to
end, without the source tree: the demo runs from an empty temporary folder, with
``PYTHONPATH`` unset, and the script checks that ``bayescred`` and its example specs are
imported from the virtual environment. Before installing it checks that the wheel holds
every example file of ``models/`` and ``data/`` byte for byte (``setup.py`` copies them
into ``bayescred/_bundled``) and the license.

Usage: ``python .ci/wheel_demo.py [--keep]`` (``--keep`` leaves the temporary folder).
Prints the time of each step; exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLE = "bayescred/_bundled"
EXAMPLES = ("models/*.toml", "data/*/*.csv", "data/README.md")  # as in setup.py
DEMO_FILES = ("result.nc", "credibility.csv", "report.md", "diagnostics.json")


def step(name: str, cmd: list[str], timings: dict, **kwargs) -> subprocess.CompletedProcess:
    print(f"--- {name}: {' '.join(map(str, cmd))}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, text=True, **kwargs)
    timings[name] = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"wheel_demo: {name} failed with exit status {done.returncode}")
    return done


def check_wheel(wheel: Path) -> None:
    """The wheel holds each example file with the repository's bytes, and the license."""
    expected = sorted({p.relative_to(REPO) for g in EXAMPLES for p in REPO.glob(g)})
    if not any(p.parts[0] == "models" for p in expected):
        sys.exit(f"wheel_demo: no example specs under {REPO / 'models'}")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        missing = [str(p) for p in expected if f"{BUNDLE}/{p.as_posix()}" not in names]
        if missing:
            sys.exit(f"wheel_demo: {wheel.name} lacks {', '.join(missing)}")
        differ = [
            str(p)
            for p in expected
            if zf.read(f"{BUNDLE}/{p.as_posix()}") != (REPO / p).read_bytes()
        ]
        if differ:
            sys.exit(f"wheel_demo: {wheel.name} holds other bytes for {', '.join(differ)}")
        extra = sorted(n for n in names if n.startswith(BUNDLE + "/") and not n.endswith("/"))
        if len(extra) != len(expected):
            sys.exit(f"wheel_demo: unexpected files in {BUNDLE}: {extra}")
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode()
        if "License-Expression: MIT" not in text or not any(
            n.endswith(".dist-info/licenses/LICENSE") for n in names
        ):
            sys.exit(f"wheel_demo: {wheel.name} lacks the MIT license metadata or file")
    print(f"wheel holds {len(expected)} example files, byte for byte, and the license")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bayescred-wheel-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    timings: dict[str, float] = {}
    total = time.perf_counter()
    try:
        dist, venv, run = tmp / "dist", tmp / "venv", tmp / "run"
        run.mkdir()
        step(
            "build wheel",
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, REPO],
            timings,
            env=env,
        )
        (wheel,) = dist.glob("bayescred-*.whl")
        check_wheel(wheel)
        step("create venv", [sys.executable, "-m", "venv", venv], timings, env=env)
        python, bayescred = venv / "bin" / "python", venv / "bin" / "bayescred"
        step("install wheel", [python, "-m", "pip", "install", "-q", wheel], timings, env=env)
        where = step(
            "import check",
            [
                python,
                "-c",
                "import bayescred, bayescred.datasets as d; "
                "print(bayescred.__file__); print(d._models_dir()); print(d.list_examples())",
            ],
            timings,
            cwd=run,
            env=env,
            capture_output=True,
        ).stdout
        print(where, end="")
        package, models, _ = where.splitlines()
        for path in (package, models):
            if not Path(path).resolve().is_relative_to(venv.resolve()):
                sys.exit(f"wheel_demo: {path} is not inside the virtual environment {venv}")
        step("bayescred demo", [bayescred, "demo", "--out", "out"], timings, cwd=run, env=env)
        absent = [f for f in DEMO_FILES if not (run / "out" / f).is_file()]
        if absent:
            sys.exit(f"wheel_demo: the demo wrote no {', '.join(absent)} in {run / 'out'}")
    finally:
        timings["total"] = time.perf_counter() - total
        print("wheel_demo timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("wheel_demo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
