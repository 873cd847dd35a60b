"""Heavy-tailed real values: Student-t on standardised values, ``y ~ StudentT(nu, eta,
sigma)``.  For a signal whose occasional outliers (a one-year spike in spending) should not
move credibility as a gaussian would make them."""

from __future__ import annotations

import math

import numpy as np

from .base import Family, KernelCode, Param, bad_real, gammaln
from .normal import SIGMA
from .pointwise import rows_from_pointwise

NU = Param("nu", {"dist": "Gamma", "alpha": 2.0, "beta": 0.1})


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    return pm.StudentT(
        name, nu=params["nu"], mu=eta, sigma=params["sigma"], observed=observed, dims=dims
    )


def _logp(y, eta, params, trials=None):
    nu, s = params["nu"], params["sigma"]
    z = (y - eta) / s
    return (
        gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * math.pi) - np.log(s)
        - (nu + 1) / 2 * np.log1p(z * z / nu)
    )  # fmt: skip


def _draw(rng, eta, params, trials=None):
    return eta + params["sigma"] * rng.standard_t(params["nu"], np.shape(eta))


def _fisher(eta, params, trials=None):
    nu, s = params["nu"], params["sigma"]
    return np.broadcast_to((nu + 1) / ((nu + 3) * s * s), np.shape(eta))


def _synthetic(rng, eta, noise):
    t = rng.standard_t(noise.get("nu", 4.0), eta.shape)
    return np.round(10 + 3 * (eta + noise["sigma"] * t), 5), None


def _point():
    from ..kernel.scalars import digamma, kernel_function

    @kernel_function(inline="always", cache=False)
    def point(y, trials, c1, c2, eta, sigma, nu):
        r = (y - eta) / sigma
        q = nu + r * r
        log_term = math.log1p(r * r / nu)
        ll = (
            math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu)
            - math.log(sigma) - 0.5 * (nu + 1.0) * log_term
        )  # fmt: skip
        d_eta = (nu + 1.0) * r / (sigma * q)
        d_sigma = (-1.0 + (nu + 1.0) * r * r / q) / sigma
        d_nu = (
            0.5 * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu)) - 0.5 / nu
            - 0.5 * log_term + 0.5 * (nu + 1.0) * r * r / (nu * q)
        )  # fmt: skip
        return ll, d_eta, d_sigma, d_nu

    return point


FAMILY = Family(
    "studentt",
    "a finite number",
    bad_real,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    transform="standardise",
    params=(SIGMA, NU),
    kernel=KernelCode(rows_from_pointwise(_point)),
    advice_less_spread="gaussian instead of studentt, or a lower floor in the `sigma` prior",
)
