"""Time the what-if engines: fast inside Python, fast end to end on the command line, exact.

    python benchmarks/whatif_speed.py [--units 12 --years 30 --draws 500 --repeats 10]
    python benchmarks/whatif_speed.py --example us_alliances      # the real panel

Fits a panel (simulated by default), saves it, writes a scenario that shifts a signal in
the data years, shifts it again in the horizon's years and adds a hypothetical violated
crisis, then times

* ``bc.whatif(result, scenario, engine="fast")`` in Python (median of ``--repeats``);
* ``bayescred whatif RESULT.nc SCENARIO.toml --out DIR --engine fast`` end to end in a
  fresh process (median of 3), and, to show how much of it is start-up, the imports in
  a fresh process: ``import bayescred`` (lazy: names load on first use), the modules the
  fast engine runs on, and the whole API (``from bayescred import *``: PyMC, ArviZ);
* ``engine="exact"`` once (a re-fit of the compiled model on the scenario's data).

Writes benchmarks/results/whatif_speed.json and prints a markdown table.  The machine's
load average is recorded with the figures: timings on a busy machine are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import bayescred as bc

HERE = Path(__file__).resolve().parent


def scenario_for(result) -> bc.Scenario:
    """A shift in the data years, a shift in the horizon's years, a violated crisis."""
    obs = result.panel.observations
    last = int(result.panel.years[-1])
    units = result.panel.units
    member = units.member.value_counts().index[0]  # a member with the most commitments
    alliance = units.alliance[units.member == member].iloc[0]
    mine = obs[(obs.member == member) & (obs.alliance == alliance)]
    # a continuous signal if there is one (a shifted count may round back to itself)
    continuous = [
        s
        for s in mine.signal.unique()
        if result.spec.signals[s].family in ("gaussian", "lognormal", "beta")
    ]
    signal = continuous[0] if continuous else mine.signal.value_counts().index[0]
    years = sorted(mine[mine.signal == signal].year)[-3:]
    return (
        bc.Scenario("benchmark", horizon=3)
        .shift(member, alliance, signal, years, factor=1.2)
        .shift(member, alliance, signal, [last + 1, last + 2], factor=1.2)
        .crisis(member, alliance, last + 1, "violated")
    )


def timed(fn, repeats: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), out


def run_cli(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=12)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--example", default=None, help="a bundled example instead of a simulation")
    ap.add_argument("--no-exact", action="store_true", help="skip the exact engine")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    if args.example:
        from bayescred.datasets import load_example

        panel, spec = load_example(args.example)
        label = f"{args.example}: {len(panel.units)} units x {len(panel.years)} years"
    else:
        spec = bc.default_spec()
        sim = bc.simulate(
            spec, n_units=args.units, n_years=args.years, n_crises=40, missing=0.1, seed=1
        )
        panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)
        label = f"simulated: {args.units} units x {args.years} years x 4 signals"
    result = bc.fit(
        spec, panel, draws=args.draws, tune=args.draws, chains=2, seed=1, progress=False
    )
    scenario = scenario_for(result)
    figures: dict = {
        "panel": label,
        "draws": f"2 chains x {args.draws}",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "scenario": scenario.to_dict(),
    }

    bc.whatif(result, scenario, engine="fast")  # warm-up: first-call imports
    median, best, answer = timed(lambda: bc.whatif(result, scenario, engine="fast"), args.repeats)
    figures |= {
        "fast_python_median_s": round(median, 3),
        "fast_python_min_s": round(best, 3),
        "fast_pareto_k": None if answer.pareto_k is None else round(answer.pareto_k, 3),
    }
    print(figures, flush=True)
    median, _, _ = timed(lambda: bc.forecast(result, 5), args.repeats)
    figures["forecast_python_median_s"] = round(median, 3)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = result.save(tmp / "result.nc")
        median, _, _ = timed(lambda: bc.whatif(bc.load(path), scenario, engine="fast"), 3)
        figures["fast_python_from_file_median_s"] = round(median, 3)
        toml = tmp / "scenario.toml"
        toml.write_text(scenario.to_toml())
        exe = [
            sys.executable,
            "-m",
            "bayescred.cli",
            "whatif",
            str(path),
            str(toml),
            "--engine",
            "fast",
        ]
        cli = [run_cli([*exe, "--out", str(tmp / f"out{i}")]) for i in range(3)]
        imports = {
            "import_bayescred_median_s": "import bayescred",
            "import_fast_path_median_s": "import bayescred.cli, bayescred.whatif",
            "import_everything_median_s": "from bayescred import *",
        }
        figures["fast_cli_median_s"] = round(statistics.median(cli), 2)
        for key, code in imports.items():
            start = [run_cli([sys.executable, "-c", code]) for _ in range(3)]
            figures[key] = round(statistics.median(start), 2)
        print(figures, flush=True)

    if not args.no_exact:
        exact = bc.whatif(result, scenario, engine="exact")
        figures |= {
            "exact_total_s": round(exact.timings["total_s"], 2),
            "exact_compile_s": round(exact.timings["compile_s"], 2),
            "exact_sample_s": round(exact.timings["sample_s"], 2),
        }
        same_grid = bc.Scenario("shift only", shifts=scenario.shifts[:1])
        exact = bc.whatif(result, same_grid, engine="exact")
        figures |= {
            "exact_same_grid_total_s": round(exact.timings["total_s"], 2),
            "exact_same_grid_compile_s": round(exact.timings.get("compile_s", 0.0), 2),
        }
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    out = HERE / "results" / "whatif_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for key, value in figures.items():
        if key != "scenario":
            print(f"| {key} | {value} |")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
