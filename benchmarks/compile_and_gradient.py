"""Measure compile time, cost per gradient and a short nutpie run on a simulated panel.

    python benchmarks/compile_and_gradient.py [--units 20 --years 40 --draws 200]

Writes benchmarks/results/compile_and_gradient.json and prints a markdown table.
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

import bayescred as bc
from bayescred.fit import _NutpieModel, _ravel
from bayescred.model import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--years", type=int, default=40)
    ap.add_argument("--crises", type=int, default=60)
    ap.add_argument("--draws", type=int, default=200)
    args = ap.parse_args()

    sim = bc.simulate(
        n_units=args.units, n_years=args.years, n_crises=args.crises, missing=0.15, seed=1
    )
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    model = build_model(panel, sim.spec)

    start = time.perf_counter()
    compiled = _NutpieModel.compile(model)
    x = _ravel(compiled.init_fn(1), compiled.value_vars)
    compiled.logp_fn(x)  # numba compiles lazily, on the first call
    compile_s = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(200):
        compiled.logp_fn(x)
    grad_us = (time.perf_counter() - start) / 200 * 1e6

    result = bc.fit(sim.spec, panel, draws=args.draws, tune=args.draws, chains=2,
                    progress=False)
    steps = int(result.idata.sample_stats.n_steps.sum()) * 2  # tuning ~ as many as draws
    figures = {
        "panel": f"{args.units} units x {args.years} years x 4 signals, {args.crises} crises",
        "compile_s": round(compile_s, 1),
        "gradient_us_standalone": round(grad_us, 1),
        "sample_s_2x(draws+tune)": round(result.timing.sample_s, 1),
        "gradient_us_in_nutpie": round(result.timing.sample_s / steps * 2 * 1e6, 1),
        "mean_steps_per_draw": float(result.idata.sample_stats.n_steps.mean()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "corr_with_truth": float(
            np.corrcoef(result.credibility()["mean"], sim.truth.credibility)[0, 1]
        ),
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "compile_and_gradient.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("| figure | value |\n|---|---|")
    for k, v in figures.items():
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
