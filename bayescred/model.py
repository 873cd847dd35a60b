"""spec + panel -> ``pm.Model``: the only place the statistics live.

Credibility of unit u (a member's commitment in an alliance) in year t is

    theta_raw[u, t] = d[u, t] + r[m(u), t] + x[u] . gamma
    credibility     = (theta_raw - mean) / sd       (over the units' active unit-years)

* ``d``: unit dynamics, ``static`` | ``random_walk`` | ``ar1``.  A random walk is
  ``d[u, t] = level[u] + walk[u, t]``, ``level[u] ~ Normal(mu[a(u)], sigma_level_raw)``,
  ``walk[u, 0] = 0``, ``walk[u, t] ~ Normal(walk[u, t-1], WALK_STEP)``; static
  and AR(1) paths start from ``level[u] ~ Normal(mu[a(u)], 1)``.  ``mu``: alliance
  baselines (summing to zero), partial pooling with scale ``tau``.
* ``r``: member reputation, moved by crises from the year after they happen:
  ``r[m, t] = phi_r r[m, t-1] + kappa_h honored[m, t-1] - kappa_v violated[m, t-1]``
  (+ ``sigma_r eps`` if ``reputation.noise``), shared by all of a member's commitments.
* measurement: one line per observed cell, ``eta = offset_j + alpha_j + dir_j loading_j
  credibility[u, t]``, vectorised by family; each crisis is a follow-through observation
  on credibility in its year.

Identification is structural.  The likelihood sees credibility only through the
standardised path, so its location and scale cannot trade against ``alpha`` and
``loading``; and the raw path's own scale is pinned by one fixed number -- the random
walk's yearly step, or (static, AR(1)) the unit-level spread -- which loses nothing
because any raw scale standardises to the same credibility.  Scale parameters are
reported on credibility's scale (``sigma_innovation``, ``sigma_level``, ``kappa_*``).
Signs come from ``loading > 0`` and each signal's ``direction``.

Geometry: the random walk's step is fixed, so there is no funnel between a scale and
hundreds of innovations; it is centred (the sampler moves the path) in observed
unit-years and non-centred (it moves the steps) in unobserved ones, which keeps the
posterior well conditioned in both.  Everything a
scenario may change is a ``pm.Data`` container, so re-conditioning on new data never
rebuilds the graph.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

# the model's NumPy-only constants live in design.py (no PyMC there); re-exported here
from .design import (  # noqa: F401
    HONOR_WEIGHT,
    VIOLATE_WEIGHT,
    WALK_STEP,
    SignalScale,
    covariate_matrix,
    crisis_counts,
    crisis_covariate_matrix,
    kind_index,
    panel_crisis_counts,
    scales_from_dict,
    scales_to_dict,
    signal_scales,
    transformed_values,
    walk_centring,
    walk_matrix,
)
from .families import FAMILIES
from .panel import OUTCOMES, Panel
from .priors import PRIOR_DISTS
from .spec import ModelSpec
from .structure import PILLAR_AUX_SD, ModelStructure, _groups, model_structure

# ---------------------------------------------------------------------------- helpers


def prior(spec: ModelSpec, name: str, **kwargs):
    """Create parameter ``name`` with the spec's prior (default or override)."""
    p = spec.prior(name)
    dist = getattr(pm, p["dist"])
    params = {k: v for k, v in p.items() if k in PRIOR_DISTS[p["dist"]]}
    return dist(name, **params, **kwargs)


def decay_matrix(phi, n_years: int):
    """Lower-triangular M with M[t, s] = phi ** (t - s): x = M @ e runs x_t = phi x_{t-1} + e_t.

    A small triangular matmul instead of ``scan`` (cheap, and differentiable in phi).
    """
    lag = np.subtract.outer(np.arange(n_years), np.arange(n_years))
    lower = lag >= 0
    return pt.switch(lower, phi ** np.where(lower, lag, 0), 0.0)


# ---------------------------------------------------------------------------- the model


