"""Benchmark bayescred against a straightforward PyMC model and Stan on reference problems.

    python benchmarks/run.py [--problems medium,large] [--engines E1,E2,...]
                             [--draws 1000 --tune N --chains 4] [--timeout-s 900]
                             [--out benchmarks/results] [--readme README.md]

Engines: bayescred-nutpie, bayescred-pymc, bayescred-numpyro, baseline-pymc, stan,
bayescred-advi, bayescred-cli (all by default, in that order; see benchmarks/README.md).
Each engine runs on each problem in its own process (``engines.py``), so peak memory and
cold starts are its own; a process that outlives ``--timeout-s`` is killed and its rows read
``timeout``.  bayescred-nutpie runs twice: a first process fits the problem (``cold``:
numba's disk cache is an empty folder unless ``--keep-numba-cache``) and then new data
of the same structure (``warm: new data``, which must not recompile); a second process
fits the problem again with the disk cache kept (``warm: new process``).  bayescred-cli
times ``bayescred fit`` end to end on the problem's CSVs, cold and warm (its own cache).

Writes ``OUT/latest.json`` and ``OUT/latest.md`` (a header with the machine, the table,
the approximate mode's accuracy and the issue's targets on ``medium``) and prints the
markdown; ``--readme README.md`` also puts it in the README's Performance section
(between ``<!-- benchmark:start -->`` and ``<!-- benchmark:end -->``, added after the
section's heading the first time).  Per-process logs go to ``OUT/logs/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from cpu_probe import cpu_availability, describe  # noqa: E402
from problems import PROBLEMS, names  # noqa: E402


@dataclass(frozen=True)
class Job:
    """One worker process: the engines.py job and the rows (runs) it reports."""

    name: str
    runs: tuple[str, ...]
    numba_cache: bool = False  # runs with the problem's NUMBA_CACHE_DIR
    xla_devices: bool = False  # one JAX host device per chain (parallel numpyro chains)


ENGINES: dict[str, tuple[Job, ...]] = {
    "bayescred-nutpie": (
        Job("nutpie-first", ("cold", "warm: new data"), numba_cache=True),
        Job("nutpie-next", ("warm: new process",), numba_cache=True),
    ),
    "bayescred-pymc": (Job("bayescred-pymc", ("cold",)),),
    "bayescred-numpyro": (Job("bayescred-numpyro", ("cold",), xla_devices=True),),
    "baseline-pymc": (Job("baseline-pymc", ("cold",)),),
    "stan": (Job("stan", ("cold",)),),
    # after nutpie (its reference), with its numba cache (the kernel is compiled by then)
    "bayescred-advi": (Job("bayescred-advi", ("approx",), numba_cache=True),),
    # `bayescred fit` as a user runs it (a numba cache of its own: cold, then warm)
    "bayescred-cli": (Job("bayescred-cli", ("cold", "warm")),),
}
PACKAGES = (
    "bayescred",
    "pymc",
    "pytensor",
    "nutpie",
    "numba",
    "arviz",
    "numpy",
    "jax",
    "numpyro",
    "pystan",
    "httpstan",
    "cmdstanpy",
)
# the targets for bayescred on `medium`
WARM_WALL_S, COLD_WALL_S, WARM_COMPILE_S, APPROX_SD = 20.0, 45.0, 10.0, 0.1
# ... and in ESS per wall second, compilation included (cold rows): how many times the best
# straightforward engine's (the PyMC baseline, or bayescred's model on PyMC's or numpyro's
# NUTS) and Stan's
TIMES_STRAIGHTFORWARD, TIMES_STAN = 5.0, 15.0
STRAIGHTFORWARD = ("baseline-pymc", "bayescred-pymc", "bayescred-numpyro")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    out = args.out.resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    raw = out / "raw"
    shutil.rmtree(raw, ignore_errors=True)  # nutpie reference posteriors of this run only
    raw.mkdir()
    machine = machine_info()
    rows = []
    for problem in args.problems:
        cache = Path(tempfile.mkdtemp(prefix=f"bayescred-numba-{problem}-"))
        try:
            for engine in (e for e in ENGINES if e in args.engines):
                for job in ENGINES[engine]:
                    print(f"[{_now()}] {problem} / {engine} ({job.name}) ...", flush=True)
                    new = run_job(job, engine, problem, args, out, cache)
                    rows += new
                    for r in new:
                        print(f"    {r['run']}: {_brief(r)}", flush=True)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    machine["load_average_end"] = os.getloadavg()
    machine["cpu_probe_end"] = cpu_availability()
    if args.keep_rows_from:
        rows = kept_rows(args.keep_rows_from, args) + rows
    report = {
        "machine": machine,
        "settings": settings(args),
        "problems": {p: PROBLEMS[p].describe() for p in args.problems},
        "rows": rows,
        "targets": targets(rows),
    }
    (out / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = markdown(report)
    (out / "latest.md").write_text(text)
    print(text)
    if args.readme:
        update_readme(args.readme, text)


def kept_rows(path: Path, args) -> list[dict]:
    """Rows of an earlier run (``--keep-rows-from``) for engine / problem pairs not run now,
    so that a change to bayescred can be re-measured without re-running the baselines."""
    earlier = json.loads(path.read_text())
    m = earlier["machine"]
    start, end = (
        "/".join(f"{x:.1f}" for x in m[key]) for key in ("load_average_start", "load_average_end")
    )
    when = f"from the run of {m['date']} (load {start} at its start, {end} at its end)"
    kept = []
    for row in earlier["rows"]:
        if row["engine"] in args.engines and row["problem"] in args.problems:
            continue
        note = row.get("note") or ""
        if "from the run of" not in note:  # else the earlier run had kept it: already said
            note = "; ".join(n for n in (note, when) if n)
        kept.append({**row, "note": note})
    return kept


def parse(argv):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--problems", default="medium,large", help=f"comma-separated, of {', '.join(PROBLEMS)}"
    )
    ap.add_argument(
        "--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}"
    )
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument(
        "--tune",
        type=int,
        default=None,
        help="warm-up per chain; default: each engine's own (bayescred's; 1000 for the baselines)",
    )
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1, help="sampler seed")
    ap.add_argument(
        "--timeout-s",
        type=float,
        default=900.0,
        help="wall-clock limit of one engine process (default 900)",
    )
    ap.add_argument(
        "--keep-numba-cache",
        action="store_true",
        help="nutpie's cold run uses numba's usual disk cache, not an empty one",
    )
    ap.add_argument(
        "--keep-rows-from",
        type=Path,
        help="a previous latest.json: its rows of engines (or problems) not run now are kept, "
        "marked with that run's date and load",
    )
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--readme", type=Path, help="also write the table into this README")
    args = ap.parse_args(argv)
    args.problems = names(args.problems, PROBLEMS, ap, "problem")
    args.engines = names(args.engines, ENGINES, ap, "engine")
    args.command = " ".join(
        ["python", "benchmarks/run.py", *map(shlex.quote, argv or sys.argv[1:])]
    )
    return args


# ---------------------------------------------------------------------------- one job


def run_job(job: Job, engine: str, problem: str, args, out: Path, cache: Path) -> list[dict]:
    """Run one worker process; its rows, with peak memory, timeout and errors filled in."""
    rows_file = out / "logs" / f"{problem}-{job.name}.jsonl"
    log = out / "logs" / f"{problem}-{job.name}.log"
    rows_file.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(HERE / "engines.py"),
        job.name,
        problem,
        "--rows",
        str(rows_file),
        "--draws",
        str(args.draws),
        *(["--tune", str(args.tune)] if args.tune is not None else []),
        "--chains",
        str(args.chains),
        "--seed",
        str(args.seed),
        "--reference",
        str(out / "raw"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if job.numba_cache and not args.keep_numba_cache:
        env["NUMBA_CACHE_DIR"] = str(cache)
    if job.xla_devices and "XLA_FLAGS" not in env:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.chains}"
    with log.open("w") as f:
        proc = subprocess.Popen(
            cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        code, timed_out, peak_proc, peak_tree = _watch(proc, args.timeout_s)
    found, error = [], None
    if rows_file.exists():
        for line in rows_file.read_text().splitlines():
            item = json.loads(line)
            if "error" in item:
                error = item["error"]
            else:
                found.append(item)
    done = {r["run"] for r in found}
    for run in job.runs:
        if run in done:
            continue
        if timed_out:
            status = f"timeout (> {args.timeout_s:.0f} s)"
        else:
            status = f"error: {error or f'exit code {code}'}"
        found.append({"problem": problem, "engine": engine, "run": run, "status": status})
    for r in found:
        r.update(
            peak_rss_mb=max(peak_proc, peak_tree),
            peak_process_rss_mb=peak_proc,
            job=job.name,
            log=str(log.relative_to(out)),
        )
    return found


def _watch(proc: subprocess.Popen, timeout_s: float) -> tuple[int, bool, float, float]:
    """Wait for ``proc``, killing its process group after ``timeout_s``.  Returns the exit
    code, whether it timed out, the max RSS of its largest process (MB, from wait4) and the
    peak of the summed RSS of its process tree (MB, sampled; 0 without psutil)."""
    start, peak_tree, timed_out = time.monotonic(), 0.0, False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_tree = max(peak_tree, _tree_rss_mb(proc.pid))
        if time.monotonic() - start > timeout_s:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if not timed_out:
        _kill_leftovers(proc.pid)
    return proc.returncode, timed_out, usage.ru_maxrss / 1024, peak_tree


def _tree_rss_mb(pid: int) -> float:
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _kill_leftovers(pgid: int) -> None:
    """A worker's own children (sampler pools, servers) must not outlive it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------- report


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)),
        "cores_machine": os.cpu_count(),
        "ram_gib": ram_gib,
        "load_average_start": os.getloadavg(),
        "cpu_probe_start": cpu_availability(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _tune_text(tune) -> str:
    if tune is not None:
        return f"{tune} tune"
    return "tune: each engine's default, 600 for bayescred-nutpie and 1000 for the others;"


def settings(args) -> dict:
    return {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "seed": args.seed,
        "timeout_s": args.timeout_s,
        "fresh_numba_cache": not args.keep_numba_cache,
        "command": args.command,
    }


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets for bayescred on ``medium`` (only those the run measured)."""
    by_run = {
        r["run"]: r
        for r in rows
        if r["problem"] == "medium" and r["engine"] == "bayescred-nutpie" and r["status"] == "ok"
    }
    out = []

    def add(target: str, value, met: bool) -> None:
        out.append({"target": target, "value": value, "met": bool(met)})

    for run, r in by_run.items():
        add(
            f"converged ({run}): R-hat <= 1.01, bulk ESS >= 400, 0 divergences",
            f"R-hat {r['max_rhat']:.3f}, ESS {r['min_ess_bulk']:.0f}, {r['divergences']} div.",
            r["converged"],
        )
        limit = COLD_WALL_S if run == "cold" else WARM_WALL_S
        add(f"wall ({run}) <= {limit:.0f} s", f"{r['wall_s']:.1f} s", r["wall_s"] <= limit)
        if run != "cold":
            add(
                f"compile ({run}) <= {WARM_COMPILE_S:.0f} s",
                f"{r['compile_s']:.1f} s",
                r["compile_s"] <= WARM_COMPILE_S,
            )
    if "warm: new data" in by_run:
        r = by_run["warm: new data"]
        add("new data, same structure: no recompilation", f"cached={r['cached']}", r["cached"])
    out += _speedups(rows)
    for r in rows:
        if r["problem"] == "medium" and r["engine"] == "bayescred-advi" and r["status"] == "ok":
            add(
                f"approximate mode: credibility means within {APPROX_SD} posterior sd of NUTS",
                f"max {r['approx_max_err_sd']:.3f} sd",
                r["approx_within"],
            )
    return out


def _speedups(rows: list[dict]) -> list[dict]:
    """ESS per wall second of bayescred's cold runs (``bc.fit``, and the ``bayescred fit``
    command where it ran) against the best straightforward engine's and Stan's on
    ``medium``: one target per comparison whose rows the run has (a baseline that timed
    out has no ESS, so it is listed as unmeasured)."""
    medium = [r for r in rows if r["problem"] == "medium"]
    ours = [
        r for r in medium
        if r["engine"] in ("bayescred-nutpie", "bayescred-cli") and r["run"] == "cold"
        and r["status"] == "ok"
    ]  # fmt: skip
    out = []
    for label, engines, times in (
        ("the best straightforward engine", STRAIGHTFORWARD, TIMES_STRAIGHTFORWARD),
        ("Stan", ("stan",), TIMES_STAN),
    ):
        theirs = [r for r in medium if r["engine"] in engines]
        if not ours or not theirs:
            continue
        done = [r for r in theirs if r["status"] == "ok" and r.get("ess_per_s")]
        if not done:
            why = "; ".join(sorted({f"{r['engine']}: {r['status']}" for r in theirs}))
            out.append({
                "target": f"ESS/s (cold) >= {times:.0f}x {label}'s",
                "value": f"unmeasured ({why})",
                "met": False,
            })  # fmt: skip
            continue
        best = max(done, key=lambda r: r["ess_per_s"])
        unfinished = "".join(
            f"; {r['engine']}: {r['status']}" for r in theirs if r["status"] != "ok"
        )
        for r in ours:
            ratio = r["ess_per_s"] / best["ess_per_s"]
            out.append({
                "target": f"ESS/s (cold, {r['engine']}) >= {times:.0f}x {label}'s",
                "value": (
                    f"{r['ess_per_s']:.1f} / {best['ess_per_s']:.2f} ({best['engine']}) "
                    f"= {ratio:.1f}x{unfinished}"
                ),
                "met": ratio >= times,
            })  # fmt: skip
    return out


COLUMNS = (
    ("problem", "problem", "{}"),
    ("engine", "engine", "{}"),
    ("run", "run", "{}"),
    ("tune", "tune", "{}"),
    ("compile_s", "compile s", "{:.1f}"),
    ("sample_s", "sample s", "{:.1f}"),
    ("wall_s", "wall s", "{:.1f}"),
    ("min_ess_bulk", "min bulk ESS", "{:.0f}"),
    ("min_ess_tail", "min tail ESS", "{:.0f}"),
    ("ess_per_s", "bulk ESS/s", "{:.1f}"),
    ("max_rhat", "max R-hat", "{:.3f}"),
    ("divergences", "div.", "{}"),
    ("steps_per_draw", "steps/draw", "{:.1f}"),
    ("peak_rss_mb", "peak MB", "{:.0f}"),
    ("converged", "converged", "{}"),
)


def _cell(r: dict, key: str, fmt: str) -> str:
    value = r.get(key)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    return fmt.format(value)


def _notes(r: dict) -> str:
    if r["status"] != "ok":
        return "; ".join(n for n in (r["status"], r.get("note")) if n)
    notes = []
    if r.get("worst"):
        notes.append(f"lowest ESS: {r['worst']}")
    if r["engine"] == "bayescred-nutpie" and r["run"] == "warm: new data":
        notes.append("no recompile" if r.get("cached") else "recompiled")
    if r.get("note"):
        notes.append(r["note"])
    return "; ".join(notes)


def markdown(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    load = "/".join(f"{x:.1f}" for x in m["load_average_start"])
    load_end = "/".join(f"{x:.1f}" for x in m["load_average_end"])
    ram = f"{m['ram_gib']:.0f} GiB RAM" if m["ram_gib"] else "RAM unknown"
    lines = [
        "# bayescred benchmark",
        "",
        f"Run {m['date']} on {m['cpu']}, {m['cores_available']} cores available "
        f"(of {m['cores_machine']}), {ram}; load average {load} at the start, "
        f"{load_end} at the end; {m['os']}, Python {m['python']}.",
        "",
        f"CPU delivered (`benchmarks/cpu_probe.py`): at the start "
        f"{describe(m.get('cpu_probe_start'))}; at the end {describe(m.get('cpu_probe_end'))}. "
        "A loss of L stretches every engine's wall time by about 1 / (1 - L).",
        "",
        f"Packages: {pkgs}.",
        "",
        f"Sampling: {s['chains']} chains x ({_tune_text(s['tune'])} + {s['draws']} draws), "
        f"seed "
        f"{s['seed']}; at most {s['timeout_s']:.0f} s per engine process. "
        f"Command: `{s['command']}`",
        "",
        "Problems (simulated by `bc.simulate`, see `benchmarks/problems.py`):",
        "",
        *[f"- `{name}`: {text}" for name, text in report["problems"].items()],
        "",
        "ESS and R-hat over credibility and every hyperparameter; bulk ESS/s = min bulk ESS "
        "/ wall s; converged = max R-hat <= 1.01, min bulk ESS >= 400 and no divergences. "
        "See `benchmarks/README.md` for how to read each column.",
        "",
    ]
    sampled = [r for r in report["rows"] if r["engine"] != "bayescred-advi"]
    lines += (
        []
        if not sampled
        else [
            "| " + " | ".join(h for _, h, _ in COLUMNS) + " | notes |",
            "|" + "---|" * (len(COLUMNS) + 1),
        ]
    )
    for r in sampled:
        cells = [_cell(r, k, f) for k, _, f in COLUMNS]
        if r["status"] != "ok":
            cells = cells[:3] + ["–"] * (len(COLUMNS) - 3)
        lines.append("| " + " | ".join(cells) + f" | {_notes(r)} |")
    approx = [r for r in report["rows"] if r["engine"] == "bayescred-advi"]
    if approx:
        lines += [
            "",
            "Approximate mode (`sampler=\"advi\"`, bayescred.approx): credibility means "
            "against the bayescred-nutpie posterior, |mean_ADVI - mean_NUTS| / sd_NUTS over "
            "the active unit-years; Pareto k of the importance ratios p/q.",
            "",
            "| problem | engine | wall s | compile s | iterations | Pareto k | max error (sd) "
            "| p95 error (sd) | mean error (sd) | within 0.1 sd | peak MB | notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in approx:
            if r["status"] != "ok":
                lines.append(
                    f"| {r['problem']} | {r['engine']} |" + " – |" * 9 + f" {r['status']} |"
                )
                continue
            lines.append(
                f"| {r['problem']} | {r['engine']} | {r['wall_s']:.1f} "
                f"| {r.get('compile_s', float('nan')):.1f} | {r['iterations']} "
                f"| {r.get('pareto_k', float('nan')):.2f} | {r['approx_max_err_sd']:.3f} "
                f"| {r.get('approx_p95_err_sd', float('nan')):.3f} "
                f"| {r['approx_mean_err_sd']:.3f} "
                f"| {_cell(r, 'approx_within', '{}')} | {r['peak_rss_mb']:.0f} "
                f"| {r.get('note', '')} |"
            )
    if report["targets"]:
        lines += [
            "",
            "Targets of the performance issue (bayescred-nutpie on `medium`):",
            "",
            "| target | measured | met |",
            "|---|---|---|",
        ]
        for t in report["targets"]:
            lines.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def _brief(r: dict) -> str:
    if r["status"] != "ok":
        return r["status"]
    if "approx_max_err_sd" in r:
        return f"wall {r['wall_s']:.1f} s, max error {r['approx_max_err_sd']:.3f} sd"
    return (
        f"wall {r['wall_s']:.1f} s (compile {r['compile_s']:.1f}), min bulk ESS "
        f"{r['min_ess_bulk']:.0f}, R-hat {r['max_rhat']:.3f}, {r['divergences']} div."
    )


START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def update_readme(path: Path, text: str) -> None:
    """Put ``text`` (its title dropped) between the markers in ``path``'s Performance
    section; the markers are added after the section's heading the first time."""
    body = text.split("\n", 2)[2] if text.startswith("# ") else text
    block = f"{START}\n{body.rstrip()}\n{END}"
    readme = path.read_text()
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        readme = head + block + rest.split(END, 1)[1]
    else:
        heading = "## Performance\n"
        if heading not in readme:
            raise SystemExit(f"{path}: no '## Performance' section to put the table in")
        readme = readme.replace(heading, f"{heading}\n{block}\n", 1)
    path.write_text(readme)


def _now() -> str:
    return dt.datetime.now().strftime("%H:%M:%S")


if __name__ == "__main__":
    main()
