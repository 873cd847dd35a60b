"""spec + panel -> the model's structure, computed once and passed to every reader.

The PyMC model (``model.py``), the numba kernel (``kernel/``), the what-if fast engine
and the simulator all need to know the same facts about a model: which dynamics the
latent path has, whether alliance baselines are pooled, whether crises move reputation
and how follow-through is observed, which signals share a likelihood, which family
parameters exist over which signals.  They are decided here, from the spec and the data,
and nowhere else; no reader infers them from the names of a model's variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .design import crisis_kinds
from .families import FAMILIES, Family
from .member_signals import member_weights
from .panel import Panel
from .spec import ModelSpec

FOLLOWTHROUGH_MODES = ("none", "binary", "ordered")


# Spread of the pillar coordinates' own log scale and location, times 1 / sqrt(number of
# values), in the auxiliary density that makes them coordinates (model._sampler_scale_terms,
# kernel.pillars.scale_terms).  Signals read those coordinates, so this is also how softly
# a pillar is standardised: with the walk's 0.3 (kernel.model._AUX_SD) that jitter was half
# the posterior variance of the intercepts of closely fitted signals (spending, ideal
# distance: bulk ESS 487-523, R-hat 1.012 on the US panel at 4 x 1000); with 0.1, 3,400+.
PILLAR_AUX_SD = 0.1


@dataclass(frozen=True)
class ModelStructure:
    """What a model of ``spec`` on ``panel`` contains.

    Attributes
    ----------
    dynamics : str
        The unit paths' dynamics: the spec's, or ``"static"`` on a one-year panel (a path
        of one year has no dynamics).
    n_units, n_years, n_members, n_alliances : int
        The panel's grid.
    pooled_alliances : bool
        Alliance baselines ``mu = tau * z`` (more than one alliance); with one alliance
        the baseline is the panel's location, which standardisation removes.
    covariates : tuple of str
        Unit covariates that shift credibility.
    reputation : bool
        Crises move member reputation (enabled in the spec, and the panel has crises).
    reputation_noise : bool
        Reputation has its own yearly innovations (only where crises move it).
    followthrough : str
        ``"none"`` (no crises), ``"binary"`` (honoured or violated) or ``"ordered"``
        (some crisis was ``partial``).
    signals : tuple of str
        The model's signal coordinate (the panel's order).
    families : dict
        Signal -> :class:`~bayescred.families.Family`.
    groups : dict
        Measurement groups: signals that share one vectorised likelihood (one per family;
        per signal for families with a vector parameter, whose length may differ).
    param_signals : dict
        Scalar family parameter -> the signals that have it (its coordinate, in order).
    dimensions : tuple of str
        The pillars of a ``[dimensions]`` spec (empty: the one-factor model).
    pillar_dynamics : tuple of str
        Each pillar's deviation dynamics (``static`` | ``random_walk`` | ``ar1``).
    signal_pillar : dict
        Signal -> index of its pillar in ``dimensions`` (-1 in a one-factor model).
    year_signals, offset_signals : tuple of str
        Signals with a common year effect, and with persistent unit offsets (the model's
        signal order).
    crisis_kinds : tuple of str
        The crises' kinds, sorted (coordinate ``crisis_kind``; empty without crises): each
        kind has its own follow-through intercept and reputation effects.
    crisis_covariates : tuple of str
        Crisis covariates that shift the odds of honouring (``beta_followthrough``).
    member_signals : tuple of str
        Signals read once per member-year on the member's part of credibility (``level =
        "member"``, :mod:`bayescred.member_signals`).
    member_of_unit : ndarray of int
        (unit,) each unit's member (position in the ``member`` coordinate).
    pillar_weight : ndarray of float
        (dimension, unit, year) each pillar's standardisation weights: equal over the
        unit-years in which any of its signals is observed (:func:`pillar_weights`).
    member_weight : ndarray of float
        (unit, year) the member-year averaging weights (:func:`~bayescred.member_signals.
        member_weights`); a member-level signal reads ``sum_u w[u, t] latent[u, t]`` over
        the member's units.
    """

    dynamics: str
    n_units: int
    n_years: int
    n_members: int
    n_alliances: int
    pooled_alliances: bool
    covariates: tuple[str, ...]
    reputation: bool
    reputation_noise: bool
    followthrough: str
    signals: tuple[str, ...]
    families: dict[str, Family]
    groups: dict[str, list[str]]
    param_signals: dict[str, list[str]]
    dimensions: tuple[str, ...] = ()
    pillar_dynamics: tuple[str, ...] = ()
    signal_pillar: dict[str, int] | None = None
    year_signals: tuple[str, ...] = ()
    offset_signals: tuple[str, ...] = ()
    shared_pillar_scale: bool = True

    @property
    def ar1_pillars(self) -> tuple[str, ...]:
        """Pillars whose deviation is AR(1) (the coordinate of ``phi_pillar``)."""
        return tuple(d for d, dyn in zip(self.dimensions, self.pillar_dynamics) if dyn == "ar1")

    @property
    def signal_latent(self) -> bool:
        """Whether a signal reads more than credibility itself (its pillar, a year effect or
        a unit offset): then each signal has a latent value of its own per unit-year."""
        return bool(
            self.dimensions or self.year_signals or self.offset_signals or self.member_signals
        )
    crisis_kinds: tuple[str, ...] = ()
    crisis_covariates: tuple[str, ...] = ()
    member_signals: tuple[str, ...] = ()
    member_of_unit: np.ndarray | None = field(default=None, compare=False, repr=False)
    member_weight: np.ndarray | None = field(default=None, compare=False, repr=False)
    pillar_weight: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def random_walk(self) -> bool:
        return self.dynamics == "random_walk"

    @property
    def missing_kernel(self) -> tuple[str, ...]:
        """Families of this model without kernel code (then nutpie samples the
        PyTensor-compiled model)."""
        return tuple(sorted({f.name for f in self.families.values() if f.kernel is None}))

    def param_position(self, param: str, signal: str) -> int:
        """Position of ``signal`` in the vector of family parameter ``param``."""
        return self.param_signals[param].index(signal)

    def vector_params(self) -> list[tuple[str, str]]:
        """(parameter, signal) of every vector parameter (one variable each,
        ``{parameter}_{signal}``)."""
        return [
            (p.name, s) for s in self.signals for p in self.families[s].params if p.vector
        ]


def model_structure(spec: ModelSpec, panel: Panel) -> ModelStructure:
    """The structure of the model of ``spec`` on ``panel`` (see :class:`ModelStructure`)."""
    n_years = len(panel.years)
    reputation = bool(spec.reputation.enabled and len(panel.crises))
    signals = tuple(str(s) for s in panel.signals)
    families = {s: FAMILIES[spec.signals[s].family] for s in signals}
    return ModelStructure(
        dynamics="static" if n_years == 1 else spec.latent.dynamics,
        n_units=len(panel.units),
        n_years=n_years,
        n_members=len(panel.members),
        n_alliances=len(panel.alliances),
        pooled_alliances=len(panel.alliances) > 1,
        covariates=tuple(spec.latent.covariates),
        reputation=reputation,
        reputation_noise=reputation and spec.reputation.noise,
        followthrough=_followthrough(panel),
        signals=signals,
        families=families,
        groups=_groups(spec, families),
        param_signals=_param_signals(spec, families),
        dimensions=tuple(spec.dimensions),
        pillar_dynamics=tuple(d.dynamics for d in spec.dimensions.values()),
        signal_pillar={
            s: (list(spec.dimensions).index(spec.signal_dimension(s)) if spec.dimensions else -1)
            for s in signals
        },
        year_signals=tuple(s for s in signals if spec.signals[s].year_effects and n_years > 1),
        offset_signals=tuple(s for s in signals if spec.signals[s].unit_offsets),
        shared_pillar_scale=spec.latent.pillar_scale == "shared",
        crisis_kinds=crisis_kinds(panel.crises),
        crisis_covariates=tuple(spec.follow_through.covariates) if len(panel.crises) else (),
        member_signals=tuple(s for s in signals if s in spec.member_signals),
        member_of_unit=panel.member_of_unit,
        member_weight=member_weights(
            panel.active_mask(), panel.member_of_unit, len(panel.members)
        ) if spec.member_signals and signals else None,
        pillar_weight=pillar_weights(spec, panel) if spec.dimensions else None,
    )


def pillar_weights(spec: ModelSpec, panel: Panel) -> np.ndarray:
    """(dimension, unit, year) weights over which each pillar is standardised: equal over
    the unit-years in which any of its signals is observed (a member-level row counts for
    each of the member's units active that year), summing to 1 per pillar.

    Why not every active unit-year, as overall credibility: a pillar with no data in some
    of them (Iceland's cost sharing: no armed forces, so no spending or personnel rows)
    would be placed there by its prior alone, and a standardisation over those cells tied
    the intercept of every signal of that pillar to that unobserved stretch (bulk ESS 146
    for spending's intercept on the US panel)."""
    obs = panel.observations
    active = panel.active_mask()
    member_of_unit = np.asarray(panel.member_of_unit)
    out = np.zeros((len(spec.dimensions), *active.shape))
    for k, signals in enumerate(d.signals for d in spec.dimensions.values()):
        rows = obs[obs.signal.isin(signals)]
        unit, year = rows.unit_idx.to_numpy(int), rows.year_idx.to_numpy(int)
        member = rows.signal.isin(spec.member_signals).to_numpy()
        out[k, unit[~member], year[~member]] = 1.0
        for u, t in zip(unit[member], year[member]):  # the member's units active that year
            out[k, :, t] = np.maximum(out[k, :, t], (member_of_unit == member_of_unit[u])
                                      & active[:, t])
        if not out[k].any():  # (a pillar without rows: over the active unit-years)
            out[k] = active
        out[k] /= out[k].sum()
    return out


def _followthrough(panel: Panel) -> str:
    if panel.crises.empty:
        return "none"
    return "ordered" if np.any(panel.crises.outcome.to_numpy() == "partial") else "binary"


def _groups(spec: ModelSpec, families: dict[str, Family]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in spec.signals:  # the spec's order, as the PyMC model's groups always were
        family = families.get(name) or FAMILIES[spec.signals[name].family]
        per_signal = any(p.vector for p in family.params)
        groups.setdefault(f"{family.name}_{name}" if per_signal else family.name, []).append(name)
    return groups


def _param_signals(spec: ModelSpec, families: dict[str, Family]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in spec.signals:
        family = families.get(name) or FAMILIES[spec.signals[name].family]
        for p in family.params:
            if not p.vector:
                out.setdefault(p.name, []).append(name)
    return out
