"""The model's log-density and gradient, hand-written in numba: what nutpie samples.

This is the same density as the PyMC model in ``model.py`` (tests check value and gradient
against PyMC's own ``logp``/``dlogp`` for every family, dynamics and prior), written as
one compiled kernel with a reverse pass by hand.  It exists for speed: nutpie calls it
through a C function pointer, with no Python and no GIL between gradient evaluations,
and one compiled kernel serves every model structure and panel size (everything that
varies is data), so numba compiles it once per machine (``cache=True``) and never again.

Layout: ``x`` is the unconstrained parameter vector in PyMC's value-variable order.  It
is cut into *blocks* (one per free variable); each block has a transform and a prior.
Model *roles* (level, sigma_innovation, alpha, ...) are offsets into the constrained
vector ``val`` (``-1`` when the model has no such variable).  All other inputs are data
arrays described in :data:`ARRAYS`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes.util
import functools
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

# LLVM may fuse multiply-adds and turn divisions into reciprocal multiplications (~25%
# off the likelihood loop, measured on ``medium``); it may not assume values are finite
# (the C entry point reports non-finite log-densities) nor reorder sums.
FASTMATH = {"contract", "arcp", "nsz"}
# long sums over cells may also be reordered (vectorised): a change in the last bits only
FASTMATH_SUMS = FASTMATH | {"reassoc"}


def _load_vector_math() -> bool:
    """Load glibc's vector maths library (libmvec: exp, log, ... four values per call
    with AVX2) where there is one (Linux on x86-64), so that compiled kernel code can call
    it; whether it loaded."""
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        return False
    try:
        llvm.load_library_permanently("libmvec.so.1")
        return True
    except Exception:  # not under that name: ask ldconfig (slower: a subprocess)
        found = ctypes.util.find_library("mvec")
    try:
        llvm.load_library_permanently(found)
        return True
    except Exception:  # no libmvec (musl, old glibc): the loops stay scalar
        return False


# With libmvec, LLVM's loop vectoriser calls it for the exp and log of the likelihood
# loops (a loop of 1,432 rows, alone: 43 -> 17 us), where the scalar libm calls were a
# third of the gradient's time.  The option is LLVM's, for the whole process, so it is
# set only while the kernel compiles (compile_c_function); the code it compiles needs
# libmvec loaded in every process that runs it, hence the load at import.
VECTOR_MATH = _load_vector_math()


@contextlib.contextmanager
def _vector_math():
    """LLVM's vector library is libmvec while the block runs (where VECTOR_MATH, and numba
    has not chosen Intel's SVML), then LLVM's default again."""
    if not VECTOR_MATH or numba.config.USING_SVML:
        yield
        return
    llvm.set_option("bayescred", "-vector-library=LIBMVEC-X86")
    try:
        yield
    finally:
        llvm.set_option("bayescred", "-vector-library=none")


# Every kernel function has error_model="numpy": x / 0 is inf or nan, never a
# ZeroDivisionError. An exception cannot leave nutpie's C callback: numba would print it
# and return "success" with the log-density unwritten. A non-finite value is reported to
# nutpie (see _logp_c), which rejects the point.

# transforms (PyMC's, from unconstrained y to the constrained value v)
T_NONE, T_LOG, T_LOGODDS, T_INTERVAL, T_LOWER, T_UPPER, T_ORDERED, T_ZEROSUM = range(8)
# prior distributions (parameters in blk_par: see native.PRIOR_PARAMS)
(
    D_NORMAL,
    D_HALFNORMAL,
    D_LOGNORMAL,
    D_EXPONENTIAL,
    D_GAMMA,
    D_BETA,
    D_HALFCAUCHY,
    D_HALFSTUDENTT,
    D_STUDENTT,
    D_UNIFORM,
    D_TRUNCNORMAL,
    D_FLAT,  # no prior term here: the level's prior is written out in _level_prior
) = range(12)
# likelihood families of measurement rows
F_NORMAL, F_BINOMIAL, F_POISSON, F_NEGBIN, F_BETA, F_ORDINAL = range(6)
# model roles: index into the ``roles`` array
ROLES = (
    "level",
    "sigma_innovation",
    "z_innovation",
    "phi",
    "tau",
    "z_alliance",  # zero-sum: its block holds the first n - 1 free coordinates
    "gamma",
    "kappa_honor_raw",
    "kappa_violate_raw",
    "phi_reputation",
    "sigma_reputation",
    "z_reputation",
    "alpha",
    "loading",
    "loading_followthrough",
    "alpha_followthrough",
    "cutpoints_followthrough",
    "z_walk",  # random walk: coordinates of the path relative to its level (unit, step)
    "sigma_level_raw",  # random walk: spread of the walk's starting levels
)
(
    R_LEVEL,
    R_SIGMA,
    R_Z,
    R_PHI,
    R_TAU,
    R_MU,
    R_GAMMA,
    R_KH,
    R_KV,
    R_PHIR,
    R_SIGMAR,
    R_ZREP,
    R_ALPHA,
    R_LOADING,
    R_LOADFT,
    R_ALPHAFT,
    R_CUTFT,
    R_WALK,
    R_SLEVEL,
) = range(len(ROLES))
# dims: index into the ``dims`` array
DIMS = ("units", "years", "members", "alliances", "covariates", "dynamics", "followthrough")
DYN_STATIC, DYN_RW, DYN_AR1 = range(3)
FT_NONE, FT_BINARY, FT_ORDINAL = range(3)

# The data arrays, in the order the kernel takes them: (name, dtype, ndim).
ARRAYS = (
    ("dims", np.int64, 1),
    ("roles", np.int64, 1),
    ("blk_off", np.int64, 1),
    ("blk_size", np.int64, 1),
    ("blk_transform", np.int64, 1),
    ("blk_dist", np.int64, 1),
    ("blk_par", np.float64, 2),  # (block, 4) prior parameters
    ("blk_bounds", np.float64, 2),  # (block, 2) interval transform bounds
    ("alliance_of_unit", np.int64, 1),
    ("member_of_unit", np.int64, 1),
    ("active_weight", np.float64, 1),  # (unit * year,), sums to 1
    ("covariates", np.float64, 2),  # (unit, covariate), standardised
    ("honored", np.float64, 2),  # (member, year)
    ("violated", np.float64, 2),  # (member, year)
    ("obs_cell", np.int64, 1),  # observation rows sorted by signal (_measurement)
    ("obs_signal", np.int64, 1),
    ("obs_family", np.int64, 1),  # the row's family; the kernel reads sig_family
    ("obs_y", np.float64, 1),
    ("obs_trials", np.float64, 1),
    ("obs_c1", np.float64, 1),  # beta: log y
    ("obs_c2", np.float64, 1),  # beta: log(1 - y)
    ("sig_offset", np.float64, 1),
    ("sig_direction", np.float64, 1),
    ("sig_family", np.int64, 1),
    ("sig_aux", np.int64, 1),  # offset in val of sigma / dispersion / precision / cutpoints
    ("sig_ncut", np.int64, 1),
    ("crisis_cell", np.int64, 1),
    ("crisis_outcome", np.int64, 1),  # binary: 1 = honoured; ordinal: 0/1/2
    ("walk_centred", np.float64, 2),  # (unit, step): 1 = centred coordinate, 0 = non-centred
)

# Sampler coordinates (random walk): nutpie samples xs = (x~, log c, m), not the model's x.
# Credibility is standardised, so the likelihood cannot see the raw path's overall scale c
# or location m; only priors pin them, and in the model's coordinates each is a collective
# move of every path value, many posterior sds long (trees of 128-256 leapfrog steps on
# ``medium``).  Here c and m are coordinates of their own, x = c x~ + m on the raw scale
# (see _to_model), and x~'s own scale and location are held near 1 and 0 by an auxiliary
# density.  The posterior of x is exactly the model's: the auxiliary is a proper
# conditional of (log c, m) given x, so integrating (log c, m) out returns p(x)
# (_sampler_terms).  The walk's centred coordinates also become absolute path values
# (level + path), so moving a unit's level moves one year, not a whole path.
K_NONE, K_SCALE, K_LOG, K_LEVEL, K_ABS = range(5)
SAMPLER_ARRAYS = (
    ("sampler_kind", np.int64, 1),  # per model coordinate: how it maps (K_*)
    ("sampler_ref", np.int64, 1),  # K_ABS: index of the unit's level coordinate
    ("sampler_par", np.float64, 1),  # (on, sd of log scale(x~), sd of location(x~))
)

FOLLOW_STEPS = 64  # the preconditioner's follow exponents are multiples of 1 / 64

# Preconditioner: nutpie samples u, and the sampler coordinates are xs = mean + e(u) with
# e_i = sd_i u_i + coef_i e_prev(i) (prev: the coordinate before i on its unit's latent
# path), the Gaussian that bayescred.approx fits by ADVI, except that a coordinate may
# follow a log scale s(i): xs_i = mean_i + exp(-w_i e_s(i)) e_i (see _unwhiten).  The
# log-Jacobian of the map is added to the density, so the posterior is exactly the same;
# NUTS sees it whitened: the path's year-to-year dependence and every coordinate's scale
# are taken out, and the walk's paths roughen as its scale shrinks.  Then scales are put
# back on purpose (the spread map, see spread): nutpie samples w, and u = M w on blocks of
# the walk's coordinates, M = H diag(1 / s) H^T with H Hadamard's and s from spread_scale
# to 1, so directions turn at different rates and credibility's draws are not antithetic
# (native.KernelModel.spread_map).
PRECOND_ARRAYS = (
    ("pre_on", np.float64, 1),  # [on (1.0) / off (0.0: u = xs), the spread map's log-Jacobian]
    ("pre_mean", np.float64, 1),
    ("pre_sd", np.float64, 1),
    ("pre_coef", np.float64, 1),
    ("pre_prev", np.int64, 1),  # -1: no predecessor; predecessors come first
    ("pre_follow", np.int64, 1),  # 64 w_i: e_i scales by exp(-w_i e_s(i)) (see _unwhiten)
    ("pre_scale_at", np.int64, 1),  # s(i): the log scale coordinate i follows, or -1
    ("pre_spread_at", np.int64, 1),  # spread map: (first coordinate, blocks); 0 blocks: w = u
    ("pre_spread", np.float64, 2),  # the spread map's M (block size x block size)
)


# ----------------------------------------------------------------------------- scalars


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow, and without a branch (loops of it vectorise)."""
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _softplus(x):
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _digamma(x):
    r = 0.0
    while x < 6.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return r + math.log(x) - 0.5 / x - series


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _lgamma_digamma(x):
    """(lgamma(x), digamma(x)); Stirling series for x >= 10 shares one log."""
    if x < 10.0:
        return math.lgamma(x), _digamma(x)
    return _stirling(x)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _stirling(x):
    """(lgamma(x), digamma(x)) by Stirling's series, to double precision for x >= 10:
    arithmetic and one log, so that a loop of it vectorises (see VECTOR_MATH)."""
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _lgamma_digamma_any(x):
    """(lgamma(x), digamma(x)) for any x > 0, without branches, so that a loop of it
    vectorises: below 10, Stirling's series at x + 10 and lgamma(x) = lgamma(x + 10) -
    log P, digamma(x) = digamma(x + 10) - P' / P, with P = x (x + 1) ... (x + 9) (and P',
    its derivative, the sum of 1 / (x + j) times P: one log and one division)."""
    small = x < 10.0
    p, dp = 1.0, 0.0
    for j in range(10):
        dp = dp * (x + j) + p
        p = p * (x + j)
    lg, dg = _stirling(x + 10.0 if small else x)
    return lg - math.log(p if small else 1.0), dg - (dp / p if small else 0.0)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _lgamma_digamma_sums(obs_y, rows, a):
    """(sum of lgamma(y + a), sum of digamma(y + a)) over the rows: by Stirling's series
    in one vectorised loop when every y + a >= 10 (counts such as troops), else row by
    row."""
    low = np.inf
    for i in range(rows[0], rows[1]):
        low = min(low, obs_y[i])
    lg, dg = 0.0, 0.0
    if low + a >= 10.0:
        for i in range(rows[0], rows[1]):
            lg_i, dg_i = _stirling(obs_y[i] + a)
            lg += lg_i
            dg += dg_i
        return lg, dg
    for i in range(rows[0], rows[1]):
        lg_i, dg_i = _lgamma_digamma(obs_y[i] + a)
        lg += lg_i
        dg += dg_i
    return lg, dg


