"""Ordered categories 0, 1, 2, ... by a cumulative logit without intercept (the signal's
cutpoints place it): ``P(y <= k) = sigmoid(c_k - eta)``, as PyMC's OrderedLogistic."""

from __future__ import annotations

import numpy as np

from .base import Family, KernelCode, Param, bad_count, expit

CUTPOINTS = Param("cutpoints", {"dist": "Normal", "mu": 0.0, "sigma": 3.0}, vector=True)
_SIMULATED_CUTS = np.array([-1.0, 0.0, 1.0])  # simulated panels: four categories


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    return pm.OrderedLogistic(
        name, eta=eta, cutpoints=params["cutpoints"], compute_p=False, observed=observed,
        dims=dims,
    )  # fmt: skip


def _edges(cut: np.ndarray) -> np.ndarray:
    """Cutpoints (..., K) framed by -inf and +inf: (..., K + 2)."""
    pad = np.full((*cut.shape[:-1], 1), np.inf)
    return np.concatenate([-pad, cut, pad], axis=-1)


def _broadcast(per_row: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """(draws, rows) or (rows,) values shaped to broadcast against eta (draws, ..., rows)."""
    lead = per_row.shape[:-1]
    return per_row.reshape(*lead, *([1] * (eta.ndim - per_row.ndim)), per_row.shape[-1])


def _logp(y, eta, params, trials=None):
    """log P(y = k) = log(sigmoid(eta - c_{k-1}) - sigmoid(eta - c_k)); ``cutpoints``
    (K,) or (draws, K) against ``eta`` (rows,) or (draws, ..., rows)."""
    eta = np.asarray(eta, float)
    y = np.asarray(y).astype(int)
    edges = _edges(np.asarray(params["cutpoints"], float))
    upper = expit(eta - _broadcast(edges[..., y], eta))
    lower = expit(eta - _broadcast(edges[..., y + 1], eta))
    return np.log(np.clip(upper - lower, 1e-300, None))


def _draw(rng, eta, params, trials=None):
    eta = np.asarray(eta, float)
    cut = np.asarray(params["cutpoints"], float)
    cut = cut.reshape(*cut.shape[:-1], *([1] * (eta.ndim - cut.ndim + 1)), cut.shape[-1])
    latent = eta + rng.logistic(size=eta.shape)
    return (latent[..., None] > cut).sum(-1).astype(float)


def _fisher(eta, params, trials=None):
    """sum_k p_k'(eta)^2 / p_k, with ``cutpoints`` (draws, K) and ``eta`` (draws, n)."""
    cut = np.asarray(params["cutpoints"], float)
    cut = cut.reshape(cut.shape[0], 1, -1) if cut.ndim == 2 else cut
    cdf = expit(cut - np.asarray(eta)[..., None])
    cdf = np.concatenate([np.zeros_like(cdf[..., :1]), cdf, np.ones_like(cdf[..., :1])], -1)
    dens = cdf * (1 - cdf)
    p = np.diff(cdf, axis=-1)
    dp = -np.diff(dens, axis=-1)
    return np.sum(dp**2 / np.clip(p, 1e-12, None), axis=-1)


def _synthetic(rng, eta, noise):
    latent = eta + rng.logistic(size=eta.shape)
    return (latent[..., None] > _SIMULATED_CUTS).sum(-1), None


def _kernel_rows():
    from ..kernel.scalars import kernel_function, ordinal

    @kernel_function(cache=False)
    def ordinal_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                     par, n_vec):  # fmt: skip
        ll, g_l = 0.0, 0.0
        for i in range(rows[0], rows[1]):
            th = cred[cell[i]]
            lp_i, d = ordinal(slope * th, int(obs_y[i]), val, par[0], n_vec, gval)
            ll += lp_i
            g_l += d * th
            g_cred[cell[i]] += d * slope
        return ll, 0.0, g_l

    return ordinal_rows


FAMILY = Family(
    "ordinal",
    "a non-negative integer category (0, 1, 2, ...)",
    bad_count,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    integer=True,
    intercept=False,
    params=(CUTPOINTS,),
    kernel=KernelCode(_kernel_rows),
)
