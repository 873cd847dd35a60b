"""The model's fixed numbers, in NumPy only: signal scales, crisis counts, bases.

These are the constants and matrices :mod:`bayescred.model` builds the PyMC model from,
and that the what-if fast engine (which redoes the model's arithmetic on the posterior
draws) and result files need without building a model.  Keeping them here, free of
PyMC and PyTensor, lets ``bayescred whatif --engine fast`` and :func:`bayescred.load`
start quickly.  :mod:`bayescred.model` re-exports every name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .families import FAMILIES, data_offset
from .panel import Panel
from .spec import ModelSpec

# A random walk's yearly step on the raw scale: fixed, so it pins the raw path's scale
# (credibility is standardised; see model._random_walk).  A constant rather than a
# function of the panel's length, so a scenario that adds years keeps the same prior.
WALK_STEP = 0.1

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
        elif not fam.intercept:  # ordered categories: their count sizes the cutpoints
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
    return FAMILIES[family].to_likelihood_scale(values, scale.center, scale.scale)


def covariate_matrix(panel: Panel, spec: ModelSpec) -> np.ndarray:
    """Unit covariates named in the spec, standardised (unit x covariate)."""
    x = panel.units[list(spec.latent.covariates)].to_numpy(float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def crisis_kinds(crises: pd.DataFrame) -> tuple[str, ...]:
    """The crisis kinds of a crises table, sorted (the ``crisis_kind`` coordinate)."""
    if crises.empty:
        return ()
    return tuple(sorted(str(k) for k in crises["kind"].unique()))


def kind_index(crises: pd.DataFrame, kinds: tuple[str, ...]) -> np.ndarray:
    """Each crisis's position in ``kinds``."""
    return np.searchsorted(np.array(kinds, dtype=object), crises["kind"].to_numpy(object))


def crisis_counts(
    crises: pd.DataFrame, kinds: tuple[str, ...], n_members: int, n_years: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kind, member, year) weighted counts of honoured and violated crises."""
    shape = (max(len(kinds), 1), n_members, n_years)
    honored, violated = np.zeros(shape), np.zeros(shape)
    if crises.empty:
        return honored, violated
    at = (kind_index(crises, kinds), crises.member_idx.to_numpy(int),
          crises.year_idx.to_numpy(int))
    np.add.at(honored, at, crises.outcome.map(HONOR_WEIGHT).to_numpy())
    np.add.at(violated, at, crises.outcome.map(VIOLATE_WEIGHT).to_numpy())
    return honored, violated


def panel_crisis_counts(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """(kind, member, year) counts of the panel's crises (kinds: :func:`crisis_kinds`)."""
    kinds = crisis_kinds(panel.crises)
    return crisis_counts(panel.crises, kinds, len(panel.members), len(panel.years))


def crisis_covariate_matrix(
    crises: pd.DataFrame, covariates, scaling: dict[str, tuple[float, float]]
) -> np.ndarray:
    """(crisis, covariate) crisis covariates standardised with ``scaling`` (column ->
    mean, sd over the fitted data's crises, :attr:`Panel.crisis_scaling`), so that crises
    a scenario adds are measured on the fitted data's scale.  Binary covariates are
    standardised too: every coefficient is log-odds per sd."""
    covariates = list(covariates)
    x = crises[covariates].to_numpy(float) if covariates else np.zeros((len(crises), 0))
    mean = np.array([scaling[c][0] for c in covariates])
    sd = np.array([scaling[c][1] for c in covariates])
    return (x - mean) / np.where(sd > 0, sd, 1.0)


def walk_centring(panel: Panel) -> np.ndarray:
    """(unit, step) 1.0 where a random walk's coordinate is the path value itself
    (centred: the unit-year has an observation or a crisis), 0.0 where it is the step in
    units of WALK_STEP (non-centred: nothing observed, e.g. before a member joined).

    Centred coordinates are well conditioned where data pin the path down; in an
    unobserved stretch of L years they would make a random walk whose posterior
    variances differ by a factor ~L^2, which NUTS crosses only with very long
    trajectories -- non-centred, the same stretch is L independent standard normals.
    """
    n_units, n_years = len(panel.units), len(panel.years)
    seen = np.zeros((n_units, n_years), dtype=bool)
    for table in (panel.observations, panel.crises):
        seen[table.unit_idx.to_numpy(int), table.year_idx.to_numpy(int)] = True
    return seen[:, 1:].astype(float)


def walk_path(z: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """The walk from its coordinates ``z`` (..., unit, step) and ``centred`` (unit, step):
    w[s] = z[s] where centred, else w[s - 1] + WALK_STEP * z[s]; w[-1] = 0."""
    out = np.empty_like(z)
    prev = np.zeros(z.shape[:-1])
    for s in range(z.shape[-1]):
        c = centred[:, s]
        prev = c * z[..., s] + (1.0 - c) * (prev + WALK_STEP * z[..., s])
        out[..., s] = prev
    return out


def walk_matrix(centred: np.ndarray) -> np.ndarray:
    """(unit, step, step) lower-triangular M with walk = M @ b, b = (c + (1 - c) step) z:
    M[u, s, r] = 1 if no centred coordinate lies in (r, s], else 0 (the PyMC form of
    :func:`walk_path`, a matmul instead of a scan)."""
    n_units, n_steps = centred.shape
    out = np.zeros((n_units, n_steps, n_steps))
    for s in range(n_steps):
        out[:, s, s] = 1.0
        for r in range(s - 1, -1, -1):
            out[:, s, r] = out[:, s, r + 1] * (1.0 - centred[:, r + 1])
    return out