def build_model(
    panel: Panel,
    spec: ModelSpec,
    scales: dict[str, SignalScale] | None = None,
    structure: ModelStructure | None = None,
) -> pm.Model:
    """Build the PyMC model of ``spec`` on ``panel``.

    Parameters
    ----------
    panel : Panel
        Validated data (see :func:`bayescred.panel.load_panel`).
    spec : ModelSpec
        The model spec.
    scales : dict, optional
        Per-signal transform constants; computed from ``panel`` when omitted.
    structure : ModelStructure, optional
        The model's structure (:func:`bayescred.structure.model_structure`); computed
        when omitted.

    Returns
    -------
    pm.Model
        With posterior variable ``credibility`` of dims ``("unit", "year")``.
    """
    scales = scales or signal_scales(panel, spec)
    structure = structure or model_structure(spec, panel)
    coords = {
        "unit": panel.unit_labels,
        "year": panel.years.astype(int),
        "step": panel.years[1:].astype(int),
        "member": panel.members,
        "alliance": panel.alliances,
        "signal": panel.signals,
    }
    if structure.crisis_kinds:
        coords["crisis_kind"] = list(structure.crisis_kinds)
    with pm.Model(coords=coords) as model:
        theta_raw, raw_scale = _latent(panel, spec, structure)
        # with [dimensions] the standardised path is the pillars' common level, and overall
        # credibility is made of the pillars (_read_pillars)
        name = "credibility_common" if structure.dimensions else "credibility"
        theta = _standardise(theta_raw, panel.active_mask(), name)
        # scale parameters reported on credibility's scale (the raw scale is arbitrary)
        for name, value in raw_scale.items():  # with the raw variable's dims (kappa: kind)
            dims = model.named_vars_to_dims.get(name) if name in model.named_vars else None
            pm.Deterministic(name.removesuffix("_raw"), value / theta.sd_raw, dims=dims)
        pillar, overall = None, theta.value
        if structure.dimensions:  # signals read each pillar on its own standard scale
            _, *reads = _pillars(spec, structure, theta.value, panel.active_mask())
            pillar, overall = _read_pillars(*reads, panel.active_mask())
        if structure.signals:  # a spec without signals is fitted to its crises alone
            latent = _signal_latent(spec, structure, theta.value, pillar)
            _measurement(panel, spec, scales, theta, structure, latent)
        _followthrough(panel, spec, overall, structure)
    return model


def _read_pillars(read, means, sds, active: np.ndarray):
    """Record the pillars as signals read them (``read``, dimension, unit, year, from
    :func:`_pillars`) with what maps them back to the common level's scale (``raw = read
    * sd + mean``), and overall credibility: the standardised equal-weight mean of the
    pillars over the active unit-years (mean 0, sd 1, as credibility is in a one-factor
    model).  Overall credibility moves when a pillar moves for years (a withdrawal of
    forces moves it by about a third of the capability pillar's fall), which the common
    level alone does not where the pillars do not move together (docs/dimensions.md)."""
    pillar = pt.stack(read)
    pm.Deterministic("pillar", pillar.transpose(1, 2, 0), dims=("unit", "year", "dimension"))
    pm.Deterministic("pillar_mean_raw", pt.stack(means), dims="dimension")
    pm.Deterministic("pillar_sd_raw", pt.stack(sds), dims="dimension")
    weight = active.astype(float) / active.sum()
    overall = _weighted_standard(pt.mean(pillar, axis=0), weight)[0]
    return pillar, pm.Deterministic("credibility", overall, dims=("unit", "year"))


def _weighted_standard(x, weight):
    """``(x - mean) / sd`` with the weighted mean and sd, and the two."""
    mean = pt.sum(x * weight)
    # the tiny floor keeps a flat starting path (sd = 0) finite
    sd = pt.sqrt(pt.sum((x - mean) ** 2 * weight) + 1e-12)
    return (x - mean) / sd, mean, sd


class _Standardised:
    """Credibility and the raw path's scale (to report scale parameters on credibility's)."""

    def __init__(self, value, sd_raw):
        self.value, self.sd_raw = value, sd_raw


