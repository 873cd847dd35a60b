"""The benchmark's engines; run as a worker, one engine on one problem per process.

    python benchmarks/engines.py JOB PROBLEM --rows FILE [--draws --tune --chains --seed]

``benchmarks/run.py`` starts this script once per job so that each job's peak memory and
its cold start are its own; a job appends one JSON line per measured fit to ``--rows``
as soon as the fit is done (so a later timeout keeps the rows before it).

Jobs (:data:`JOBS`):

``nutpie-first``    bayescred with nutpie (the numba kernel): the problem's data, then
                    new data of the same structure in the same process (rows ``cold``
                    and ``warm: new data``).  ``cold`` is cold for the process, and for
                    numba's disk cache too when run.py points ``NUMBA_CACHE_DIR`` at an
                    empty folder (its default).
``nutpie-next``     the problem's data again in a new process, the numba disk cache kept
                    (row ``warm: new process``).
``bayescred-pymc``, ``bayescred-numpyro``
                    ``bc.fit(sampler=...)``; PyMC compiles inside sampling, so their
                    compile column holds the model build only.
``baseline-pymc``   ``baseline_pymc.py`` with PyMC's NUTS; compile = ``pm.init_nuts``.
``stan``            ``credibility.stan`` via PyStan 3 or CmdStanPy (see stan_engine.py).
``bayescred-advi``  bayescred's approximate mode, ``bc.fit(sampler="advi")`` (ADVI on the
                    numba kernel, bayescred.approx); its credibility means are compared
                    with the nutpie posterior of the same problem.
``bayescred-cli``   ``bayescred fit`` on the problem's data written as CSVs, timed end to
                    end (what a user waits for), with an empty numba cache (``cold``),
                    then the cache that run filled (``warm``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import arviz as az
import numpy as np

from bayescred import mixing

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from problems import NEW_DATA_SEED_OFFSET, PROBLEMS, Problem  # noqa: E402

# The convergence target of the issue (and bayescred's diagnostics' pass levels).
RHAT_MAX = 1.01
ESS_MIN = 400.0


@dataclass(frozen=True)
class Settings:
    draws: int
    tune: int | None  # None: each engine's default (bayescred's, or BASELINE_TUNE)
    chains: int
    seed: int
    reference: Path  # folder of the nutpie posterior summaries the ADVI rows compare with


# ---------------------------------------------------------------------------- metrics


# Warm-up of the baselines (PyMC's and Stan's own default) when --tune is not given;
# bayescred's engines then use bayescred's default (SamplerSpec.warmup).
BASELINE_TUNE = 1000


def baseline_tune(s: Settings) -> int:
    return BASELINE_TUNE if s.tune is None else s.tune


def convergence(idata: az.InferenceData, names: list[str]) -> dict:
    """Max R-hat, min bulk and tail ESS over ``names``, divergences, leapfrog steps per
    draw, and the variable with the lowest bulk ESS.  The computation of
    ``bayescred.diagnostics.convergence`` (bayescred.mixing: ArviZ's statistics,
    vectorised), applied to any InferenceData."""
    rhat, bulk, tail = mixing.rhat_ess(idata, var_names=names)
    min_bulk = {v: float(np.nanmin(bulk[v].values)) for v in names}
    div = idata.sample_stats.get("diverging")
    steps = idata.sample_stats.get("n_steps")  # leapfrog steps (Stan's n_leapfrog__)
    return {
        "steps_per_draw": float(steps.mean()) if steps is not None else None,
        "max_rhat": float(max(np.nanmax(rhat[v].values) for v in names)),
        "min_ess_bulk": min(min_bulk.values()),
        "min_ess_tail": float(min(np.nanmin(tail[v].values) for v in names)),
        "worst": min(min_bulk, key=min_bulk.get),
        "divergences": int(div.sum()) if div is not None else 0,
    }


def row(problem: str, engine: str, run: str, **figures) -> dict:
    """One row of the table; ESS per second and the convergence verdict filled in."""
    out = {"problem": problem, "engine": engine, "run": run, "status": "ok", **figures}
    if out.get("min_ess_bulk") is not None and out.get("wall_s"):
        out["ess_per_s"] = out["min_ess_bulk"] / out["wall_s"]
        out["converged"] = bool(
            out["max_rhat"] <= RHAT_MAX
            and out["min_ess_bulk"] >= ESS_MIN
            and out["divergences"] == 0
        )
    out["self_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def skipped(problem: str, engine: str, run: str, why: str) -> dict:
    return {"problem": problem, "engine": engine, "run": run, "status": why}


# ---------------------------------------------------------------------------- bayescred


def _fit_bayescred(problem: Problem, s: Settings, sampler: str, seed: int | None = None):
    import bayescred as bc
    from bayescred.diagnostics import reported_variables

    spec, panel, _ = problem(seed)
    _say(f"bc.fit(sampler={sampler!r}) on {problem.name}, seed {seed or problem.seed}")
    start = time.perf_counter()
    result = bc.fit(
        spec,
        panel,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        seed=s.seed,
        sampler=sampler,
        progress=False,
    )
    wall = time.perf_counter() - start
    _say(f"fitted in {wall:.1f} s; computing ESS and R-hat")
    figures = dict(
        tune=result.spec.sampler.warmup,
        compile_s=result.timing.compile_s,
        sample_s=result.timing.sample_s,
        wall_s=wall,
        cached=result.timing.cached,
        **convergence(result.idata, reported_variables(result)),
    )
    return result, figures


def nutpie_first(problem: Problem, s: Settings) -> Iterator[dict]:
    result, figures = _fit_bayescred(problem, s, "nutpie")
    _save_reference(result, s.reference / f"{problem.name}-nutpie.npz")
    yield row(problem.name, "bayescred-nutpie", "cold", **figures)
    _, figures = _fit_bayescred(problem, s, "nutpie", problem.seed + NEW_DATA_SEED_OFFSET)
    yield row(problem.name, "bayescred-nutpie", "warm: new data", **figures)


def nutpie_next(problem: Problem, s: Settings) -> Iterator[dict]:
    _, figures = _fit_bayescred(problem, s, "nutpie")
    yield row(problem.name, "bayescred-nutpie", "warm: new process", **figures)


def bayescred_pymc(problem: Problem, s: Settings) -> Iterator[dict]:
    _, figures = _fit_bayescred(problem, s, "pymc")
    yield row(
        problem.name,
        "bayescred-pymc",
        "cold",
        **figures,
        note="PyMC compiles inside sampling: compile = model build",
    )


def bayescred_numpyro(problem: Problem, s: Settings) -> Iterator[dict]:
    try:
        import jax  # noqa: F401
        import numpyro  # noqa: F401
    except ImportError:
        yield skipped(
            problem.name,
            "bayescred-numpyro",
            "cold",
            "skipped: numpyro not installed (pip install 'bayescred[jax]')",
        )
        return
    _, figures = _fit_bayescred(problem, s, "numpyro")
    yield row(
        problem.name,
        "bayescred-numpyro",
        "cold",
        **figures,
        note="JAX compiles inside sampling: compile = model build",
    )


def bayescred_cli(problem: Problem, s: Settings) -> Iterator[dict]:
    """``bayescred fit`` end to end, as a user runs it on the problem's CSVs: imports,
    reading the data, the fit, writing the netCDF and the summary it prints.  Cold with an
    empty numba cache, then warm with the cache the cold run filled."""
    import tempfile

    import bayescred as bc
    from bayescred.diagnostics import reported_variables

    *_, sim = problem()
    with tempfile.TemporaryDirectory(prefix="bayescred-cli-") as tmp:
        spec_path = sim.save(Path(tmp) / "panel")
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        for run in ("cold", "warm"):
            out = Path(tmp) / f"{run}.nc"
            cmd = [
                sys.executable, "-c", "from bayescred.cli import main; main()",
                "fit", str(spec_path), "--out", str(out), "--draws", str(s.draws),
                "--chains", str(s.chains), "--seed", str(s.seed),
                *(["--tune", str(s.tune)] if s.tune is not None else []),
            ]  # fmt: skip
            _say(f"{run}: {' '.join(cmd[3:])}")
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, check=True)
            wall = time.perf_counter() - start
            result = bc.load(out)
            yield row(
                problem.name,
                "bayescred-cli",
                run,
                tune=result.spec.sampler.warmup,
                compile_s=result.timing.compile_s,
                sample_s=result.timing.sample_s,
                wall_s=wall,
                **convergence(result.idata, reported_variables(result)),
                note="bayescred fit end to end: wall includes imports, data, netCDF, summary",
            )


def _save_reference(result, path: Path) -> None:
    """Posterior mean and sd of credibility, and the active mask: what ADVI is held to."""
    cred = result.idata.posterior["credibility"]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        mean=cred.mean(("chain", "draw")).values,
        sd=cred.std(("chain", "draw")).values,
        active=result.panel.active_mask(),
    )


# ---------------------------------------------------------------------------- baselines


def baseline_pymc(problem: Problem, s: Settings) -> Iterator[dict]:
    import pymc as pm
    from baseline_pymc import build_baseline, design, reported

    spec, panel, _ = problem()
    seeds = [int(x) for x in np.random.default_rng(s.seed).integers(2**30, size=s.chains)]
    start = time.perf_counter()
    model = build_baseline(design(panel, spec))
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # what pm.sample does first (compile logp + gradient, jitter, adaptation set-up),
        # done here to time it apart from sampling
        initial_points, step = pm.init_nuts(
            init="jitter+adapt_diag", chains=s.chains, random_seed=seeds, progressbar=False
        )
        compiled = time.perf_counter()
        _say(f"init_nuts done in {compiled - start:.1f} s; sampling")
        idata = pm.sample(
            draws=s.draws,
            tune=baseline_tune(s),
            chains=s.chains,
            step=step,
            initvals=initial_points,
            cores=min(s.chains, os.cpu_count() or 1),
            random_seed=seeds,
            progressbar=False,
            compute_convergence_checks=False,
        )
    done = time.perf_counter()
    yield row(
        problem.name,
        "baseline-pymc",
        "cold",
        tune=baseline_tune(s),
        compile_s=compiled - start,
        sample_s=done - compiled,
        wall_s=done - start,
        **convergence(idata, reported(list(idata.posterior.data_vars))),
    )


def stan(problem: Problem, s: Settings) -> Iterator[dict]:
    from baseline_pymc import design, reported
    from stan_engine import available, run_stan

    interface, why = available()
    if interface is None:
        yield skipped(problem.name, "stan", "cold", why)
        return
    spec, panel, _ = problem()
    start = time.perf_counter()
    idata, compile_s, sample_s = run_stan(
        design(panel, spec), s.draws, baseline_tune(s), s.chains, s.seed
    )
    wall = time.perf_counter() - start
    yield row(
        problem.name,
        "stan",
        "cold",
        tune=baseline_tune(s),
        compile_s=compile_s,
        sample_s=sample_s,
        wall_s=wall,
        **convergence(idata, reported(list(idata.posterior.data_vars))),
        note=f"via {interface}; compile cache of {interface} not cleared",
    )


# ---------------------------------------------------------------------------- approximate


def bayescred_advi(problem: Problem, s: Settings) -> Iterator[dict]:
    """bayescred's approximate mode; credibility means compared with the nutpie posterior
    of the same problem, |mean_ADVI - mean_NUTS| / sd_NUTS over the active unit-years."""
    import bayescred as bc

    spec, panel, _ = problem()
    start = time.perf_counter()
    result = bc.fit(
        spec, panel, draws=s.draws, chains=s.chains, seed=s.seed, sampler="advi", progress=False
    )
    wall = time.perf_counter() - start
    attrs = result.idata.posterior.attrs
    _say(f"ADVI done in {wall:.1f} s ({attrs['approx_iterations']} iterations)")
    mean = result.idata.posterior["credibility"].mean(("chain", "draw")).values
    path = s.reference / f"{problem.name}-nutpie.npz"
    note = "NUTS reference: bayescred-nutpie cold run"
    if not path.exists():  # no nutpie run of this problem yet: fit one now (not timed)
        _say("no nutpie reference for this problem: fitting one")
        reference = bc.fit(
            spec, panel, draws=s.draws, tune=s.tune, chains=s.chains, seed=s.seed, progress=False
        )
        _save_reference(reference, path)
        note = "NUTS reference fitted in this process (peak memory includes it)"
    ref = np.load(path)
    err = np.abs(mean - ref["mean"]) / ref["sd"]
    err = err[ref["active"]]  # the unit-years bayescred reports
    yield row(
        problem.name,
        "bayescred-advi",
        "approx",
        compile_s=result.timing.compile_s,
        sample_s=result.timing.sample_s,
        wall_s=wall,
        iterations=int(attrs["approx_iterations"]),
        pareto_k=float(attrs["approx_pareto_k"]),
        approx_max_err_sd=float(err.max()),
        approx_mean_err_sd=float(err.mean()),
        approx_p95_err_sd=float(np.quantile(err, 0.95)),
        approx_within=bool(err.max() <= 0.1),
        note=note,
    )


# ---------------------------------------------------------------------------- worker

JOBS: dict[str, Callable[[Problem, Settings], Iterator[dict]]] = {
    "nutpie-first": nutpie_first,
    "nutpie-next": nutpie_next,
    "bayescred-pymc": bayescred_pymc,
    "bayescred-numpyro": bayescred_numpyro,
    "baseline-pymc": baseline_pymc,
    "stan": stan,
    "bayescred-advi": bayescred_advi,
    "bayescred-cli": bayescred_cli,
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("job", choices=list(JOBS))
    ap.add_argument("problem", choices=list(PROBLEMS))
    ap.add_argument("--rows", type=Path, required=True, help="JSON lines file to append to")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=None, help="default: each engine's own")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reference", type=Path, default=HERE / "results" / "raw")
    args = ap.parse_args(argv)
    settings = Settings(args.draws, args.tune, args.chains, args.seed, args.reference)
    problem = PROBLEMS[args.problem]
    try:
        for out in JOBS[args.job](problem, settings):
            _append(args.rows, out)
    except Exception as err:  # run.py puts it in the table; the log has the traceback
        traceback.print_exc()
        _append(args.rows, {"error": f"{type(err).__name__}: {err}"[:300]})
        sys.exit(1)


def _say(message: str) -> None:
    """Progress, with the time, to the job's log."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _append(path: Path, out: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(out, default=_plain) + "\n")
    print(json.dumps(out, default=_plain), flush=True)


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


if __name__ == "__main__":
    main()
