"""Normal likelihoods: ``gaussian`` (on standardised values) and ``lognormal`` (on
standardised log values).  ``y ~ Normal(eta, sigma)``."""

from __future__ import annotations

import math

import numpy as np

from .base import Family, KernelCode, Param, bad_positive, bad_real

SIGMA = Param("sigma", {"dist": "HalfNormal", "sigma": 1.0})


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    return pm.Normal(name, mu=eta, sigma=params["sigma"], observed=observed, dims=dims)


def _logp(y, eta, params, trials=None):
    s = params["sigma"]
    return -0.5 * ((y - eta) / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)


def _draw(rng, eta, params, trials=None):
    return eta + params["sigma"] * rng.standard_normal(np.shape(eta))


def _fisher(eta, params, trials=None):
    return np.broadcast_to(1.0 / np.asarray(params["sigma"]) ** 2, np.shape(eta))


def _synthetic_gaussian(rng, eta, noise):
    return np.round(10 + 3 * (eta + rng.normal(0, noise["sigma"], eta.shape)), 5), None


def _synthetic_lognormal(rng, eta, noise):
    log_y = np.log(2.0) + 0.4 * (eta + rng.normal(0, noise["sigma"], eta.shape))
    return np.round(np.exp(log_y), 6), None


def _kernel_rows():
    from ..kernel.scalars import kernel_function

    @kernel_function(cache=False)
    def normal_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                    par, n_vec):  # fmt: skip
        sigma = val[par[0]]
        inv = 1.0 / sigma
        ss, g_a, g_l = 0.0, 0.0, 0.0
        for i in range(rows[0], rows[1]):
            th = cred[cell[i]]
            r = (obs_y[i] - icpt - slope * th) * inv
            d = r * inv
            ss += r * r
            g_a += d
            g_l += d * th
            g_cred[cell[i]] += d * slope
        n = rows[1] - rows[0]
        gval[par[0]] += (ss - n) * inv
        return -n * math.log(sigma) - 0.5 * ss, g_a, g_l

    return normal_rows


_LESS_NOISE = (
    "a lower floor in the `sigma` prior (it sets the least noise the model allows{}), or a "
    "smaller loading prior (credibility's own spread reaches the signal through the loading)"
)
_KERNEL = KernelCode(_kernel_rows)
_COMMON = dict(pymc=_pymc, logp=_logp, draw=_draw, fisher=_fisher, params=(SIGMA,), kernel=_KERNEL)

FAMILIES = (
    Family(
        "gaussian",
        "a finite number",
        bad_real,
        transform="standardise",
        synthetic=_synthetic_gaussian,
        advice_more_spread="a different family (lognormal for skewed positive values, studentt "
        "for outliers), or check for outliers",
        advice_less_spread=_LESS_NOISE.format(""),
        **_COMMON,
    ),
    Family(
        "lognormal",
        "a positive number",
        bad_positive,
        transform="log_standardise",
        synthetic=_synthetic_lognormal,
        skewed=True,
        advice_less_spread=_LESS_NOISE.format(", on the log scale"),
        **_COMMON,
    ),
)