def _standardise(theta_raw, active: np.ndarray, name: str = "credibility") -> _Standardised:
    value, _, sd = _weighted_standard(theta_raw, active.astype(float) / active.sum())
    return _Standardised(pm.Deterministic(name, value, dims=("unit", "year")), sd)


def _latent(panel: Panel, spec: ModelSpec, structure: ModelStructure):
    """The raw path (unit, year) and the scale parameters to report on credibility's scale."""
    n_units, n_years = structure.n_units, structure.n_years
    # Each unit's level is centred on its alliance's baseline, and the baselines sum to
    # zero.  The data pin down a unit's level itself, not its deviation from an alliance
    # mean, and say nothing about the panel's overall location (credibility is
    # standardised), so this form leaves no direction that only the priors, scaled by
    # tau, determine -- the non-centred, free-location form mixed poorly (ESS ~30).  The
    # baselines themselves are non-centred: a handful of alliances hardly inform tau, and
    # centred baselines made a funnel (tau ESS 12, 325 divergences in 2 x 1000 draws).
    centre = 0.0
    if structure.pooled_alliances:
        tau = prior(spec, "tau")
        z = pm.ZeroSumNormal("z_alliance", sigma=1.0, dims="alliance")
        mu = pm.Deterministic("mu_alliance", tau * z, dims="alliance")
        centre = mu[panel.alliance_of_unit]
    if structure.random_walk:
        theta, raw_scale = _random_walk(panel, spec, centre, n_units, n_years)
    else:
        level = pm.Normal("level", centre, 1.0, dims="unit")
        theta, raw_scale = _dynamics(spec, structure, level, n_years), {}
    if structure.covariates:
        x = covariate_matrix(panel, spec)
        model = pm.modelcontext(None)
        model.add_coord("covariate", list(spec.latent.covariates))
        gamma = prior(spec, "gamma", dims="covariate")
        theta = theta + pt.dot(x, gamma)[:, None]
    if structure.reputation:
        r, kappa = _reputation(panel, spec, structure, n_years)
        theta = theta + r[panel.member_of_unit]
        raw_scale.update(kappa)
    return theta, raw_scale


def _random_walk(panel: Panel, spec: ModelSpec, centre, n_units: int, n_years: int):
    """Level plus a walk from zero: level[u] ~ Normal(centre, sigma_level_raw),
    walk[u, 0] = 0, walk[u, t] ~ Normal(walk[u, t - 1], WALK_STEP).

    The raw scale is pinned by the fixed step, not by the levels' spread: only the ratio
    of the two reaches the (standardised) likelihood, and hundreds of unit-year steps
    pin a scale far more tightly than a few dozen levels.  With the step fixed there is
    no hierarchical scale on the steps, hence no funnel.  The sampler's coordinates
    ``z_walk`` are the path itself where a unit-year is observed (centred: well
    conditioned under data) and the step where it is not (non-centred: a long unobserved
    stretch, e.g. before a member joined, is then independent standard normals); see
    design.walk_centring.  The non-centred form throughout crawled along
    sigma_innovation (bulk ESS 13-190).  The walk starts from the level rather than
    containing it, so moving a unit (or an alliance with one member) as a whole moves one
    number, not a whole path.  These are the PyMC model's coordinates; nutpie, through the
    numba kernel, samples coordinates of its own for the same density (the raw scale and
    location as two numbers, absolute path values; see kernel.SAMPLER_ARRAYS).
    """
    sigma_level = prior(spec, "sigma_level_raw")
    level = pm.Normal("level", centre, sigma_level, dims="unit")
    centred = walk_centring(panel)
    c = pm.Data("walk_centred", centred, dims=("unit", "step"))
    m = pm.Data("walk_matrix", walk_matrix(centred))
    z = pm.Flat("z_walk", dims=("unit", "step"))
    walk = (m * ((c + (1.0 - c) * WALK_STEP) * z)[:, None, :]).sum(axis=2)
    path = pt.concatenate([pt.zeros((n_units, 1)), walk], axis=1)
    pm.Potential("walk_prior", -0.5 * pt.sum(pt.sqr(pt.diff(path, axis=1) / WALK_STEP)))
    theta = level[:, None] + path
    return theta, {"sigma_innovation_raw": pt.constant(WALK_STEP), "sigma_level_raw": sigma_level}