# ----------------------------------------------------------------------------- priors


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _normal_block(val, gval, offset, size, mu, sigma):
    lp, inv = 0.0, 1.0 / sigma
    for k in range(offset, offset + size):
        z = (val[k] - mu) * inv
        lp -= 0.5 * z * z
        gval[k] -= z * inv
    return lp


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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
                s = _sigmoid(y)
                width = hi - lo
                val[k], dval[k] = lo + width * s, width * s * (1.0 - s)
                logjac += math.log(width) - _softplus(-y) - _softplus(y)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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


# ----------------------------------------------------------------------------- latent


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _recursion(phi, shocks, out):
    """out[:, t] = phi * out[:, t-1] + shocks[:, t] (out[:, 0] = shocks[:, 0])."""
    for i in range(shocks.shape[0]):
        prev = 0.0
        for t in range(shocks.shape[1]):
            prev = phi * prev + shocks[i, t]
            out[i, t] = prev


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _latent(
    val, roles, dims, alliance_of_unit, member_of_unit, covariates, hon, vio, centred, step
):
    """Raw credibility path (unit, year) and the intermediates the reverse pass needs."""
    n_u, n_t = dims[0], dims[1]
    dyn = dims[5]
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
        n_k = dims[4]
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _reputation(val, roles, dims, hon, vio):
    """Reputation (member, year): zeros without crises in the model."""
    n_t, n_m = dims[1], dims[2]
    rep = np.zeros((n_m, n_t))
    if roles[R_KH] < 0:
        return rep
    kh, kv = val[roles[R_KH]], val[roles[R_KV]]
    shocks = np.zeros((n_m, n_t))
    for m in range(n_m):
        for t in range(1, n_t):
            shocks[m, t] = kh * hon[m, t - 1] - kv * vio[m, t - 1]
            if roles[R_ZREP] >= 0:
                shocks[m, t] += val[roles[R_SIGMAR]] * val[roles[R_ZREP] + m * (n_t - 1) + t - 1]
    _recursion(val[roles[R_PHIR]], shocks, rep)
    return rep


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _reputation_grad(g_rep, rep, val, gval, roles, dims, hon, vio):
    """Reverse of :func:`_reputation`: adds dL/dval given dL/drep."""
    n_t, n_m = dims[1], dims[2]
    lam = np.empty((n_m, n_t))
    gval[roles[R_PHIR]] += _adjoint(val[roles[R_PHIR]], g_rep, rep, lam)
    g_kh, g_kv, g_sr = 0.0, 0.0, 0.0
    for m in range(n_m):
        for t in range(1, n_t):
            g_kh += lam[m, t] * hon[m, t - 1]
            g_kv -= lam[m, t] * vio[m, t - 1]
            if roles[R_ZREP] >= 0:
                zi = roles[R_ZREP] + m * (n_t - 1) + t - 1
                g_sr += lam[m, t] * val[zi]
                gval[zi] += val[roles[R_SIGMAR]] * lam[m, t]
    gval[roles[R_KH]] += g_kh
    gval[roles[R_KV]] += g_kv
    if roles[R_ZREP] >= 0:
        gval[roles[R_SIGMAR]] += g_sr


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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
    n_u, n_t, n_m = dims[0], dims[1], dims[2]
    dyn = dims[5]
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
            for k in range(dims[4]):
                gval[roles[R_GAMMA] + k] += s * covariates[u, k]
    if roles[R_KH] >= 0:
        g_rep = np.zeros((n_m, n_t))
        for u in range(n_u):
            m = member_of_unit[u]
            for t in range(n_t):
                g_rep[m, t] += g_raw[u, t]
        _reputation_grad(g_rep, rep, val, gval, roles, dims, hon, vio)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _zero_sum(z, out):
    """PyMC's ZeroSumTransform backward: n - 1 free coordinates -> n values summing to 0."""
    n = z.shape[0] + 1
    total = z.sum()
    norm = total / (math.sqrt(n) + n)
    for i in range(n - 1):
        out[i] = z[i] - norm
    out[n - 1] = -total / math.sqrt(n)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _zero_sum_grad(g_out, g_z):
    n = g_out.shape[0]
    shared = g_out[: n - 1].sum() / (math.sqrt(n) + n) + g_out[n - 1] / math.sqrt(n)
    for i in range(n - 1):
        g_z[i] += g_out[i] - shared


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _level_prior(val, gval, roles, dims, alliance_of_unit):
    """The units' levels around their alliance baselines mu = tau * z_alliance, z_alliance ~
    ZeroSumNormal(1) (one alliance: mu = 0).  Static / AR(1): level[u] ~ Normal(mu[a(u)],
    1), random walk: Normal(mu[a(u)], sigma_level_raw) (its steps: _walk_prior)."""
    tau_at, om = roles[R_TAU], roles[R_MU]
    n_u, n_a = dims[0], dims[3]
    mu = _alliance_baselines(val, roles, n_a)
    lp = 0.0
    g_mu = np.zeros(n_a)
    lv = roles[R_LEVEL]
    spread = val[roles[R_SLEVEL]] if dims[5] == DYN_RW else 1.0
    prec = 1.0 / (spread * spread)
    ss = 0.0
    for u in range(n_u):
        a = alliance_of_unit[u]
        d = val[lv + u] - mu[a]
        ss += d * d
        gval[lv + u] -= d * prec
        g_mu[a] += d * prec
    lp -= 0.5 * ss * prec
    if dims[5] == DYN_RW:
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _alliance_baselines(val, roles, n_a):
    """mu = tau * z_alliance (zeros when the model has a single alliance)."""
    mu = np.zeros(n_a)
    if roles[R_TAU] >= 0:
        _zero_sum(val[roles[R_MU] : roles[R_MU] + n_a - 1], mu)
        mu *= val[roles[R_TAU]]
    return mu


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _walk_prior(path, step):
    """log density of the random walk's steps, Normal(path[u, t - 1], step), constants
    dropped.  The same in centred and non-centred coordinates (the Jacobian is constant)."""
    lp = 0.0
    for u in range(path.shape[0]):
        for t in range(1, path.shape[1]):
            d = (path[u, t] - path[u, t - 1]) / step
            lp -= 0.5 * d * d
    return lp


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _walk_step(roles, blk_off, blk_par):
    """The walk's fixed step: the first prior parameter of its block (0: no walk)."""
    for b in range(blk_off.shape[0]):
        if blk_off[b] == roles[R_WALK]:
            return blk_par[b, 0]
    return 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
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


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _standardise_grad(g_cred, cred, sd, weight):
    """dL/draw from dL/dcred for cred = (raw - mean_w(raw)) / sd_w(raw)."""
    total, inner = g_cred.sum(), 0.0
    for c in range(cred.shape[0]):
        inner += g_cred[c] * cred[c]
    return (g_cred - weight * (total + cred * inner)) / sd


