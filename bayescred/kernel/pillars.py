"""What each signal reads in the kernel, when it reads more than credibility: its pillar
(``[dimensions]``), its common year effect and its unit offsets (``model._signal_latent``),
with the priors of the year effects and offsets and the reverse pass of each.

A pillar is ``rho * credibility + sqrt(1 - rho^2) * own`` (``model._pillars``):
:func:`pillar_values` computes both, :func:`own_prior` the own parts' prior and
:func:`pillars_grad` maps their gradients back.  The signal's latent value is laid out (signal, unit, year) and the observation rows'
cells index it (``describe._observations`` adds ``signal * cells``), so a family's rows
read it exactly as they read credibility in the one-factor model.  Year effects and
offsets are on the signal's link scale (``eta = icpt + extra + slope * pillar``): the rows
read ``pillar + extra / slope``, and the reverse pass adds the term this puts on the
loading's gradient back, so the loading's gradient is the model's.
"""

from __future__ import annotations

import math

import numpy as np

from .layout import (
    DIM_UNITS,
    DIM_YEARS,
    DYN_AR1,
    DYN_STATIC,
    R_LOADING,
    R_OFFSET,
    R_PHIPIL,
    R_RHOPIL,
    R_SIGOFF,
    R_SIGPIL,
    R_SIGYEAR,
    R_YEAR,
    R_ZPIL,
)
from .scalars import kernel_function

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@kernel_function(inline="always")
def _rho(val, roles, pillar_rho, k):
    """Pillar k's correlation with overall credibility (its element of rho_pillar)."""
    return val[roles[R_RHOPIL] + pillar_rho[k]]


@kernel_function()
def pillar_values(val, cred, roles, dims, pillar_kind, pillar_rho):
    """Each pillar and its own part, both (pillar, unit, year); see ``model._pillars``:
    ``pillar = rho * credibility + sqrt(1 - rho^2) * own``.  A dynamic pillar is its
    coordinate (``own`` follows from it); a static pillar's ``own`` is its first coordinate
    in every year."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_k = pillar_kind.shape[0]
    pil, own = np.zeros((n_k, n_u, n_t)), np.zeros((n_k, n_u, n_t))
    oz = roles[R_ZPIL]
    for k in range(n_k):
        rho = _rho(val, roles, pillar_rho, k)
        scale = math.sqrt(1.0 - rho * rho)
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            for t in range(n_t):
                c = cred[u * n_t + t]
                if pillar_kind[k] == DYN_STATIC:
                    own[k, u, t] = val[at]
                    pil[k, u, t] = rho * c + scale * val[at]
                else:
                    pil[k, u, t] = val[at + t]
                    own[k, u, t] = (val[at + t] - rho * c) / scale
    return pil, own


@kernel_function()
def own_prior(own, g_own, val, gval, roles, dims, pillar_kind, pillar_phi, pillar_sigma,
              pillar_rho):  # fmt: skip
    """log p of the pillars' own parts (model._pillars): own[0] ~ Normal(0, 1), then ar1
    (stationary, sd 1), random walk (step sigma_pillar) or static; a static pillar's later
    coordinates are unused and standard normal; a dynamic pillar adds the Jacobian of its
    coordinates, -log sqrt(1 - rho^2) per value.  The gradient by ``own`` goes into
    ``g_own`` (:func:`pillars_grad` maps it to the coordinates), the rest into ``gval``."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    oz = roles[R_ZPIL]
    lp = 0.0
    for k in range(pillar_kind.shape[0]):
        kind = pillar_kind[k]
        phi, sd = 0.0, 1.0
        if kind == DYN_AR1:
            phi = val[roles[R_PHIPIL] + pillar_phi[k]]
            sd = math.sqrt(1.0 - phi * phi)
        elif kind != DYN_STATIC:
            sd = val[roles[R_SIGPIL] + pillar_sigma[k]]
            phi = 1.0
        g_phi, g_sd = 0.0, 0.0
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            x0 = own[k, u, 0]
            lp += -0.5 * x0 * x0 - HALF_LOG_2PI
            g_own[k, u, 0] -= x0
            for t in range(1, n_t):
                if kind == DYN_STATIC:  # an unused coordinate
                    x = val[at + t]
                    lp += -0.5 * x * x - HALF_LOG_2PI
                    gval[at + t] -= x
                    continue
                prev = own[k, u, t - 1]
                d = (own[k, u, t] - phi * prev) / sd
                lp += -0.5 * d * d - math.log(sd) - HALF_LOG_2PI
                g_own[k, u, t] -= d / sd
                g_own[k, u, t - 1] += d * phi / sd
                g_sd += (d * d - 1.0) / sd
                g_phi += d * prev / sd
        if kind == DYN_AR1:  # sd = sqrt(1 - phi^2): d sd / d phi = -phi / sd
            gval[roles[R_PHIPIL] + pillar_phi[k]] += g_phi - g_sd * phi / sd
        elif kind != DYN_STATIC:
            gval[roles[R_SIGPIL] + pillar_sigma[k]] += g_sd
        if kind != DYN_STATIC:  # Jacobian: d(-log sqrt(1 - rho^2)) / d rho = rho / (1 - rho^2)
            rho = _rho(val, roles, pillar_rho, k)
            lp -= 0.5 * math.log(1.0 - rho * rho) * n_u * n_t
            gval[roles[R_RHOPIL] + pillar_rho[k]] += rho / (1.0 - rho * rho) * n_u * n_t
    return lp


