"""How the preconditioner's spread map changes mixing: ``bc.fit`` on several data sets of
one problem, at several ``spread_scale`` settings, with everything else the default.

    python benchmarks/spread_scales.py [--problem medium] [--seeds=-,1001,...,1008]
                                       [--scales 0.4,0.6,1] [--out benchmarks/results]

Why (benchmarks/README.md, Performance history, "R-hat: the floor of the criterion"):
through the ADVI preconditioner alone NUTS sees a nearly isotropic posterior, where
every direction turns at the same rate, so a trajectory brings each credibility value
near the mirror image of its start: the draws are antithetic and their distances from
the median correlated (folded ESS ~0.4 of the draws), and credibility's largest folded
R-hat sits near 1.01. The spread map (``kernel.model.KernelModel.spread_map``) shows NUTS the
random walk's coordinates at scales spread from ``spread_scale`` to 1 in rotated blocks,
so directions turn at different rates; 1 switches it off. This script is how the default
was chosen.

Per fit: wall time (warm: the kernel is compiled before the first), leapfrog steps per
draw, divergences; credibility's bulk and folded ESS (median value, lowest) and largest
folded R-hat; the hyperparameters' lowest bulk ESS and largest R-hat.  Then, per scale,
the spread of those figures over the data sets.  Writes ``spread_scales_PROBLEM.json``
(every fit) and ``spread_scales_PROBLEM.md`` (both tables, also printed).  The default,
9 data sets x 3 scales of ``medium``, takes ~6 minutes on two cores (a ``large`` fit
takes ~3-4 minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import RHAT_MAX, convergence  # noqa: E402
from problems import PROBLEMS, markdown_table, numbers  # noqa: E402
from rhat_floor import mixing_figures  # noqa: E402

import bayescred as bc  # noqa: E402
from bayescred.diagnostics import reported_variables  # noqa: E402


def fit_once(problem: str, seed: int | None, scale: float, draws: int | None = None) -> dict:
    """One ``bc.fit`` at ``spread_scale`` ``scale``, and its mixing figures."""
    spec, panel, _ = PROBLEMS[problem](seed)
    spec = spec.with_sampler(spread_scale=scale, draws=draws)
    start = time.perf_counter()
    result = bc.fit(spec, panel, progress=False)
    wall = time.perf_counter() - start
    names = reported_variables(result)
    hyper = convergence(result.idata, [v for v in names if v != "credibility"])
    cred = result.idata.posterior["credibility"].values
    figures = mixing_figures(np.moveaxis(cred.reshape(*cred.shape[:2], -1), 2, 0))
    return {
        "problem": problem,
        "seed": seed,
        "spread_scale": scale,
        "wall_s": wall,
        "steps_per_draw": hyper["steps_per_draw"],
        "divergences": hyper["divergences"],
        "credibility_ess_bulk_median": figures["ess_bulk_median"],
        "credibility_ess_folded_median": figures["ess_folded_median"],
        "credibility_ess_folded_min": figures["ess_folded_min"],
        "credibility_max_rhat": figures["max_rhat"],
        "hyper_min_ess_bulk": hyper["min_ess_bulk"],
        "hyper_lowest": hyper["worst"],
        "hyper_max_rhat": hyper["max_rhat"],
    }


def fits_table(fits: list[dict]) -> str:
    head = ["data set", "spread_scale", "wall s", "steps/draw", "div.", "credibility: bulk ESS",
            "folded ESS median (lowest)", "max R-hat", "hyperparameters: min bulk ESS",
            "max R-hat"]  # fmt: skip
    rows = [
        [f["seed"] or "default", f["spread_scale"], f"{f['wall_s']:.1f}",
         f"{f['steps_per_draw']:.1f}", f["divergences"],
         f"{f['credibility_ess_bulk_median']:,.0f}",
         f"{f['credibility_ess_folded_median']:,.0f} ({f['credibility_ess_folded_min']:,.0f})",
         f"{f['credibility_max_rhat']:.4f}",
         f"{f['hyper_min_ess_bulk']:,.0f} ({f['hyper_lowest']})", f"{f['hyper_max_rhat']:.4f}"]
        for f in fits
    ]  # fmt: skip
    return markdown_table(head, rows)


def summary_table(fits: list[dict]) -> str:
    """Per scale: the range of each figure over the data sets, and how many data sets
    have a credibility value or a hyperparameter over the benchmark's R-hat bound."""
    head = ["spread_scale", "data sets", "wall s", "steps/draw",
            "credibility: folded ESS (median value)", "max R-hat (median)",
            f"data sets over {RHAT_MAX}", "hyperparameters: min bulk ESS", "max R-hat",
            "divergences"]  # fmt: skip

    def span(rows, key, fmt):
        values = [r[key] for r in rows]
        return f"{min(values):{fmt}}-{max(values):{fmt}}"

    lines = []
    for scale in sorted({f["spread_scale"] for f in fits}, reverse=True):
        rows = [f for f in fits if f["spread_scale"] == scale]
        rhat = [max(r["credibility_max_rhat"], r["hyper_max_rhat"]) for r in rows]
        median = np.median([r["credibility_max_rhat"] for r in rows])
        lines.append([
            scale, len(rows), span(rows, "wall_s", ".1f"), span(rows, "steps_per_draw", ".1f"),
            span(rows, "credibility_ess_folded_median", ",.0f"),
            f"{span(rows, 'credibility_max_rhat', '.4f')} ({median:.4f})",
            sum(v > RHAT_MAX for v in rhat), span(rows, "hyper_min_ess_bulk", ",.0f"),
            span(rows, "hyper_max_rhat", ".4f"), sum(r["divergences"] for r in rows),
        ])  # fmt: skip
    return markdown_table(head, lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="medium", choices=sorted(PROBLEMS))
    parser.add_argument(
        "--seeds", type=numbers(int, blank="-"), default="-,1001,1002,1003,1004,1005,1006,"
        "1007,1008", help="'-': the problem's own seed (write --seeds=-,1001: argparse reads "
        "a value that starts with '-' as an option)",
    )  # fmt: skip
    parser.add_argument("--scales", type=numbers(float), default="0.4,0.6,1")
    parser.add_argument("--draws", type=int, default=None, help="draws per chain (default 1000)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if not all(0 < s <= 1 for s in args.scales):
        parser.error(f"--scales must lie in (0, 1]: got {args.scales}")
    fits = []
    for seed in args.seeds:
        for scale in args.scales:
            fits.append(fit_once(args.problem, seed, scale, args.draws))
            print(fits_table(fits[-1:]).splitlines()[-1], flush=True)
    report = f"{fits_table(fits)}\n\n{summary_table(fits)}"
    print("\n" + report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"spread_scales_{args.problem}"
    stem.with_suffix(".json").write_text(json.dumps(fits, indent=1) + "\n")
    stem.with_suffix(".md").write_text(report + "\n")


if __name__ == "__main__":
    main()
