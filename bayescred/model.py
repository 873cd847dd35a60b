"""spec + panel -> ``pm.Model``: the only place the statistics live.

Credibility of unit u (a member's commitment in an alliance) in year t is

    theta_raw[u, t] = d[u, t] + r[m(u), t] + x[u] . gamma
    credibility     = (theta_raw - mean) / sd       (over the units' active unit-years)

* ``d``: unit dynamics, ``static`` | ``random_walk`` | ``ar1``, starting from
  ``level[u] ~ Normal(mu[a(u)], 1)``; ``mu``: alliance baselines (summing to zero),
  partial pooling with scale ``tau``.
* ``r``: member reputation, moved by crises from the year after they happen:
  ``r[m, t] = phi_r r[m, t-1] + kappa_h honored[m, t-1] - kappa_v violated[m, t-1]``
  (+ ``sigma_r eps`` if ``reputation.noise``), shared by all of a member's commitments.
* measurement: one line per observed cell, ``eta = offset_j + alpha_j + dir_j loading_j
  credibility[u, t]``, vectorised by family; each crisis is a follow-through observation
  on credibility in its year.

Identification is structural.  The likelihood sees credibility only through the
standardised path, so its location and scale cannot trade against ``alpha`` and
``loading``; and the raw path's own scale is pinned by fixing the unit-level spread
(``level ~ Normal(0, 1)``), which loses nothing because any raw scale standardises to the
same credibility.  Signs come from ``loading > 0`` and each signal's ``direction``.

Geometry: the random walk is written in its Karhunen-Loeve basis (the eigenvectors of the
walk's prior covariance), in which the posterior of evenly observed units is close to
diagonal, so NUTS with a diagonal mass matrix does not crawl along long random-walk
chains.  Everything a scenario may change is a ``pm.Data`` container, so re-conditioning
on new data never rebuilds the graph.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from .panel import OUTCOMES, Panel
from .signals import FAMILIES, data_offset, likelihood
from .spec import PRIOR_DISTS, ModelSpec

# Reputation counts per crisis outcome: a partial outcome moves reputation half-way.
HONOR_WEIGHT = {"honored": 1.0, "partial": 0.5, "violated": 0.0}
VIOLATE_WEIGHT = {"honored": 0.0, "partial": 0.5, "violated": 1.0}


@dataclass(frozen=True)
class SignalScale:
    """Fixed per-signal constants, computed once from the fitted data and then reused
    (scenarios must be measured on the same scale as the baseline)."""

    center: float = 0.0  # subtracted from (log) y for gaussian / lognormal families
    scale: float = 1.0  # divides (log) y for gaussian / lognormal families
    offset: float = 0.0  # data-implied centre of eta for count / rate families
    categories: int = 0  # number of categories of an ordinal signal


def signal_scales(panel: Panel, spec: ModelSpec) -> dict[str, SignalScale]:
    """Compute each signal's transform constants from the observed data."""
    out = {}
    for name, sig in spec.signals.items():
        fam = FAMILIES[sig.family]
        rows = panel.observations[panel.observations.signal == name]
        y = rows.value.to_numpy()
        trials = rows.trials.to_numpy() if fam.needs_trials else None
        if fam.transform in ("standardise", "log_standardise"):
            z = np.log(y) if fam.transform == "log_standardise" else y
            sd = float(np.std(z)) if len(z) > 1 and np.std(z) > 0 else 1.0
            out[name] = SignalScale(center=float(np.mean(z)), scale=sd)
        elif fam.name == "ordinal":
            out[name] = SignalScale(categories=int(y.max()) + 1)
        else:
            out[name] = SignalScale(offset=data_offset(fam, y, trials))
    return out


def scales_to_dict(scales: dict[str, SignalScale]) -> dict:
    return {k: asdict(v) for k, v in scales.items()}


def scales_from_dict(d: dict) -> dict[str, SignalScale]:
    return {k: SignalScale(**v) for k, v in d.items()}


def transformed_values(values: np.ndarray, family: str, scale: SignalScale) -> np.ndarray:
    """Observed values on the scale the likelihood sees."""
    fam = FAMILIES[family]
    if fam.transform == "log_standardise":
        return (np.log(values) - scale.center) / scale.scale
    if fam.transform == "standardise":
        return (values - scale.center) / scale.scale
    return values


