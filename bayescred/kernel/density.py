"""The model's log-density and its gradient, by hand, in numba: what nutpie samples.

This is the same density as the PyMC model in ``model.py`` (tests check value and gradient
against PyMC's own ``logp``/``dlogp`` for every registered family, dynamics and prior),
written as one compiled function with a reverse pass by hand.  It exists for speed: nutpie
calls it through a C function pointer (``cinterface``), with no Python and no GIL between
gradient evaluations, and one compiled kernel serves every model structure and panel size
(everything that varies is data, see ``layout``), so numba compiles it once per machine.

The likelihood of each signal is its family's kernel code (``families/*.py``,
:class:`~bayescred.families.KernelCode`), reached through :func:`_family_rows`, a dispatch
on the family code generated from the registry: a registered family needs no edit here.
"""

from __future__ import annotations

import numpy as np

from ..families import FAMILIES, KERNEL_FAMILIES
from ..structure import PILLAR_AUX_SD
from .latent import (
    _alliance_baselines,
    _latent,
    _latent_grad,
    _level_prior,
    _standardise,
    _standardise_grad,
    _walk_prior,
    _walk_step,
    _zero_sum,
)
from .layout import (
    A_ACTIVE_WEIGHT,
    A_ALLIANCE_OF_UNIT,
    A_BLK_BOUNDS,
    A_BLK_DIST,
    A_BLK_OFF,
    A_BLK_PAR,
    A_BLK_SIZE,
    A_BLK_TRANSFORM,
    A_COVARIATES,
    A_CRISIS_CELL,
    A_CRISIS_COVARIATES,
    A_CRISIS_KIND,
    A_CRISIS_OUTCOME,
    A_DIMS,
    A_HONORED,
    A_MEMBER_OF_UNIT,
    A_MEMBER_WEIGHT,
    A_OBS_C1,
    A_OBS_C2,
    A_OBS_CELL,
    A_OBS_SIGNAL,
    A_OBS_TRIALS,
    A_OBS_Y,
    A_PILLAR_KIND,
    A_PILLAR_PHI,
    A_PILLAR_SIGMA,
    A_PILLAR_WEIGHT,
    A_ROLES,
    A_SIG_DIRECTION,
    A_SIG_FAMILY,
    A_SIG_MEMBER,
    A_SIG_NVEC,
    A_SIG_OFFSET,
    A_SIG_PAR,
    A_SIG_PILLAR,
    A_SIG_UNIT,
    A_SIG_YEAR,
    A_VIOLATED,
    A_WALK_CENTRED,
    DIM_ALLIANCES,
    DIM_DYNAMICS,
    DIM_FOLLOWTHROUGH,
    DIM_MEMBERS,
    DIM_SIGNAL_LATENT,
    DYN_RW,
    DYN_STATIC,
    FT_BINARY,
    FT_NONE,
    R_ALPHA,
    R_ALPHAFT,
    R_BETAFT,
    R_CUTFT,
    R_KH,
    R_KV,
    R_LOADFT,
    R_LOADING,
    R_PLLOC,
    R_SLEVEL,
    R_TAU,
    R_ZPIL,
    T_ZEROSUM,
)
from .pillars import (
    deviation_prior,
    deviations,
    deviations_grad,
    extras_prior,
    member_mean,
    member_mean_grad,
    read_pillars,
    read_pillars_grad,
    scale_terms,
    signal_latent,
    signal_latent_grad,
)
from .scalars import kernel_function, ordinal, sigmoid, softplus
from .table import _f1, _f2, _i1, _i2
from .transforms import _constrain, _priors, _unconstrain_grad

# ----------------------------------------------------------------------------- likelihood


def _dispatch(rows_functions):
    """``_family_rows(code, ...)``: the rows function of family ``code`` (the registry's
    kernel order, families.FAMILY_CODES), as a chain of static calls that numba inlines
    (a call through a function pointer could not be inlined, nor the kernel cached)."""
    head = rows_functions[0]
    if len(rows_functions) == 1:

        @kernel_function(inline="always", cache=False)
        def last(code, rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val, gval,
                 par, n_vec):  # fmt: skip
            return head(rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val, gval,
                        par, n_vec)  # fmt: skip

        return last
    rest = _dispatch(rows_functions[1:])

    @kernel_function(inline="always", cache=False)
    def step(code, rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val, gval,
             par, n_vec):  # fmt: skip
        if code == 0:
            return head(rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val, gval,
                        par, n_vec)  # fmt: skip
        return rest(code - 1, rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val,
                    gval, par, n_vec)  # fmt: skip

    return step


