"""The latent path in the kernel: unit dynamics (static, random walk, AR(1)), alliance
baselines, covariates, member reputation, the standardisation to credibility, and the
reverse pass of each."""

from __future__ import annotations

import math

import numpy as np

from .layout import (
    DIM_ALLIANCES,
    DIM_COVARIATES,
    DIM_DYNAMICS,
    DIM_MEMBERS,
    DIM_UNITS,
    DIM_YEARS,
    DYN_RW,
    DYN_STATIC,
    R_GAMMA,
    R_KH,
    R_KV,
    R_LEVEL,
    R_MU,
    R_PHI,
    R_PHIR,
    R_SIGMA,
    R_SIGMAR,
    R_SLEVEL,
    R_TAU,
    R_WALK,
    R_Z,
    R_ZREP,
)
from .scalars import FASTMATH_SUMS, kernel_function


@kernel_function()
def _recursion(phi, shocks, out):
    """out[:, t] = phi * out[:, t-1] + shocks[:, t] (out[:, 0] = shocks[:, 0])."""
    for i in range(shocks.shape[0]):
        prev = 0.0
        for t in range(shocks.shape[1]):
            prev = phi * prev + shocks[i, t]
            out[i, t] = prev


@kernel_function()
def _adjoint(phi, g_out, out, lam):
    """Reverse of :func:`_recursion`: lam = dL/dshocks; returns dL/dphi."""
    g_phi = 0.0
    n_t = g_out.shape[1]
    for i in range(g_out.shape[0]):
        nxt = 0.0
        for t in range(n_t - 1, -1, -1):
            nxt = g_out[i, t] + phi * nxt
            lam[i, t] = nxt
            if t > 0:
                g_phi += nxt * out[i, t - 1]
    return g_phi