# ----------------------------------------------------------------------------- likelihood


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _ordinal(eta, k, cut, o, n_cut, gval):
    """log P(y = k) under a cumulative logit with cutpoints val[o : o + n_cut]; adds the
    cutpoint gradients to gval and returns (logp, dlogp/deta)."""
    if k == 0:
        b = eta - cut[o]
        s = _sigmoid(b)
        gval[o] += s
        return -_softplus(b), -s
    if k == n_cut:
        a = eta - cut[o + n_cut - 1]
        s = _sigmoid(a)
        gval[o + n_cut - 1] -= 1.0 - s
        return -_softplus(-a), 1.0 - s
    a, b = eta - cut[o + k - 1], eta - cut[o + k]
    sa, sb = _sigmoid(a), _sigmoid(b)
    p = sa - sb
    da, db = sa * (1.0 - sa), sb * (1.0 - sb)
    gval[o + k - 1] -= da / p
    gval[o + k] += db / p
    return math.log(p), (da - db) / p


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _measurement(
    cred,
    val,
    gval,
    g_cred,
    roles,
    obs_cell,
    obs_signal,
    obs_y,
    obs_trials,
    obs_c1,
    obs_c2,
    sig_offset,
    sig_direction,
    sig_family,
    sig_aux,
    sig_ncut,
):
    """Log-likelihood of the signal rows, which come sorted by signal (see
    ``native._observations``): one loop per signal, in which the family, intercept, slope
    and the family's parameter are constants and the parameters' gradient sums stay in
    registers (a third faster than one loop over all rows that branches on the family)."""
    n_s = sig_offset.shape[0]
    oa, ol = roles[R_ALPHA], roles[R_LOADING]
    # signal s's rows: bounds[s] to bounds[s + 1], by bisection (a count of every row's
    # signal read 60,000 numbers per gradient on ``large``)
    bounds = np.searchsorted(obs_signal, np.arange(n_s + 1))
    lp = 0.0
    for s in range(n_s):
        rows = (bounds[s], bounds[s + 1])
        slope = sig_direction[s] * val[ol + s]
        fam = sig_family[s]
        if fam == F_ORDINAL:
            ll, g_a, g_l, g_aux = _ordinal_rows(
                rows, cred, val, gval, g_cred, obs_cell, obs_y, slope, sig_aux[s], sig_ncut[s]
            )
        else:
            icpt = sig_offset[s] + (val[oa + s] if oa >= 0 else 0.0)
            aux = val[sig_aux[s]] if sig_aux[s] >= 0 else 0.0
            ll, g_a, g_l, g_aux = _family_rows(
                fam, rows, cred, g_cred, obs_cell, obs_y, obs_trials, obs_c1, obs_c2,
                icpt, slope, aux,
            )
            if oa >= 0:
                gval[oa + s] += g_a
            if sig_aux[s] >= 0:
                gval[sig_aux[s]] += g_aux
        lp += ll
        gval[ol + s] += g_l * sig_direction[s]
    return lp


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _family_rows(fam, rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, aux):
    """One signal's rows of a family with an intercept: (log-likelihood, and its
    derivatives by the intercept, by the slope over direction, by the family's parameter);
    adds d/dcredibility to g_cred."""
    if fam == F_NORMAL:  # aux = sigma
        return _normal_rows(rows, cred, g_cred, cell, obs_y, icpt, slope, aux)
    if fam == F_BINOMIAL:
        return _binomial_rows(rows, cred, g_cred, cell, obs_y, trials, icpt, slope)
    if fam == F_POISSON:
        return _poisson_rows(rows, cred, g_cred, cell, obs_y, icpt, slope)
    if fam == F_NEGBIN:  # aux = dispersion = 1 / alpha
        return _negbin_rows(rows, cred, g_cred, cell, obs_y, icpt, slope, aux)
    return _beta_rows(rows, cred, g_cred, cell, c1, c2, icpt, slope, aux)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _normal_rows(rows, cred, g_cred, cell, obs_y, icpt, slope, sigma):
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
    return -n * math.log(sigma) - 0.5 * ss, g_a, g_l, (ss - n) * inv


