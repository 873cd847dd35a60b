"""The fast engine: Pareto-smoothed importance reweighting of the baseline's draws, with
each draw's future simulated forward and, where the scenario has evidence in years beyond
the data, conditioned on it by a particle filter (see :mod:`bayescred.whatif`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numpy_model import LatentDraws, Measurement, dynamics_step, standardisation
from ..panel import Panel
from ..psis import psislw
from ..results import CredibilityResult
from ..scenario import BoundScenario
from .answer import Baseline, FastUnavailable, _Answer, hypothetical_shock


def _fast(
    result: CredibilityResult, bound: BoundScenario, baseline: Baseline, seed: int
) -> _Answer:
    """Importance reweighting of the baseline draws (see the module docstring)."""
    if baseline.latent is None:
        raise FastUnavailable(baseline.problem)
    spec = result.spec
    if spec.dimensions or any(s.year_effects or s.unit_offsets for s in spec.signals.values()):
        # each signal reads a latent value of its own (kernel.pillars), which the NumPy
        # model does not rebuild yet: the exact engine answers instead
        raise FastUnavailable(
            "its importance weights do not yet cover [dimensions], year_effects or "
            "unit_offsets"
        )
    if spec.member_signals:  # their rows read a member's mean, not one unit's credibility
        raise FastUnavailable(
            "its importance weights do not yet cover member-level signals (level = "
            f"\"member\": {', '.join(spec.member_signals)})"
        )
    if not bound.crises.empty and result.panel.crises.empty:
        raise FastUnavailable(
            "the baseline data have no crises, so its posterior has no reputation or "
            "follow-through parameters for a hypothetical crisis"
        )
    latent, mean, sd = baseline.latent, baseline.mean, baseline.sd
    n_data = len(result.panel.years)
    meas = Measurement(result.posterior, result)
    delta = hypothetical_shock(latent, bound)  # (S, M, T') raw scale, or None
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


@dataclass
class _FutureEvidence:
    """The scenario's evidence in years beyond the data, per unit and year."""

    rows: dict  # (unit, year_idx) -> DataFrame of changed rows (signal, value, trials)
    crises: dict  # (unit, year_idx) -> DataFrame of crises (outcome, kind, covariates)
    units: list

    @classmethod
    def collect(cls, bound: BoundScenario, n_data: int) -> _FutureEvidence:
        ch = bound.changes[bound.changes.year_idx >= n_data]
        cr = bound.crises[bound.crises.year_idx >= n_data]
        rows = {key: g for key, g in ch.groupby(["unit_idx", "year_idx"])}
        crises = {key: g for key, g in cr.groupby(["unit_idx", "year_idx"])}
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
                x = dynamics_step(latent.dynamics, x, sigma * eps, phi)
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
            out = crises[hit]
            logw += meas.followthrough(out, flat_s[:, ccell[hit]])
            logw -= meas.followthrough(out, flat_b[:, ccell[hit]])
    if len(c):  # hypothetical crises in the data years, as follow-through evidence
        hcell = c.unit_idx.to_numpy() * n_years + c.year_idx.to_numpy()
        logw += meas.followthrough(c, flat_s[:, hcell])
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
