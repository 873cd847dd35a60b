"""Run ``credibility.stan`` (the baseline model in Stan) on a benchmark problem.

Uses PyStan 3 when ``import stan`` works, else CmdStanPy when ``import cmdstanpy`` works
(and CmdStan is installed); otherwise :func:`available` says why the engine is skipped.
Install the extra with ``pip install 'bayescred[bench]'`` (PyStan 3: Linux or macOS;
the first build of the model compiles C++ for a minute or more, then httpstan caches it).
"""

from __future__ import annotations

import time
from pathlib import Path

import arviz as az
import numpy as np
from baseline_pymc import Design

STAN_FILE = Path(__file__).resolve().parent / "credibility.stan"
_SHORT = {"negbinomial": "nb", "lognormal": "ln", "binomial": "bi", "poisson": "po", "beta": "be"}
_HAS_AUX = ("nb", "ln", "be")


def available() -> tuple[str | None, str]:
    """(``"pystan"`` | ``"cmdstanpy"`` | None, why not when None)."""
    try:
        import stan  # noqa: F401

        return "pystan", ""
    except ImportError:
        pass
    try:
        import cmdstanpy

        cmdstanpy.cmdstan_path()  # raises when CmdStan itself is not installed
        return "cmdstanpy", ""
    except ImportError:
        pass
    except Exception as err:  # cmdstanpy without CmdStan
        return None, f"skipped: cmdstanpy has no CmdStan ({err})"
    return None, "skipped: pystan not installed (pip install 'bayescred[bench]')"


def stan_data(d: Design) -> dict:
    """The data block of ``credibility.stan`` from the baseline's design (1-based)."""
    n_units = len(d.units)
    out = {
        "U": n_units,
        "T": len(d.years),
        "M": len(d.members),
        "A": len(d.alliances),
        "J": len(d.signals),
        "alliance": d.alliance_of_unit + 1,
        "member": d.member_of_unit + 1,
        "honored": d.honored,
        "violated": d.violated,
        "direction": d.direction,
        "centre": d.offset,
    }
    for family, short in _SHORT.items():
        rows = d.families.get(family)
        n = 0 if rows is None else len(rows.y)
        empty = np.zeros(0, int)
        out[f"N_{short}"] = n
        out[f"cell_{short}"] = empty if rows is None else rows.year * n_units + rows.unit + 1
        out[f"signal_{short}"] = empty if rows is None else rows.signal + 1
        if short in _HAS_AUX:
            out[f"K_{short}"] = len(d.aux_signals.get(family, []))
            out[f"aux_{short}"] = empty if rows is None else rows.aux + 1
        y = np.zeros(0) if rows is None else rows.y
        out[f"y_{short}"] = y.astype(int) if short in ("nb", "bi", "po") else y
        if short == "bi":
            out["trials_bi"] = empty if rows is None else rows.trials
    out["N_c"] = len(d.crisis_unit)
    out["cell_c"] = d.crisis_year * n_units + d.crisis_unit + 1
    out["honored_c"] = d.crisis_honored
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in out.items()}


def run_stan(
    d: Design, draws: int, tune: int, chains: int, seed: int
) -> tuple[az.InferenceData, float, float]:
    """Compile and sample; returns (InferenceData, compile seconds, sampling seconds)."""
    interface, why = available()
    if interface is None:
        raise RuntimeError(why)
    data = stan_data(d)
    coords = {"unit": d.units, "year": d.years}
    dims = {"credibility": ["unit", "year"]}
    if interface == "pystan":
        import stan

        _without_client_timeout()
        start = time.perf_counter()
        posterior = stan.build(STAN_FILE.read_text(), data=data, random_seed=seed)
        built = time.perf_counter()
        fit = posterior.sample(num_chains=chains, num_samples=draws, num_warmup=tune)
        sampled = time.perf_counter()
        idata = az.from_pystan(posterior=fit, posterior_model=posterior, coords=coords, dims=dims)
        return idata, built - start, sampled - built
    import cmdstanpy

    start = time.perf_counter()
    model = cmdstanpy.CmdStanModel(stan_file=str(STAN_FILE))
    built = time.perf_counter()
    fit = model.sample(
        data=data,
        chains=chains,
        parallel_chains=chains,
        iter_warmup=tune,
        iter_sampling=draws,
        seed=seed,
        show_progress=False,
    )
    sampled = time.perf_counter()
    return az.from_cmdstanpy(fit, coords=coords, dims=dims), built - start, sampled - built


def _without_client_timeout() -> None:
    """Lift the 5-minute limit pystan's HTTP client puts on every request to its in-process
    httpstan server (aiohttp's default): building this model's C++ takes longer than
    that on a 2-core machine, and so does sampling ``medium``, and pystan then fails with
    a bare ``TimeoutError`` although the server is still working."""
    import aiohttp

    if getattr(aiohttp.ClientSession, "_bayescred_no_timeout", False):
        return

    class Session(aiohttp.ClientSession):
        _bayescred_no_timeout = True

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("timeout", aiohttp.ClientTimeout(total=None))
            super().__init__(*args, **kwargs)

    aiohttp.ClientSession = Session  # stan.common looks it up on each call