_family_rows = _dispatch([FAMILIES[name].kernel.rows() for name in KERNEL_FAMILIES])


@kernel_function()
def _measurement(cred, val, gval, g_cred, roles, t):
    """Log-likelihood of the signal rows, which come sorted by signal (see
    ``describe._observations``): one call of its family's rows per signal, in which the
    family, intercept, slope and the family's parameters are constants and the gradient
    sums stay in registers (a third faster than one loop over all rows that branches on
    the family)."""
    obs_cell, obs_signal = _i1(t, A_OBS_CELL), _i1(t, A_OBS_SIGNAL)
    obs_y, obs_trials = _f1(t, A_OBS_Y), _f1(t, A_OBS_TRIALS)
    obs_c1, obs_c2 = _f1(t, A_OBS_C1), _f1(t, A_OBS_C2)
    sig_offset, sig_direction = _f1(t, A_SIG_OFFSET), _f1(t, A_SIG_DIRECTION)
    sig_family, sig_par, sig_nvec = _i1(t, A_SIG_FAMILY), _i2(t, A_SIG_PAR), _i1(t, A_SIG_NVEC)
    n_s = sig_offset.shape[0]
    oa, ol = roles[R_ALPHA], roles[R_LOADING]
    # signal s's rows: bounds[s] to bounds[s + 1], by bisection (a count of every row's
    # signal read 60,000 numbers per gradient on ``large``)
    bounds = np.searchsorted(obs_signal, np.arange(n_s + 1))
    lp = 0.0
    for s in range(n_s):
        rows = (bounds[s], bounds[s + 1])
        slope = sig_direction[s] * val[ol + s]
        icpt = sig_offset[s] + (val[oa + s] if oa >= 0 else 0.0)
        ll, g_a, g_l = _family_rows(
            sig_family[s], rows, cred, g_cred, obs_cell, obs_y, obs_trials, obs_c1, obs_c2,
            icpt, slope, val, gval, sig_par[s], sig_nvec[s],
        )  # fmt: skip
        if oa >= 0:
            gval[oa + s] += g_a
        lp += ll
        gval[ol + s] += g_l * sig_direction[s]
    return lp


@kernel_function()
def _followthrough(cred, val, gval, g_cred, roles, dims, crisis_cell, crisis_outcome, t):
    """logit P(honour) = alpha[kind] + loading * credibility + z . beta (binary), or the
    ordered logit of loading * credibility + z . beta on the kind's two cutpoints."""
    mode = dims[DIM_FOLLOWTHROUGH]
    if mode == FT_NONE:
        return 0.0
    kind, z = _i1(t, A_CRISIS_KIND), _f2(t, A_CRISIS_COVARIATES)
    ob = roles[R_BETAFT]
    n_z = z.shape[1] if ob >= 0 else 0
    lp = 0.0
    load = val[roles[R_LOADFT]]
    for i in range(crisis_cell.shape[0]):
        c = crisis_cell[i]
        th = cred[c]
        shift = 0.0
        for k in range(n_z):
            shift += z[i, k] * val[ob + k]
        if mode == FT_BINARY:
            at = roles[R_ALPHAFT] + kind[i]
            eta = val[at] + load * th + shift
            y = crisis_outcome[i]
            lp += y * eta - softplus(eta)
            d_eta = y - sigmoid(eta)
            gval[at] += d_eta
        else:
            cut = roles[R_CUTFT] + 2 * kind[i]
            ll, d_eta = ordinal(load * th + shift, crisis_outcome[i], val, cut, 2, gval)
            lp += ll
        for k in range(n_z):
            gval[ob + k] += d_eta * z[i, k]
        gval[roles[R_LOADFT]] += d_eta * th
        g_cred[c] += d_eta * load
    return lp


@kernel_function()
def overall_credibility(pil, active):
    """Overall credibility of a ``[dimensions]`` model: the standardised mean of the
    standardised pillars (``model._read_pillars``), and its raw sd."""
    n_k = pil.shape[0]
    mean = np.zeros(pil.shape[1])
    for k in range(n_k):
        mean += pil[k] / n_k
    return _standardise(mean, active)


