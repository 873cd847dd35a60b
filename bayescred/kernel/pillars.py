"""What each signal reads in the kernel, when it reads more than credibility: its pillar
(``[dimensions]``), its common year effect and its unit offsets (``model._signal_latent``),
with the priors of the year effects and offsets and the reverse pass of each.

The signal's latent value is laid out (signal, unit, year) and the observation rows'
cells index it (``describe._observations`` adds ``signal * cells``), so a family's rows
read it exactly as they read credibility in the one-factor model.  Year effects and
offsets are on the signal's link scale (``eta = icpt + extra + slope * pillar``): the rows
read ``pillar + extra / slope``, and the reverse pass adds the term this puts on the
loading's gradient back, so the loading's gradient is the model's.

A member-level signal (``level = "member"``) reads its member's mean of that value over
the member's units active that year (:func:`member_mean`, ``model._member_mean``): the
year effect is the same in every unit, so the mean of ``pillar + extra / slope`` is the
model's ``mean(pillar) + extra / slope``.
"""

from __future__ import annotations

import math

import numpy as np

from .latent import _standardise, _standardise_grad
from .layout import (
    DIM_MEMBERS,
    DIM_UNITS,
    DIM_YEARS,
    DYN_AR1,
    DYN_STATIC,
    R_LOADING,
    R_OFFSET,
    R_PHIPIL,
    R_PLLOC,
    R_PLSCALE,
    R_SIGOFF,
    R_SIGPIL,
    R_SIGYEAR,
    R_YEAR,
    R_ZPIL,
)
from .scalars import kernel_function

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@kernel_function()
def _persistence(val, roles, kind, phi_at):
    """A pillar deviation's persistence: phi_pillar (ar1), 1 (random walk or static)."""
    if kind == DYN_AR1:
        return val[roles[R_PHIPIL] + phi_at]
    return 1.0


@kernel_function()
def deviations(val, cred, roles, dims, pillar_kind, active):
    """Each pillar's deviation from the common level ``cred``, (pillar, unit, year):
    ``exp(log scale) * pillar_state + location - cred`` (dynamic pillars), or the static
    deviation (its first coordinate) in every year; 0 outside the unit's span (``active``,
    the active weights: > 0 inside); see ``model._pillars``."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_k = pillar_kind.shape[0]
    dev = np.zeros((n_k, n_u, n_t))
    oz = roles[R_ZPIL]
    for k in range(n_k):
        scale, loc = math.exp(val[roles[R_PLSCALE] + k]), val[roles[R_PLLOC] + k]
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            for t in range(n_t):
                if active[u * n_t + t] <= 0.0:
                    continue
                if pillar_kind[k] == DYN_STATIC:
                    dev[k, u, t] = val[at]
                else:
                    dev[k, u, t] = scale * val[at + t] + loc - cred[u * n_t + t]
    return dev


@kernel_function()
def scale_terms(val, gval, roles, dims, pillar_kind, aux, active, pillar_weight):
    """model._sampler_scale_terms for each dynamic pillar over the values where its signals
    are observed (``pillar_weight`` > 0: the Jacobian of its coordinates' scale and the
    auxiliary density of their own log scale and location, spread ``aux / sqrt(values)``),
    and standard normal for its coordinates outside the units' spans; a static pillar's
    unused log scale and location are standard normal."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_all = n_u * n_t
    oz, osc, olc = roles[R_ZPIL], roles[R_PLSCALE], roles[R_PLLOC]
    lp = 0.0
    for k in range(pillar_kind.shape[0]):
        weight = pillar_weight[k]
        n = 0
        for i in range(n_all):
            if weight[i] > 0.0:
                n += 1
        sd = aux / math.sqrt(n)
        if pillar_kind[k] == DYN_STATIC:
            a, b = val[osc + k], val[olc + k]
            lp += -0.5 * (a * a + b * b) - 2.0 * HALF_LOG_2PI
            gval[osc + k] -= a
            gval[olc + k] -= b
            continue
        at = oz + k * n_all
        total = 0.0
        for i in range(n_all):
            if weight[i] > 0.0:
                total += val[at + i]
            if active[i] <= 0.0:  # an unused coordinate
                x = val[at + i]
                lp += -0.5 * x * x - HALF_LOG_2PI
                gval[at + i] -= x
        mean = total / n
        ss = 0.0
        for i in range(n_all):
            if weight[i] > 0.0:
                ss += (val[at + i] - mean) ** 2
        var = ss / n
        log_sd = 0.5 * math.log(var)
        lp += (n - 1) * val[osc + k] - 0.5 * (log_sd / sd) ** 2 - 0.5 * (mean / sd) ** 2
        gval[osc + k] += n - 1
        for i in range(n_all):
            if weight[i] > 0.0:
                gval[at + i] -= (log_sd / (sd * sd)) * (val[at + i] - mean) / (n * var)
                gval[at + i] -= (mean / (sd * sd)) / n
    return lp