@kernel_function()
def _latent(
    val, roles, dims, alliance_of_unit, member_of_unit, covariates, hon, vio, centred, step
):
    """Raw credibility path (unit, year) and the intermediates the reverse pass needs."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    dyn = dims[DIM_DYNAMICS]
    raw = np.empty((n_u, n_t))
    path = np.zeros((n_u, n_t))  # rw: the walk; ar1: the AR path (the reverse pass needs it)
    level = val[roles[R_LEVEL] : roles[R_LEVEL] + n_u]
    if dyn == DYN_RW:  # path = the walk from 0 (see design.walk_path)
        ow = roles[R_WALK]
        for u in range(n_u):
            prev = 0.0
            for t in range(1, n_t):
                z = val[ow + u * (n_t - 1) + t - 1]
                prev = z if centred[u, t - 1] > 0.5 else prev + step * z
                path[u, t] = prev
            for t in range(n_t):
                raw[u, t] = level[u] + path[u, t]
    elif dyn == DYN_STATIC:
        for u in range(n_u):
            for t in range(n_t):
                raw[u, t] = level[u]
    else:
        # element loops, not slice assignments: numba compiles each broadcasting slice
        # assignment's shape checks for seconds
        oz, sigma = roles[R_Z], val[roles[R_SIGMA]]
        shocks = np.empty((n_u, n_t))
        for u in range(n_u):
            shocks[u, 0] = level[u]
            for t in range(1, n_t):
                shocks[u, t] = sigma * val[oz + u * (n_t - 1) + t - 1]
        _recursion(val[roles[R_PHI]], shocks, path)
        for u in range(n_u):
            for t in range(n_t):
                raw[u, t] = path[u, t]
    if roles[R_GAMMA] >= 0:
        n_k = dims[DIM_COVARIATES]
        for u in range(n_u):
            s = 0.0
            for k in range(n_k):
                s += covariates[u, k] * val[roles[R_GAMMA] + k]
            for t in range(n_t):
                raw[u, t] += s
    rep = _reputation(val, roles, dims, hon, vio)
    if roles[R_KH] >= 0:
        for u in range(n_u):
            m = member_of_unit[u]
            for t in range(n_t):
                raw[u, t] += rep[m, t]
    return raw, path, rep


@kernel_function()
def _reputation(val, roles, dims, hon, vio):
    """Reputation (member, year): zeros without crises in the model.  ``hon`` and ``vio``
    hold one block of members per crisis kind, each kind with its own (signed) kappas."""
    n_t, n_m = dims[DIM_YEARS], dims[DIM_MEMBERS]
    rep = np.zeros((n_m, n_t))
    if roles[R_KH] < 0:
        return rep
    n_kinds = hon.shape[0] // n_m
    shocks = np.zeros((n_m, n_t))
    for j in range(n_kinds):
        kh, kv = val[roles[R_KH] + j], val[roles[R_KV] + j]
        for m in range(n_m):
            for t in range(1, n_t):
                shocks[m, t] += kh * hon[j * n_m + m, t - 1] - kv * vio[j * n_m + m, t - 1]
    if roles[R_ZREP] >= 0:
        for m in range(n_m):
            for t in range(1, n_t):
                shocks[m, t] += val[roles[R_SIGMAR]] * val[roles[R_ZREP] + m * (n_t - 1) + t - 1]
    _recursion(val[roles[R_PHIR]], shocks, rep)
    return rep


@kernel_function()
def _reputation_grad(g_rep, rep, val, gval, roles, dims, hon, vio):
    """Reverse of :func:`_reputation`: adds dL/dval given dL/drep."""
    n_t, n_m = dims[DIM_YEARS], dims[DIM_MEMBERS]
    lam = np.empty((n_m, n_t))
    gval[roles[R_PHIR]] += _adjoint(val[roles[R_PHIR]], g_rep, rep, lam)
    n_kinds = hon.shape[0] // n_m
    for j in range(n_kinds):
        g_kh, g_kv = 0.0, 0.0
        for m in range(n_m):
            for t in range(1, n_t):
                g_kh += lam[m, t] * hon[j * n_m + m, t - 1]
                g_kv -= lam[m, t] * vio[j * n_m + m, t - 1]
        gval[roles[R_KH] + j] += g_kh
        gval[roles[R_KV] + j] += g_kv
    if roles[R_ZREP] >= 0:
        g_sr = 0.0
        for m in range(n_m):
            for t in range(1, n_t):
                zi = roles[R_ZREP] + m * (n_t - 1) + t - 1
                g_sr += lam[m, t] * val[zi]
                gval[zi] += val[roles[R_SIGMAR]] * lam[m, t]
        gval[roles[R_SIGMAR]] += g_sr


@kernel_function()
def _latent_grad(
    g_raw,
    path,
    rep,
    val,
    gval,
    roles,
    dims,
    alliance_of_unit,
    member_of_unit,
    covariates,
    hon,
    vio,
    centred,
    step,
):
    n_u, n_t, n_m = dims[DIM_UNITS], dims[DIM_YEARS], dims[DIM_MEMBERS]
    dyn = dims[DIM_DYNAMICS]
    lv = roles[R_LEVEL]
    if dyn == DYN_STATIC:
        for u in range(n_u):
            gval[lv + u] += g_raw[u].sum()
    elif dyn == DYN_RW:
        _walk_grad(g_raw, path, gval, lv, roles[R_WALK], centred, step)
    else:
        sigma = val[roles[R_SIGMA]]
        lam = np.empty((n_u, n_t))
        gval[roles[R_PHI]] += _adjoint(val[roles[R_PHI]], g_raw, path, lam)
        oz = roles[R_Z]
        g_sigma = 0.0
        for u in range(n_u):
            gval[lv + u] += lam[u, 0]
            for s in range(n_t - 1):
                zi = oz + u * (n_t - 1) + s
                g_sigma += lam[u, s + 1] * val[zi]
                gval[zi] += sigma * lam[u, s + 1]
        gval[roles[R_SIGMA]] += g_sigma
    if roles[R_GAMMA] >= 0:
        for u in range(n_u):
            s = g_raw[u].sum()
            for k in range(dims[DIM_COVARIATES]):
                gval[roles[R_GAMMA] + k] += s * covariates[u, k]
    if roles[R_KH] >= 0:
        g_rep = np.zeros((n_m, n_t))
        for u in range(n_u):
            m = member_of_unit[u]
            for t in range(n_t):
                g_rep[m, t] += g_raw[u, t]
        _reputation_grad(g_rep, rep, val, gval, roles, dims, hon, vio)


@kernel_function(inline="always")
def _zero_sum(z, out):
    """PyMC's ZeroSumTransform backward: n - 1 free coordinates -> n values summing to 0."""
    n = z.shape[0] + 1
    total = z.sum()
    norm = total / (math.sqrt(n) + n)
    for i in range(n - 1):
        out[i] = z[i] - norm
    out[n - 1] = -total / math.sqrt(n)


@kernel_function(inline="always")
def _zero_sum_grad(g_out, g_z):
    n = g_out.shape[0]
    shared = g_out[: n - 1].sum() / (math.sqrt(n) + n) + g_out[n - 1] / math.sqrt(n)
    for i in range(n - 1):
        g_z[i] += g_out[i] - shared


