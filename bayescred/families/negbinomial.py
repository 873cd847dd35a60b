"""Negative binomial counts on the log scale: mean ``exp(eta)``, variance
``mu + dispersion * mu**2`` (PyMC's ``alpha = 1 / dispersion``)."""

from __future__ import annotations

import math

import numpy as np

from .base import Family, KernelCode, Param, bad_count, gammaln

_BASELINE = math.log(800.0)  # simulated panels: a typical count of 800 (troops)
DISPERSION = Param("dispersion", {"dist": "Exponential", "lam": 1.0})


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm
    import pytensor.tensor as pt

    alpha = 1.0 / params["dispersion"]
    return pm.NegativeBinomial(name, mu=pt.exp(eta), alpha=alpha, observed=observed, dims=dims)


def _logp(y, eta, params, trials=None):
    a = 1.0 / params["dispersion"]
    log_total = np.logaddexp(np.log(a), eta)  # log(alpha + mu)
    return (
        gammaln(y + a) - gammaln(a) - gammaln(y + 1) + a * (np.log(a) - log_total)
        + y * (eta - log_total)
    )  # fmt: skip


def _draw(rng, eta, params, trials=None):
    a = 1.0 / np.asarray(params["dispersion"])
    mu = np.exp(eta)
    return rng.negative_binomial(a, a / (a + mu)).astype(float)


def _fisher(eta, params, trials=None):
    mu = np.exp(eta)
    return mu / (1 + mu * params["dispersion"])


def _synthetic(rng, eta, noise):
    k = 1.0 / noise["dispersion"]
    mu = np.exp(_BASELINE + eta)
    return rng.negative_binomial(k, k / (k + mu)), None


def _kernel_rows():
    from ..kernel.scalars import (
        FASTMATH_SUMS,
        gathered,
        kernel_function,
        lgamma_digamma,
        lgamma_digamma_sums,
        scatter,
    )

    @kernel_function(fastmath=FASTMATH_SUMS, cache=False)
    def negbin_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                    par, n_vec):  # fmt: skip
        dispersion = val[par[0]]
        a = 1.0 / dispersion
        log_a = -math.log(dispersion)
        lg_a, dg_a = lgamma_digamma(a)
        lg_ya, dg_ya = lgamma_digamma_sums(obs_y, rows, a)  # sums over the rows
        th = gathered(cred, cell, rows)
        d = np.empty_like(th)
        r0, n = rows[0], th.shape[0]
        ll, g_a, g_l, g_disp = 0.0, 0.0, 0.0, 0.0
        for k in range(n):
            y = obs_y[r0 + k]
            eta = icpt + slope * th[k]
            mu = math.exp(eta)
            log_am = math.log(a + mu)
            inv = 1.0 / (a + mu)
            ll += y * eta - (a + y) * log_am
            d[k] = y - (a + y) * mu * inv
            g_disp += log_am + (a + y) * inv
            g_a += d[k]
            g_l += d[k] * th[k]
        scatter(g_cred, cell, rows, d, slope)
        ll += lg_ya + n * (a * log_a - lg_a)
        gval[par[0]] += -(dg_ya + n * (log_a + 1.0 - dg_a) - g_disp) * a * a
        return ll, g_a, g_l

    return negbin_rows


FAMILY = Family(
    "negbinomial",
    "a non-negative integer count",
    bad_count,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    integer=True,
    link="log",
    params=(DISPERSION,),
    kernel=KernelCode(_kernel_rows),
    skewed=True,
    advice_less_spread="poisson instead of negbinomial, or a lower floor in the `dispersion` "
    "prior (it sets the least extra dispersion the model allows)",
)