@kernel_function()
def _overall_followthrough(pil, g_pil, val, gval, roles, dims, active, t):
    """Follow-through on overall credibility (:func:`overall_credibility`); its gradient
    goes, a K-th each, to the standardised pillars."""
    overall, sd = overall_credibility(pil, active)
    g_over = np.zeros_like(overall)
    crisis_cell, crisis_outcome = _i1(t, A_CRISIS_CELL), _i1(t, A_CRISIS_OUTCOME)
    lp = _followthrough(overall, val, gval, g_over, roles, dims, crisis_cell, crisis_outcome, t)
    g_mean = _standardise_grad(g_over, overall, sd, active)
    n_k = pil.shape[0]
    for k in range(n_k):
        g_pil[k] += g_mean / n_k
    return lp


@kernel_function()
def _signal_measurement(cred, val, gval, g_cred, roles, dims, t):
    """The signal rows where each signal reads a latent value of its own (its standardised
    pillar, year effect, unit offsets: ``kernel.pillars``), with those parts' priors; with
    pillars, the follow-through too (it reads overall credibility, made of them)."""
    sig_pillar, sig_year, sig_unit = _i1(t, A_SIG_PILLAR), _i1(t, A_SIG_YEAR), _i1(t, A_SIG_UNIT)
    pillar_kind, pillar_phi = _i1(t, A_PILLAR_KIND), _i1(t, A_PILLAR_PHI)
    pillar_sigma, direction = _i1(t, A_PILLAR_SIGMA), _f1(t, A_SIG_DIRECTION)
    active = _f1(t, A_ACTIVE_WEIGHT)
    pillars = roles[R_ZPIL] >= 0
    dev = deviations(val, cred, roles, dims, pillar_kind, active)
    pillar_weight = _f2(t, A_PILLAR_WEIGHT)
    pil, sds = read_pillars(cred, dev, val, roles, dims, pillar_kind, active, pillar_weight)
    lat = signal_latent(cred, pil, val, roles, dims, sig_pillar, sig_year, sig_unit, direction)
    sig_member, member_weight = _i1(t, A_SIG_MEMBER), _f1(t, A_MEMBER_WEIGHT)
    member_of_unit = _i1(t, A_MEMBER_OF_UNIT)
    member_mean(lat, sig_member, member_weight, member_of_unit, dims)
    lp = extras_prior(val, gval, roles, dims, sig_year, sig_unit)
    g_dev = np.zeros_like(dev)
    g_pil = np.zeros_like(pil)
    if pillars:
        lp += deviation_prior(dev, g_dev, val, gval, roles, dims, pillar_kind, pillar_phi,
                              pillar_sigma, active)  # fmt: skip
        lp += scale_terms(val, gval, roles, dims, pillar_kind, PILLAR_AUX_SD, active,
                          pillar_weight)  # fmt: skip
        lp += _overall_followthrough(pil, g_pil, val, gval, roles, dims, active, t)
    g_lat = np.zeros_like(lat)
    lp += _measurement(lat, val, gval, g_lat, roles, t)
    member_mean_grad(g_lat, sig_member, member_weight, member_of_unit, dims)
    signal_latent_grad(g_lat, g_pil, val, gval, g_cred, roles, dims, sig_pillar, sig_year,
                       sig_unit, direction)  # fmt: skip
    if pillars:
        read_pillars_grad(g_pil, pil, sds, val, gval, g_dev, g_cred, roles, pillar_kind, active,
                          pillar_weight)  # fmt: skip
        deviations_grad(g_dev, val, gval, g_cred, roles, dims, pillar_kind, active)
    return lp


@kernel_function(inline="always")
def logp_grad(x, grad, t):
    """Log-density at unconstrained ``x``; writes its gradient into ``grad``.  The data
    arrays are read from the pointer table ``t`` (ARRAYS order)."""
    dims, roles = _i1(t, A_DIMS), _i1(t, A_ROLES)
    blk_off, blk_size = _i1(t, A_BLK_OFF), _i1(t, A_BLK_SIZE)
    blk_transform, blk_dist = _i1(t, A_BLK_TRANSFORM), _i1(t, A_BLK_DIST)
    blk_par, blk_bounds = _f2(t, A_BLK_PAR), _f2(t, A_BLK_BOUNDS)
    alliance_of_unit, member_of_unit = _i1(t, A_ALLIANCE_OF_UNIT), _i1(t, A_MEMBER_OF_UNIT)
    active_weight, covariates = _f1(t, A_ACTIVE_WEIGHT), _f2(t, A_COVARIATES)
    honored, violated = _f2(t, A_HONORED), _f2(t, A_VIOLATED)
    walk_centred = _f2(t, A_WALK_CENTRED)
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
    if dims[DIM_DYNAMICS] == DYN_RW:
        lp += _walk_prior(path, step)
    cred, sd = _standardise(raw.ravel(), active_weight)
    g_cred = np.zeros_like(cred)
    if dims[DIM_SIGNAL_LATENT] == 1:
        lp += _signal_measurement(cred, val, gval, g_cred, roles, dims, t)
    else:
        lp += _measurement(cred, val, gval, g_cred, roles, t)
    if roles[R_ZPIL] < 0:  # (with pillars, _signal_measurement holds the follow-through)
        crisis_cell, crisis_outcome = _i1(t, A_CRISIS_CELL), _i1(t, A_CRISIS_OUTCOME)
        lp += _followthrough(cred, val, gval, g_cred, roles, dims, crisis_cell,
                             crisis_outcome, t)  # fmt: skip
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