@kernel_function()
def _level_prior(val, gval, roles, dims, alliance_of_unit):
    """The units' levels around their alliance baselines mu = tau * z_alliance, z_alliance ~
    ZeroSumNormal(1) (one alliance: mu = 0).  Static / AR(1): level[u] ~ Normal(mu[a(u)],
    1), random walk: Normal(mu[a(u)], sigma_level_raw) (its steps: _walk_prior)."""
    tau_at, om = roles[R_TAU], roles[R_MU]
    n_u, n_a = dims[DIM_UNITS], dims[DIM_ALLIANCES]
    mu = _alliance_baselines(val, roles, n_a)
    lp = 0.0
    g_mu = np.zeros(n_a)
    lv = roles[R_LEVEL]
    spread = val[roles[R_SLEVEL]] if dims[DIM_DYNAMICS] == DYN_RW else 1.0
    prec = 1.0 / (spread * spread)
    ss = 0.0
    for u in range(n_u):
        a = alliance_of_unit[u]
        d = val[lv + u] - mu[a]
        ss += d * d
        gval[lv + u] -= d * prec
        g_mu[a] += d * prec
    lp -= 0.5 * ss * prec
    if dims[DIM_DYNAMICS] == DYN_RW:
        lp -= n_u * math.log(spread)
        gval[roles[R_SLEVEL]] += ss * prec / spread - n_u / spread
    if tau_at >= 0:  # non-centred: few alliances inform tau, so centred mu makes a funnel
        tau = val[tau_at]
        zs = np.zeros(n_a)  # z itself, not mu / tau: tau can underflow to 0 in warm-up
        _zero_sum(val[om : om + n_a - 1], zs)
        g_z = np.empty(n_a)
        g_tau = 0.0
        for a in range(n_a):
            z = zs[a]
            lp -= 0.5 * z * z
            g_tau += z * g_mu[a]
            g_z[a] = tau * g_mu[a] - z
        gval[tau_at] += g_tau
        _zero_sum_grad(g_z, gval[om : om + n_a - 1])
    return lp


@kernel_function()
def _alliance_baselines(val, roles, n_a):
    """mu = tau * z_alliance (zeros when the model has a single alliance)."""
    mu = np.zeros(n_a)
    if roles[R_TAU] >= 0:
        _zero_sum(val[roles[R_MU] : roles[R_MU] + n_a - 1], mu)
        mu *= val[roles[R_TAU]]
    return mu


@kernel_function()
def _walk_prior(path, step):
    """log density of the random walk's steps, Normal(path[u, t - 1], step), constants
    dropped.  The same in centred and non-centred coordinates (the Jacobian is constant)."""
    lp = 0.0
    for u in range(path.shape[0]):
        for t in range(1, path.shape[1]):
            d = (path[u, t] - path[u, t - 1]) / step
            lp -= 0.5 * d * d
    return lp


@kernel_function()
def _walk_grad(g_raw, path, gval, lv, ow, centred, step):
    """Reverse pass of the walk: dL/dpath (likelihood + _walk_prior) back through the
    recurrence path[t] = z (centred) or path[t - 1] + step z (non-centred)."""
    n_u, n_t = path.shape
    prec = 1.0 / (step * step)
    g = np.empty(n_t)
    for u in range(n_u):
        gval[lv + u] += g_raw[u].sum()
        for t in range(1, n_t):
            g[t] = g_raw[u, t] - (path[u, t] - path[u, t - 1]) * prec
            if t + 1 < n_t:
                g[t] += (path[u, t + 1] - path[u, t]) * prec
        for t in range(n_t - 1, 0, -1):
            zi = ow + u * (n_t - 1) + t - 1
            if centred[u, t - 1] > 0.5:
                gval[zi] += g[t]
            else:
                gval[zi] += step * g[t]
                if t > 1:
                    g[t - 1] += g[t]


@kernel_function()
def _walk_step(roles, blk_off, blk_par):
    """The walk's fixed step: the first prior parameter of its block (0: no walk)."""
    for b in range(blk_off.shape[0]):
        if blk_off[b] == roles[R_WALK]:
            return blk_par[b, 0]
    return 0.0


@kernel_function(fastmath=FASTMATH_SUMS)
def _standardise(raw_flat, weight):
    mean = 0.0
    for c in range(raw_flat.shape[0]):
        mean += weight[c] * raw_flat[c]
    var = 0.0
    for c in range(raw_flat.shape[0]):
        d = raw_flat[c] - mean
        var += weight[c] * d * d
    sd = math.sqrt(var + 1e-12)
    return (raw_flat - mean) / sd, sd


@kernel_function(fastmath=FASTMATH_SUMS)
def _standardise_grad(g_cred, cred, sd, weight):
    """dL/draw from dL/dcred for cred = (raw - mean_w(raw)) / sd_w(raw)."""
    total, inner = g_cred.sum(), 0.0
    for c in range(cred.shape[0]):
        inner += g_cred[c] * cred[c]
    return (g_cred - weight * (total + cred * inner)) / sd
