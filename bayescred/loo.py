"""PSIS-LOO per signal and for follow-through: the LOO arithmetic the diagnostics use.

The pointwise log-likelihood is :meth:`bayescred.results.CredibilityResult.log_likelihood`
(the saved ``log_likelihood`` group, or computed from the rebuilt model, on the data
scale).  One LOO observation is one observed value: a signal in a unit-year, or one crisis
outcome.  Comparing model variants by LOO is :func:`bayescred.diagnostics.compare`
(``bc.compare``).  This module depends on no other bayescred module but ``results``'s
type: :mod:`bayescred.diagnostics` imports it, not the reverse.

>>> from bayescred.loo import loo_table, relative_ess
>>> loo_table(result.log_likelihood(), relative_ess(result))      # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
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


def psis_loo(log_lik: xr.DataArray, reff: float) -> az.ELPDData:
    """ArviZ's PSIS-LOO of a pointwise log-likelihood (dims chain, draw, obs), quietly."""
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
        res = psis_loo(sub, reff)
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
