"""How low the benchmark's max R-hat can go: nutpie's NUTS on independent standard
normals, as many as a problem has credibility values, at bayescred's sampler settings.

    python benchmarks/rhat_floor.py [--problems medium,large] [--seeds 1,2,3,4,5]
                                    [--draws 1000,2000] [--out benchmarks/results]

The benchmark calls a fit converged when R-hat <= 1.01 for every value of credibility
(1,800 on ``medium``, 15,000 on ``large``) and every hyperparameter.  ArviZ's R-hat is the
larger of two rank-normalised split R-hats: of the draws, and of their distance from the
median (the *folded* draws), which compares the chains' spreads.  NUTS's draws of a
near-Gaussian value are antithetic (bulk ESS above the number of draws), but their
distances from the median are positively autocorrelated, so the folded statistic rests
on ~40% as many effective draws, and the largest of thousands of such R-hats lies far in
the tail of its distribution.

This script measures that tail where no model can be the cause: a posterior of ``d``
independent N(0, 1), what a perfect preconditioner would show nutpie (bayescred's ADVI
map comes close), sampled with the settings ``bc.fit`` gives nutpie (4 chains, 600
warm-up draws, ``target_accept`` and ``step_size_jitter`` of ``SamplerSpec``).  Per run
it reports leapfrog steps per draw, bulk and folded ESS (median and lowest over the
values), the largest bulk and folded R-hat and how many values exceed 1.01: the floor of
the criterion at that number of draws for NUTS on a whitened posterior.  (A posterior
whose directions have different scales can do better on the folded statistic: its
trajectories leave each value at no particular angle from its start.)

Writes ``rhat_floor.json`` (every run) and ``rhat_floor.md`` (the table, also printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import RHAT_MAX  # noqa: E402  (the benchmark's convergence bound)
from problems import PROBLEMS, markdown_table, names, numbers  # noqa: E402

from bayescred import mixing  # noqa: E402
from bayescred.spec import PRECONDITIONED_TUNE, SamplerSpec  # noqa: E402


def credibility_values(problem: str) -> int:
    """How many credibility values (units x years) a problem's fit reports."""
    shape = PROBLEMS[problem].shape
    return shape["n_units"] * shape["n_years"]


def compile_normal(dims: int):
    """nutpie's compiled model of ``dims`` independent N(0, 1)."""
    import nutpie
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", shape=dims)
    return nutpie.compile_pymc_model(model)


def sample_once(compiled, draws: int, seed: int, chains: int = 4) -> dict:
    """One run at bc.fit's nutpie settings; the mixing figures of its ``dims`` values."""
    import nutpie

    defaults = SamplerSpec()
    start = time.perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=draws,
        tune=PRECONDITIONED_TUNE,
        chains=chains,
        seed=seed,
        target_accept=defaults.target_accept,
        step_size_jitter=defaults.step_size_jitter,
        progress_bar=False,
        save_warmup=False,
    )
    wall = time.perf_counter() - start
    x = np.moveaxis(trace.posterior["x"].values, 2, 0)  # (value, chain, draw)
    return {**mixing_figures(x), "steps_per_draw": float(trace.sample_stats.n_steps.mean()),
            "wall_s": wall}  # fmt: skip


def mixing_figures(x: np.ndarray) -> dict:
    """Bulk and folded ESS and R-hat of each row of ``x`` (value, chain, draw), summarised:
    the two halves of ArviZ's rank-normalised R-hat (``mixing._all_three``) kept apart."""
    split = mixing._split_chains(x)
    bulk_z = mixing._z_scale(split)
    folded_z = mixing._z_scale(mixing._folded(split))
    rhat_bulk, rhat_folded = mixing._rhat(bulk_z), mixing._rhat(folded_z)
    ess_bulk, ess_folded = mixing._ess(bulk_z), mixing._ess(folded_z)
    rhat = np.maximum(rhat_bulk, rhat_folded)
    return {
        "ess_bulk_median": float(np.median(ess_bulk)),
        "ess_bulk_min": float(ess_bulk.min()),
        "ess_folded_median": float(np.median(ess_folded)),
        "ess_folded_min": float(ess_folded.min()),
        "max_rhat_bulk": float(rhat_bulk.max()),
        "max_rhat_folded": float(rhat_folded.max()),
        "max_rhat": float(rhat.max()),
        "values_over": int((rhat > RHAT_MAX).sum()),
    }


def markdown(runs: list[dict]) -> str:
    head = ["problem", "values", "draws per chain", "seed", "steps/draw",
            "bulk ESS median (min)", "folded ESS median (min)", "max R-hat: bulk",
            "max R-hat: folded", f"values over {RHAT_MAX}"]  # fmt: skip
    rows = [
        [r["problem"], f"{r['values']:,}", r["draws"], r["seed"], f"{r['steps_per_draw']:.1f}",
         f"{r['ess_bulk_median']:,.0f} ({r['ess_bulk_min']:,.0f})",
         f"{r['ess_folded_median']:,.0f} ({r['ess_folded_min']:,.0f})",
         f"{r['max_rhat_bulk']:.4f}", f"{r['max_rhat_folded']:.4f}", r["values_over"]]
        for r in runs
    ]  # fmt: skip
    return markdown_table(head, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="medium,large")
    parser.add_argument("--seeds", type=numbers(int), default="1,2,3,4,5")
    parser.add_argument(
        "--draws", type=numbers(int), default="1000,2000", help="draws per chain, after warm-up"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    problems = names(args.problems, PROBLEMS, parser, "problem")

    runs = []
    for problem in problems:
        values = credibility_values(problem)
        compiled = compile_normal(values)
        for draws in args.draws:
            for seed in args.seeds:
                run = {"problem": problem, "values": values, "draws": draws, "seed": seed}
                run.update(sample_once(compiled, draws, seed))
                runs.append(run)
                print(markdown([run]).splitlines()[-1], flush=True)
    report = settings_line() + "\n\n" + markdown(runs)
    print("\n" + report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rhat_floor.json").write_text(json.dumps(runs, indent=1) + "\n")
    (args.out / "rhat_floor.md").write_text(report + "\n")


def settings_line() -> str:
    """What the table's runs share: the sampler, its settings and the package versions."""
    from importlib.metadata import version

    defaults = SamplerSpec()
    return (
        f"nutpie {version('nutpie')}, pymc {version('pymc')}: 4 chains x "
        f"({PRECONDITIONED_TUNE} warm-up + the draws), target_accept "
        f"{defaults.target_accept}, step_size_jitter {defaults.step_size_jitter}; posterior: "
        "independent N(0, 1), as many as the problem has credibility values."
    )


if __name__ == "__main__":
    main()
