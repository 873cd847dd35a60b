"""What-if: credibility under a scenario against the baseline, by two engines behind one call.

>>> import bayescred as bc
>>> answer = bc.whatif(result, "scenarios/example.toml")        # doctest: +SKIP
>>> answer.contrast().head()                                     # doctest: +SKIP
>>> answer.summary()                                             # doctest: +SKIP

Engines
-------
``fast``
    Pareto-smoothed importance reweighting of the baseline's draws.  Each draw's latent
    path is rebuilt from its parameters (exactly the model's arithmetic), simulated
    forward for the horizon's years (innovations, reputation decay; seeded, so the same
    seed gives the same answer), shifted by the reputation shocks of hypothetical crises
    (``kappa * phi_r ** (s - t - 1)`` from the year after each crisis on, for every
    commitment of that member), and weighted by how much better or worse it explains the
    scenario's data than the baseline's: ``log w = loglik(scenario data) - loglik(data)``
    over the rows that change (changed or added signal values, hypothetical crises as
    follow-through evidence, and every row whose credibility moves).  The Pareto k of
    the weights (:func:`bayescred.psis.psislw`, as ``arviz.psislw``) says whether they
    can be trusted.
``exact``
    Re-conditions the compiled model on the scenario's data (the same ``pm.Data``
    containers, on the year grid extended by the horizon) and samples again with the
    baseline's sampler settings, signal scales and seed.  Reports compile and sampling
    time; when only data change, the compiled model is reused.
``auto`` (default)
    ``fast`` when its Pareto k <= 0.7 (and it applies), otherwise ``exact``; the answer
    says which engine answered and why.

Scale
-----
Credibility is standardised inside the model (mean 0, sd 1 over the baseline's active
unit-years), and a scenario keeps that definition: its model is standardised over the
*baseline's* active cells, so hypothetical entries in future years are evidence about those
years without redefining what 0 and 1 mean, and scenario and baseline are on one scale.  A
crisis in a future year then lowers (violated) or raises (honoured) every commitment of
its member by ``kappa * phi_r ** (s - t - 1)`` in year ``s`` (``kappa`` as reported, on
credibility's scale), for each posterior draw.  A crisis in the data's years also moves
the mean and spread of the standardised cells: credibility being relative, the member's
other commitments fall and everybody else's rise a little.  Both engines use this scale.

Pairing
-------
``mean`` is the difference of the two posterior means in both engines.  ``sd``, the
interval and ``P(up)`` describe ``scenario - baseline`` on *paired* draws when every
baseline draw keeps its weight (no new evidence: forecasts, an empty scenario): the same
draw and the same simulated future, so the contrast is the scenario's effect, exactly 0
for an empty scenario.  When the scenario brings evidence (changed signals, a crisis
outcome) the scenario's posterior is a reweighting (fast) or a new sample (exact) and
cannot be paired with the baseline draw by draw; the contrast is then over independent
draws of the two posteriors (``paired: false``), the same quantity in both engines.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .design import (
    HONOR_WEIGHT,
    VIOLATE_WEIGHT,
    WALK_STEP,
    crisis_counts,
    transformed_values,
    walk_centring,
    walk_path,
)
from .errors import SpecError
from .panel import UNIT_SEP, Panel
from .psis import psislw
from .results import DEFAULT_PROB, CredibilityResult
from .scenario import BoundScenario, Scenario, bind, load_scenario
from .families import FAMILIES
from .whatif_plot import FigureData, Marker, Series, Subplot, draw, save_png

ENGINES = ("auto", "fast", "exact")
K_THRESHOLD = 0.7  # the usual PSIS limit: above it importance weights are unreliable
_N_PAIRS = 4000  # draws of the contrast over independent draws (for its interval)
_TOLERANCE = 1e-6  # rebuilt credibility must match the stored one to this


class FastUnavailable(Exception):
    """The fast engine cannot answer this scenario (the reason is the message)."""


# ---------------------------------------------------------------------------- the call


def whatif(
    result: CredibilityResult,
    scenario: Scenario | dict | str | Path | None = None,
    *,
    engine: str = "auto",
    horizon: int | None = None,
    prob: float = DEFAULT_PROB,
    seed: int | None = None,
    k_threshold: float = K_THRESHOLD,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    progress: bool = False,
) -> WhatIfResult:
    """Compare credibility under ``scenario`` with the baseline ``result``.

    Parameters
    ----------
    result : CredibilityResult
        The fitted baseline.  Never modified.
    scenario : Scenario, dict, path or None
        The scenario (a TOML path is read with :func:`~bayescred.scenario.load_scenario`).
        ``None``: no changes, i.e. a forecast when ``horizon`` is given.
    engine : {"auto", "fast", "exact"}
        See the module docstring.
    horizon : int, optional
        Years beyond the data; overrides the scenario's own ``horizon``.
    prob : float
        Interval probability (highest-density intervals).
    seed : int, optional
        Seed of the forward simulation and of the pairing draws; the result's sampler
        seed when omitted.  The same seed gives the same answer.
    k_threshold : float
        Largest Pareto k at which ``auto`` trusts the fast engine.
    draws, tune, chains : int, optional
        Sampler settings of the exact engine (default: the baseline's).
    progress : bool
        Show the exact engine's progress bar.

    Returns
    -------
    WhatIfResult
    """
    start = time.perf_counter()
    if engine not in ENGINES:
        raise SpecError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    scenario = _as_scenario(scenario, horizon)
    # a result read from disk is lazy and every access would re-read the file: read the
    # posterior into memory once (its values are not changed)
    result.posterior.load()  # result.posterior: no ArviZ import on this path
    bound = bind(scenario, result.panel, result.spec, result.scales)
    seed = result.spec.sampler.seed if seed is None else int(seed)
    baseline = Baseline.build(result, bound.horizon, seed)
    timings: dict[str, Any] = {}
    reason = ""
    if engine in ("auto", "fast"):
        t0 = time.perf_counter()
        try:
            answer = _fast(result, bound, baseline, seed)
        except FastUnavailable as exc:
            if engine == "fast":
                raise SpecError(
                    f"{scenario.source}: the fast engine cannot answer this scenario: {exc}; "
                    "use engine 'exact' (or 'auto')"
                ) from None
            reason = f"the fast engine does not apply ({exc}), so the model was re-fitted"
        else:
            timings["fast_s"] = time.perf_counter() - t0
            k = answer.pareto_k
            if engine == "fast" or k is None or k <= k_threshold:
                if k is not None and k > k_threshold:
                    warnings.warn(
                        f"Pareto k = {k:.2f} > {k_threshold}: the fast engine's weights are "
                        "unreliable; use engine='exact' or 'auto'",
                        stacklevel=2,
                    )
                answer.reason = _fast_reason(answer, k_threshold, engine)
                return answer.finish(result, bound, baseline, prob, seed, timings, start)
            reason = (
                f"the fast engine's Pareto k is {k:.2f} > {k_threshold} (its importance "
                "weights cannot be trusted), so the model was re-fitted"
            )
    t0 = time.perf_counter()
    answer = _exact(
        result, bound, baseline, draws=draws, tune=tune, chains=chains, progress=progress
    )
    timings["exact_s"] = time.perf_counter() - t0
    if engine == "exact" and not answer.reason:
        answer.reason = "exact engine requested"
    elif not answer.reason:
        answer.reason = reason
    return answer.finish(result, bound, baseline, prob, seed, timings, start)


def forecast(result: CredibilityResult, horizon: int, **kwargs) -> WhatIfResult:
    """Credibility for the next ``horizon`` years with no scenario (widening intervals).

    Examples
    --------
    >>> bc.forecast(result, 5).trajectories()          # doctest: +SKIP
    """
    return whatif(result, Scenario(name="forecast"), horizon=horizon, **kwargs)


def _as_scenario(scenario, horizon) -> Scenario:
    if scenario is None:
        scenario = Scenario(name="forecast" if horizon else "baseline")
    elif isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, dict):
        scenario = Scenario.from_dict(scenario)
    elif not isinstance(scenario, Scenario):
        raise SpecError(
            f"scenario must be a Scenario, a dict or a TOML path, got {type(scenario).__name__}"
        )
    if horizon is not None:
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise SpecError(f"horizon must be a positive integer, got {horizon!r}")
        scenario = scenario.with_horizon(int(horizon))
    return scenario


def _fast_reason(answer: _Answer, k_threshold: float, engine: str) -> str:
    n = answer.scenario.shape[0]
    if answer.pareto_k is None:
        return (
            "the scenario brings no new evidence, so every baseline draw keeps its weight "
            f"(fast engine, {n} draws, paired)"
        )
    verdict = "<=" if answer.pareto_k <= k_threshold else ">"
    asked = "requested" if engine == "fast" else "chosen by auto"
    return (
        f"fast engine {asked}: Pareto k {answer.pareto_k:.2f} {verdict} {k_threshold}, "
        f"effective sample size {answer.ess:.0f} of {n} draws"
    )


# ---------------------------------------------------------------------------- draws


def _draws(post: xr.Dataset, name: str) -> np.ndarray:
    """Posterior variable as a (sample, ...) float array, chains stacked."""
    da = post[name]
    rest = [d for d in da.dims if d not in ("chain", "draw")]
    arr = da.transpose("chain", "draw", *rest).values
    return np.asarray(arr, dtype=float).reshape(-1, *arr.shape[2:])


def _covariates(panel: Panel, spec) -> np.ndarray:
    """Standardised unit covariates, as in the model."""
    x = panel.units[list(spec.latent.covariates)].to_numpy(float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


@dataclass
class LatentDraws:
    """A fit's latent path per draw, in the parts forecasting needs (raw scale).

    ``raw = base[:, :, None] + dyn + rep[:, member_of_unit]`` with ``base`` the alliance
    baseline plus covariates, ``dyn`` the unit dynamics (from ``level``) and ``rep`` the
    member reputation (``None`` when the model has none).
    """

    dynamics: str  # static | random_walk | ar1
    base: np.ndarray  # (S, U)
    dyn: np.ndarray  # (S, U, T)
    rep: np.ndarray | None  # (S, M, T)
    params: dict[str, np.ndarray]
    member_of_unit: np.ndarray

    @property
    def raw(self) -> np.ndarray:
        """The raw path (S, U, T), computed once (do not modify it in place)."""
        if getattr(self, "_raw", None) is None:
            raw = self.base[:, :, None] + self.dyn
            self._raw = raw if self.rep is None else raw + self.rep[:, self.member_of_unit]
        return self._raw

    @classmethod
    def from_posterior(
        cls,
        post: xr.Dataset,
        panel: Panel,
        spec,
        horizon: int = 0,
        rng=None,
        alliance_in_level: bool = True,
    ) -> LatentDraws:
        """Rebuild the path on ``panel``'s years, then simulate ``horizon`` years forward.

        ``alliance_in_level``: the alliance baseline is the mean of ``level`` (the centred
        form of model.py), rather than added to the path (the non-centred form).
        """
        names = (
            "sigma_innovation",
            "phi",
            "kappa_honor_raw",
            "kappa_violate_raw",
            "phi_reputation",
            "sigma_reputation",
        )
        params = {n: _draws(post, n) for n in names if n in post}
        n_years = len(panel.years)
        dynamics = "static" if n_years == 1 else spec.latent.dynamics
        level = _draws(post, "level")
        if dynamics == "random_walk":  # its raw step is fixed
            params["sigma_innovation"] = np.full(level.shape[0], WALK_STEP)
        n_draws, n_units = level.shape
        base = np.zeros((n_draws, n_units))
        if len(panel.alliances) > 1 and not alliance_in_level:
            base += _draws(post, "mu_alliance")[:, panel.alliance_of_unit]
        if spec.latent.covariates:
            base += _draws(post, "gamma") @ _covariates(panel, spec).T
        centred = walk_centring(panel) if dynamics == "random_walk" else None
        dyn = _dynamics(dynamics, level, post, params, n_years, centred)
        rep = None
        if "kappa_honor_raw" in params:
            honored, violated = crisis_counts(panel)
            noise = None
            if "z_reputation" in post:
                noise = params["sigma_reputation"][:, None, None] * _draws(post, "z_reputation")
            rep = (honored, violated, noise)
        latent = cls(dynamics, base, dyn, None, params, panel.member_of_unit)
        return latent._forward(horizon, rng, rep)

    def _forward(self, horizon: int, rng, rep) -> LatentDraws:
        n_draws, n_units, _ = self.dyn.shape
        if horizon:
            eps = rng.standard_normal((n_draws, n_units, horizon))
            self.dyn = np.concatenate([self.dyn, self._future_dynamics(eps)], axis=2)
        if rep is not None:
            honored, violated, noise = rep
            pad = ((0, 0), (0, horizon))
            honored, violated = np.pad(honored, pad), np.pad(violated, pad)
            if noise is not None and horizon:
                future = rng.standard_normal((n_draws, honored.shape[0], horizon))
                noise = np.concatenate(
                    [noise, self.params["sigma_reputation"][:, None, None] * future], axis=2
                )
            self.rep = self.shock(honored, violated, noise)
        return self

    def _future_dynamics(self, eps: np.ndarray) -> np.ndarray:
        last = self.dyn[:, :, -1:]
        if self.dynamics == "static":
            return np.repeat(last, eps.shape[2], axis=2)
        sigma = self.params["sigma_innovation"][:, None, None]
        if self.dynamics == "random_walk":
            return last + sigma * np.cumsum(eps, axis=2)
        phi = self.params["phi"][:, None]
        out, x = np.empty_like(eps), last[:, :, 0]
        for h in range(eps.shape[2]):
            x = phi * x + sigma[:, :, 0] * eps[:, :, h]
            out[:, :, h] = x
        return out

    def shock(self, honored: np.ndarray, violated: np.ndarray, noise=None) -> np.ndarray:
        """Reputation (S, M, T) from crisis counts (M, T): ``r_t = phi_r r_{t-1} +
        kappa_h honored_{t-1} - kappa_v violated_{t-1}`` (+ noise), from 0."""
        kh = self.params["kappa_honor_raw"][:, None, None]
        kv = self.params["kappa_violate_raw"][:, None, None]
        phi_r = self.params["phi_reputation"][:, None]
        kick = kh * honored[None] - kv * violated[None]  # lands the year after
        n_years = honored.shape[1]
        out = np.zeros((kh.shape[0], honored.shape[0], n_years))
        for t in range(1, n_years):
            out[:, :, t] = phi_r * out[:, :, t - 1] + kick[:, :, t - 1]
            if noise is not None:
                out[:, :, t] += noise[:, :, t - 1]
        return out


def _dynamics(dynamics: str, level, post, params, n_years: int, centred) -> np.ndarray:
    if dynamics == "static":
        return np.repeat(level[:, :, None], n_years, axis=2)
    if dynamics == "random_walk":
        walk = walk_path(_draws(post, "z_walk"), centred)  # (S, U, T - 1), from 0
        return level[:, :, None] + np.concatenate([np.zeros_like(walk[:, :, :1]), walk], axis=2)
    z = _draws(post, "z_innovation")  # (S, U, T - 1)
    sigma = params["sigma_innovation"][:, None, None]
    phi = params["phi"][:, None]
    out = np.empty((*level.shape, n_years))
    out[:, :, 0] = level
    for t in range(1, n_years):
        out[:, :, t] = phi * out[:, :, t - 1] + sigma[:, :, 0] * z[:, :, t - 1]
    return out


def standardisation(raw: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw mean and sd of ``raw`` (S, U, T) over the ``active`` cells, as in the model."""
    weight = active.astype(float) / active.sum()
    mean = np.einsum("sut,ut->s", raw, weight)
    dev = raw - mean[:, None, None]
    sd = np.sqrt(np.einsum("sut,ut->s", dev * dev, weight) + 1e-12)
    return mean, sd


def rebuild(
    post: xr.Dataset, panel: Panel, spec, active: np.ndarray, horizon: int = 0, seed: int = 0
) -> tuple[LatentDraws, np.ndarray, np.ndarray]:
    """The posterior's latent path per draw (simulated ``horizon`` years on) and its
    standardisation (mean, sd over the ``active`` cells), checked against the stored
    credibility.  Both forms of the alliance baseline are tried (centred on ``level``, or
    added to the path): the stored credibility says which one the fit used.

    Raises
    ------
    FastUnavailable
        If the path cannot be rebuilt to match the stored credibility.
    """
    stored = _draws(post, "credibility")
    n_years = stored.shape[2]
    forms = (True, False) if len(panel.alliances) > 1 else (True,)
    worst = ""
    for alliance_in_level in forms:
        rng = np.random.default_rng(seed)
        latent = LatentDraws.from_posterior(post, panel, spec, horizon, rng, alliance_in_level)
        raw = latent.raw[:, :, :n_years]
        mean, sd = standardisation(raw, active)
        try:
            _check_rebuilt((raw - mean[:, None, None]) / sd[:, None, None], stored, "")
        except FastUnavailable as exc:
            worst = worst or str(exc)
            continue
        return latent, mean, sd
    raise FastUnavailable(worst)


def _check_rebuilt(cred: np.ndarray, stored: np.ndarray, what: str) -> None:
    err = float(np.max(np.abs(cred - stored))) if cred.size else 0.0
    if not err <= _TOLERANCE:
        raise FastUnavailable(
            f"the posterior's credibility could not be rebuilt from its parameters "
            f"(max difference {err:.2g})"
        )


def _pad_years(mask: np.ndarray, horizon: int) -> np.ndarray:
    return np.pad(mask, ((0, 0), (0, horizon)), constant_values=False)


@dataclass
class Baseline:
    """The baseline posterior on the extended grid: stored credibility for the data years,
    forward-simulated credibility for the horizon (on the baseline's scale)."""

    latent: LatentDraws | None
    cred: np.ndarray  # (S, U, T')
    mean: np.ndarray | None  # (S,) raw mean over the baseline's active cells
    sd: np.ndarray | None  # (S,) raw sd over the baseline's active cells
    active: np.ndarray  # (U, T') baseline active cells, padded
    problem: str = ""  # why the path could not be rebuilt ('' when it could)

    @classmethod
    def build(cls, result: CredibilityResult, horizon: int, seed: int) -> Baseline:
        post = result.posterior
        stored = _draws(post, "credibility")
        active = result.panel.active_mask()
        try:
            latent, mean, sd = rebuild(post, result.panel, result.spec, active, horizon, seed)
        except (FastUnavailable, KeyError, ValueError) as exc:
            if horizon:
                raise SpecError(f"cannot forecast from this result: {exc}") from None
            return cls(None, stored, None, None, active, str(exc))
        future = latent.raw[:, :, stored.shape[2] :]
        future = (future - mean[:, None, None]) / sd[:, None, None]
        cred = np.concatenate([stored, future], axis=2)
        return cls(latent, cred, mean, sd, _pad_years(active, horizon))


# ---------------------------------------------------------------------------- fast engine


@dataclass
class _Answer:
    """What an engine returns: draws of both trajectories and the scenario's weights."""

    engine: str
    baseline: np.ndarray  # (Sb, U, T')
    scenario: np.ndarray  # (Ss, U, T')
    weights: np.ndarray  # (Ss,), sum 1
    paired: bool
    evidence: np.ndarray  # (U, T') the scenario's evidence spans (reported cells)
    pareto_k: float | None = None
    ess: float | None = None
    reason: str = ""
    timings: dict = field(default_factory=dict)
    shock: np.ndarray | None = None  # (Ss, U, T') the crises' reputation effect, per draw

    def finish(self, result, bound, baseline, prob, seed, timings, start) -> WhatIfResult:
        timings = {**timings, **self.timings, "total_s": time.perf_counter() - start}
        return WhatIfResult.assemble(self, result, bound, baseline, prob, seed, timings)


def _fast(
    result: CredibilityResult, bound: BoundScenario, baseline: Baseline, seed: int
) -> _Answer:
    """Importance reweighting of the baseline draws (see the module docstring)."""
    if baseline.latent is None:
        raise FastUnavailable(baseline.problem)
    if not bound.crises.empty and result.panel.crises.empty:
        raise FastUnavailable(
            "the baseline data have no crises, so its posterior has no reputation or "
            "follow-through parameters for a hypothetical crisis"
        )
    latent, mean, sd = baseline.latent, baseline.mean, baseline.sd
    n_data = len(result.panel.years)
    meas = _Measurement(result.posterior, result)
    delta = _hypothetical_shock(latent, bound)  # (S, M, T') raw scale, or None
    raw_b = latent.raw
    raw_s = raw_b.copy()
    if delta is not None:
        raw_s += delta[:, latent.member_of_unit]
    active = baseline.active  # the scenario keeps the baseline's standardisation cells
    mean_s, sd_s = mean, sd
    if delta is not None and np.any(delta[:, latent.member_of_unit][:, active] != 0):
        mean_s, sd_s = standardisation(raw_s, active)  # a crisis moved observed years
    future = _FutureEvidence.collect(bound, n_data)
    logw = np.zeros(raw_b.shape[0])
    if future.units:
        rep_s = None if latent.rep is None else latent.rep + (0 if delta is None else delta)
        rng = np.random.default_rng([seed, 2])
        logz, paths = _filter_futures(latent, rep_s, future, n_data, mean_s, sd_s, meas, rng)
        logw += logz
        for u, dyn in paths.items():
            raw_s[:, u, n_data:] += dyn - latent.dyn[:, u, n_data:]
    cm_b = (raw_b - mean[:, None, None]) / sd[:, None, None]  # model scale, baseline
    cm_s = (raw_s - mean_s[:, None, None]) / sd_s[:, None, None]  # model scale, scenario
    logw += _log_weights(result, bound, cm_b[:, :, :n_data], cm_s[:, :, :n_data], meas)
    scen = baseline.cred + (cm_s - cm_b)  # exactly the baseline where nothing moves
    shock = None
    if delta is not None:  # the same draw with and without the crises' shocks
        with_shock = raw_b + delta[:, latent.member_of_unit]
        shock = (with_shock - mean_s[:, None, None]) / sd_s[:, None, None] - cm_b
    evidence = bound.evidence_mask()
    n = len(logw)
    if np.ptp(logw) == 0:
        uniform = np.full(n, 1.0 / n)
        return _Answer("fast", baseline.cred, scen, uniform, True, evidence, shock=shock)
    lw, k = psislw(logw - logw.max())
    weights = np.exp(lw - lw.max())
    weights /= weights.sum()
    ess = 1.0 / np.sum(weights**2)
    return _Answer(
        "fast", baseline.cred, scen, weights, False, evidence, float(k), ess, shock=shock
    )


def _hypothetical_shock(latent: LatentDraws, bound: BoundScenario) -> np.ndarray | None:
    """Raw-scale change of each member's reputation (S, M, T') from the hypothetical
    crises (None without crises, or when the model has no reputation)."""
    if bound.crises.empty or latent.rep is None:
        return None
    n_members, n_years = latent.rep.shape[1], len(bound.years)
    honored, violated = np.zeros((n_members, n_years)), np.zeros((n_members, n_years))
    c = bound.crises
    np.add.at(honored, (c.member_idx, c.year_idx), c.outcome.map(HONOR_WEIGHT).to_numpy())
    np.add.at(violated, (c.member_idx, c.year_idx), c.outcome.map(VIOLATE_WEIGHT).to_numpy())
    return latent.shock(honored, violated)


@dataclass
class _FutureEvidence:
    """The scenario's evidence in years beyond the data, per unit and year."""

    rows: dict  # (unit, year_idx) -> DataFrame of changed rows (signal, value, trials)
    crises: dict  # (unit, year_idx) -> array of outcomes
    units: list

    @classmethod
    def collect(cls, bound: BoundScenario, n_data: int) -> _FutureEvidence:
        ch = bound.changes[bound.changes.year_idx >= n_data]
        cr = bound.crises[bound.crises.year_idx >= n_data]
        rows = {key: g for key, g in ch.groupby(["unit_idx", "year_idx"])}
        crises = {key: g.outcome.to_numpy() for key, g in cr.groupby(["unit_idx", "year_idx"])}
        units = sorted({int(u) for u, _ in (*rows, *crises)})
        return cls(rows, crises, units)


_N_PARTICLES = 64


def _filter_futures(
    latent: LatentDraws, rep, future: _FutureEvidence, n_data: int, mean, sd, meas, rng
):
    """Condition each unit's simulated future on the scenario's future evidence.

    Per draw and unit, a bootstrap particle filter over the unit's future innovations:
    particles are propagated year by year from the draw's last data year, weighted by
    the year's evidence (signal values, crisis outcomes) and resampled.  Returns the log
    marginal likelihood of the future evidence per draw (its part of the importance
    weight) and one filtered future path ``dyn`` (S, H) per unit.  Conditioning inside
    each draw keeps the weights' variance to what the parameters explain.
    """
    n_draws, _, n_years = latent.dyn.shape
    last_evidence = max(t for _, t in (*future.rows, *future.crises))
    logz = np.zeros(n_draws)
    paths = {}
    sigma = latent.params.get("sigma_innovation", np.zeros(n_draws))[:, None]
    phi = latent.params.get("phi", np.ones(n_draws))[:, None]
    for u in future.units:
        m = latent.member_of_unit[u]
        x = np.repeat(latent.dyn[:, u, n_data - 1][:, None], _N_PARTICLES, axis=1)
        hist = np.empty((n_draws, _N_PARTICLES, n_years - n_data))
        for h, t in enumerate(range(n_data, n_years)):
            if latent.dynamics != "static":
                eps = rng.standard_normal(x.shape)
                x = (phi * x if latent.dynamics == "ar1" else x) + sigma * eps
            hist[:, :, h] = x
            if t > last_evidence or ((u, t) not in future.rows and (u, t) not in future.crises):
                continue
            raw = latent.base[:, u, None] + x + (0 if rep is None else rep[:, m, t, None])
            cred = (raw - mean[:, None]) / sd[:, None]  # (S, K), model scale
            ll = np.zeros_like(cred)
            if (u, t) in future.rows:
                r = future.rows[(u, t)]
                ll += meas.loglik(
                    r.signal,
                    r.value,
                    r.trials.to_numpy(float),
                    np.repeat(cred[:, :, None], len(r), axis=2),
                )
            if (u, t) in future.crises:
                out = future.crises[(u, t)]
                ll += meas.followthrough(out, np.repeat(cred[:, :, None], len(out), axis=2))
            top = ll.max(axis=1, keepdims=True)
            w = np.exp(ll - top)
            logz += top[:, 0] + np.log(w.mean(axis=1))
            idx = _systematic(w / w.sum(axis=1, keepdims=True), rng)
            x = np.take_along_axis(x, idx, axis=1)
            hist = np.take_along_axis(hist, idx[:, :, None], axis=1)
        paths[u] = hist[:, 0, :]
    return logz, paths


def _systematic(p: np.ndarray, rng) -> np.ndarray:
    """Systematic resampling of each row of probabilities ``p`` (S, K): indices (S, K)."""
    n_rows, k = p.shape
    edges = np.cumsum(p, axis=1)
    edges[:, -1] = 1.0
    points = (rng.random((n_rows, 1)) + np.arange(k)[None, :]) / k
    # one sorted search for all rows: row i's values are shifted into [i, i + 1]
    shift = np.arange(n_rows)[:, None]
    found = np.searchsorted((edges + shift).ravel(), (points + shift).ravel(), side="right")
    return np.minimum(found.reshape(n_rows, k) - shift * k, k - 1)


def _log_weights(result, bound: BoundScenario, cm_b, cm_s, meas) -> np.ndarray:
    """log p(scenario data | draw) - log p(data | draw) over the data years' rows that
    differ: changed or added values, hypothetical crises, and rows whose credibility moved
    (a crisis in the data years).  ``cm_b``/``cm_s``: model-scale credibility (S, U, T)."""
    n_draws, _, n_years = cm_b.shape
    moved = np.any(cm_b != cm_s, axis=0).ravel()  # cells whose credibility moves
    flat_b, flat_s = cm_b.reshape(n_draws, -1), cm_s.reshape(n_draws, -1)
    logw = np.zeros(n_draws)
    ch = bound.changes[bound.changes.year_idx < n_years]
    c = bound.crises[bound.crises.year_idx < n_years]
    if not (moved.any() or len(ch) or len(c)):
        return logw
    obs = _rows(result.panel)
    cell = obs["unit"] * n_years + obs["year"]
    is_changed = np.zeros(len(cell), bool)
    if len(ch):
        key = ch.unit_idx.to_numpy() * n_years + ch.year_idx.to_numpy()
        key = key * len(result.panel.signals) + ch.signal_idx.to_numpy()
        row_key = cell * len(result.panel.signals) + obs["signal_idx"]
        is_changed = np.isin(row_key, key)
    keep = np.flatnonzero(moved[cell] | is_changed)
    if len(keep):  # the baseline's rows that change: minus their baseline loglik
        logw -= meas.loglik(
            obs["signal"][keep], obs["value"][keep], obs["trials"][keep], flat_b[:, cell[keep]]
        )
        same = keep[~is_changed[keep]]
        if len(same):
            logw += meas.loglik(
                obs["signal"][same],
                obs["value"][same],
                obs["trials"][same],
                flat_s[:, cell[same]],
            )
    if len(ch):  # the scenario's values
        new_cell = ch.unit_idx.to_numpy() * n_years + ch.year_idx.to_numpy()
        logw += meas.loglik(
            ch.signal.to_numpy(),
            ch.value.to_numpy(float),
            ch.trials.to_numpy(float),
            flat_s[:, new_cell],
        )
    crises = result.panel.crises
    if len(crises):  # the baseline's crises whose credibility moved
        ccell = crises.unit_idx.to_numpy() * n_years + crises.year_idx.to_numpy()
        hit = moved[ccell]
        if hit.any():
            out = crises.outcome.to_numpy()[hit]
            logw += meas.followthrough(out, flat_s[:, ccell[hit]])
            logw -= meas.followthrough(out, flat_b[:, ccell[hit]])
    if len(c):  # hypothetical crises in the data years, as follow-through evidence
        hcell = c.unit_idx.to_numpy() * n_years + c.year_idx.to_numpy()
        logw += meas.followthrough(c.outcome.to_numpy(), flat_s[:, hcell])
    return logw


def _rows(panel: Panel) -> dict[str, np.ndarray]:
    """The panel's observation rows as numpy arrays (fast to index)."""
    obs = panel.observations
    return {
        "unit": obs.unit_idx.to_numpy(int),
        "year": obs.year_idx.to_numpy(int),
        "signal_idx": obs.signal_idx.to_numpy(int),
        "signal": np.asarray(panel.signals, dtype=object)[obs.signal_idx.to_numpy(int)],
        "value": obs.value.to_numpy(float),
        "trials": obs.trials.to_numpy(float) if "trials" in obs else np.full(len(obs), np.nan),
    }


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _expit(x):
    from scipy.special import expit

    return expit(x)


def _gammaln(x):
    from scipy.special import gammaln

    return gammaln(x)


def _per_draw(p: np.ndarray, ndim: int) -> np.ndarray:
    """A per-draw parameter (S,) shaped to broadcast against an (S, ..., rows) array."""
    return p.reshape(p.shape[0], *([1] * (ndim - 1)))


class _Measurement:
    """The model's measurement and follow-through log-likelihoods in numpy, per draw.

    ``cred`` arrays are (S, ..., rows): draws first, rows last, anything between (the
    particle filter's particles) broadcast; results are summed over rows.
    """

    def __init__(self, post: xr.Dataset, result: CredibilityResult) -> None:
        self.post, self.spec, self.scales = post, result.spec, result.scales
        signals = [str(s) for s in post["alpha"].coords["signal"].values]
        self.index = {s: i for i, s in enumerate(signals)}
        self.alpha = _draws(post, "alpha")
        self.loading = _draws(post, "loading")
        self.aux = {}
        for name in ("sigma", "dispersion", "precision"):
            if name in post:
                coord = [str(s) for s in post[name].coords[f"{name}_signal"].values]
                values = _draws(post, name)
                self.aux |= {(name, s): values[:, i] for i, s in enumerate(coord)}
        self.cut = {
            name: _draws(post, f"cutpoints_{name}")
            for name, sig in self.spec.signals.items()
            if sig.family == "ordinal"
        }
        ft = ("loading_followthrough", "alpha_followthrough", "cutpoints_followthrough")
        self.ft = {name: _draws(post, name) for name in ft if name in post}

    def loglik(self, signal, value, trials, cred: np.ndarray) -> np.ndarray:
        """Log-likelihood of rows (signal, value, trials) at credibility ``cred``, summed
        over rows."""
        signal = np.asarray(signal)
        value = np.asarray(value, float)
        trials = np.asarray(trials, float)
        total = np.zeros(cred.shape[:-1])
        for name in np.unique(signal):
            here = signal == name
            total += self._signal(str(name), value[here], trials[here], cred[..., here]).sum(-1)
        return total

    def _signal(self, name: str, y, n, cred):
        sig = self.spec.signals[name]
        fam = FAMILIES[sig.family]
        j = self.index[name]

        def p(values):
            return _per_draw(values, cred.ndim)

        slope = p(sig.direction * self.loading[:, j])
        if fam.name == "ordinal":
            return _ordinal_logp(slope * cred, np.round(y).astype(int), self.cut[name])
        eta = self.scales[name].offset + p(self.alpha[:, j]) + slope * cred
        yt = transformed_values(y, fam.name, self.scales[name])
        match fam.name:
            case "gaussian" | "lognormal":
                s = p(self.aux[("sigma", name)])
                return -0.5 * ((yt - eta) / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)
            case "binomial":
                log_choose = _gammaln(n + 1) - _gammaln(y + 1) - _gammaln(n - y + 1)
                return log_choose + y * _log_sigmoid(eta) + (n - y) * _log_sigmoid(-eta)
            case "bernoulli":
                return yt * _log_sigmoid(eta) + (1 - yt) * _log_sigmoid(-eta)
            case "poisson":
                return yt * eta - np.exp(eta) - _gammaln(yt + 1)
            case "negbinomial":
                a = 1.0 / p(self.aux[("dispersion", name)])
                log_total = np.logaddexp(np.log(a), eta)  # log(alpha + mu)
                return (
                    _gammaln(yt + a)
                    - _gammaln(a)
                    - _gammaln(yt + 1)
                    + a * (np.log(a) - log_total)
                    + yt * (eta - log_total)
                )
            case "beta":
                nu = p(self.aux[("precision", name)])
                mu = _expit(eta)
                a, b = mu * nu, (1 - mu) * nu
                return (
                    _gammaln(nu)
                    - _gammaln(a)
                    - _gammaln(b)
                    + (a - 1) * np.log(yt)
                    + (b - 1) * np.log1p(-yt)
                )
        raise AssertionError(f"no likelihood for family {fam.name!r}")

    def followthrough(self, outcomes, cred: np.ndarray) -> np.ndarray:
        """Follow-through log-likelihood of crisis outcomes at ``cred``, summed over crises."""
        loading = _per_draw(self.ft["loading_followthrough"], cred.ndim)
        if "cutpoints_followthrough" in self.ft:
            codes = pd.Series(outcomes).map({"violated": 0, "partial": 1, "honored": 2})
            cut = self.ft["cutpoints_followthrough"]
            return _ordinal_logp(loading * cred, codes.to_numpy(int), cut).sum(-1)
        eta = _per_draw(self.ft["alpha_followthrough"], cred.ndim) + loading * cred
        honored = np.asarray(outcomes) == "honored"
        return np.where(honored, _log_sigmoid(eta), _log_sigmoid(-eta)).sum(-1)


def _ordinal_logp(eta: np.ndarray, y: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Cumulative-logit log-probability of categories ``y`` (as PyMC's OrderedLogistic):
    P(y = k) = sigmoid(eta - c_{k-1}) - sigmoid(eta - c_k), c_{-1} = -inf, c_K = +inf.
    ``eta`` (S, ..., rows), ``cut`` (S, categories - 1)."""
    n_draws = cut.shape[0]
    edges = np.concatenate(
        [np.full((n_draws, 1), -np.inf), cut, np.full((n_draws, 1), np.inf)], axis=1
    )
    shape = (n_draws, *([1] * (eta.ndim - 2)), len(y))
    upper = _expit(eta - edges[:, y].reshape(shape))  # sigmoid(eta - c_{k-1})
    lower = _expit(eta - edges[:, y + 1].reshape(shape))  # sigmoid(eta - c_k)
    return np.log(np.clip(upper - lower, 1e-300, None))


# ---------------------------------------------------------------------------- exact engine


def _exact(
    result, bound: BoundScenario, baseline: Baseline, *, draws, tune, chains, progress
) -> _Answer:
    if bound.is_empty:
        cred = baseline.cred
        return _Answer(
            "exact",
            cred,
            cred,
            np.full(cred.shape[0], 1.0 / cred.shape[0]),
            True,
            baseline.active,
            reason="the scenario changes no data, so the baseline posterior is the "
            "scenario's (no re-fit needed; paired)",
        )
    panel = bound.scenario_panel()
    spec = result.spec.with_sampler(draws=draws, tune=tune, chains=chains)
    idata, timing = _refit(panel, spec, result.scales, progress)
    post = idata.posterior
    active_s = panel.active_mask()
    scen = _draws(post, "credibility")  # standardised over the baseline's active cells
    delta = None
    if not bound.crises.empty:  # the crises' reputation effect, draw by draw
        try:
            latent, _, _ = rebuild(post, panel, spec, active_s)
        except FastUnavailable as exc:  # the re-fit is the model itself: report it
            raise RuntimeError(f"re-fitted scenario: {exc}") from None
        raw = latent.raw
        delta = _hypothetical_shock(latent, bound)
    shock = None
    if delta is not None:  # the same draw with and without the crises' shocks
        without = raw - delta[:, latent.member_of_unit]
        mean, sd = standardisation(without, active_s)
        shock = scen - (without - mean[:, None, None]) / sd[:, None, None]
    n = scen.shape[0]
    timings = {
        "compile_s": timing.compile_s,
        "sample_s": timing.sample_s,
        "compile_cached": bool(timing.cached),
    }
    return _Answer(
        "exact",
        baseline.cred,
        scen,
        np.full(n, 1.0 / n),
        False,
        panel.evidence_mask(),
        timings=timings,
        shock=shock,
    )


def _refit(panel: Panel, spec, scales, progress: bool):
    """Sample the model on ``panel`` as :func:`bayescred.api.fit` does, but with the
    baseline's signal scales (a scenario's values are measured on the baseline's scale;
    recomputing them from the scenario's data would change the model's constants)."""
    from .api import native_kernel
    from .fit import sample
    from .model import build_model
    from .structure import model_structure

    start = time.perf_counter()
    structure = model_structure(spec, panel)
    model = build_model(panel, spec, scales, structure)
    kernel = native_kernel(model, panel, spec, scales, structure)
    built = time.perf_counter() - start
    idata, timing = sample(model, spec.sampler, progress=progress, kernel=kernel)
    return idata, replace(timing, compile_s=timing.compile_s + built)


# ---------------------------------------------------------------------------- summaries


def _hdi(x: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval per column of ``x`` (draws, cells), as ArviZ computes it."""
    x = np.sort(x, axis=0)
    n = x.shape[0]
    width = int(math.floor(prob * n))
    if width >= n or n < 2:
        return x[0], x[-1]
    gaps = x[width:] - x[: n - width]
    start = np.argmin(gaps, axis=0)
    cols = np.arange(x.shape[1])
    return x[start, cols], x[start + width, cols]


def _prob_greater(s: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(s > b) per column, s ~ weighted draws, b ~ uniform draws, independent."""
    b_sorted = np.sort(b, axis=0)
    below = np.empty(s.shape)
    for c in range(s.shape[1]):
        below[:, c] = np.searchsorted(b_sorted[:, c], s[:, c], side="left")
    return w @ below / b.shape[0]


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    mean = w @ x
    return np.sqrt(np.maximum(w @ (x - mean) ** 2, 0.0))


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """The answer to a what-if question: a value, never mutating the baseline.

    Attributes
    ----------
    scenario : Scenario
    engine : str
        ``"fast"`` or ``"exact"``: the engine that answered.
    reason : str
        Why that engine answered (the Pareto k, or why the fast engine did not apply).
    pareto_k : float or None
        Pareto k of the fast engine's weights (None: uniform weights, or the exact engine
        answered without one). Values below 0 are valid: the weights' tail is bounded.
    paired : bool
        Whether the contrast's spread is over paired draws (see the module docstring).
    baseline, scenario_draws : xarray.DataArray
        Credibility draws ``(sample, unit, year)`` on the baseline's scale, with
        ``member``/``alliance`` coordinates; years run to the horizon.
    weights : xarray.DataArray
        Weight of each scenario draw (sum 1).
    reported : xarray.DataArray
        ``(unit, year)`` cells the tables list: the units' active years in the baseline or
        the scenario, and the horizon's years for units active at the end of the data.
    timings : dict
        Seconds: ``total_s``, ``fast_s`` and/or ``exact_s``, ``compile_s``, ``sample_s``.
    """

    scenario: Scenario
    engine: str
    reason: str
    pareto_k: float | None
    ess: float | None
    paired: bool
    baseline: xr.DataArray
    scenario_draws: xr.DataArray
    weights: xr.DataArray
    reported: xr.DataArray
    last_data_year: int
    changes: pd.DataFrame
    crises: pd.DataFrame
    timings: dict
    prob: float = DEFAULT_PROB
    seed: int = 0
    shock: xr.DataArray | None = None
    _tables: dict = field(default_factory=dict, repr=False)  # computed tables, by prob

    @classmethod
    def assemble(
        cls, answer: _Answer, result, bound: BoundScenario, baseline: Baseline, prob, seed, timings
    ) -> WhatIfResult:
        panel = result.panel
        years = bound.years.astype(int)
        n_data = len(panel.years)
        active_end = baseline.active[:, n_data - 1]
        future = np.zeros_like(baseline.active)
        future[:, n_data:] = active_end[:, None]
        reported = baseline.active | answer.evidence | future
        coords = {
            "unit": panel.unit_labels,
            "year": years,
            "member": ("unit", panel.units.member.to_numpy(str)),
            "alliance": ("unit", panel.units.alliance.to_numpy(str)),
        }
        dims = ("sample", "unit", "year")
        return cls(
            scenario=bound.scenario,
            engine=answer.engine,
            reason=answer.reason,
            pareto_k=answer.pareto_k,
            ess=answer.ess,
            paired=answer.paired,
            baseline=xr.DataArray(answer.baseline, dims=dims, coords=coords, name="baseline"),
            scenario_draws=xr.DataArray(answer.scenario, dims=dims, coords=coords, name="scenario"),
            weights=xr.DataArray(answer.weights, dims="sample", name="weight"),
            reported=xr.DataArray(
                reported, dims=("unit", "year"), coords={k: v for k, v in coords.items()}
            ),
            last_data_year=int(panel.years[-1]),
            changes=bound.changes,
            crises=bound.crises,
            timings=timings,
            prob=prob,
            seed=seed,
            shock=None
            if answer.shock is None
            else xr.DataArray(answer.shock, dims=dims, coords=coords, name="shock"),
        )

    # ------------------------------------------------------------------ tables

    def _cells(self):
        mask = self.reported.values.ravel()
        n_b, n_s = self.baseline.sizes["sample"], self.scenario_draws.sizes["sample"]
        b = self.baseline.values.reshape(n_b, -1)[:, mask]
        s = self.scenario_draws.values.reshape(n_s, -1)[:, mask]
        return mask, b, s, self.weights.values

    def _index(self, mask) -> pd.DataFrame:
        n_years = self.reported.sizes["year"]
        units = np.repeat(np.arange(self.reported.sizes["unit"]), n_years)[mask]
        return pd.DataFrame(
            {
                "member": self.reported.member.values[units],
                "alliance": self.reported.alliance.values[units],
                "year": np.tile(self.reported.year.values, self.reported.sizes["unit"])[mask],
            }
        )

    def _pairs(self, n_s: int, n_b: int, w: np.ndarray):
        rng = np.random.default_rng([self.seed, 1])
        edges = np.cumsum(w)
        pick = np.searchsorted(edges, rng.random(_N_PAIRS) * edges[-1], side="right")
        return np.minimum(pick, n_s - 1), rng.integers(n_b, size=_N_PAIRS)

    def _cached(self, kind: str, prob: float | None, compute):
        prob = self.prob if prob is None else prob
        if (kind, prob) not in self._tables:
            self._tables[(kind, prob)] = compute(prob)
        table = self._tables[(kind, prob)]
        return None if table is None else table.copy()

    def contrast(self, prob: float | None = None) -> pd.DataFrame:
        """Scenario minus baseline per unit-year: ``member, alliance, year, mean, sd,
        hdi_low, hdi_high, p_up`` (``p_up`` = P(scenario > baseline))."""
        return self._cached("contrast", prob, self._contrast)

    def _contrast(self, prob: float) -> pd.DataFrame:
        mask, b, s, w = self._cells()
        if self.paired:
            d = s - b
            mean, sd, p_up = d.mean(0), d.std(0), (d > 0).mean(0)
            low, high = _hdi(d, prob)
        else:
            mean = w @ s - b.mean(0)
            sd = np.sqrt(_weighted_sd(s, w) ** 2 + b.var(0))
            p_up = _prob_greater(s, w, b)
            i, j = self._pairs(len(w), b.shape[0], w)
            low, high = _hdi(s[i] - b[j], prob)
        table = self._index(mask)
        table["mean"], table["sd"] = mean, sd
        table["hdi_low"], table["hdi_high"], table["p_up"] = low, high, p_up
        return table

    def effect(self, prob: float | None = None) -> pd.DataFrame | None:
        """The hypothetical crises' direct effect through reputation, per unit-year.

        Paired by construction: for each scenario draw, its credibility with the crises
        minus the same draw's without them (``kappa * phi_r ** (s - t - 1)`` for a crisis
        beyond the data), weighted by the scenario's posterior.  Unlike :meth:`contrast` it leaves
        out what the crises' outcomes say, as evidence, about credibility in their year.
        Columns as :meth:`contrast`; None when the scenario has no crises or the model no
        reputation.
        """
        return self._cached("effect", prob, self._effect)

    def _effect(self, prob: float) -> pd.DataFrame | None:
        if self.shock is None:
            return None
        mask, _, _, w = self._cells()
        d = self.shock.values.reshape(len(w), -1)[:, mask]
        if np.ptp(w) == 0:
            low, high = _hdi(d, prob)
        else:
            low, high = _hdi(d[self._pairs(len(w), len(w), w)[0]], prob)
        table = self._index(mask)
        table["mean"], table["sd"] = w @ d, _weighted_sd(d, w)
        table["hdi_low"], table["hdi_high"], table["p_up"] = low, high, w @ (d > 0)
        return table

    def trajectories(self, prob: float | None = None) -> pd.DataFrame:
        """Both trajectories: ``member, alliance, year, case (baseline | scenario), mean,
        sd, hdi_low, hdi_high, forecast`` (forecast: a year beyond the data)."""
        return self._cached("trajectories", prob, self._trajectories)

    def _trajectories(self, prob: float) -> pd.DataFrame:
        mask, b, s, w = self._cells()
        frames = []
        uniform = np.ptp(w) == 0
        s_draws = s if uniform else s[self._pairs(len(w), b.shape[0], w)[0]]
        for case, draws, mean, sd in (
            ("baseline", b, b.mean(0), b.std(0)),
            ("scenario", s_draws, w @ s, _weighted_sd(s, w)),
        ):
            table = self._index(mask)
            low, high = _hdi(draws, prob)
            table.insert(3, "case", case)
            table["mean"], table["sd"], table["hdi_low"], table["hdi_high"] = mean, sd, low, high
            table["forecast"] = table.year > self.last_data_year
            frames.append(table)
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ words and pictures

    def summary(self, n: int = 3, prob: float | None = None) -> str:
        """One sentence on the largest changes (or the forecast's widening intervals)."""
        prob = self.prob if prob is None else prob
        name = self.scenario.name
        pct = f"{round(prob * 100)}%"
        table = self.contrast(prob)
        how = f"{self.engine} engine" + (
            f", Pareto k {self.pareto_k:.2f}" if self.pareto_k is not None else ""
        )
        if self.scenario.is_empty:
            if not self.scenario.horizon:
                return f"Scenario '{name}' changes nothing: the contrast is 0 everywhere ({how})."
            traj = self.trajectories(prob)
            base = traj[traj.case == "baseline"]
            width = (base.hdi_high - base.hdi_low).groupby(base.year).mean()
            last, end = self.last_data_year, int(base.year.max())
            return (
                f"Forecast to {end} with no scenario: the mean {pct} interval of credibility "
                f"widens from {width.get(last, float('nan')):.2f} in {last} to "
                f"{width.get(end, float('nan')):.2f} in {end} ({how})."
            )
        table["unit"] = table.member + UNIT_SEP + table.alliance
        table["size"] = table["mean"].abs()
        top = table.sort_values("size", ascending=False).drop_duplicates("unit").head(n)
        top = top[top["size"] > 0]
        if top.empty:
            return f"Scenario '{name}' leaves credibility unchanged ({how})."
        parts = [
            f"{r.unit} in {r.year} ({r['mean']:+.2f}, {pct} interval {r.hdi_low:+.2f} to "
            f"{r.hdi_high:+.2f}, P(up) {r.p_up:.2f})"
            for _, r in top.iterrows()
        ]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        effect = self.effect(prob)
        if effect is not None and effect["mean"].abs().max() > 0:
            e = effect.loc[effect["mean"].abs().idxmax()]
            listed += (
                f"; through reputation alone the crises move {e.member}{UNIT_SEP}{e.alliance} "
                f"by {e['mean']:+.2f} in {e.year} ({pct} interval {e.hdi_low:+.2f} to "
                f"{e.hdi_high:+.2f})"
            )
        return f"Scenario '{name}': the largest changes in credibility are {listed} ({how})."

    def plot(
        self,
        units: list[str] | None = None,
        max_units: int = 6,
        ncols: int = 3,
        prob: float | None = None,
    ):
        """Baseline and scenario trajectories with intervals for the units that change most
        (or ``units``); hypothetical crises marked (▲ honoured, ▼ violated)."""
        import matplotlib.pyplot as plt

        data = self.figure_data(units, max_units, ncols, prob)
        return draw(data, plt.figure(figsize=data.size))

    def figure_data(
        self,
        units: list[str] | None = None,
        max_units: int = 6,
        ncols: int = 3,
        prob: float | None = None,
    ) -> FigureData:
        """What :meth:`plot` draws, as arrays (see :mod:`bayescred.whatif_plot`)."""
        prob = self.prob if prob is None else prob
        traj = self.trajectories(prob)
        traj["unit"] = traj.member + UNIT_SEP + traj.alliance
        # the contrast's mean is scenario mean - baseline mean (both cases hold the same
        # cells in the same order), so the panels are ordered without the contrast's intervals
        base, scen = traj[traj.case == "baseline"], traj[traj.case == "scenario"]
        change = pd.Series(np.abs(scen["mean"].to_numpy() - base["mean"].to_numpy()))
        order = change.groupby(base.unit.to_numpy(), sort=False).max()
        labels = list(order.sort_values(ascending=False, kind="stable").index)
        if units:
            labels = [u for u in labels if u in units or u.split(UNIT_SEP)[0] in units]
        show_scenario = not self.scenario.is_empty
        cases = {"baseline": ("grey", 0.25), "scenario": ("tab:orange", 0.3)}
        if not show_scenario:
            del cases["scenario"]
        panels = [self._panel(traj, label, cases) for label in labels[:max_units]]
        title = "scenario vs baseline" if show_scenario else "baseline forecast"
        return FigureData(
            panels,
            title=f"{self.scenario.name}: {title} ({self.engine} engine)",
            ylabel=f"credibility ({round(prob * 100)}% HDI)",
            ncols=ncols,
            divider=self.last_data_year + 0.5 if self.scenario.horizon else None,
        )

    def _panel(self, traj: pd.DataFrame, label: str, cases: dict) -> Subplot:
        mine = traj[traj.unit == label]
        series = []
        for case, (colour, alpha) in cases.items():
            rows = mine[mine.case == case]
            series.append(
                Series(
                    case,
                    colour,
                    alpha,
                    *(rows[c].to_numpy() for c in ("year", "mean", "hdi_low", "hdi_high")),
                )
            )
        scen = mine[mine.case == "scenario"].set_index("year")["mean"]
        member, alliance = label.split(UNIT_SEP)
        markers = [
            Marker(
                int(c.year),
                float(scen.get(c.year, np.nan)),
                c.outcome == "honored",
                c.alliance == alliance,
            )
            for c in self.crises[self.crises.member == member].itertuples()
        ]
        return Subplot(label, series, markers)

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """What ``whatif.json`` holds: engine, why, Pareto k, pairing, timings, summary."""
        return {
            "scenario": self.scenario.name,
            "engine": self.engine,
            "reason": self.reason,
            "pareto_k": self.pareto_k,
            "ess": self.ess,
            "paired": self.paired,
            "horizon": self.scenario.horizon,
            "last_data_year": self.last_data_year,
            "draws": {
                "baseline": int(self.baseline.sizes["sample"]),
                "scenario": int(self.scenario_draws.sizes["sample"]),
            },
            "changed_cells": int(len(self.changes)),
            "hypothetical_crises": int(len(self.crises)),
            "prob": self.prob,
            "seed": self.seed,
            "scale": "credibility standardised over the baseline's active unit-years",
            "timings": {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.timings.items()
            },
            "summary": self.summary(),
            "scenario_spec": self.scenario.to_dict(),
        }

    def write(self, out: str | Path, png=None) -> list[Path]:
        """Write ``contrast.csv``, ``trajectories.csv``, ``whatif.json`` and ``whatif.png``
        into folder ``out``; returns the paths.  ``png``: a :class:`ParallelPng` to draw
        the figure in (the command line's), else it is drawn here."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / n for n in ("contrast.csv", "trajectories.csv", "whatif.json", "whatif.png")]
        data = self.figure_data()
        if png is not None:  # hand the figure over first: it draws while the tables are written
            png.send(data, paths[3])
        self.contrast().to_csv(paths[0], index=False)
        self.trajectories().to_csv(paths[1], index=False)
        paths[2].write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        if png is None:
            save_png(data, paths[3])
        else:
            png.wait()
        return paths