def _dynamics(spec: ModelSpec, structure: ModelStructure, level, n_years: int):
    """Static and AR(1) paths from the units' levels (non-centred AR(1) innovations)."""
    if structure.dynamics == "static":
        return pt.repeat(level[:, None], n_years, axis=1)
    sigma = prior(spec, "sigma_innovation")
    z = pm.Normal("z_innovation", 0.0, 1.0, dims=("unit", "step"))
    phi = prior(spec, "phi")
    shocks = pt.concatenate([level[:, None], sigma * z], axis=1)
    return pt.dot(shocks, decay_matrix(phi, n_years).T)


def _reputation(panel: Panel, spec: ModelSpec, structure: ModelStructure, n_years: int):
    """Member reputation (member, year) and its effects (raw scale), one pair per kind.

    ``r[m, t] = phi_r r[m, t-1] + sum_k (kappa_h[k] honored[k, m, t-1] - kappa_v[k]
    violated[k, m, t-1])``: the kappas are signed (an honoured crisis of kind k moves
    reputation by +kappa_h[k], a violated one by -kappa_v[k]), so "no reputation effect",
    or the reverse of the expected one, is something the data can support.
    """
    honored, violated = panel_crisis_counts(panel)
    dims = ("crisis_kind", "member", "year")
    honored = pm.Data("honored_count", honored, dims=dims)
    violated = pm.Data("violated_count", violated, dims=dims)
    kappa_h = prior(spec, "kappa_honor_raw", dims="crisis_kind")
    kappa_v = prior(spec, "kappa_violate_raw", dims="crisis_kind")
    phi_r = prior(spec, "phi_reputation")
    shock = (kappa_h[:, None, None] * honored - kappa_v[:, None, None] * violated).sum(axis=0)
    # a crisis in year t moves reputation from t + 1 on
    shock = pt.concatenate([pt.zeros((shock.shape[0], 1)), shock[:, :-1]], axis=1)
    if structure.reputation_noise:
        sigma_r = prior(spec, "sigma_reputation")
        eps = pm.Normal("z_reputation", 0.0, 1.0, dims=("member", "step"))
        shock = shock + pt.concatenate([pt.zeros((eps.shape[0], 1)), sigma_r * eps], axis=1)
    r = pt.dot(shock, decay_matrix(phi_r, n_years).T)
    return r, {"kappa_honor_raw": kappa_h, "kappa_violate_raw": kappa_v}


# ---------------------------------------------------------------------------- pillars


def _signal_latent(spec: ModelSpec, structure: ModelStructure, cred, pillar=None):
    """What each signal reads, (signal, unit, year): ``(pillar, extra)`` with ``pillar`` its
    pillar (``pillar``, from :func:`_pillars`) or credibility itself, and ``extra``
    its common year effect plus its unit offsets where the spec asks for them, on the
    signal's link scale (they add to eta, beside ``loading * pillar``; ``None`` when no
    signal has any); ``None`` when every signal reads credibility itself (the one-factor
    model).  A member-level signal's ``pillar`` is its member's mean of it over the
    member's active units (:func:`_member_mean`).

    Year effects and offsets are on the link scale, not credibility's: on credibility's
    scale they are multiplied by the loading, and the product made a ridge between the two
    that NUTS crawled along (859 leapfrog steps per draw on the US panel)."""
    if not structure.signal_latent:
        return None
    years = _year_effects(spec, structure) if structure.year_signals else None
    offsets = _unit_offsets(spec, structure) if structure.offset_signals else None
    reads, extras = [], []
    for s in structure.signals:
        k = structure.signal_pillar[s]
        read = pillar[k] if k >= 0 else cred
        reads.append(_member_mean(structure, read) if s in structure.member_signals else read)
        extra = pt.zeros((structure.n_units, structure.n_years))
        if s in structure.year_signals:
            extra = extra + years[structure.year_signals.index(s)][None, :]
        if s in structure.offset_signals:
            extra = extra + offsets[structure.offset_signals.index(s)][:, None]
        extras.append(extra)
    has_extra = bool(structure.year_signals or structure.offset_signals)
    return pt.stack(reads), (pt.stack(extras) if has_extra else None)


