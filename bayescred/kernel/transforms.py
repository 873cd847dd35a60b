"""Transforms and priors of the kernel's parameter blocks: PyMC's transforms from the
unconstrained ``x`` to the constrained ``val`` (with log-Jacobians), the priors' log-densities,
and the chain rule back."""

from __future__ import annotations

import math

import numpy as np

from .layout import (
    D_BETA,
    D_EXPONENTIAL,
    D_FLAT,
    D_GAMMA,
    D_HALFCAUCHY,
    D_HALFNORMAL,
    D_HALFSTUDENTT,
    D_LOGNORMAL,
    D_NORMAL,
    D_STUDENTT,
    D_UNIFORM,
    T_INTERVAL,
    T_LOG,
    T_LOGODDS,
    T_LOWER,
    T_NONE,
    T_ORDERED,
    T_UPPER,
    T_ZEROSUM,
)
from .scalars import FASTMATH_SUMS, kernel_function, sigmoid, softplus


@kernel_function(fastmath=FASTMATH_SUMS)
def _normal_block(val, gval, offset, size, mu, sigma):
    lp, inv = 0.0, 1.0 / sigma
    for k in range(offset, offset + size):
        z = (val[k] - mu) * inv
        lp -= 0.5 * z * z
        gval[k] -= z * inv
    return lp


@kernel_function()
def _prior(dist, v, p):
    """log prior density of constrained value v (up to a constant) and its derivative."""
    if dist == D_NORMAL:
        z = (v - p[0]) / p[1]
        return -0.5 * z * z, -z / p[1]
    if dist == D_HALFNORMAL:
        z = v / p[0]
        return -0.5 * z * z, -z / p[0]
    if dist == D_LOGNORMAL:
        lv = math.log(v)
        z = (lv - p[0]) / p[1]
        return -lv - 0.5 * z * z, (-1.0 - z / p[1]) / v
    if dist == D_EXPONENTIAL:
        return -p[0] * v, -p[0]
    if dist == D_GAMMA:
        return (p[0] - 1.0) * math.log(v) - p[1] * v, (p[0] - 1.0) / v - p[1]
    if dist == D_BETA:
        lp = (p[0] - 1.0) * math.log(v) + (p[1] - 1.0) * math.log1p(-v)
        return lp, (p[0] - 1.0) / v - (p[1] - 1.0) / (1.0 - v)
    if dist == D_HALFCAUCHY:
        return -math.log1p((v / p[0]) ** 2), -2.0 * v / (p[0] * p[0] + v * v)
    if dist == D_HALFSTUDENTT:  # p = (nu, sigma)
        q = v * v / (p[1] * p[1] * p[0])
        return -0.5 * (p[0] + 1.0) * math.log1p(q), -(p[0] + 1.0) * v / (p[0] * p[1] * p[1] + v * v)
    if dist == D_STUDENTT:  # p = (nu, mu, sigma)
        d = v - p[1]
        q = d * d / (p[2] * p[2] * p[0])
        return -0.5 * (p[0] + 1.0) * math.log1p(q), -(p[0] + 1.0) * d / (p[0] * p[2] * p[2] + d * d)
    if dist == D_UNIFORM or dist == D_FLAT:
        return 0.0, 0.0
    # D_TRUNCNORMAL: p = (mu, sigma, lower, upper); the truncation is a constant
    z = (v - p[0]) / p[1]
    return -0.5 * z * z, -z / p[1]


@kernel_function()
def _constrain(x, val, dval, blk_off, blk_size, blk_transform, blk_bounds):
    """val = constrained x; dval = dval/dx (ordered: d step); returns the log-Jacobian and
    writes its gradient into ``dval``'s companion (returned array)."""
    gjac = np.zeros_like(x)
    logjac = 0.0
    for b in range(blk_off.shape[0]):
        o, n, tr = blk_off[b], blk_size[b], blk_transform[b]
        lo, hi = blk_bounds[b, 0], blk_bounds[b, 1]
        acc = 0.0
        for k in range(o, o + n):
            y = x[k]
            if tr == T_NONE or tr == T_ZEROSUM:  # zero-sum: expanded in _level_prior
                val[k], dval[k] = y, 1.0
            elif tr == T_LOG:
                e = math.exp(y)
                val[k], dval[k] = e, e
                logjac += y
                gjac[k] += 1.0
            elif tr == T_LOGODDS or tr == T_INTERVAL:
                s = sigmoid(y)
                width = hi - lo
                val[k], dval[k] = lo + width * s, width * s * (1.0 - s)
                logjac += math.log(width) - softplus(-y) - softplus(y)
                gjac[k] += 1.0 - 2.0 * s
            elif tr == T_LOWER:
                e = math.exp(y)
                val[k], dval[k] = lo + e, e
                logjac += y
                gjac[k] += 1.0
            elif tr == T_UPPER:
                e = math.exp(y)
                val[k], dval[k] = hi - e, e
                logjac += y
                gjac[k] += 1.0
            else:  # T_ORDERED: v0 = y0, v_k = v_{k-1} + exp(y_k)
                if k == o:
                    acc, dval[k] = y, 1.0
                else:
                    e = math.exp(y)
                    acc += e
                    dval[k] = e
                    logjac += y
                    gjac[k] += 1.0
                val[k] = acc
    return logjac, gjac


@kernel_function()
def _priors(val, gval, blk_off, blk_size, blk_dist, blk_par):
    lp = 0.0
    for b in range(blk_off.shape[0]):
        p = blk_par[b]
        if blk_dist[b] == D_FLAT or blk_dist[b] == D_UNIFORM:  # the latent blocks
            continue
        if blk_dist[b] == D_NORMAL:
            lp += _normal_block(val, gval, blk_off[b], blk_size[b], p[0], p[1])
            continue
        for k in range(blk_off[b], blk_off[b] + blk_size[b]):
            v, d = _prior(blk_dist[b], val[k], p)
            lp += v
            gval[k] += d
    return lp


@kernel_function()
def _unconstrain_grad(x, gval, dval, gjac, blk_off, blk_size, blk_transform, grad):
    """Chain rule from constrained to unconstrained gradients."""
    for b in range(blk_off.shape[0]):
        o, n = blk_off[b], blk_size[b]
        if blk_transform[b] == T_ORDERED:
            tail = 0.0
            for k in range(o + n - 1, o - 1, -1):
                tail += gval[k]
                grad[k] = tail * dval[k] + gjac[k]
        else:
            for k in range(o, o + n):
                grad[k] = gval[k] * dval[k] + gjac[k]
