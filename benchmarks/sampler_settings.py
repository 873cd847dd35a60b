"""Compare nutpie settings of bayescred's sampler on several data sets of one problem.

    python benchmarks/sampler_settings.py [--problem medium] [--seeds 1001,1002,1003]
                                          [--jitter 0.1,0.3] [--out FILE.jsonl]

For each data set (``PROBLEMS[problem](seed)``) and each step-size jitter, fits the panel
with ``bc.fit`` (4 chains x 1000 draws, the default warm-up, sampler seed 1) in this one
process, so only the first fit compiles, and prints one line per fit: wall time, leapfrog
steps per draw, the lowest bulk ESS over credibility and every hyperparameter and which
variable has it, that ESS per wall second, the largest R-hat over the hyperparameters and
over credibility, and divergences.  The fits of one data set run back to back, so a
machine that slows for a minute slows both settings alike; each line is also appended
to ``--out`` as JSON.

This is how the default ``step_size_jitter`` (0.3) was chosen; one data set differs from
the next by as much as the settings do (``tau``'s ESS ranges 460-940 over seeds), so
compare settings over several.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import convergence  # noqa: E402
from problems import PROBLEMS, numbers  # noqa: E402

import bayescred as bc  # noqa: E402
from bayescred.diagnostics import reported_variables  # noqa: E402


def fit_once(problem: str, seed: int, jitter: float) -> dict:
    spec, panel, _ = PROBLEMS[problem](seed)
    spec = spec.with_sampler(step_size_jitter=jitter)
    start = time.perf_counter()
    result = bc.fit(spec, panel, draws=1000, chains=4, seed=1, progress=False)
    wall = time.perf_counter() - start
    names = reported_variables(result)
    hyper = convergence(result.idata, [v for v in names if v != "credibility"])
    cred = convergence(result.idata, ["credibility"])  # the benchmark's figures, per part
    lowest = min(hyper, cred, key=lambda part: part["min_ess_bulk"])
    return {
        "problem": problem,
        "seed": seed,
        "step_size_jitter": jitter,
        "wall_s": round(wall, 1),
        "first_in_process": not result.timing.cached,  # loaded (or compiled) the kernel
        "steps_per_draw": round(hyper["steps_per_draw"], 1),
        "min_bulk_ess": round(lowest["min_ess_bulk"]),
        "worst": lowest["worst"],
        "ess_per_s": round(lowest["min_ess_bulk"] / wall, 1),
        "max_rhat_hyper": round(hyper["max_rhat"], 4),
        "max_rhat_credibility": round(cred["max_rhat"], 4),
        "divergences": hyper["divergences"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", default="medium", choices=sorted(PROBLEMS))
    ap.add_argument(
        "--seeds", type=numbers(int), default="1001,1002,1003", help="data sets (problem seeds)"
    )
    ap.add_argument(
        "--jitter",
        type=numbers(float),
        default="0.1,0.3",
        help="step_size_jitter values to compare",
    )
    ap.add_argument("--out", type=Path, help="append one JSON line per fit to this file")
    args = ap.parse_args(argv)
    seeds, jitters = args.seeds, args.jitter
    for seed in seeds:
        for jitter in jitters:
            line = fit_once(args.problem, seed, jitter)
            print(json.dumps(line), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
