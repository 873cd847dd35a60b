"""PSIS-LOO per signal and for follow-through, and LOO comparison of model variants.

The pointwise log-likelihood comes from :func:`bayescred.predictive.log_likelihood`
(computed from the rebuilt model, whichever sampler ran, on the data scale).  One LOO
observation is one observed value: a signal in a unit-year, or one crisis outcome.

>>> import bayescred as bc
>>> table = bc.compare({"static": static, "random_walk": walk})     # doctest: +SKIP
>>> table[["elpd_loo", "elpd_diff", "dse"]]                          # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .diagnostics import DiagnosticReport
from .errors import ResultError
from .predictive import log_likelihood, observation_rows
from .results import CredibilityResult

PARETO_K = 0.7  # above this, PSIS cannot be trusted for that observation


def relative_ess(result: CredibilityResult) -> float:
    """Mean relative efficiency of the draws (ESS / number of draws) over credibility,
    the ``reff`` that PSIS needs (ArviZ's own default, computed once)."""
    post = result.idata.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    if post.sizes["chain"] < 2 and post.sizes["draw"] < 4:
        return 1.0
    ess = az.ess(post[["credibility"]], method="mean")["credibility"].values
    return float(np.clip(np.nanmean(ess) / n, 0.01, 1.0))


def _loo(log_lik: xr.DataArray, reff: float) -> az.ELPDData:
    plain = log_lik.drop_vars([c for c in log_lik.coords if c not in ("chain", "draw")])
    # (a variable named like its dimension would become a coordinate: call it "y")
    idata = az.InferenceData(log_likelihood=xr.Dataset({"y": plain}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the k counts are reported, not warned about
        return az.loo(idata, pointwise=True, reff=reff, var_name="y")


def loo_table(
    log_lik: xr.DataArray, reff: float = 1.0, pareto_k: float = PARETO_K
) -> pd.DataFrame:
    """LOO per signal (and follow-through), with a last row ``all`` for every observation.

    Columns: ``n`` (observations), ``elpd_loo``, ``se``, ``p_loo``, ``k_max`` and Pareto-k
    counts ``k_good`` (k <= 0.5), ``k_ok`` (0.5 < k <= ``pareto_k``), ``k_bad``
    (``pareto_k`` < k <= 1) and ``k_very_bad`` (k > 1).
    """
    rows = []
    signals = list(dict.fromkeys(log_lik.signal.values))
    for label in [*signals, "all"]:
        sub = log_lik if label == "all" else log_lik.isel(obs=log_lik.signal.values == label)
        res = _loo(sub, reff)
        k = np.asarray(res.pareto_k)
        rows.append(
            {
                "signal": label,
                "n": sub.sizes["obs"],
                "elpd_loo": float(res.elpd_loo),
                "se": float(res.se),
                "p_loo": float(res.p_loo),
                "k_max": float(np.max(k)),
                "k_good": int((k <= 0.5).sum()),
                "k_ok": int(((k > 0.5) & (k <= pareto_k)).sum()),
                "k_bad": int(((k > pareto_k) & (k <= 1)).sum()),
                "k_very_bad": int((k > 1).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("signal")


def compare(
    results: Mapping[str, object], pareto_k: float = PARETO_K
) -> pd.DataFrame:
    """Compare model variants fitted to the same data by PSIS-LOO.

    Parameters
    ----------
    results : dict of {name: CredibilityResult or DiagnosticReport}
        Two or more fits of the same observations (e.g. ``static``, ``random_walk``,
        ``ar1``, reputation on/off).  A :class:`~bayescred.diagnostics.DiagnosticReport`
        reuses the log-likelihood it already holds.
    pareto_k : float
        Pareto-k threshold counted in ``n_bad_k``.

    Returns
    -------
    DataFrame
        One row per model, best first: ``rank``, ``elpd_loo``, ``se``, ``p_loo``,
        ``elpd_diff`` (to the best model; 0 for it), ``dse`` (standard error of that
        difference), ``weight`` (stacking), ``n_bad_k`` (observations with k above
        ``pareto_k``), ``warning`` (ArviZ's flag) and ``dynamics``/``reputation`` of each
        spec.  A difference of several ``dse`` is a clear preference.

    Raises
    ------
    ResultError
        If fewer than two results are given, or they were fitted to different data.
    """
    if len(results) < 2:
        raise ResultError(f"compare needs at least two results, got {len(results)}")
    fits = {}
    for name, item in results.items():
        if isinstance(item, DiagnosticReport) and item.result is not None:
            fits[name] = (item.result, item.log_likelihood)
        elif isinstance(item, CredibilityResult):
            fits[name] = (item, None)
        else:
            raise ResultError(
                f"compare: {name!r} is a {type(item).__name__}; expected a CredibilityResult "
                "or a DiagnosticReport"
            )
    # the same observations, or no comparison (checked before any log-likelihood is computed)
    keys = {name: observation_rows(result).table for name, (result, _) in fits.items()}
    first = next(iter(keys))
    for name, table in keys.items():
        if not table.equals(keys[first]):
            raise ResultError(
                f"compare: {name!r} and {first!r} were fitted to different data "
                f"({len(table)} and {len(keys[first])} observations, or different values); "
                "LOO comparison needs the same observations"
            )
    loos, notes = {}, {}
    for name, (result, log_lik) in fits.items():
        log_lik = log_lik if log_lik is not None else log_likelihood(result)
        loos[name] = _loo(log_lik, relative_ess(result))
        notes[name] = {
            "n_bad_k": int((np.asarray(loos[name].pareto_k) > pareto_k).sum()),
            "dynamics": result.spec.latent.dynamics,
            "reputation": bool(result.spec.reputation.enabled),
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(loos, ic="loo", scale="log")
    table = table.join(pd.DataFrame(notes).T)
    table.index.name = "model"
    cols = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "n_bad_k",
            "warning", "dynamics", "reputation"]
    return table[cols]

