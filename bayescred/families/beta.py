"""Proportions strictly between 0 and 1: mean-precision beta, ``mu = sigmoid(eta)``,
``y ~ Beta(mu * precision, (1 - mu) * precision)``."""

from __future__ import annotations

import numpy as np

from .base import Family, KernelCode, Param, bad_proportion, expit, gammaln

_BASELINE = 0.3  # simulated panels: typical logit of a proportion
PRECISION = Param("precision", {"dist": "Gamma", "alpha": 2.0, "beta": 0.1})


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    mu = pm.math.sigmoid(eta)
    return pm.Beta(name, mu=mu, nu=params["precision"], observed=observed, dims=dims)


def _logp(y, eta, params, trials=None):
    nu = params["precision"]
    mu = expit(eta)
    a, b = mu * nu, (1 - mu) * nu
    return gammaln(nu) - gammaln(a) - gammaln(b) + (a - 1) * np.log(y) + (b - 1) * np.log1p(-y)


def _draw(rng, eta, params, trials=None):
    nu = np.asarray(params["precision"])
    mu = expit(eta)
    return np.clip(rng.beta(mu * nu, (1 - mu) * nu), 1e-12, 1 - 1e-12)


def _fisher(eta, params, trials=None):
    """(nu mu (1 - mu))^2 (trigamma(mu nu) + trigamma((1 - mu) nu)): the expected squared
    score about eta."""
    from scipy.special import polygamma

    nu = np.asarray(params["precision"], float)
    mu = expit(eta)
    return (nu * mu * (1 - mu)) ** 2 * (polygamma(1, mu * nu) + polygamma(1, (1 - mu) * nu))


def _synthetic(rng, eta, noise):
    mu, nu = expit(_BASELINE + eta), noise["precision"]
    return np.round(np.clip(rng.beta(mu * nu, (1 - mu) * nu), 1e-4, 1 - 1e-4), 6), None


def _columns(y):
    """The kernel reads log y and log(1 - y), computed once per fit."""
    return np.log(y), np.log1p(-y)


def _kernel_rows():
    from ..kernel.scalars import (
        FASTMATH_SUMS,
        gathered,
        kernel_function,
        lgamma_digamma,
        lgamma_digamma_any,
        scatter,
        sigmoid,
    )

    @kernel_function(fastmath=FASTMATH_SUMS, cache=False)
    def beta_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                  par, n_vec):  # fmt: skip
        nu = val[par[0]]
        lg_nu, dg_nu = lgamma_digamma(nu)
        th = gathered(cred, cell, rows)
        d = np.empty_like(th)
        r0, ll, g_a, g_l, g_nu = rows[0], 0.0, 0.0, 0.0, 0.0
        for k in range(th.shape[0]):
            eta = icpt + slope * th[k]
            mu = sigmoid(eta)
            pa, pb = mu * nu, (1.0 - mu) * nu
            lg_pa, dg_pa = lgamma_digamma_any(pa)
            lg_pb, dg_pb = lgamma_digamma_any(pb)
            y1, y2 = c1[r0 + k], c2[r0 + k]
            ll += (pa - 1.0) * y1 + (pb - 1.0) * y2 - lg_pa - lg_pb
            d[k] = nu * (y1 - y2 - dg_pa + dg_pb) * mu * (1.0 - mu)
            g_nu += mu * (y1 - dg_pa) + (1.0 - mu) * (y2 - dg_pb)
            g_a += d[k]
            g_l += d[k] * th[k]
        scatter(g_cred, cell, rows, d, slope)
        n = th.shape[0]
        gval[par[0]] += g_nu + n * dg_nu
        return ll + n * lg_nu, g_a, g_l

    return beta_rows


FAMILY = Family(
    "beta",
    "a proportion strictly between 0 and 1",
    bad_proportion,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    link="logit",
    params=(PRECISION,),
    kernel=KernelCode(_kernel_rows, columns=_columns),
    advice_less_spread="a `precision` prior that allows higher values (higher precision is "
    "less dispersion)",
)
