"""The approximate mode's optimiser on targets with a known answer (no kernel, no sampling).

The fit through the kernel, against NUTS and the simulation's truth, is in test_fit.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayescred.approx import AdviSettings, _elbo_gradient, optimise

T = 30  # path length of the Gaussian target


def gaussian_walk_posterior():
    """A random walk seen through noise, plus two free coordinates: a Gaussian whose
    precision is tridiagonal along the path, so q's family holds it exactly.

    Returns (log-density and gradient, exact mean, exact sd, predecessors).
    """
    rng = np.random.default_rng(5)
    step, noise = 0.3, 0.5
    truth = np.cumsum(rng.normal(0, step, T))
    y = truth + rng.normal(0, noise, T)
    seen = rng.random(T) > 0.2
    q = np.zeros((T + 2, T + 2))
    q[0, 0] = 1 / 2.0**2  # x_0 ~ N(0, 2^2)
    for t in range(1, T):  # x_t - x_{t-1} ~ N(0, step^2)
        q[t, t] += 1 / step**2
        q[t - 1, t - 1] += 1 / step**2
        q[t, t - 1] = q[t - 1, t] = -1 / step**2
    q[np.arange(T)[seen], np.arange(T)[seen]] += 1 / noise**2
    b = np.zeros(T + 2)
    b[:T][seen] = y[seen] / noise**2
    q[T, T], b[T] = 1 / 0.5**2, 3.0 / 0.5**2  # N(3, 0.5^2)
    q[T + 1, T + 1], b[T + 1] = 1 / 2.0**2, -1.0 / 2.0**2  # N(-1, 2^2)
    cov = np.linalg.inv(q)
    prev = np.full(T + 2, -1)
    prev[1:T] = np.arange(T - 1)

    def logp_grad(z):
        return float(-0.5 * z @ q @ z + b @ z), -q @ z + b

    return logp_grad, cov @ b, np.sqrt(np.diag(cov)), prev


def test_recovers_a_gaussian_walk_posterior():
    logp_grad, mean, sd, prev = gaussian_walk_posterior()
    fit = optimise(logp_grad, np.zeros(T + 2), prev, np.random.default_rng(1))
    assert fit.converged
    assert np.max(np.abs(fit.mean - mean) / sd) < 0.05
    np.testing.assert_allclose(fit.sd_marginal(), sd, rtol=0.05)


def test_without_the_path_chain_the_walk_is_too_narrow():
    """What the chain is for: a mean-field q of the same target keeps the means but
    underestimates the path's marginal sds (it sees only each value's own precision)."""
    logp_grad, mean, sd, prev = gaussian_walk_posterior()
    fit = optimise(logp_grad, np.zeros(T + 2), np.full_like(prev, -1), np.random.default_rng(1))
    assert np.max(np.abs(fit.mean - mean) / sd) < 0.05
    assert np.median(fit.sd_marginal()[:T] / sd[:T]) < 0.8


def test_elbo_gradient_matches_finite_differences():
    """With the draw fixed, the ELBO estimate is a smooth function of (mu, log sd, a)."""
    n = 6
    prev = np.array([-1, 0, 1, 2, -1, 4])

    def logp_grad(z):  # not Gaussian: logistic-like tails and a coupling term
        d = np.diff(z)
        value = -np.sum(np.log(np.cosh(z))) - 0.5 * np.sum(d**2)
        grad = -np.tanh(z)
        grad[:-1] += d
        grad[1:] -= d
        return float(value), grad

    rng = np.random.default_rng(3)
    params = np.concatenate([rng.normal(size=n), rng.normal(-0.5, 0.3, n), rng.normal(0, 0.5, n)])

    def elbo(p):
        return _elbo_gradient(p, prev, logp_grad, np.random.default_rng(11))

    _, grad = elbo(params)
    h = 1e-6
    for i in [j for j in range(3 * n) if not (j >= 2 * n and prev[j - 2 * n] < 0)]:
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        numeric = (elbo(up)[0] - elbo(down)[0]) / (2 * h)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-7), i


def test_stops_at_the_iteration_limit_and_says_so():
    logp_grad, _, _, prev = gaussian_walk_posterior()
    settings = AdviSettings(max_iterations=400, averaging=50)
    fit = optimise(logp_grad, np.zeros(T + 2), prev, np.random.default_rng(1), settings)
    assert not fit.converged
    assert fit.iterations == 450


def test_same_seed_same_fit():
    logp_grad, _, _, prev = gaussian_walk_posterior()
    a, b = (optimise(logp_grad, np.zeros(T + 2), prev, np.random.default_rng(4)) for _ in "ab")
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.sd, b.sd)