@kernel_function(inline="always")
def _copy_into(out, k, values):
    """out[k : k + n] = values, as a loop (see _latent); returns k + n."""
    for i in range(values.shape[0]):
        out[k + i] = values[i]
    return k + values.shape[0]


@kernel_function(inline="always")
def expand(x, out, t):
    """What a draw stores: constrained parameters (block order; zero-sum blocks expanded),
    then mu_alliance (if several alliances), credibility (unit x year), then on
    credibility's scale sigma_innovation and sigma_level (if random walk) and kappa_honor
    and kappa_violate (if reputation).  The data arrays are read from ``t`` as in logp_grad."""
    dims, roles = _i1(t, A_DIMS), _i1(t, A_ROLES)
    blk_off, blk_size = _i1(t, A_BLK_OFF), _i1(t, A_BLK_SIZE)
    blk_transform, blk_par, blk_bounds = (
        _i1(t, A_BLK_TRANSFORM),
        _f2(t, A_BLK_PAR),
        _f2(t, A_BLK_BOUNDS),
    )
    alliance_of_unit, member_of_unit = _i1(t, A_ALLIANCE_OF_UNIT), _i1(t, A_MEMBER_OF_UNIT)
    active_weight, covariates = _f1(t, A_ACTIVE_WEIGHT), _f2(t, A_COVARIATES)
    honored, violated = _f2(t, A_HONORED), _f2(t, A_VIOLATED)
    walk_centred = _f2(t, A_WALK_CENTRED)
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
        k = _copy_into(out, k, _alliance_baselines(val, roles, dims[DIM_ALLIANCES]))
    at_cred = k  # overall credibility; with pillars their mean, written below
    k = _copy_into(out, k, cred)
    if dims[DIM_DYNAMICS] == DYN_RW:
        out[k] = step / sd
        out[k + 1] = val[roles[R_SLEVEL]] / sd
        k += 2
    if roles[R_KH] >= 0:  # one per crisis kind: kappa_honor, then kappa_violate
        n_kinds = honored.shape[0] // dims[DIM_MEMBERS]
        for j in range(n_kinds):
            out[k + j] = val[roles[R_KH] + j] / sd
            out[k + n_kinds + j] = val[roles[R_KV] + j] / sd
        k += 2 * n_kinds
    if roles[R_ZPIL] >= 0:  # the standardised pillars (unit, year, dimension), overall
        pillar_kind = _i1(t, A_PILLAR_KIND)  # credibility in credibility's place, then the
        dev = deviations(val, cred, roles, dims, pillar_kind, active_weight)  # common level
        pillar_weight = _f2(t, A_PILLAR_WEIGHT)
        pil, sds = read_pillars(cred, dev, val, roles, dims, pillar_kind, active_weight,
                                pillar_weight)  # fmt: skip
        n_k, n_c = pil.shape[0], pil.shape[1]  # and the map back (model._read_pillars)
        for c in range(n_c):
            for kk in range(n_k):
                out[k + c * n_k + kk] = pil[kk, c]
        overall, _ = overall_credibility(pil, active_weight)
        _copy_into(out, at_cred, overall)
        k = _copy_into(out, k + n_c * n_k, cred)
        for kk in range(n_k):  # raw = read * sd + mean
            mean = val[roles[R_PLLOC] + kk]
            if pillar_kind[kk] == DYN_STATIC:
                raw = cred + dev[kk].ravel()
                mean = 0.0
                for c in range(n_c):
                    mean += pillar_weight[kk, c] * raw[c]
            out[k + kk] = mean
            out[k + n_k + kk] = sds[kk]