def _member_mean(structure: ModelStructure, x):
    """The member's part of ``x`` (unit, year): each unit reads the mean of ``x`` over its
    member's units active that year (``structure.member_weight``; see
    :mod:`bayescred.member_signals`)."""
    one_hot = np.zeros((structure.n_members, structure.n_units))
    one_hot[structure.member_of_unit, np.arange(structure.n_units)] = 1.0
    by_member = pt.dot(one_hot, x * structure.member_weight)  # (member, year)
    return by_member[structure.member_of_unit]


def _pillars(spec: ModelSpec, structure: ModelStructure, cred, active: np.ndarray):
    """Each pillar, (dimension, unit, year): the common level ``cred`` plus the pillar's
    deviation,
    ``dev[0] ~ Normal(0, sigma)``, ``dev[t] ~ Normal(phi * dev[t-1], sigma)`` with ``phi``
    the pillar's ``phi_pillar`` (ar1: reverting to the common level) or 1 (random
    walk); static: ``dev[t] = dev[0]`` in every year.

    The sampler's coordinates ``pillar_state`` are the pillars themselves up to a scale and
    location of their own (dynamic pillars: ``pillar = exp(pillar_log_scale) *
    pillar_state + pillar_location``, :func:`_sampler_scale_terms`; the deviation is
    ``pillar - credibility``) or the static deviation (first year; the later coordinates,
    and that pillar's log scale and location, are unused and standard normal, so the
    density stays proper).  The
    signals inform every unit-year of a pillar strongly, so the pillar is centred on its
    data: with the deviations as coordinates (centred or not) a unit's overall level and
    its pillars' deviations traded along a ridge of ~180 coordinates (R-hat 2-3 on the US
    panel), and non-centred innovations cost ~1,000 leapfrog steps per draw.

    A pillar exists where its commitment does (``active``, the unit's span): outside it the
    pillar is the common level (deviation 0) and its coordinates are unused and standard
    normal, so the deviation's path starts afresh in the first active year (``dev[first] ~
    Normal(0, sigma)``).  Deviations drawn from their prior over the years before an ally
    joined (a third of the US panel's grid) made a funnel with ``sigma_pillar``.

    Signals read each pillar on its own standard scale (mean 0, sd 1 over the unit-years
    in which any of its signals is observed, ``structure.pillar_weight``): a dynamic
    pillar's coordinates themselves, whose mean and log sd the
    auxiliary density holds within 0.3 / sqrt(n) of 0 (a soft standardisation), a static
    pillar standardised exactly.  On the common level's scale a pillar's spread is the
    common level's plus its deviations', so every loading traded against ``sigma_pillar``
    (posterior correlation -0.86 on the US panel) along a ridge of every pillar value.

    Returns the pillars on the common level's scale (dimension, unit, year) and, per
    pillar, what signals read with the mean and sd that map it back (``raw = read * sd +
    mean``)."""
    model = pm.modelcontext(None)
    model.add_coord("dimension", list(structure.dimensions))
    if structure.shared_pillar_scale:  # one deviation scale: overall = the equal-weight
        sigma = pt.repeat(prior(spec, "sigma_pillar"), len(structure.dimensions))  # factor
    else:
        sigma = prior(spec, "sigma_pillar", dims="dimension")
    if structure.ar1_pillars:
        model.add_coord("ar1_dimension", list(structure.ar1_pillars))
        phi = prior(spec, "phi_pillar", dims="ar1_dimension")
    state = pm.Flat("pillar_state", dims=("dimension", "unit", "year"))
    log_scale = pm.Flat("pillar_log_scale", dims="dimension")
    location = pm.Flat("pillar_location", dims="dimension")
    active = np.asarray(active, bool)
    out, read, means, sds, logp = [], [], [], [], 0.0
    for k, (name, dynamics) in enumerate(zip(structure.dimensions, structure.pillar_dynamics)):
        x = state[k]
        weight = structure.pillar_weight[k]  # standardised where its signals are observed
        if dynamics == "static":  # (log scale and location unused: standard normal)
            n_years = structure.n_years
            out.append(cred + pt.where(active, pt.repeat(x[:, :1], n_years, axis=1), 0.0))
            for collect, value in zip((read, means, sds), _weighted_standard(out[-1], weight)):
                collect.append(value)
            logp = logp + _normal_logp(x[:, 0], 0.0, sigma[k]) + _normal_logp(x[:, 1:], 0.0, 1.0)
            logp = logp + _normal_logp(pt.stack([log_scale[k], location[k]]), 0.0, 1.0)
            continue
        scale = pt.exp(log_scale[k])
        pillar = pt.where(active, scale * x + location[k], cred)
        read.append(pt.where(active, x, (cred - location[k]) / scale))
        means.append(location[k])
        sds.append(scale)
        logp = logp + _sampler_scale_terms(x[weight > 0], log_scale[k])
        logp = logp + _normal_logp(x[~active], 0.0, 1.0)
        dev = pillar - cred  # 0 outside the span, so its first year's mean is 0
        persistence = phi[structure.ar1_pillars.index(name)] if dynamics == "ar1" else 1.0
        mean = pt.concatenate([pt.zeros_like(dev[:, :1]), persistence * dev[:, :-1]], axis=1)
        logp = logp + _normal_logp(dev[active], mean[active], sigma[k])
        out.append(pillar)
    pm.Potential("pillar_prior", logp)
    return pt.stack(out), read, means, sds