@kernel_function()
def deviation_prior(dev, g_dev, val, gval, roles, dims, pillar_kind, pillar_phi, pillar_sigma,
                    active):  # fmt: skip
    """log p of the deviations (model._pillars): dev[0] ~ Normal(0, sigma), dev[t] ~
    Normal(phi dev[t-1], sigma) over each unit's span (``active``; the deviation is 0 before
    it, so its first year's mean is 0); a static pillar's later coordinates are unused and
    standard normal.  The gradient by the deviations goes into ``g_dev`` (the caller maps
    it to the coordinates), by sigma and phi into ``gval``."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    osig, oz = roles[R_SIGPIL], roles[R_ZPIL]
    lp = 0.0
    for k in range(pillar_kind.shape[0]):
        at_sd = osig + pillar_sigma[k]
        sd = val[at_sd]
        static = pillar_kind[k] == DYN_STATIC
        phi = _persistence(val, roles, pillar_kind[k], pillar_phi[k])
        g_phi = 0.0
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            for t in range(n_t):
                if static and t > 0:  # an unused coordinate
                    x = val[at + t]
                    lp += -0.5 * x * x - HALF_LOG_2PI
                    gval[at + t] -= x
                    continue
                if static:  # its coordinate itself (the deviation is 0 outside the span)
                    d = val[at] / sd
                    lp += -0.5 * d * d - math.log(sd) - HALF_LOG_2PI
                    gval[at] -= d / sd
                    gval[at_sd] += (d * d - 1.0) / sd
                    continue
                if active[u * n_t + t] <= 0.0:
                    continue  # (its coordinate is standard normal: scale_terms)
                prev = phi * dev[k, u, t - 1] if t > 0 else 0.0
                d = (dev[k, u, t] - prev) / sd
                lp += -0.5 * d * d - math.log(sd) - HALF_LOG_2PI
                g_dev[k, u, t] -= d / sd
                gval[at_sd] += (d * d - 1.0) / sd
                if t > 0:
                    g_dev[k, u, t - 1] += d * phi / sd
                    g_phi += d * dev[k, u, t - 1] / sd
        if pillar_kind[k] == DYN_AR1:
            gval[roles[R_PHIPIL] + pillar_phi[k]] += g_phi
    return lp


@kernel_function()
def read_pillars(cred, dev, val, roles, dims, pillar_kind, active, pillar_weight):
    """The pillars as signals read them, (pillar, unit * year), on their own standard scale
    (``model._pillars``): a dynamic pillar's coordinates in its span (``(cred - location)
    / scale`` outside it), a static pillar ``cred + dev`` standardised with its weights
    ``pillar_weight``; and the sd that maps each back to the common level's scale."""
    n_k, n_c = dev.shape[0], cred.shape[0]
    oz, osc, olc = roles[R_ZPIL], roles[R_PLSCALE], roles[R_PLLOC]
    pil = np.empty((n_k, n_c))
    sds = np.empty(n_k)
    for k in range(n_k):
        if pillar_kind[k] == DYN_STATIC:
            pil[k], sds[k] = _standardise(cred + dev[k].ravel(), pillar_weight[k])
            continue
        scale, loc = math.exp(val[osc + k]), val[olc + k]
        sds[k] = scale
        for c in range(n_c):
            if active[c] > 0.0:
                pil[k, c] = val[oz + k * n_c + c]
            else:
                pil[k, c] = (cred[c] - loc) / scale
    return pil, sds


