"""Pareto-smoothed importance sampling in plain NumPy (no ArviZ import).

The same algorithm and constants as ``arviz.psislw`` (Vehtari, Simpson, Gelman, Yao and
Gabry 2024, "Pareto smoothed importance sampling", JMLR 25(72)): the largest
``M = ceil(min(S / 5, 3 sqrt(S / r_eff)))`` log-weights form the tail; a generalized
Pareto distribution is fitted to their exceedances over the cutoff by the empirical-Bayes
estimate of Zhang and Stephens (2009), with the weakly informative prior on its shape
``k`` of Vehtari et al.; the tail is replaced by the fit's expected order statistics and
truncated at the largest raw weight.  ``k`` says whether the weights can be trusted (the
usual limit is 0.7).  The what-if fast engine uses it, so answering a scenario never
pays ArviZ's import time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["psislw"]

_TINY_LOG = float(np.log(np.finfo(float).tiny))  # smallest log-weight the tail may start at
_EPS = float(np.finfo(float).eps)


def psislw(
    log_weights: np.ndarray, reff: float = 1.0, normalize: bool = True
) -> tuple[np.ndarray, np.ndarray | float]:
    """Pareto-smoothed log-weights and the Pareto shape ``k``.

    Parameters
    ----------
    log_weights : (..., S) array
        Raw log importance weights; the last axis is the draws, any leading axes are
        smoothed independently.
    reff : float
        Relative MCMC efficiency (ess / S); it lengthens the tail when below 1.
    normalize : bool
        Return log-weights normalised to sum to one (log-sum-exp 0); otherwise on the
        input's scale.

    Returns
    -------
    (lw, k)
        Smoothed (and truncated) log-weights, shaped like the input, and ``k`` (a float
        for 1-D input, else an array of the leading shape; ``inf`` when the tail has 4
        draws or fewer, in which case the weights are only truncated/normalised).
    """
    lw = np.array(log_weights, dtype=float)  # a copy: the input is never modified
    if lw.ndim == 0:
        raise ValueError("log_weights must have at least one dimension (the draws)")
    n = lw.shape[-1]
    cutoff_ind = -int(np.ceil(min(n / 5.0, 3 * (n / reff) ** 0.5))) - 1
    flat = lw.reshape(-1, n)
    ks = np.empty(flat.shape[0])
    for i, row in enumerate(flat):
        flat[i], ks[i] = _smooth(row, cutoff_ind, normalize)
    out = flat.reshape(lw.shape)
    if lw.ndim == 1:
        return out, float(ks[0])
    return out, ks.reshape(lw.shape[:-1])


def _smooth(x: np.ndarray, cutoff_ind: int, normalize: bool) -> tuple[np.ndarray, float]:
    """One vector of log-weights (modified in place and returned) and its k."""
    max_x = np.max(x)
    x -= max_x  # the largest weight is exp(0)
    order = np.argsort(x)
    cutoff = max(x[order[cutoff_ind]], _TINY_LOG)
    exp_cutoff = np.exp(cutoff)
    (tail,) = np.where(x > cutoff)
    k = np.inf
    if len(tail) > 4:  # a GPD fit needs more than four tail draws
        x_tail = x[tail]
        tail_order = np.argsort(x_tail)
        exceed = np.exp(x_tail) - exp_cutoff
        k, sigma = _gpd_fit(exceed[tail_order])
        if np.isfinite(k):  # no smoothing when the fit failed
            probs = np.arange(0.5, len(tail)) / len(tail)
            x[tail[tail_order]] = np.log(_gpd_quantile(probs, k, sigma) + exp_cutoff)
            x[x > 0] = 0  # truncate at the largest raw weight
    if normalize:
        x -= _logsumexp(x)
    else:
        x += max_x
    return x, float(k)


def _gpd_fit(x: np.ndarray) -> tuple[float, float]:
    """Empirical-Bayes (Zhang & Stephens 2009) estimate of a generalized Pareto
    distribution's shape ``k`` and scale ``sigma`` from sorted positive exceedances,
    with ``k`` shrunk towards 0.5 by a prior worth 10 observations."""
    prior_bs, prior_k = 3, 10
    n = len(x)
    m = 30 + int(n**0.5)
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=float) - 0.5))
    b /= prior_bs * x[int(n / 4 + 0.5) - 1]
    b += 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    log_lik = n * (np.log(-(b / k)) - k - 1)
    weights = 1 / np.exp(log_lik - log_lik[:, None]).sum(axis=1)
    keep = weights >= 10 * _EPS  # drop negligible weights
    if not np.all(keep):
        weights, b = weights[keep], b[keep]
    weights /= weights.sum()
    b_post = np.sum(b * weights)
    k_post = np.log1p(-b_post * x).mean()
    sigma = -k_post / b_post
    k_post = (n * k_post + prior_k * 0.5) / (n + prior_k)
    return float(k_post), float(sigma)


def _gpd_quantile(probs: np.ndarray, k: float, sigma: float) -> np.ndarray:
    """Quantiles of a generalized Pareto distribution (location 0)."""
    x = np.full_like(probs, np.nan)
    if sigma <= 0:
        return x
    ok = (probs > 0) & (probs < 1)
    if abs(k) < _EPS:
        x[ok] = -np.log1p(-probs[ok])
    else:
        x[ok] = np.expm1(-k * np.log1p(-probs[ok])) / k
    x *= sigma
    x[probs == 0] = 0
    x[probs == 1] = np.inf if k >= 0 else -sigma / k
    return x


def _logsumexp(x: np.ndarray) -> float:
    m = np.max(x)
    if not np.isfinite(m):
        return float(m)
    return float(m + np.log(np.sum(np.exp(x - m))))