def _sampler_scale_terms(x, log_scale):
    """What makes ``pillar = exp(log_scale) * x + location`` exact: the Jacobian of x -> pillar
    and an auxiliary density that holds x's own log scale and location near 0, given the
    pillar (it integrates to 1 over log_scale and location, so the pillar's posterior is
    the model's).  Why: a pillar's overall scale and location trade against its signals'
    loadings and intercepts, and as a move of every pillar value NUTS made it slowly; here
    it is two coordinates (the walk's raw scale has the same remedy, kernel/geometry.py)."""
    n = x.shape[0]  # (the active values, flat)
    aux = PILLAR_AUX_SD / pt.sqrt(n)
    mean = pt.mean(x)
    log_sd = 0.5 * pt.log(pt.mean(pt.sqr(x - mean)))
    return (n - 1) * log_scale - 0.5 * pt.sqr(log_sd / aux) - 0.5 * pt.sqr(mean / aux)


def _normal_logp(x, mu, sigma):
    """Summed Normal(mu, sigma) log-density of ``x`` (with its constants)."""
    z = (x - mu) / sigma
    return pt.sum(-0.5 * pt.sqr(z) - pt.log(sigma) - 0.5 * np.log(2 * np.pi))


def _year_effects(spec: ModelSpec, structure: ModelStructure):
    """Common year effects on the signals' link scale, (year_signal, year): a random walk
    from 0 in the first year (the signal's intercept is its first year's level) with
    yearly step ``sigma_year``.
    Centred: each year's effect is informed by every unit observed that year."""
    model = pm.modelcontext(None)
    model.add_coord("year_signal", list(structure.year_signals))
    sigma = prior(spec, "sigma_year", dims="year_signal")
    effect = pm.Flat("year_effect", dims=("year_signal", "step"))
    path = pt.concatenate([pt.zeros((len(structure.year_signals), 1)), effect], axis=1)
    pm.Potential("year_effect_prior", _normal_logp(effect, path[:, :-1], sigma[:, None]))
    return path


