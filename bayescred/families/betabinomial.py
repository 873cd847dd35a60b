"""Overdispersed counts of trials: beta-binomial on the logit scale, ``p ~ Beta(mu *
precision, (1 - mu) * precision)``, ``y ~ Binomial(trials, p)``, ``mu = sigmoid(eta)``.
Variance ``n mu (1 - mu) (precision + n) / (precision + 1)``: for counts such as joint
exercises, where a binomial's predictive check fails on their spread."""

from __future__ import annotations

import numpy as np

from .base import Family, KernelCode, bad_binomial, expit, gammaln, log_choose
from .beta import PRECISION
from .pointwise import rows_from_pointwise

_BASELINE = 0.5


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    mu, nu = pm.math.sigmoid(eta), params["precision"]
    return pm.BetaBinomial(
        name, alpha=mu * nu, beta=(1 - mu) * nu, n=trials, observed=observed, dims=dims
    )


def _logp(y, eta, params, trials=None):
    nu = params["precision"]
    mu = expit(eta)
    a, b = mu * nu, (1 - mu) * nu
    return (
        log_choose(trials, y) + gammaln(y + a) + gammaln(trials - y + b) - gammaln(trials + nu)
        - gammaln(a) - gammaln(b) + gammaln(nu)
    )  # fmt: skip


def _draw(rng, eta, params, trials=None):
    nu = np.asarray(params["precision"])
    mu = expit(eta)
    p = rng.beta(mu * nu, (1 - mu) * nu)
    return rng.binomial(np.asarray(trials, int), p).astype(float)


def _fisher(eta, params, trials=None):
    """The binomial's information deflated by the variance inflation (n - 1) / (nu + 1) +
    1: exact for the mean's estimating equation (quasi-likelihood), an approximation of the
    beta-binomial's own."""
    p = expit(eta)
    nu = params["precision"]
    return trials * p * (1 - p) * (nu + 1) / (nu + trials)


def _synthetic(rng, eta, noise):
    trials = rng.integers(20, 60, eta.shape)
    mu, nu = expit(_BASELINE + eta), noise["precision"]
    return rng.binomial(trials, rng.beta(mu * nu, (1 - mu) * nu)), trials


def _point():
    from ..kernel.scalars import kernel_function, lgamma_digamma, sigmoid

    @kernel_function(inline="always", cache=False)
    def point(y, n, c1, c2, eta, nu, unused):
        mu = sigmoid(eta)
        a, b = mu * nu, (1.0 - mu) * nu
        lg_ya, dg_ya = lgamma_digamma(y + a)
        lg_yb, dg_yb = lgamma_digamma(n - y + b)
        lg_a, dg_a = lgamma_digamma(a)
        lg_b, dg_b = lgamma_digamma(b)
        lg_n, dg_n = lgamma_digamma(n + nu)
        lg_nu, dg_nu = lgamma_digamma(nu)
        ll = lg_ya + lg_yb - lg_n - lg_a - lg_b + lg_nu  # log choose(n, y) dropped
        d_a, d_b = dg_ya - dg_a, dg_yb - dg_b
        d_eta = nu * (d_a - d_b) * mu * (1.0 - mu)
        d_nu = mu * d_a + (1.0 - mu) * d_b - dg_n + dg_nu
        return ll, d_eta, d_nu, 0.0

    return point


FAMILY = Family(
    "betabinomial",
    "an integer count between 0 and its trials",
    bad_binomial,
    pymc=_pymc,
    logp=_logp,
    draw=_draw,
    fisher=_fisher,
    synthetic=_synthetic,
    integer=True,
    needs_trials=True,
    link="logit",
    params=(PRECISION,),
    kernel=KernelCode(rows_from_pointwise(_point)),
    advice_less_spread="binomial instead of betabinomial, or a `precision` prior that allows "
    "higher values (higher precision is less overdispersion)",
)
