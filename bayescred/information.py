"""How much each signal tells about credibility: loadings and Fisher information.

A signal's *informativeness* is the Fisher information about credibility carried by one
observation, averaged over its observed cells and the posterior draws:

    I = loading^2 * E[(d log p(y | eta) / d eta)^2]

(the family's own Fisher information about its linear predictor, ``Family.fisher``; for
the exponential families it is (d mean / d eta)^2 / Var(y | eta)) on the scale the
likelihood sees (credibility is standardised, so I is in units of
1 / sd^2).  ``1 / sqrt(I)`` is the posterior sd of credibility that one observation of
the signal would give on its own: a signal with I = 4 pins a unit-year to about +-0.5 sd.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from .design import crisis_covariate_matrix, kind_index
from .families import FAMILIES, signal_params
from .results import CredibilityResult, interval_prob

FOLLOWTHROUGH = "followthrough"


def signal_information(
    result: CredibilityResult,
    hdi_prob: float | None = None,
    max_draws: int = 200,
    *,
    prob: float | None = None,
) -> pd.DataFrame:
    """Loadings and informativeness per signal (and follow-through).

    ``hdi_prob`` is the probability of the loadings' HDI (default 0.9; ``prob`` is its
    deprecated name).

    Returns
    -------
    DataFrame
        Index ``signal``; columns ``family``, ``direction``, ``n`` (observations),
        ``loading`` (posterior mean), ``loading_low``/``loading_high`` (HDI),
        ``information`` (per observation), ``sd_one_obs`` (= 1/sqrt(information)),
        ``share`` (of the total information, n x information, over all signals).
    """
    prob = interval_prob(hdi_prob, prob, "signal_information")
    post = result.idata.posterior
    step = max(1, int(np.ceil(post.sizes["chain"] * post.sizes["draw"] / max_draws)))
    post = post.isel(draw=slice(None, None, step))
    flat = post.stack(sample=("chain", "draw")).transpose("sample", ...)
    panel = result.panel
    cred = flat["credibility"].sel(unit=panel.unit_labels, year=panel.years.astype(int))
    cred = cred.transpose("sample", "unit", "year").values.reshape(flat.sizes["sample"], -1)
    n_years = len(panel.years)
    obs = panel.observations
    rows = []
    for name, sig in result.spec.signals.items():
        here = obs[obs.signal == name]
        cell = here.unit_idx.to_numpy(int) * n_years + here.year_idx.to_numpy(int)
        loading = flat["loading"].sel(signal=name).values
        family = FAMILIES[sig.family]
        eta = sig.direction * loading[:, None] * cred[:, cell]
        if family.intercept:
            eta = eta + result.scales[name].offset + flat["alpha"].sel(signal=name).values[:, None]
        trials = here.trials.to_numpy(float)[None, :] if family.needs_trials else None
        params = signal_params(family, name, flat, lambda da: da.values)
        info = family.fisher(eta, params, trials) * loading[:, None] ** 2
        hdi = az.hdi(post["loading"].sel(signal=name), hdi_prob=prob)["loading"].values
        rows.append(_row(name, sig.family, sig.direction, len(here), loading, hdi, info))
    crises = panel.crises
    if len(crises) and "loading_followthrough" in flat:
        cell = crises.unit_idx.to_numpy(int) * n_years + crises.year_idx.to_numpy(int)
        loading = flat["loading_followthrough"].values
        eta = loading[:, None] * cred[:, cell]
        if "beta_followthrough" in flat:  # the crisis covariates' shift
            z = crisis_covariate_matrix(
                crises, result.spec.follow_through.covariates, panel.crisis_scaling
            )
            eta = eta + flat["beta_followthrough"].values @ z.T
        kind = kind_index(crises, tuple(str(k) for k in post.coords["crisis_kind"].values))
        if "alpha_followthrough" in flat:
            eta = eta + flat["alpha_followthrough"].values[:, kind]
            info = FAMILIES["bernoulli"].fisher(eta, {})
        else:  # each kind's own cutpoints
            cut = flat["cutpoints_followthrough"].values  # (sample, kind, 2)
            info = np.empty_like(eta)
            for k in np.unique(kind):
                here = kind == k
                info[:, here] = FAMILIES["ordinal"].fisher(eta[:, here], {"cutpoints": cut[:, k]})
        info = info * loading[:, None] ** 2
        hdi = az.hdi(post["loading_followthrough"], hdi_prob=prob)["loading_followthrough"].values
        rows.append(_row(FOLLOWTHROUGH, "bernoulli" if "alpha_followthrough" in flat
                         else "ordinal", 1, len(crises), loading, hdi, info))
    table = pd.DataFrame(rows).set_index("signal")
    total = table.n * table.information
    table["share"] = total / total.sum()
    return table


def _row(name, family, direction, n, loading, hdi, info) -> dict:
    mean_info = float(np.mean(info))
    return {
        "signal": name,
        "family": family,
        "direction": direction,
        "n": n,
        "loading": float(np.mean(loading)),
        "loading_low": float(np.ravel(hdi)[0]),
        "loading_high": float(np.ravel(hdi)[1]),
        "information": mean_info,
        "sd_one_obs": 1 / np.sqrt(mean_info) if mean_info > 0 else np.inf,
    }