# The rows of a family read their cell's credibility from cred and add to its gradient
# in g_cred, an indirect read and write that keeps a loop from vectorising.  So the
# Poisson, negative binomial and beta rows copy their cells' credibility into a contiguous
# vector first (_gathered), compute every row in a loop over contiguous vectors, which
# LLVM vectorises (exp and log four at a time with VECTOR_MATH), into a vector of
# gradients, and add those to g_cred last (_scatter).  The binomial rows stay one scalar
# loop: written this way inside the kernel their results depended on where the heap put
# the temporary vectors (last bits, so other draws for one seed; not understood).


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _gathered(cred, cell, rows):
    th = np.empty(rows[1] - rows[0])
    for k in range(th.shape[0]):
        th[k] = cred[cell[rows[0] + k]]
    return th


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _scatter(g_cred, cell, rows, d, slope):
    for k in range(d.shape[0]):
        g_cred[cell[rows[0] + k]] += d[k] * slope


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _binomial_rows(rows, cred, g_cred, cell, obs_y, trials, icpt, slope):
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
    return ll, g_a, g_l, 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _poisson_rows(rows, cred, g_cred, cell, obs_y, icpt, slope):
    th = _gathered(cred, cell, rows)
    d = np.empty_like(th)
    r0, ll, g_a, g_l = rows[0], 0.0, 0.0, 0.0
    for k in range(th.shape[0]):
        y = obs_y[r0 + k]
        eta = icpt + slope * th[k]
        mu = math.exp(eta)
        ll += y * eta - mu
        d[k] = y - mu
        g_a += d[k]
        g_l += d[k] * th[k]
    _scatter(g_cred, cell, rows, d, slope)
    return ll, g_a, g_l, 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _negbin_rows(rows, cred, g_cred, cell, obs_y, icpt, slope, dispersion):
    a = 1.0 / dispersion
    log_a = -math.log(dispersion)
    lg_a, dg_a = _lgamma_digamma(a)
    lg_ya, dg_ya = _lgamma_digamma_sums(obs_y, rows, a)  # sums over the rows
    th = _gathered(cred, cell, rows)
    d = np.empty_like(th)
    r0, n = rows[0], th.shape[0]
    ll, g_a, g_l, g_disp = 0.0, 0.0, 0.0, 0.0
    for k in range(n):
        y = obs_y[r0 + k]
        eta = icpt + slope * th[k]
        mu = math.exp(eta)
        log_am = math.log(a + mu)
        inv = 1.0 / (a + mu)
        ll += y * eta - (a + y) * log_am
        d[k] = y - (a + y) * mu * inv
        g_disp += log_am + (a + y) * inv
        g_a += d[k]
        g_l += d[k] * th[k]
    _scatter(g_cred, cell, rows, d, slope)
    ll += lg_ya + n * (a * log_a - lg_a)
    g_disp = -(dg_ya + n * (log_a + 1.0 - dg_a) - g_disp) * a * a
    return ll, g_a, g_l, g_disp


@njit(cache=True, error_model="numpy", fastmath=FASTMATH_SUMS)
def _beta_rows(rows, cred, g_cred, cell, c1, c2, icpt, slope, nu):
    """Mean-precision beta; c1, c2 = log y, log(1 - y); nu = precision."""
    lg_nu, dg_nu = _lgamma_digamma(nu)
    th = _gathered(cred, cell, rows)
    d = np.empty_like(th)
    r0, ll, g_a, g_l, g_nu = rows[0], 0.0, 0.0, 0.0, 0.0
    for k in range(th.shape[0]):
        eta = icpt + slope * th[k]
        mu = _sigmoid(eta)
        pa, pb = mu * nu, (1.0 - mu) * nu
        lg_pa, dg_pa = _lgamma_digamma_any(pa)
        lg_pb, dg_pb = _lgamma_digamma_any(pb)
        y1, y2 = c1[r0 + k], c2[r0 + k]
        ll += (pa - 1.0) * y1 + (pb - 1.0) * y2 - lg_pa - lg_pb
        d[k] = nu * (y1 - y2 - dg_pa + dg_pb) * mu * (1.0 - mu)
        g_nu += mu * (y1 - dg_pa) + (1.0 - mu) * (y2 - dg_pb)
        g_a += d[k]
        g_l += d[k] * th[k]
    _scatter(g_cred, cell, rows, d, slope)
    n = th.shape[0]
    return ll + n * lg_nu, g_a, g_l, g_nu + n * dg_nu


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _ordinal_rows(rows, cred, val, gval, g_cred, cell, obs_y, slope, o_cut, n_cut):
    """Cumulative logit without intercept (the cutpoints val[o_cut:] place it)."""
    ll, g_l = 0.0, 0.0
    for i in range(rows[0], rows[1]):
        th = cred[cell[i]]
        lp_i, d = _ordinal(slope * th, int(obs_y[i]), val, o_cut, n_cut, gval)
        ll += lp_i
        g_l += d * th
        g_cred[cell[i]] += d * slope
    return ll, 0.0, g_l, 0.0


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _followthrough(cred, val, gval, g_cred, roles, dims, crisis_cell, crisis_outcome):
    mode = dims[6]
    if mode == FT_NONE:
        return 0.0
    lp = 0.0
    load = val[roles[R_LOADFT]]
    for i in range(crisis_cell.shape[0]):
        c = crisis_cell[i]
        th = cred[c]
        if mode == FT_BINARY:
            eta = val[roles[R_ALPHAFT]] + load * th
            y = crisis_outcome[i]
            lp += y * eta - _softplus(eta)
            d_eta = y - _sigmoid(eta)
            gval[roles[R_ALPHAFT]] += d_eta
        else:
            ll, d_eta = _ordinal(load * th, crisis_outcome[i], val, roles[R_CUTFT], 2, gval)
            lp += ll
        gval[roles[R_LOADFT]] += d_eta * th
        g_cred[c] += d_eta * load
    return lp