def _unit_offsets(spec: ModelSpec, structure: ModelStructure):
    """Persistent unit offsets on the signals' link scale, (offset_signal, unit) ~
    Normal(0, sigma_offset)."""
    model = pm.modelcontext(None)
    model.add_coord("offset_signal", list(structure.offset_signals))
    sigma = prior(spec, "sigma_offset", dims="offset_signal")
    return pm.Normal(
        "unit_offset", 0.0, sigma[:, None], dims=("offset_signal", "unit")
    )


# ---------------------------------------------------------------------------- measurement


def measurement_groups(spec: ModelSpec) -> dict[str, list[str]]:
    """Signals sharing one vectorised likelihood (see :class:`bayescred.structure.
    ModelStructure`'s ``groups``)."""
    return _groups(spec, {})


def group_data(panel: Panel, spec: ModelSpec, scales, signals: list[str]) -> dict:
    """Arrays of one measurement group (what the ``pm.Data`` containers hold)."""
    obs = panel.observations[panel.observations.signal.isin(signals)]
    family = FAMILIES[spec.signals[signals[0]].family]
    values = np.empty(len(obs))
    for name in signals:
        here = (obs.signal == name).to_numpy()
        values[here] = transformed_values(obs.value.to_numpy()[here], family.name, scales[name])
    data = {
        # flat (unit, year) cell: one integer index is far cheaper than two (and its
        # gradient is a plain scatter-add) in every PyTensor backend
        "cell": obs.unit_idx.to_numpy(int) * len(panel.years) + obs.year_idx.to_numpy(int),
        "signal": obs.signal_idx.to_numpy(int),
        "local": pd.Categorical(obs.signal, categories=signals).codes.astype(int),
        "y": np.round(values).astype(int) if family.integer else values,
    }
    if family.needs_trials:
        data["trials"] = obs.trials.to_numpy(int)
    return data


def _measurement(
    panel: Panel, spec: ModelSpec, scales, theta: _Standardised, structure: ModelStructure,
    latent=None,
) -> None:
    alpha = prior(spec, "alpha", dims="signal")
    loading = prior(spec, "loading", dims="signal")
    direction = np.array([spec.signals[s].direction for s in panel.signals], float)
    offset = np.array([scales[s].offset for s in panel.signals])
    params = _family_parameters(spec, scales, structure)
    for group, signals in structure.groups.items():
        fam = structure.families[signals[0]]
        arrays = group_data(panel, spec, scales, signals)
        d = {k: pm.Data(f"{group}_{k}", v) for k, v in arrays.items()}
        s = d["signal"]
        slope = pt.as_tensor(direction)[s] * loading[s]
        if latent is None:
            eta = slope * theta.value.ravel()[d["cell"]]
        else:  # the signal's own latent value: row (signal, cell) of (signal, unit, year)
            row = s * (structure.n_units * structure.n_years) + d["cell"]
            eta = slope * latent[0].ravel()[row]
            if latent[1] is not None:
                eta = eta + latent[1].ravel()[row]
        if fam.intercept:
            eta = pt.as_tensor(offset)[s] + alpha[s] + eta
        # each row's parameters: a scalar parameter's vector runs over every signal that
        # has it (sigma: gaussian, lognormal and student-t ones), so map the group's local
        # index to its position; a vector parameter (cutpoints) is one per group
        row_params = {}
        for p in fam.params:
            if p.vector:
                row_params[p.name] = params[f"{p.name}_{signals[0]}"][None, :]
            else:
                at = np.array([structure.param_position(p.name, x) for x in signals], int)
                row_params[p.name] = params[p.name][at][d["local"]]
        fam.pymc(f"y_{group}", eta, d["y"], row_params, d.get("trials"))


def aux_signals(spec: ModelSpec, aux_name: str) -> list[str]:
    """Signals that have the family parameter ``aux_name`` (its coordinate, in order)."""
    return [n for n, s in spec.signals.items() if aux_name in FAMILIES[s.family].param_names]