# ---------------------------------------------------------------------------- helpers


def prior(spec: ModelSpec, name: str, **kwargs):
    """Create parameter ``name`` with the spec's prior (default or override)."""
    p = spec.prior(name)
    dist = getattr(pm, p["dist"])
    params = {k: v for k, v in p.items() if k in PRIOR_DISTS[p["dist"]]}
    return dist(name, **params, **kwargs)


def random_walk_basis(n_years: int) -> np.ndarray:
    """Matrix B (years x steps) with B @ z ~ random walk from 0 when z ~ N(0, I).

    Columns are the Karhunen-Loeve eigenvectors of the walk's covariance min(s, t),
    scaled by the square roots of its eigenvalues; the first row (the start) is zero.
    """
    steps = n_years - 1
    t = np.arange(1, steps + 1)
    cov = np.minimum.outer(t, t).astype(float)
    eigval, eigvec = np.linalg.eigh(cov)
    basis = eigvec * np.sqrt(eigval)
    return np.vstack([np.zeros((1, steps)), basis])


def decay_matrix(phi, n_years: int):
    """Lower-triangular M with M[t, s] = phi ** (t - s): x = M @ e runs x_t = phi x_{t-1} + e_t.

    A small triangular matmul instead of ``scan`` (cheap, and differentiable in phi).
    """
    lag = np.subtract.outer(np.arange(n_years), np.arange(n_years))
    lower = lag >= 0
    return pt.switch(lower, phi ** np.where(lower, lag, 0), 0.0)


# ---------------------------------------------------------------------------- the model