# ----------------------------------------------------------------------------- sampler map


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _to_model(xs, x, kind, ref):
    """Model coordinates x from sampler coordinates xs = (x~, log c, m) (see SAMPLER_ARRAYS):
    raw-scale values are c x~ (levels c x~ + m), log-transformed scales x~ + log c, and a
    centred walk coordinate (path relative to the level) c (x~ - x~_level)."""
    n = x.shape[0]
    ell, m = xs[n], xs[n + 1]
    c = math.exp(ell)
    for i in range(n):
        kd = kind[i]
        if kd == K_SCALE:
            x[i] = c * xs[i]
        elif kd == K_LOG:
            x[i] = xs[i] + ell
        elif kd == K_LEVEL:
            x[i] = c * xs[i] + m
        elif kd == K_ABS:
            x[i] = c * (xs[i] - xs[ref[i]])
        else:
            x[i] = xs[i]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _sampler_terms(xs, x, g, gs, kind, ref, par):
    """Chain rule from the model's gradient g to the sampler's gs, plus the log-Jacobian
    of _to_model and the auxiliary density of x~'s location M and scale R (over levels
    and absolute walk values): log c ~ Normal(log R(x), sk) and m ~ Normal(M(x), c sm)
    given x, which in xs coordinates is log R(x~) ~ N(0, sk), M(x~) ~ N(0, sm)."""
    n = x.shape[0]
    ell, m = xs[n], xs[n + 1]
    c = math.exp(ell)
    gs[:] = 0.0
    g_ell, g_m = 0.0, 0.0
    n_scaled, n_loc, total = 0, 0, 0.0
    for i in range(n):
        kd = kind[i]
        if kd == K_NONE or kd == K_LOG:
            gs[i] += g[i]
            if kd == K_LOG:
                g_ell += g[i]
            continue
        n_scaled += 1
        gs[i] += c * g[i]
        if kd == K_LEVEL:
            g_ell += g[i] * (x[i] - m)
            g_m += g[i]
        else:
            g_ell += g[i] * x[i]
        if kd == K_ABS:
            gs[ref[i]] -= c * g[i]
        if kd == K_LEVEL or kd == K_ABS:
            n_loc += 1
            total += xs[i]
    mean = total / n_loc
    ss = 0.0
    for i in range(n):
        if kind[i] == K_LEVEL or kind[i] == K_ABS:
            ss += (xs[i] - mean) ** 2
    var = ss / n_loc
    log_r = 0.5 * math.log(var)
    sk, sm = par[1], par[2]
    for i in range(n):
        if kind[i] == K_LEVEL or kind[i] == K_ABS:
            gs[i] -= (log_r / (sk * sk)) * (xs[i] - mean) / (n_loc * var)
            gs[i] -= (mean / (sm * sm)) / n_loc
    # Jacobian c^n_scaled of x~ -> x; the 1 / c of m's conditional density
    gs[n] = g_ell + (n_scaled - 1)
    gs[n + 1] = g_m
    return (n_scaled - 1) * ell - 0.5 * (log_r / sk) ** 2 - 0.5 * (mean / sm) ** 2


# ----------------------------------------------------------------------------- entry points


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def logp_grad(x, grad, t):
    """Log-density at unconstrained ``x``; writes its gradient into ``grad``.  The data
    arrays are read from the pointer table ``t`` (ARRAYS order)."""
    dims, roles, blk_off, blk_size = _i1(t, 0), _i1(t, 1), _i1(t, 2), _i1(t, 3)
    blk_transform, blk_dist, blk_par, blk_bounds = _i1(t, 4), _i1(t, 5), _f2(t, 6), _f2(t, 7)
    alliance_of_unit, member_of_unit, active_weight = _i1(t, 8), _i1(t, 9), _f1(t, 10)
    covariates, honored, violated = _f2(t, 11), _f2(t, 12), _f2(t, 13)
    obs_cell, obs_signal = _i1(t, 14), _i1(t, 15)  # 16, obs_family: see sig_family
    obs_y, obs_trials, obs_c1, obs_c2 = _f1(t, 17), _f1(t, 18), _f1(t, 19), _f1(t, 20)
    sig_offset, sig_direction = _f1(t, 21), _f1(t, 22)
    sig_family, sig_aux, sig_ncut = _i1(t, 23), _i1(t, 24), _i1(t, 25)
    crisis_cell, crisis_outcome, walk_centred = _i1(t, 26), _i1(t, 27), _f2(t, 28)
    val = np.empty_like(x)
    dval = np.empty_like(x)
    gval = np.zeros_like(x)
    lp, gjac = _constrain(x, val, dval, blk_off, blk_size, blk_transform, blk_bounds)
    lp += _priors(val, gval, blk_off, blk_size, blk_dist, blk_par)
    step = _walk_step(roles, blk_off, blk_par)
    lp += _level_prior(val, gval, roles, dims, alliance_of_unit)
    raw, path, rep = _latent(
        val,
        roles,
        dims,
        alliance_of_unit,
        member_of_unit,
        covariates,
        honored,
        violated,
        walk_centred,
        step,
    )
    if dims[5] == DYN_RW:
        lp += _walk_prior(path, step)
    cred, sd = _standardise(raw.ravel(), active_weight)
    g_cred = np.zeros_like(cred)
    lp += _measurement(
        cred,
        val,
        gval,
        g_cred,
        roles,
        obs_cell,
        obs_signal,
        obs_y,
        obs_trials,
        obs_c1,
        obs_c2,
        sig_offset,
        sig_direction,
        sig_family,
        sig_aux,
        sig_ncut,
    )
    lp += _followthrough(cred, val, gval, g_cred, roles, dims, crisis_cell, crisis_outcome)
    g_raw = _standardise_grad(g_cred, cred, sd, active_weight).reshape(raw.shape)
    _latent_grad(
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
        honored,
        violated,
        walk_centred,
        step,
    )
    _unconstrain_grad(x, gval, dval, gjac, blk_off, blk_size, blk_transform, grad)
    return lp


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _copy_into(out, k, values):
    """out[k : k + n] = values, as a loop (see _latent); returns k + n."""
    for i in range(values.shape[0]):
        out[k + i] = values[i]
    return k + values.shape[0]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def expand(x, out, t):
    """What a draw stores: constrained parameters (block order; zero-sum blocks expanded),
    then mu_alliance (if several alliances), credibility (unit x year), then on
    credibility's scale sigma_innovation and sigma_level (if random walk) and kappa_honor
    and kappa_violate (if reputation).  The data arrays are read from ``t`` as in logp_grad."""
    dims, roles, blk_off, blk_size = _i1(t, 0), _i1(t, 1), _i1(t, 2), _i1(t, 3)
    blk_transform, blk_par, blk_bounds = _i1(t, 4), _f2(t, 6), _f2(t, 7)
    alliance_of_unit, member_of_unit, active_weight = _i1(t, 8), _i1(t, 9), _f1(t, 10)
    covariates, honored, violated = _f2(t, 11), _f2(t, 12), _f2(t, 13)
    walk_centred = _f2(t, 28)
    val = np.empty_like(x)
    dval = np.empty_like(x)
    _constrain(x, val, dval, blk_off, blk_size, blk_transform, blk_bounds)
    step = _walk_step(roles, blk_off, blk_par)
    raw, _, _ = _latent(
        val,
        roles,
        dims,
        alliance_of_unit,
        member_of_unit,
        covariates,
        honored,
        violated,
        walk_centred,
        step,
    )
    cred, sd = _standardise(raw.ravel(), active_weight)
    k = 0
    for b in range(blk_off.shape[0]):
        o, n = blk_off[b], blk_size[b]
        if blk_transform[b] == T_ZEROSUM:
            _zero_sum(val[o : o + n], out[k : k + n + 1])
            k += n + 1
        else:
            k = _copy_into(out, k, val[o : o + n])
    if roles[R_TAU] >= 0:
        k = _copy_into(out, k, _alliance_baselines(val, roles, dims[3]))
    k = _copy_into(out, k, cred)
    if dims[5] == DYN_RW:
        out[k] = step / sd
        out[k + 1] = val[roles[R_SLEVEL]] / sd
        k += 2
    if roles[R_KH] >= 0:
        out[k] = val[roles[R_KH]] / sd
        out[k + 1] = val[roles[R_KV]] / sd


