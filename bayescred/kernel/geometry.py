"""What nutpie samples instead of the model's own coordinates: the sampler map and the
preconditioner (the posterior is exactly the model's; its geometry is not).

Sampler coordinates (random walk): nutpie samples xs = (x~, log c, m), not the model's x.
Credibility is standardised, so the likelihood cannot see the raw path's overall scale c or
location m; only priors pin them, and in the model's coordinates each is a collective move
of every path value, many posterior sds long.  Here c and m are coordinates of their own
(:func:`_to_model`), and x~'s own scale and location are held near 1 and 0 by an
auxiliary density that integrates out (:func:`_sampler_terms`).  The preconditioner then
whitens the sampler coordinates with the ADVI fit of ``bayescred.approx`` and spreads their
scales on purpose (:func:`spread`; layout.PRECOND_ARRAYS describes its arrays).
"""

from __future__ import annotations

import math

import numpy as np

from .density import _copy_into
from .latent import _reputation, _reputation_grad
from .layout import (
    A_BLK_BOUNDS,
    A_BLK_OFF,
    A_BLK_SIZE,
    A_BLK_TRANSFORM,
    A_DIMS,
    A_HONORED,
    A_MEMBER_OF_UNIT,
    A_PRE_COEF,
    A_PRE_FOLLOW,
    A_PRE_MEAN,
    A_PRE_ON,
    A_PRE_PREV,
    A_PRE_SCALE_AT,
    A_PRE_SD,
    A_PRE_SPREAD,
    A_PRE_SPREAD_AT,
    A_ROLES,
    A_SAMPLER_KIND,
    A_SAMPLER_PAR,
    A_SAMPLER_REF,
    A_VIOLATED,
    DIM_UNITS,
    DIM_YEARS,
    FOLLOW_STEPS,
    K_ABS,
    K_LEVEL,
    K_LOG,
    K_NONE,
    K_SCALE,
    N_UNITS,
    R_KH,
    R_WALK,
)
from .scalars import kernel_function
from .table import _expand_model, _f1, _f2, _i1, _logp_model
from .transforms import _constrain


@kernel_function()
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


@kernel_function()
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


# -------------------------------------------- sampler and preconditioner points


@kernel_function(inline="always")
def logp_grad_sampler(xs, gs, table):
    """The log-density in sampler coordinates (SAMPLER_ARRAYS) and its gradient."""
    unit = _i1(table, N_UNITS)[0]
    if unit == 0:  # the model units are not loaded (c_functions): no density, not a crash
        return np.nan
    own = _f1(table, A_SAMPLER_PAR)[0] > 0.5  # the sampler has coordinates of its own
    x_lin, x, rep, val, dval = _model_point(xs, table, own)
    g = np.empty_like(x) if own else gs
    value = _logp_model(unit, x, g, table)
    if not own:
        return value
    kind, ref, par = (
        _i1(table, A_SAMPLER_KIND),
        _i1(table, A_SAMPLER_REF),
        _f1(table, A_SAMPLER_PAR),
    )
    _reputation_chain(g, rep, val, dval, kind, table)
    return value + _sampler_terms(xs, x_lin, g, gs, kind, ref, par)


@kernel_function(inline="always")
def expand_sampler(xs, out, table):
    """Writes the expansion of sampler point xs into out, or, where out has the model's
    dimension, the model's point itself (expanded after sampling: native.KernelModel.
    nutpie_model); 0, or 1 when the model units are not loaded."""
    unit = _i1(table, N_UNITS)[1]
    if unit == 0:
        return 1
    own = _f1(table, A_SAMPLER_PAR)[0] > 0.5
    x = _model_point(xs, table, own)[1]
    if out.shape[0] == x.shape[0]:  # an expansion is longer: it holds credibility too
        _copy_into(out, 0, x)
        return 0
    return _expand_model(unit, x, out, table)


@kernel_function(inline="always")
def _model_point(xs, table, own):
    """(x~ on the raw scale, the model's point x, then what _reputation_chain needs) of
    sampler point xs; xs itself where the sampler's coordinates are the model's."""
    if not own:
        return xs, xs, np.zeros((1, 1)), xs, xs
    kind = _i1(table, A_SAMPLER_KIND)
    x_lin = np.empty(xs.shape[0] - 2)
    _to_model(xs, x_lin, kind, _i1(table, A_SAMPLER_REF))
    x, rep, val, dval = _minus_reputation(x_lin, kind, table)
    return x_lin, x, rep, val, dval


@kernel_function()
def _minus_reputation(x_lin, kind, table):
    """The absolute walk values of the sampler include reputation (level + path + rep), so
    that a change of kappa or phi_reputation moves the walk's prior, not every later path
    value: the model's centred coordinate is that value minus level minus reputation."""
    x = x_lin.copy()
    roles, dims = _i1(table, A_ROLES), _i1(table, A_DIMS)
    val, dval = np.empty_like(x), np.empty_like(x)
    if roles[R_KH] < 0:
        return x, np.zeros((1, 1)), val, dval
    _constrain(
        x,
        val,
        dval,
        _i1(table, A_BLK_OFF),
        _i1(table, A_BLK_SIZE),
        _i1(table, A_BLK_TRANSFORM),
        _f2(table, A_BLK_BOUNDS),
    )
    rep = _reputation(val, roles, dims, _f2(table, A_HONORED), _f2(table, A_VIOLATED))
    member_of_unit, ow, n_steps = _i1(table, A_MEMBER_OF_UNIT), roles[R_WALK], dims[DIM_YEARS] - 1
    for u in range(dims[DIM_UNITS] if ow >= 0 else 0):  # the walk block is (unit, step)
        r = rep[member_of_unit[u]]
        for t in range(n_steps):
            i = ow + u * n_steps + t
            if kind[i] == K_ABS:
                x[i] -= r[t + 1]
    return x, rep, val, dval