@kernel_function()
def read_pillars_grad(g_pil, pil, sds, val, gval, g_dev, g_cred, roles, pillar_kind, active,
                      pillar_weight):  # fmt: skip
    """Reverse of :func:`read_pillars`: into the coordinates, log scale and location (in
    ``gval``), or for a static pillar into ``g_dev`` and ``g_cred``."""
    n_k, n_u, n_t = g_dev.shape[0], g_dev.shape[1], g_dev.shape[2]
    n_c = n_u * n_t
    oz, osc, olc = roles[R_ZPIL], roles[R_PLSCALE], roles[R_PLLOC]
    for k in range(n_k):
        if pillar_kind[k] == DYN_STATIC:
            g_raw = _standardise_grad(g_pil[k], pil[k], sds[k], pillar_weight[k])
            for c in range(n_c):
                g_dev[k, c // n_t, c % n_t] += g_raw[c]
                g_cred[c] += g_raw[c]
            continue
        for c in range(n_c):
            g = g_pil[k, c]
            if active[c] > 0.0:
                gval[oz + k * n_c + c] += g
            elif g != 0.0:  # (nothing reads a pillar outside its span; for exactness)
                g_cred[c] += g / sds[k]
                gval[olc + k] -= g / sds[k]
                gval[osc + k] -= g * pil[k, c]


@kernel_function()
def signal_latent(cred, pil, val, roles, dims, sig_pillar, sig_year, sig_unit, direction):
    """Each signal's latent value, flat (signal, unit, year): its standardised pillar
    (``pil``; credibility itself for a signal in no pillar) + extra / slope, with extra its
    year effect and unit offset (link scale)."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_c = n_u * n_t
    n_s = sig_pillar.shape[0]
    lat = np.empty(n_s * n_c)
    for j in range(n_s):
        k = sig_pillar[j]
        inv_slope = 1.0 / (direction[j] * val[roles[R_LOADING] + j])
        for u in range(n_u):
            for t in range(n_t):
                v = pil[k, u * n_t + t] if k >= 0 else cred[u * n_t + t]
                extra = _extra(val, roles, sig_year[j], sig_unit[j], u, t, n_u, n_t)
                lat[j * n_c + u * n_t + t] = v + extra * inv_slope
    return lat


@kernel_function(inline="always")
def _extra(val, roles, y, o, u, t, n_u, n_t):
    """Signal row's year effect plus unit offset (link scale); 0 where it has neither."""
    extra = 0.0
    if y >= 0 and t > 0:
        extra += val[roles[R_YEAR] + y * (n_t - 1) + t - 1]
    if o >= 0:
        extra += val[roles[R_OFFSET] + o * n_u + u]
    return extra


@kernel_function()
def signal_latent_grad(g_lat, g_pil, val, gval, g_cred, roles, dims, sig_pillar, sig_year,
                       sig_unit, direction):  # fmt: skip
    """Reverse of :func:`signal_latent`: adds into ``g_pil`` (or ``g_cred``) and ``gval``
    (with the loading's term of ``extra / slope``)."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_c = n_u * n_t
    oy, oo = roles[R_YEAR], roles[R_OFFSET]
    for j in range(sig_pillar.shape[0]):
        k, y, o = sig_pillar[j], sig_year[j], sig_unit[j]
        loading = val[roles[R_LOADING] + j]
        inv_slope = 1.0 / (direction[j] * loading)
        g_load = 0.0
        for u in range(n_u):
            for t in range(n_t):
                g = g_lat[j * n_c + u * n_t + t]
                if k >= 0:
                    g_pil[k, u * n_t + t] += g
                else:
                    g_cred[u * n_t + t] += g
                if y < 0 and o < 0:
                    continue
                g_extra = g * inv_slope
                if y >= 0 and t > 0:
                    gval[oy + y * (n_t - 1) + t - 1] += g_extra
                if o >= 0:
                    gval[oo + o * n_u + u] += g_extra
                # d(extra / (dir * loading)) / d loading = -extra / (dir * loading^2)
                g_load -= g_extra * _extra(val, roles, y, o, u, t, n_u, n_t) / loading
        gval[roles[R_LOADING] + j] += g_load


@kernel_function()
def deviations_grad(g_dev, val, gval, g_cred, roles, dims, pillar_kind, active):
    """Reverse of :func:`_deviations`: a dynamic pillar's deviation is its scaled and shifted
    coordinate minus the common level; a static pillar's years all read its first
    coordinate; outside the unit's span it is 0."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    oz, osc, olc = roles[R_ZPIL], roles[R_PLSCALE], roles[R_PLLOC]
    for k in range(pillar_kind.shape[0]):
        scale = math.exp(val[osc + k])
        g_scale, g_loc = 0.0, 0.0
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            for t in range(n_t):
                if active[u * n_t + t] <= 0.0:
                    continue
                g = g_dev[k, u, t]
                if pillar_kind[k] == DYN_STATIC:
                    gval[at] += g
                else:
                    gval[at + t] += g * scale
                    g_scale += g * scale * val[at + t]
                    g_loc += g
                    g_cred[u * n_t + t] -= g
        gval[osc + k] += g_scale
        gval[olc + k] += g_loc


@kernel_function()
def _normal_terms(x, sd, gval, at_x, at_prev, at_sd):
    """log Normal(x; prev, sd) for x = val[at_x] (prev: val[at_prev], or 0 when -1), and
    its gradient."""
    prev = 0.0
    if at_prev >= 0:
        prev = x[at_prev]
    d = (x[at_x] - prev) / sd
    gval[at_x] -= d / sd
    if at_prev >= 0:
        gval[at_prev] += d / sd
    gval[at_sd] += (d * d - 1.0) / sd
    return -0.5 * d * d - math.log(sd) - HALF_LOG_2PI


@kernel_function()
def extras_prior(val, gval, roles, dims, sig_year, sig_unit):
    """Priors of the year effects (a random walk from 0 with step sigma_year) and of the
    unit offsets (Normal(0, sigma_offset)), written out here as the walk's is."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    lp = 0.0
    oy, osy = roles[R_YEAR], roles[R_SIGYEAR]
    if oy >= 0:
        for j in range(sig_year.max() + 1):
            for t in range(n_t - 1):
                at = oy + j * (n_t - 1) + t
                lp += _normal_terms(val, val[osy + j], gval, at, at - 1 if t else -1, osy + j)
    oo, oso = roles[R_OFFSET], roles[R_SIGOFF]
    if oo >= 0:
        for j in range(sig_unit.max() + 1):
            for u in range(n_u):
                lp += _normal_terms(val, val[oso + j], gval, oo + j * n_u + u, -1, oso + j)
    return lp


@kernel_function()
def member_mean(lat, sig_member, member_weight, member_of_unit, dims):
    """In place: a member-level signal's latent value in every unit-year becomes its
    member's mean over its active units that year, ``sum_u w[u, t] lat[u, t]`` over the
    member's units (``member_weight``; see :mod:`bayescred.member_signals`)."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_c = n_u * n_t
    sums = np.zeros(dims[DIM_MEMBERS])
    for j in range(sig_member.shape[0]):
        if sig_member[j] == 0:
            continue
        at = j * n_c
        for t in range(n_t):
            sums[:] = 0.0
            for u in range(n_u):
                sums[member_of_unit[u]] += member_weight[u * n_t + t] * lat[at + u * n_t + t]
            for u in range(n_u):
                lat[at + u * n_t + t] = sums[member_of_unit[u]]


@kernel_function()
def member_mean_grad(g_lat, sig_member, member_weight, member_of_unit, dims):
    """Reverse of :func:`member_mean`, in place: each unit-year's gradient becomes its weight
    times the sum of the gradients its member's mean received that year."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_c = n_u * n_t
    sums = np.zeros(dims[DIM_MEMBERS])
    for j in range(sig_member.shape[0]):
        if sig_member[j] == 0:
            continue
        at = j * n_c
        for t in range(n_t):
            sums[:] = 0.0
            for u in range(n_u):
                sums[member_of_unit[u]] += g_lat[at + u * n_t + t]
            for u in range(n_u):
                g_lat[at + u * n_t + t] = member_weight[u * n_t + t] * sums[member_of_unit[u]]