# ----------------------------------------------------------------------------- C entry points
# nutpie calls these through function pointers.  ``user_data`` points at an int64 table
# with one row (address, rows, columns) per entry of ARRAYS, SAMPLER_ARRAYS, PRECOND_ARRAYS,
# and one (N_UNITS) for the addresses of the model units.  Python calls them too
# (native.KernelModel), so the kernel is compiled once, for them.
#
# Compile time (the first fit on a machine waits for it): numba compiles each function
# into a module of its own, then links its callees' code into it and optimises and emits
# the whole again, so each level of calls costs seconds.  Hence:
# - the model's log-density and expansion (logp_grad, expand) are C functions of their
#   own, the *model units*, which the entry points call by address (_logp_model): the
#   entry points hold no copy of them, and the units compile in another process, side by
#   side with the entry points (c_functions);
# - the wrappers between a C function and the code it runs are inlined by numba
#   (inline="always"), which saves their level;
# - the kernel fills arrays with element loops: a slice assignment (a[i, :] = b) compiles
#   numba's broadcasting checks, seconds each.


@intrinsic
def _void_pointer(typingctx, address):
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@njit(inline="always")
def _i1(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1],), np.int64)


@njit(inline="always")
def _f1(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1],), np.float64)


@njit(inline="always")
def _f2(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1], table[i, 2]), np.float64)


N_ARRAYS = len(ARRAYS)
N_PRECOND = N_ARRAYS + len(SAMPLER_ARRAYS)  # first PRECOND_ARRAYS row of the table
N_UNITS = N_PRECOND + len(PRECOND_ARRAYS)  # the row that points at _UNIT_ADDRESSES
N_TABLE = N_UNITS + 1

# Addresses of the model units (_logp_model_c, _expand_model_c), which the entry points
# call through the table's N_UNITS row: set by c_functions once the units are loaded.
_UNIT_ADDRESSES = np.zeros(2, dtype=np.int64)


@intrinsic
def _logp_model(typingctx, address, x, grad, table):
    """``_logp_model_c(x, grad, len(x), table)`` called through its C address: the entry
    point holds no copy of the model's code (see c_functions)."""
    if _c_arrays(x, grad, table):
        codegen = _unit_call(ir.DoubleType(), n_sizes=1)
        return types.float64(address, x, grad, table), codegen


@intrinsic
def _expand_model(typingctx, address, x, out, table):
    """``_expand_model_c(x, out, len(x), len(out), table)`` called through its C address."""
    if _c_arrays(x, out, table):
        return types.int64(address, x, out, table), _unit_call(ir.IntType(64), n_sizes=2)


def _unit_call(return_type, n_sizes: int):
    """Code generator of a model-unit call: the function at address ``args[0]`` called
    with the data pointers of the two vectors, the lengths of the first ``n_sizes`` of
    them, and the table's data pointer."""

    def codegen(context, builder, signature, args):
        arrays = [
            context.make_array(ty)(context, builder, value)
            for ty, value in zip(signature.args[1:], args[1:])
        ]
        sizes = [builder.extract_value(a.shape, 0) for a in arrays[:n_sizes]]
        call_args = [arrays[0].data, arrays[1].data, *sizes]
        call_args.append(builder.bitcast(arrays[2].data, cgutils.voidptr_t))
        fnty = ir.FunctionType(return_type, [a.type for a in call_args])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), call_args)

    return codegen