@kernel_function()
def _reputation_chain(g, rep, val, dval, kind, table):
    """Adds to g (the model's gradient) what reaches the reputation parameters through
    _minus_reputation."""
    roles, dims = _i1(table, A_ROLES), _i1(table, A_DIMS)
    if roles[R_KH] < 0:
        return
    member_of_unit, ow, n_steps = _i1(table, A_MEMBER_OF_UNIT), roles[R_WALK], dims[DIM_YEARS] - 1
    g_rep = np.zeros_like(rep)
    for u in range(dims[DIM_UNITS] if ow >= 0 else 0):
        gr = g_rep[member_of_unit[u]]
        for t in range(n_steps):
            i = ow + u * n_steps + t
            if kind[i] == K_ABS:
                gr[t + 1] -= g[i]
    gval = np.zeros_like(g)
    _reputation_grad(
        g_rep, rep, val, gval, roles, dims, _f2(table, A_HONORED), _f2(table, A_VIOLATED)
    )
    for i in range(g.shape[0]):
        if gval[i] != 0.0:
            g[i] += gval[i] * dval[i]


@kernel_function()
def chain_map(u, sd, coef, prev):
    """e_i = sd_i u_i + coef_i e_prev(i) (PRECOND_ARRAYS)."""
    e = np.empty_like(u)
    for i in range(u.shape[0]):
        e[i] = sd[i] * u[i]
        if prev[i] >= 0:
            e[i] += coef[i] * e[prev[i]]
    return e


@kernel_function()
def chain_adjoint(g, coef, prev):
    """The gradient with respect to e, given the gradient g with respect to mean + e."""
    out = g.copy()
    for i in range(out.shape[0] - 1, -1, -1):
        if prev[i] >= 0:
            out[prev[i]] += coef[i] * out[i]
    return out


@kernel_function(inline="always")
def logp_grad_whitened(w, gw, table):
    """The log-density in nutpie's coordinates w (PRECOND_ARRAYS) and its gradient."""
    if _f1(table, A_PRE_ON)[0] < 0.5:  # no preconditioner: nutpie samples xs
        return logp_grad_sampler(w, gw, table)
    xs, e = _unwhiten(_spread_point(w, table), table)
    g = np.empty_like(xs)
    value = logp_grad_sampler(xs, g, table) + _follow_grad(g, e, table)
    coef, prev = _f1(table, A_PRE_COEF), _i1(table, A_PRE_PREV)
    g_u, sd = chain_adjoint(g, coef, prev), _f1(table, A_PRE_SD)
    for i in range(g_u.shape[0]):
        g_u[i] *= sd[i]
        gw[i] = g_u[i]
    # the gradient with respect to w
    spread(g_u, gw, _f2(table, A_PRE_SPREAD), _i1(table, A_PRE_SPREAD_AT), True)
    return value + _f1(table, A_PRE_ON)[1]


@kernel_function(inline="always")
def expand_whitened(w, out, table):
    if _f1(table, A_PRE_ON)[0] < 0.5:
        return expand_sampler(w, out, table)
    return expand_sampler(_unwhiten(_spread_point(w, table), table)[0], out, table)


@kernel_function(inline="always")
def _spread_point(w, table):
    """The preconditioner's u for nutpie's point w (the spread map, PRECOND_ARRAYS)."""
    u = w.copy()
    spread(w, u, _f2(table, A_PRE_SPREAD), _i1(table, A_PRE_SPREAD_AT), False)
    return u


@kernel_function()
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


@kernel_function(inline="always")
def _unwhiten(u, table):
    """Sampler coordinates xs of the preconditioner's u, and e(u):
    xs_i = mean_i + exp(-w_i e_s(i)) e_i, where s(i) is a log-scale coordinate (its own
    xs_s = mean_s + e_s) or none (pre_scale_at, pre_follow).

    The deviation of a latent coordinate from its mean shrinks as its scale grows, by the
    share w_i of its prior in its posterior: a partially non-centred form
    (Papaspiliopoulos, Roberts and Skold 2007) in which a hierarchical scale and the
    values it scales move together instead of trading one small step at a time.  The
    weights are chosen in native.KernelModel.scale_following."""
    mean, sd = _f1(table, A_PRE_MEAN), _f1(table, A_PRE_SD)
    e = chain_map(u, sd, _f1(table, A_PRE_COEF), _i1(table, A_PRE_PREV))
    j, scale_at = _i1(table, A_PRE_FOLLOW), _i1(table, A_PRE_SCALE_AT)
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


@kernel_function(inline="always")
def _follow_factors(e_s, f):
    """f[k] = exp(-k e_s / FOLLOW_STEPS), k = 0 .. FOLLOW_STEPS: the exponents w_i are
    multiples of 1 / FOLLOW_STEPS, so one exp serves every coordinate (an exp per
    coordinate, twice per gradient, was 15% of the gradient on ``medium``)."""
    f[0], r = 1.0, math.exp(-e_s / FOLLOW_STEPS)
    for k in range(1, FOLLOW_STEPS + 1):
        f[k] = f[k - 1] * r


@kernel_function()
def _follow_grad(g, e, table):
    """Turns g, the gradient with respect to xs, into the gradient with respect to e
    through _unwhiten's scaling, and returns that map's log-Jacobian, -sum_i w_i e_s(i):
    the Jacobian is diagonal but for the scales' columns, and scales do not follow."""
    j, scale_at = _i1(table, A_PRE_FOLLOW), _i1(table, A_PRE_SCALE_AT)
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
