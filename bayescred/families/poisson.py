"""Poisson counts on the log scale: ``y ~ Poisson(exp(eta))``."""

from __future__ import annotations

import math

import numpy as np

from .base import Family, KernelCode, bad_count, gammaln

_BASELINE = math.log(3.0)  # simulated panels: a typical count of 3


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm
    import pytensor.tensor as pt

    return pm.Poisson(name, mu=pt.exp(eta), observed=observed, dims=dims)


def _logp(y, eta, params, trials=None):
    return y * eta - np.exp(eta) - gammaln(y + 1)


def _draw(rng, eta, params, trials=None):
    return rng.poisson(np.exp(eta)).astype(float)


def _fisher(eta, params, trials=None):
    return np.exp(eta)


def _synthetic(rng, eta, noise):
    return rng.poisson(np.exp(_BASELINE + eta)), None


def _kernel_rows():
    from ..kernel.scalars import FASTMATH_SUMS, gathered, kernel_function, scatter

    @kernel_function(fastmath=FASTMATH_SUMS, cache=False)
    def poisson_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                     par, n_vec):  # fmt: skip
        th = gathered(cred, cell, rows)
        d = np.empty_like(th)
        r0, ll, g_a, g_l = rows[0], 0.0, 0.0, 0.0
        for k in range(th.shape[0]):
            y = obs_y[r0 + k]
            eta = icpt + slope * th[k]
            mu = math.exp(eta)
            ll += y * eta - mu
            d[k] = y - mu
            g_a += d[k]
            g_l += d[k] * th[k]
        scatter(g_cred, cell, rows, d, slope)
        return ll, g_a, g_l

    return poisson_rows


FAMILY = Family(
    "poisson",
    "a non-negative integer count",
    bad_count,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    integer=True,
    link="log",
    kernel=KernelCode(_kernel_rows),
    skewed=True,
    advice_more_spread="a different family: negbinomial (the counts are overdispersed)",
    advice_less_spread="binomial with trials, if the counts have a ceiling (the counts are "
    "underdispersed)",
)