def _c_arrays(*arrays) -> bool:
    """Typing check of the model-unit calls: the units read their arrays' data pointers as
    C-contiguous float64 vectors and an int64 table."""
    dtypes = [types.float64] * (len(arrays) - 1) + [types.int64]
    return all(
        isinstance(a, types.Array) and a.layout == "C" and a.dtype == d
        for a, d in zip(arrays, dtypes)
    )


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def logp_grad_sampler(xs, gs, table):
    """The log-density in sampler coordinates (SAMPLER_ARRAYS) and its gradient."""
    unit = _i1(table, N_UNITS)[0]
    if unit == 0:  # the model units are not loaded (c_functions): no density, not a crash
        return np.nan
    own = _f1(table, N_ARRAYS + 2)[0] > 0.5  # the sampler has coordinates of its own
    x_lin, x, rep, val, dval = _model_point(xs, table, own)
    g = np.empty_like(x) if own else gs
    value = _logp_model(unit, x, g, table)
    if not own:
        return value
    kind, ref, par = _i1(table, N_ARRAYS), _i1(table, N_ARRAYS + 1), _f1(table, N_ARRAYS + 2)
    _reputation_chain(g, rep, val, dval, kind, table)
    return value + _sampler_terms(xs, x_lin, g, gs, kind, ref, par)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def expand_sampler(xs, out, table):
    """Writes the expansion of sampler point xs into out, or, where out has the model's
    dimension, the model's point itself (expanded after sampling: native.KernelModel.
    nutpie_model); 0, or 1 when the model units are not loaded."""
    unit = _i1(table, N_UNITS)[1]
    if unit == 0:
        return 1
    own = _f1(table, N_ARRAYS + 2)[0] > 0.5
    x = _model_point(xs, table, own)[1]
    if out.shape[0] == x.shape[0]:  # an expansion is longer: it holds credibility too
        _copy_into(out, 0, x)
        return 0
    return _expand_model(unit, x, out, table)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _model_point(xs, table, own):
    """(x~ on the raw scale, the model's point x, then what _reputation_chain needs) of
    sampler point xs; xs itself where the sampler's coordinates are the model's."""
    if not own:
        return xs, xs, np.zeros((1, 1)), xs, xs
    kind = _i1(table, N_ARRAYS)
    x_lin = np.empty(xs.shape[0] - 2)
    _to_model(xs, x_lin, kind, _i1(table, N_ARRAYS + 1))
    x, rep, val, dval = _minus_reputation(x_lin, kind, table)
    return x_lin, x, rep, val, dval


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _minus_reputation(x_lin, kind, table):
    """The absolute walk values of the sampler include reputation (level + path + rep), so
    that a change of kappa or phi_reputation moves the walk's prior, not every later path
    value: the model's centred coordinate is that value minus level minus reputation."""
    x = x_lin.copy()
    roles, dims = _i1(table, 1), _i1(table, 0)
    val, dval = np.empty_like(x), np.empty_like(x)
    if roles[R_KH] < 0:
        return x, np.zeros((1, 1)), val, dval
    _constrain(x, val, dval, _i1(table, 2), _i1(table, 3), _i1(table, 4), _f2(table, 7))
    rep = _reputation(val, roles, dims, _f2(table, 12), _f2(table, 13))
    member_of_unit, ow, n_steps = _i1(table, 9), roles[R_WALK], dims[1] - 1
    for u in range(dims[0] if ow >= 0 else 0):  # the walk block is (unit, step)
        r = rep[member_of_unit[u]]
        for t in range(n_steps):
            i = ow + u * n_steps + t
            if kind[i] == K_ABS:
                x[i] -= r[t + 1]
    return x, rep, val, dval


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _reputation_chain(g, rep, val, dval, kind, table):
    """Adds to g (the model's gradient) what reaches the reputation parameters through
    _minus_reputation."""
    roles, dims = _i1(table, 1), _i1(table, 0)
    if roles[R_KH] < 0:
        return
    member_of_unit, ow, n_steps = _i1(table, 9), roles[R_WALK], dims[1] - 1
    g_rep = np.zeros_like(rep)
    for u in range(dims[0] if ow >= 0 else 0):
        gr = g_rep[member_of_unit[u]]
        for t in range(n_steps):
            i = ow + u * n_steps + t
            if kind[i] == K_ABS:
                gr[t + 1] -= g[i]
    gval = np.zeros_like(g)
    _reputation_grad(g_rep, rep, val, gval, roles, dims, _f2(table, 12), _f2(table, 13))
    for i in range(g.shape[0]):
        if gval[i] != 0.0:
            g[i] += gval[i] * dval[i]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def chain_map(u, sd, coef, prev):
    """e_i = sd_i u_i + coef_i e_prev(i) (PRECOND_ARRAYS)."""
    e = np.empty_like(u)
    for i in range(u.shape[0]):
        e[i] = sd[i] * u[i]
        if prev[i] >= 0:
            e[i] += coef[i] * e[prev[i]]
    return e


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def chain_adjoint(g, coef, prev):
    """The gradient with respect to e, given the gradient g with respect to mean + e."""
    out = g.copy()
    for i in range(out.shape[0] - 1, -1, -1):
        if prev[i] >= 0:
            out[prev[i]] += coef[i] * out[i]
    return out


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def logp_grad_whitened(w, gw, table):
    """The log-density in nutpie's coordinates w (PRECOND_ARRAYS) and its gradient."""
    if _f1(table, N_PRECOND)[0] < 0.5:  # no preconditioner: nutpie samples xs
        return logp_grad_sampler(w, gw, table)
    xs, e = _unwhiten(_spread_point(w, table), table)
    g = np.empty_like(xs)
    value = logp_grad_sampler(xs, g, table) + _follow_grad(g, e, table)
    coef, prev = _f1(table, N_PRECOND + 3), _i1(table, N_PRECOND + 4)
    g_u, sd = chain_adjoint(g, coef, prev), _f1(table, N_PRECOND + 2)
    for i in range(g_u.shape[0]):
        g_u[i] *= sd[i]
        gw[i] = g_u[i]
    # the gradient with respect to w
    spread(g_u, gw, _f2(table, N_PRECOND + 8), _i1(table, N_PRECOND + 7), True)
    return value + _f1(table, N_PRECOND)[1]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def expand_whitened(w, out, table):
    if _f1(table, N_PRECOND)[0] < 0.5:
        return expand_sampler(w, out, table)
    return expand_sampler(_unwhiten(_spread_point(w, table), table)[0], out, table)


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _spread_point(w, table):
    """The preconditioner's u for nutpie's point w (the spread map, PRECOND_ARRAYS)."""
    u = w.copy()
    spread(w, u, _f2(table, N_PRECOND + 8), _i1(table, N_PRECOND + 7), False)
    return u


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def spread(w, u, m, at, transpose):
    """u = M w on each of the spread map's blocks (PRECOND_ARRAYS), or u = M^T w with
    ``transpose`` (the gradient's way back); u is left alone elsewhere.  Block k holds
    coordinates first + j * blocks + k, j = 0 .. size - 1: so the loops run over k, along
    contiguous memory, and vectorise (4-6 us on ``medium``; consecutive blocks of 8 took
    2-4 times as long)."""
    first, n = at[0], at[1]
    size = m.shape[0]
    for i in range(size):
        u_i = u[first + i * n : first + (i + 1) * n]
        for k in range(n):
            u_i[k] = 0.0
        for j in range(size):
            w_j, c = w[first + j * n : first + (j + 1) * n], m[j, i] if transpose else m[i, j]
            for k in range(n):
                u_i[k] += c * w_j[k]


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _unwhiten(u, table):
    """Sampler coordinates xs of the preconditioner's u, and e(u):
    xs_i = mean_i + exp(-w_i e_s(i)) e_i, where s(i) is a log-scale coordinate (its own
    xs_s = mean_s + e_s) or none (pre_scale_at, pre_follow).

    The deviation of a latent coordinate from its mean shrinks as its scale grows, by the
    share w_i of its prior in its posterior: a partially non-centred form
    (Papaspiliopoulos, Roberts and Skold 2007) in which a hierarchical scale and the
    values it scales move together instead of trading one small step at a time.  The
    weights are chosen in native.KernelModel.scale_following."""
    mean, sd = _f1(table, N_PRECOND + 1), _f1(table, N_PRECOND + 2)
    e = chain_map(u, sd, _f1(table, N_PRECOND + 3), _i1(table, N_PRECOND + 4))
    j, scale_at = _i1(table, N_PRECOND + 5), _i1(table, N_PRECOND + 6)
    xs = np.empty_like(u)
    f, cached = np.empty(FOLLOW_STEPS + 1), -1
    for i in range(u.shape[0]):
        s = scale_at[i]
        if s < 0:
            xs[i] = mean[i] + e[i]
            continue
        if s != cached:  # coordinates that follow one scale are contiguous
            _follow_factors(e[s], f)
            cached = s
        xs[i] = mean[i] + f[j[i]] * e[i]
    return xs, e


