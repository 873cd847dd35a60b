"""Binomial likelihoods on the logit scale: ``binomial`` (successes of ``trials``) and
``bernoulli`` (0 or 1)."""

from __future__ import annotations

import math

import numpy as np

from .base import Family, KernelCode, bad_bernoulli, bad_binomial, expit, log_choose, log_sigmoid

_BASELINE = 0.5  # simulated panels: typical logit of a binomial signal


def _pymc(name, eta, observed, params, trials=None, dims=None):
    import pymc as pm

    if trials is None:
        return pm.Bernoulli(name, logit_p=eta, observed=observed, dims=dims)
    return pm.Binomial(name, n=trials, logit_p=eta, observed=observed, dims=dims)


def _logp(y, eta, params, trials=None):
    n = 1.0 if trials is None else trials
    const = 0.0 if trials is None else log_choose(n, y)
    return const + y * log_sigmoid(eta) + (n - y) * log_sigmoid(-eta)


def _draw(rng, eta, params, trials=None):
    n = np.ones(np.shape(eta), dtype=np.int64) if trials is None else np.asarray(trials, int)
    return rng.binomial(n, expit(eta)).astype(float)


def _fisher(eta, params, trials=None):
    p = expit(eta)
    n = 1.0 if trials is None else trials
    return n * p * (1 - p)


def _synthetic_binomial(rng, eta, noise):
    trials = rng.integers(60, 160, eta.shape)
    return rng.binomial(trials, expit(_BASELINE + eta)), trials


def _synthetic_bernoulli(rng, eta, noise):
    return rng.binomial(1, expit(eta)), None


def _kernel_rows():
    from ..kernel.scalars import kernel_function

    @kernel_function(cache=False)
    def binomial_rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                      par, n_vec):  # fmt: skip
        ll, g_a, g_l = 0.0, 0.0, 0.0
        for i in range(rows[0], rows[1]):
            th = cred[cell[i]]
            eta = icpt + slope * th
            e = math.exp(-abs(eta))
            q = 1.0 + e  # log(q), not log1p(e): the same to 1e-16 absolute, a third faster
            p = 1.0 / q if eta >= 0 else e / q
            ll += obs_y[i] * eta - trials[i] * (max(eta, 0.0) + math.log(q))
            d = obs_y[i] - trials[i] * p
            g_a += d
            g_l += d * th
            g_cred[cell[i]] += d * slope
        return ll, g_a, g_l

    return binomial_rows


_KERNEL = KernelCode(_kernel_rows)
_COMMON = dict(
    pymc=_pymc, logp=_logp, draw=_draw, fisher=_fisher, integer=True, link="logit", kernel=_KERNEL
)

FAMILIES = (
    Family(
        "binomial",
        "an integer count between 0 and its trials",
        bad_binomial,
        needs_trials=True,
        synthetic=_synthetic_binomial,
        advice_more_spread="a different family: betabinomial (the counts are overdispersed)",
        **_COMMON,
    ),
    Family(
        "bernoulli", "0 or 1", bad_bernoulli, synthetic=_synthetic_bernoulli, binary=True,
        **_COMMON,
    ),
)