def build_model(
    panel: Panel, spec: ModelSpec, scales: dict[str, SignalScale] | None = None
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

    Returns
    -------
    pm.Model
        With posterior variable ``credibility`` of dims ``("unit", "year")``.
    """
    scales = scales or signal_scales(panel, spec)
    coords = {
        "unit": panel.unit_labels,
        "year": panel.years.astype(int),
        "step": panel.years[1:].astype(int),
        "member": panel.members,
        "alliance": panel.alliances,
        "signal": panel.signals,
    }
    with pm.Model(coords=coords) as model:
        theta_raw, kappa_raw = _latent(panel, spec)
        theta = _standardise(theta_raw, panel.active_mask())
        for name, value in kappa_raw.items():
            pm.Deterministic(name.removesuffix("_raw"), value / theta.sd_raw)
        _measurement(panel, spec, scales, theta)
        _followthrough(panel, spec, theta)
    return model


class _Standardised:
    """Credibility and the raw path's scale (needed to report kappa on credibility's scale)."""

    def __init__(self, value, sd_raw):
        self.value, self.sd_raw = value, sd_raw


def _standardise(theta_raw, active: np.ndarray) -> _Standardised:
    weight = active.astype(float) / active.sum()
    mean = pt.sum(theta_raw * weight)
    # the tiny floor keeps a flat starting path (sd = 0) finite
    sd = pt.sqrt(pt.sum((theta_raw - mean) ** 2 * weight) + 1e-12)
    value = pm.Deterministic("credibility", (theta_raw - mean) / sd, dims=("unit", "year"))
    return _Standardised(value, sd)


def _latent(panel: Panel, spec: ModelSpec):
    n_units, n_years = len(panel.units), len(panel.years)
    # Each unit's level is centred on its alliance's baseline, and the baselines sum to
    # zero.  The data pin down a unit's level itself, not its deviation from an alliance
    # mean, and say nothing about the panel's overall location (credibility is
    # standardised), so this form leaves no direction that only the priors, scaled by
    # tau, determine -- the non-centred, free-location form mixed poorly (ESS ~30).
    centre = 0.0
    if len(panel.alliances) > 1:
        tau = prior(spec, "tau")
        mu = pm.ZeroSumNormal("mu_alliance", sigma=tau, dims="alliance")
        centre = mu[panel.alliance_of_unit]
    level = pm.Normal("level", centre, 1.0, dims="unit")
    theta = _dynamics(spec, level, n_units, n_years)
    if spec.latent.covariates:
        x = covariate_matrix(panel, spec)
        model = pm.modelcontext(None)
        model.add_coord("covariate", list(spec.latent.covariates))
        gamma = prior(spec, "gamma", dims="covariate")
        theta = theta + pt.dot(x, gamma)[:, None]
    kappa = {}
    if spec.reputation.enabled and len(panel.crises):
        r, kappa = _reputation(panel, spec, n_years)
        theta = theta + r[panel.member_of_unit]
    return theta, kappa


def covariate_matrix(panel: Panel, spec: ModelSpec) -> np.ndarray:
    """Unit covariates named in the spec, standardised (unit x covariate)."""
    x = panel.units[list(spec.latent.covariates)].to_numpy(float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _dynamics(spec: ModelSpec, level, n_units: int, n_years: int):
    dynamics = spec.latent.dynamics
    if dynamics == "static" or n_years == 1:
        return pt.repeat(level[:, None], n_years, axis=1)
    sigma = prior(spec, "sigma_innovation")
    z = pm.Normal("z_innovation", 0.0, 1.0, dims=("unit", "step"))
    if dynamics == "random_walk":
        basis = random_walk_basis(n_years)
        return level[:, None] + sigma * pt.dot(z, basis.T)
    phi = prior(spec, "phi")
    shocks = pt.concatenate([level[:, None], sigma * z], axis=1)
    return pt.dot(shocks, decay_matrix(phi, n_years).T)


def crisis_counts(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """(member, year) weighted counts of honoured and violated crises."""
    shape = (len(panel.members), len(panel.years))
    honored, violated = np.zeros(shape), np.zeros(shape)
    c = panel.crises
    np.add.at(honored, (c.member_idx, c.year_idx), c.outcome.map(HONOR_WEIGHT).to_numpy())
    np.add.at(violated, (c.member_idx, c.year_idx), c.outcome.map(VIOLATE_WEIGHT).to_numpy())
    return honored, violated


def _reputation(panel: Panel, spec: ModelSpec, n_years: int):
    honored, violated = crisis_counts(panel)
    honored = pm.Data("honored_count", honored, dims=("member", "year"))
    violated = pm.Data("violated_count", violated, dims=("member", "year"))
    kappa_h = prior(spec, "kappa_honor_raw")
    kappa_v = prior(spec, "kappa_violate_raw")
    phi_r = prior(spec, "phi_reputation")
    shock = kappa_h * honored - kappa_v * violated
    # a crisis in year t moves reputation from t + 1 on
    shock = pt.concatenate([pt.zeros((shock.shape[0], 1)), shock[:, :-1]], axis=1)
    if spec.reputation.noise:
        sigma_r = prior(spec, "sigma_reputation")
        eps = pm.Normal("z_reputation", 0.0, 1.0, dims=("member", "step"))
        shock = shock + pt.concatenate([pt.zeros((eps.shape[0], 1)), sigma_r * eps], axis=1)
    r = pt.dot(shock, decay_matrix(phi_r, n_years).T)
    return r, {"kappa_honor_raw": kappa_h, "kappa_violate_raw": kappa_v}


# ---------------------------------------------------------------------------- measurement


def measurement_groups(spec: ModelSpec) -> dict[str, list[str]]:
    """Signals sharing one vectorised likelihood: one group per family (ordinal: per signal,
    since the number of categories may differ)."""
    groups: dict[str, list[str]] = {}
    for name, sig in spec.signals.items():
        key = f"ordinal_{name}" if sig.family == "ordinal" else sig.family
        groups.setdefault(key, []).append(name)
    return groups


def group_data(panel: Panel, spec: ModelSpec, scales, signals: list[str]) -> dict:
    """Arrays of one measurement group (what the ``pm.Data`` containers hold)."""
    obs = panel.observations[panel.observations.signal.isin(signals)]
    family = spec.signals[signals[0]].family
    values = np.empty(len(obs))
    for name in signals:
        here = (obs.signal == name).to_numpy()
        values[here] = transformed_values(obs.value.to_numpy()[here], family, scales[name])
    real_valued = FAMILIES[family].transform != "none" or family == "beta"
    data = {
        # flat (unit, year) cell: one integer index is far cheaper than two (and its
        # gradient is a plain scatter-add) in every PyTensor backend
        "cell": obs.unit_idx.to_numpy(int) * len(panel.years) + obs.year_idx.to_numpy(int),
        "signal": obs.signal_idx.to_numpy(int),
        "local": pd.Categorical(obs.signal, categories=signals).codes.astype(int),
        "y": values if real_valued else np.round(values).astype(int),
    }
    if FAMILIES[family].needs_trials:
        data["trials"] = obs.trials.to_numpy(int)
    return data


def _measurement(panel: Panel, spec: ModelSpec, scales, theta: _Standardised) -> None:
    alpha = prior(spec, "alpha", dims="signal")
    loading = prior(spec, "loading", dims="signal")
    direction = np.array([spec.signals[s].direction for s in panel.signals], float)
    offset = np.array([scales[s].offset for s in panel.signals])
    aux = _aux_parameters(spec, scales)
    for group, signals in measurement_groups(spec).items():
        fam = FAMILIES[spec.signals[signals[0]].family]
        arrays = group_data(panel, spec, scales, signals)
        d = {k: pm.Data(f"{group}_{k}", v) for k, v in arrays.items()}
        s = d["signal"]
        slope = pt.as_tensor(direction)[s] * loading[s]
        cred = theta.value.ravel()[d["cell"]]
        if fam.name == "ordinal":
            eta = slope * cred
            group_aux = {"cutpoints": aux[f"cutpoints_{signals[0]}"][None, :]}
        else:
            eta = pt.as_tensor(offset)[s] + alpha[s] + slope * cred
            # aux vectors run over every signal having that parameter (sigma: gaussian
            # and lognormal ones), so map the group's local index to its aux position
            group_aux = {k: aux[k][aux_positions(spec, k, signals)] for k in fam.aux}
        likelihood(fam, f"y_{group}", eta, d["y"], d["local"], group_aux, d.get("trials"))


def aux_signals(spec: ModelSpec, aux_name: str) -> list[str]:
    """Signals that have the family parameter ``aux_name`` (its coordinate, in order)."""
    return [n for n, s in spec.signals.items() if aux_name in FAMILIES[s.family].aux]


def aux_positions(spec: ModelSpec, aux_name: str, signals: list[str]) -> np.ndarray:
    """Position of each of ``signals`` in the ``aux_name`` parameter vector."""
    names = aux_signals(spec, aux_name)
    return np.array([names.index(s) for s in signals], dtype=int)


def _aux_parameters(spec: ModelSpec, scales) -> dict:
    """Per-signal parameters of the families (sigma, dispersion, precision, cutpoints)."""
    model = pm.modelcontext(None)
    out = {}
    for aux_name in ("sigma", "dispersion", "precision"):
        names = aux_signals(spec, aux_name)
        if names:
            model.add_coord(f"{aux_name}_signal", names)
            out[aux_name] = prior(spec, aux_name, dims=f"{aux_name}_signal")
    for name, sig in spec.signals.items():
        if sig.family == "ordinal":
            k = scales[name].categories - 1
            out[f"cutpoints_{name}"] = _cutpoints(spec, "cutpoints", f"cutpoints_{name}", k)
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


def _followthrough(panel: Panel, spec: ModelSpec, theta: _Standardised) -> None:
    crises = panel.crises
    if crises.empty:
        return
    cell = crises.unit_idx.to_numpy(int) * len(panel.years) + crises.year_idx.to_numpy(int)
    cell = pm.Data("crisis_cell", cell)
    codes = outcome_codes(crises.outcome)
    loading = prior(spec, "loading_followthrough")
    cred = theta.value.ravel()[cell]
    if (codes == 1).any():  # partial outcomes: ordered violated < partial < honored
        outcome = pm.Data("crisis_outcome", codes)
        cut = _cutpoints(spec, "cutpoints_followthrough", "cutpoints_followthrough", 2)
        pm.OrderedLogistic(
            "followthrough", eta=loading * cred, cutpoints=cut, observed=outcome, compute_p=False
        )
    else:
        outcome = pm.Data("crisis_outcome", (codes == 2).astype(int))
        alpha = prior(spec, "alpha_followthrough")
        pm.Bernoulli("followthrough", logit_p=alpha + loading * cred, observed=outcome)