@njit(cache=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _follow_factors(e_s, f):
    """f[k] = exp(-k e_s / FOLLOW_STEPS), k = 0 .. FOLLOW_STEPS: the exponents w_i are
    multiples of 1 / FOLLOW_STEPS, so one exp serves every coordinate (an exp per
    coordinate, twice per gradient, was 15% of the gradient on ``medium``)."""
    f[0], r = 1.0, math.exp(-e_s / FOLLOW_STEPS)
    for k in range(1, FOLLOW_STEPS + 1):
        f[k] = f[k - 1] * r


@njit(cache=True, error_model="numpy", fastmath=FASTMATH)
def _follow_grad(g, e, table):
    """Turns g, the gradient with respect to xs, into the gradient with respect to e
    through _unwhiten's scaling, and returns that map's log-Jacobian, -sum_i w_i e_s(i):
    the Jacobian is diagonal but for the scales' columns, and scales do not follow."""
    j, scale_at = _i1(table, N_PRECOND + 5), _i1(table, N_PRECOND + 6)
    f, cached = np.empty(FOLLOW_STEPS + 1), -1
    log_jac = 0.0
    for i in range(g.shape[0]):
        s = scale_at[i]
        if s < 0:
            continue
        if s != cached:
            _follow_factors(e[s], f)
            cached = s
        w = j[i] / FOLLOW_STEPS
        g[i] *= f[j[i]]
        g[s] -= w * (e[i] * g[i] + 1.0)
        log_jac -= w * e[s]
    return log_jac


def _logp_c(n, x_, grad_, logp_, user_data):
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    x = numba.carray(x_, (n,))
    grad = numba.carray(grad_, (n,))
    value = logp_grad_whitened(x, grad, table)
    logp_[0] = value
    if not np.isfinite(value):
        return 4
    for i in range(n):
        if not np.isfinite(grad[i]):
            return 3
    return 0


def _expand_c(n, n_out, x_, out_, user_data):
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    x = numba.carray(x_, (n,))
    out = numba.carray(out_, (n_out,))
    return expand_whitened(x, out, table)


def _logp_model_c(x_, grad_, n, user_data):
    """The model's log-density at its own coordinates (logp_grad), as a C function of its
    own: compiled apart from the entry points, which call it by address."""
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    return logp_grad(numba.carray(x_, (n,)), numba.carray(grad_, (n,)), table)


def _expand_model_c(x_, out_, n, n_out, user_data):
    """The model's expansion of its own coordinates (expand), as a C function of its own."""
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    expand(numba.carray(x_, (n,)), numba.carray(out_, (n_out,)), table)
    return 0


# Signatures of the two C entry points nutpie calls (see native._LOGP_C / _EXPAND_C)
SIG_LOGP = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
SIG_EXPAND = types.int64(
    types.uint64,
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
SIG_LOGP_MODEL = types.float64(
    types.CPointer(types.double), types.CPointer(types.double), types.int64, types.voidptr
)
SIG_EXPAND_MODEL = types.int64(
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.int64,
    types.int64,
    types.voidptr,
)


HELPER_TIMEOUT_S = 900  # seconds c_functions waits for a helper's compile
# What each helper process compiles, in this order; one helper per group, side by side.
# The log-density's model unit is ~60% of the work (its own core); the other group
# shares the callees of the expansion and the entry points.
_HELPER_GROUPS = {"logp_model": ("logp_model",), "rest": ("expand_model", "logp", "expand")}
# group -> (process compiling it, the private numba cache it compiles into)
_HELPERS: dict[str, tuple[subprocess.Popen, str]] = {}


def start_compiling() -> None:
    """Start compiling the kernel (~25 s cold) in other processes, and return at once;
    nothing to do when it is cached.  A caller with seconds of work before its first fit
    (the command line: imports, reading the data, building the model) overlaps the two;
    c_functions waits for them."""
    for group in _HELPER_GROUPS:
        _compile_elsewhere(group)


def _reap_helpers(stop: bool = False) -> None:
    """Wait for the helpers (stop them first if ``stop``; a helper past HELPER_TIMEOUT_S is
    stopped) and remove their private caches."""
    for helper, private in _HELPERS.values():
        if stop:
            helper.kill()
        try:
            helper.wait(timeout=HELPER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        shutil.rmtree(private, ignore_errors=True)
    _HELPERS.clear()


# helpers still running at exit (a run that ended before its fit, an interrupted wait)
atexit.register(_reap_helpers, stop=True)


@functools.lru_cache(maxsize=1)
def c_functions():
    """The C entry points nutpie calls (log-density, expansion): compiled on first use,
    then loaded from numba's cache.

    The compiled code is four C functions: the model's log-density and expansion at the
    model's coordinates (``_logp_model_c``, ``_expand_model_c``: logp_grad and expand) and
    the two entry points, which map nutpie's coordinates to the model's and call the
    model's functions by address (the table's N_UNITS row).  numba compiles in one thread,
    and links a copy of every callee into its caller, re-optimising it: as one function
    the log-density took ~44 s; split, its model unit compiles on one core while the rest
    compile on the other (~28 s on two cores).

    Cold, each group of _HELPER_GROUPS is compiled in a process of its own, into an empty
    numba cache of its own, and only the four functions are put into numba's cache, from
    which this process loads them.  The code must not depend on what was cached before:
    a function linked from callees that numba had cached (by another process, or a Python
    call of a callee) rounds differently (~1e-14 in the gradient), and NUTS then gives
    other draws for the same seed.  Should a helper fail, this process compiles what it
    did not."""
    start_compiling()
    _reap_helpers()
    units = compile_c_function("logp_model"), compile_c_function("expand_model")
    _UNIT_ADDRESSES[:] = [unit.address for unit in units]
    return compile_c_function("logp"), compile_c_function("expand")


@functools.cache
def compile_c_function(name: str):
    """C function ``name`` (an entry point or a model unit, see _C_FUNCTIONS), from numba's
    cache or compiled into it."""
    signature, py_func = _C_FUNCTIONS[name]
    with _vector_math():
        return numba.cfunc(signature, cache=True, error_model="numpy")(py_func)


# The kernel's C functions: nutpie's two entry points and the two model units they call.
_C_FUNCTIONS = {
    "logp": (SIG_LOGP, _logp_c),
    "expand": (SIG_EXPAND, _expand_c),
    "logp_model": (SIG_LOGP_MODEL, _logp_model_c),
    "expand_model": (SIG_EXPAND_MODEL, _expand_model_c),
}


# Kernel functions Python calls directly (native.KernelModel, approx): the log-density's
# helper compiles them as callees and puts them into numba's cache too, so that the first
# fit loads them instead of compiling them (~4 s).
_CALLED_FROM_PYTHON = ("_to_model", "_minus_reputation", "chain_map", "chain_adjoint")


def compile_and_publish(group: str, folder: str) -> None:
    """What a helper process runs: compile the C functions of ``group`` (into this
    process's own numba cache), then copy their cache files (and, with the log-density's
    entry point, those of _CALLED_FROM_PYTHON) into ``folder``, numba's cache folder of the
    process that started this one; data before index, each by an atomic rename, so that a
    reader finds a whole entry or none."""
    from numba.core.caching import FunctionCache

    names = _HELPER_GROUPS[group]
    for name in names:
        compile_c_function(name)
    py_funcs = [_C_FUNCTIONS[name][1] for name in names]
    if "logp" in names:
        py_funcs += [globals()[f].py_func for f in _CALLED_FROM_PYTHON]
    os.makedirs(folder, exist_ok=True)
    for py_func in py_funcs:
        cache = FunctionCache(py_func)
        index = cache._cache_file._index_name
        source = Path(cache._cache_path)
        files = [f for f in os.listdir(source) if f.startswith(index[: -len("nbi")])]
        for file in sorted(files, key=lambda f: f == index):
            partial = Path(folder) / f"{file}.{os.getpid()}.tmp"
            shutil.copyfile(source / file, partial)
            os.replace(partial, Path(folder) / file)


def _compile_elsewhere(group: str) -> None:
    """Start a process that compiles the C functions of ``group`` and puts them into
    numba's cache (in _HELPERS); nothing when they are cached or being compiled, or when
    numba's cache internals are not as expected (c_functions then compiles them in this
    process)."""
    py_funcs = [_C_FUNCTIONS[name][1] for name in _HELPER_GROUPS[group]]
    if group in _HELPERS or all(_cached(f) for f in py_funcs):
        return
    try:
        from numba.core.caching import FunctionCache

        folder = str(FunctionCache(py_funcs[0])._cache_path)
    except Exception:
        return
    private = tempfile.mkdtemp(prefix="bayescred-numba-")
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    code = (
        "from bayescred.kernel import compile_and_publish; "
        f"compile_and_publish({group!r}, {folder!r})"
    )
    try:
        helper = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": path, "NUMBA_CACHE_DIR": private},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # no process to be had: c_functions compiles it here
        shutil.rmtree(private, ignore_errors=True)
        return
    _HELPERS[group] = (helper, private)


def _cached(py_func) -> bool:
    """Whether numba's cache holds a compiled version of ``py_func`` for this source file
    (numba's cache index; where that internal API is not there, say yes: no helper)."""
    try:
        from numba.core.caching import FunctionCache

        return bool(FunctionCache(py_func)._cache_file._load_index())
    except Exception:
        return True


def pointer_table(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The int64 (address, rows, columns) table the C entry points read.  The arrays must
    stay alive (and unmoved) as long as the table is used."""
    table = np.zeros((N_TABLE, 3), dtype=np.int64)
    for i, (name, dtype, ndim) in enumerate(ARRAYS + SAMPLER_ARRAYS + PRECOND_ARRAYS):
        a = arrays[name]
        if a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
            raise TypeError(f"kernel array {name}: expected C-contiguous {dtype} of rank {ndim}")
        table[i] = (a.ctypes.data, a.shape[0], a.shape[1] if ndim == 2 else 1)
    table[N_UNITS] = (_UNIT_ADDRESSES.ctypes.data, _UNIT_ADDRESSES.shape[0], 1)
    return table
