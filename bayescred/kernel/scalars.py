"""Scalar maths of the numba kernel, shared by the density and the families' kernel code.

Every kernel function has ``error_model="numpy"``: x / 0 is inf or nan, never a
ZeroDivisionError.  An exception cannot leave nutpie's C callback: numba would print it
and return "success" with the log-density unwritten.  A non-finite value is reported to
nutpie instead (``cinterface._logp_c``), which rejects the point.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# LLVM may fuse multiply-adds and turn divisions into reciprocal multiplications (~25%
# off the likelihood loop, measured on ``medium``); it may not assume values are finite
# (the C entry point reports non-finite log-densities) nor reorder sums.
FASTMATH = {"contract", "arcp", "nsz"}
# long sums over cells may also be reordered (vectorised): a change in the last bits only
FASTMATH_SUMS = FASTMATH | {"reassoc"}


def kernel_function(fastmath=FASTMATH, **options):
    """The decorator of kernel code: numba with the kernel's error model and fast-maths
    flags (``cache=True`` by default; the cache is keyed on every kernel source file, see
    ``kernel.build``)."""
    options.setdefault("cache", True)
    return njit(error_model="numpy", fastmath=fastmath, **options)


@kernel_function(inline="always")
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow, and without a branch (loops of it vectorise)."""
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@kernel_function(inline="always")
def softplus(x):
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@kernel_function()
def digamma(x):
    r = 0.0
    while x < 6.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return r + math.log(x) - 0.5 / x - series


@kernel_function()
def lgamma_digamma(x):
    """(lgamma(x), digamma(x)); Stirling series for x >= 10 shares one log."""
    if x < 10.0:
        return math.lgamma(x), digamma(x)
    return stirling(x)


@kernel_function(inline="always")
def stirling(x):
    """(lgamma(x), digamma(x)) by Stirling's series, to double precision for x >= 10:
    arithmetic and one log, so that a loop of it vectorises (see build.VECTOR_MATH)."""
    lx = math.log(x)
    f = 1.0 / (x * x)
    lg = (
        (x - 0.5) * lx
        - x
        + 0.91893853320467274178
        + (1 / 12 - f * (1 / 360 - f * (1 / 1260 - f * (1 / 1680 - f / 1188)))) / x
    )
    dg = lx - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return lg, dg


@kernel_function(inline="always")
def lgamma_digamma_any(x):
    """(lgamma(x), digamma(x)) for any x > 0, without branches, so that a loop of it
    vectorises: below 10, Stirling's series at x + 10 and lgamma(x) = lgamma(x + 10) -
    log P, digamma(x) = digamma(x + 10) - P' / P, with P = x (x + 1) ... (x + 9) (and P',
    its derivative, the sum of 1 / (x + j) times P: one log and one division)."""
    small = x < 10.0
    p, dp = 1.0, 0.0
    for j in range(10):
        dp = dp * (x + j) + p
        p = p * (x + j)
    lg, dg = stirling(x + 10.0 if small else x)
    return lg - math.log(p if small else 1.0), dg - (dp / p if small else 0.0)


@kernel_function(fastmath=FASTMATH_SUMS)
def lgamma_digamma_sums(obs_y, rows, a):
    """(sum of lgamma(y + a), sum of digamma(y + a)) over the rows: by Stirling's series
    in one vectorised loop when every y + a >= 10 (counts such as troops), else row by
    row."""
    low = np.inf
    for i in range(rows[0], rows[1]):
        low = min(low, obs_y[i])
    lg, dg = 0.0, 0.0
    if low + a >= 10.0:
        for i in range(rows[0], rows[1]):
            lg_i, dg_i = stirling(obs_y[i] + a)
            lg += lg_i
            dg += dg_i
        return lg, dg
    for i in range(rows[0], rows[1]):
        lg_i, dg_i = lgamma_digamma(obs_y[i] + a)
        lg += lg_i
        dg += dg_i
    return lg, dg


# The rows of a family read their cell's credibility from cred and add to its gradient
# in g_cred, an indirect read and write that keeps a loop from vectorising.  So the
# Poisson, negative binomial and beta rows copy their cells' credibility into a contiguous
# vector first (gathered), compute every row in a loop over contiguous vectors, which
# LLVM vectorises (exp and log four at a time with VECTOR_MATH), into a vector of
# gradients, and add those to g_cred last (scatter).  The binomial rows stay one scalar
# loop: written this way inside the kernel their results depended on where the heap put
# the temporary vectors (last bits, so other draws for one seed; not understood).


@kernel_function(inline="always")
def gathered(cred, cell, rows):
    th = np.empty(rows[1] - rows[0])
    for k in range(th.shape[0]):
        th[k] = cred[cell[rows[0] + k]]
    return th


@kernel_function(inline="always")
def scatter(g_cred, cell, rows, d, slope):
    for k in range(d.shape[0]):
        g_cred[cell[rows[0] + k]] += d[k] * slope


@kernel_function()
def ordinal(eta, k, cut, o, n_cut, gval):
    """log P(y = k) under a cumulative logit with cutpoints cut[o : o + n_cut]; adds the
    cutpoint gradients to gval and returns (logp, dlogp/deta)."""
    if k == 0:
        b = eta - cut[o]
        s = sigmoid(b)
        gval[o] += s
        return -softplus(b), -s
    if k == n_cut:
        a = eta - cut[o + n_cut - 1]
        s = sigmoid(a)
        gval[o + n_cut - 1] -= 1.0 - s
        return -softplus(-a), 1.0 - s
    a, b = eta - cut[o + k - 1], eta - cut[o + k]
    sa, sb = sigmoid(a), sigmoid(b)
    p = sa - sb
    da, db = sa * (1.0 - sa), sb * (1.0 - sb)
    gval[o + k - 1] -= da / p
    gval[o + k] += db / p
    return math.log(p), (da - db) / p