def _family_parameters(spec: ModelSpec, scales, structure: ModelStructure) -> dict:
    """The families' own parameters: one vector per scalar parameter over the signals that
    have it (sigma, dispersion, precision, nu, ...), one ordered vector per signal and
    vector parameter (cutpoints)."""
    model = pm.modelcontext(None)
    out = {}
    for name, signals in structure.param_signals.items():
        model.add_coord(f"{name}_signal", signals)
        out[name] = prior(spec, name, dims=f"{name}_signal")
    for name, signal in structure.vector_params():
        k = scales[signal].categories - 1
        out[f"{name}_{signal}"] = _cutpoints(spec, name, f"{name}_{signal}", k)
    return out


def _cutpoints(spec: ModelSpec, prior_name: str, name: str, k: int):
    """Ordered cutpoints of a cumulative-logit likelihood."""
    p = spec.prior(prior_name)
    params = {key: v for key, v in p.items() if key in PRIOR_DISTS[p["dist"]]}
    return getattr(pm, p["dist"])(
        name,
        **params,
        shape=k,
        transform=pm.distributions.transforms.ordered,
        initval=np.linspace(-1.5, 1.5, k),
    )


def outcome_codes(outcomes: pd.Series) -> np.ndarray:
    """violated = 0, partial = 1, honored = 2."""
    return outcomes.map({o: i for i, o in enumerate(OUTCOMES)}).to_numpy(int)


def _followthrough(panel: Panel, spec: ModelSpec, cred, structure: ModelStructure) -> None:
    """Each crisis is an observation of credibility in its year:
    ``logit P(honour) = alpha[kind] + loading * credibility[u, t] + z_c . beta``, with
    ``z_c`` the crisis covariates standardised over the crises (log-odds per sd, like the
    loading, since credibility has sd 1).  With ``partial`` outcomes it is ordered
    (violated < partial < honoured) and each kind has its own two cutpoints instead of an
    intercept."""
    crises = panel.crises
    if structure.followthrough == "none":
        return
    model = pm.modelcontext(None)
    cell = crises.unit_idx.to_numpy(int) * len(panel.years) + crises.year_idx.to_numpy(int)
    cell = pm.Data("crisis_cell", cell)
    kind = pm.Data("crisis_kind_idx", kind_index(crises, structure.crisis_kinds))
    codes = outcome_codes(crises.outcome)
    loading = prior(spec, "loading_followthrough")
    eta = loading * cred.ravel()[cell]
    if structure.crisis_covariates:
        model.add_coord("crisis_covariate", list(structure.crisis_covariates))
        z = crisis_covariate_matrix(crises, structure.crisis_covariates, panel.crisis_scaling)
        z = pm.Data("crisis_covariates", z)
        eta = eta + pt.dot(z, prior(spec, "beta_followthrough", dims="crisis_covariate"))
    if structure.followthrough == "ordered":  # ordered violated < partial < honored
        outcome = pm.Data("crisis_outcome", codes)
        cut = _kind_cutpoints(spec, len(structure.crisis_kinds))
        pm.OrderedLogistic(
            "followthrough", eta=eta, cutpoints=cut[kind], observed=outcome, compute_p=False
        )
    else:
        outcome = pm.Data("crisis_outcome", (codes == 2).astype(int))
        alpha = prior(spec, "alpha_followthrough", dims="crisis_kind")
        pm.Bernoulli("followthrough", logit_p=alpha[kind] + eta, observed=outcome)


def _kind_cutpoints(spec: ModelSpec, n_kinds: int):
    """Ordered follow-through's cutpoints, (kind, 2): each kind its own location."""
    p = spec.prior("cutpoints_followthrough")
    params = {key: v for key, v in p.items() if key in PRIOR_DISTS[p["dist"]]}
    pm.modelcontext(None).add_coord("cutpoint", [0, 1])
    return getattr(pm, p["dist"])(
        "cutpoints_followthrough",
        **params,
        dims=("crisis_kind", "cutpoint"),
        transform=pm.distributions.transforms.ordered,
        initval=np.tile([-1.5, 1.5], (n_kinds, 1)),
    )