@kernel_function()
def pillars_grad(g_pil, g_own, own, val, gval, g_cred, cred, roles, dims, pillar_kind,
                 pillar_rho):  # fmt: skip
    """Reverse of :func:`pillar_values`: the gradients by the pillars (from the signals)
    and by their own parts (from their prior) into the coordinates, credibility and rho."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    oz = roles[R_ZPIL]
    for k in range(pillar_kind.shape[0]):
        rho = _rho(val, roles, pillar_rho, k)
        scale = math.sqrt(1.0 - rho * rho)
        g_rho = 0.0
        for u in range(n_u):
            at = oz + (k * n_u + u) * n_t
            for t in range(n_t):
                c, o = u * n_t + t, own[k, u, t]
                gp, go = g_pil[k, u, t], g_own[k, u, t]
                if pillar_kind[k] == DYN_STATIC:  # pillar = rho c + scale own
                    gval[at] += scale * gp + go
                    g_cred[c] += rho * gp
                    g_rho += gp * (cred[c] - rho * o / scale)
                else:  # own = (pillar - rho c) / scale
                    gval[at + t] += gp + go / scale
                    g_cred[c] -= go * rho / scale
                    g_rho += go * (-cred[c] + o * rho / scale) / scale
        gval[roles[R_RHOPIL] + pillar_rho[k]] += g_rho


@kernel_function()
def signal_latent(cred, pil, val, roles, dims, sig_pillar, sig_year, sig_unit, direction):
    """Each signal's latent value, flat (signal, unit, year): its pillar (or credibility)
    plus extra / slope, with extra its year effect and unit offset (link scale)."""
    n_u, n_t = dims[DIM_UNITS], dims[DIM_YEARS]
    n_c = n_u * n_t
    n_s = sig_pillar.shape[0]
    lat = np.empty(n_s * n_c)
    for j in range(n_s):
        k = sig_pillar[j]
        inv_slope = 1.0 / (direction[j] * val[roles[R_LOADING] + j])
        for u in range(n_u):
            for t in range(n_t):
                v = pil[k, u, t] if k >= 0 else cred[u * n_t + t]
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
    """Reverse of :func:`signal_latent`: adds into ``g_pil`` (signals of a pillar),
    ``g_cred`` (the others) and ``gval`` (with the loading's term of ``extra / slope``)."""
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
                    g_pil[k, u, t] += g
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
