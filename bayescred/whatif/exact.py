"""The exact engine: the model re-fitted on the scenario's data by :func:`bayescred.api.fit`
(on the year grid extended by the horizon, with the baseline's signal scales and sampler
settings)."""

from __future__ import annotations

import numpy as np

from ..errors import ResultError
from ..numpy_model import RebuildError, rebuild, stack_draws, standardisation
from ..runtime import stage
from ..scenario import BoundScenario
from .answer import Baseline, _Answer, hypothetical_shock

# A re-fit in which one signal's loading falls and another's of the same pillar rises, each
# by more than this many combined posterior sds, settled in another mode of the model (the
# pillar follows its other signal): its contrasts would compare two readings of the
# pillars.  SEEDS re-fits at most.
MODE_SDS = 5.0
SEEDS = 3


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
    from ..api import fit  # PyMC and the kernel: imported only when a re-fit is needed

    panel = bound.scenario_panel()
    refit, note = _refit_in_the_baseline_mode(result, panel, fit, draws, tune, chains, progress)
    spec, timing = refit.spec, refit.timing
    post = refit.idata.posterior
    active_s = panel.active_mask()
    scen = stack_draws(post, "credibility")  # standardised over the baseline's active cells
    delta = None
    if not bound.crises.empty:  # the crises' reputation effect, draw by draw
        try:
            latent, _, _ = rebuild(post, panel, spec, active_s)
        except RebuildError as exc:  # the re-fit is the model itself: report it
            raise RuntimeError(f"re-fitted scenario: {exc}") from None
        raw = latent.raw
        delta = hypothetical_shock(latent, bound)
    shock = None
    if delta is not None and "pillar" in post:
        shock = scen - _overall_without(post, raw, delta[:, latent.member_of_unit], active_s)
    elif delta is not None:  # the same draw with and without the crises' shocks
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
        pillars=_pillar_draws(result.posterior, post, scen.shape[2]),
        reason=note,
    )


def _pillar_draws(baseline, scenario, n_years: int) -> tuple | None:
    """Each pillar's draws in the baseline (the data's years; NaN for the horizon's, which
    the baseline's pillars are not forecast into) and in the re-fitted scenario, with the
    pillars' names; None for a model without ``[dimensions]``."""
    if "pillar" not in baseline or "pillar" not in scenario:
        return None
    base = stack_draws(baseline, "pillar")  # (S, U, T, K)
    pad = ((0, 0), (0, 0), (0, n_years - base.shape[2]), (0, 0))
    names = [str(d) for d in scenario["pillar"]["dimension"].values]
    return np.pad(base, pad, constant_values=np.nan), stack_draws(scenario, "pillar"), names


def _overall_without(post, raw, delta, active) -> np.ndarray:
    """Overall credibility of a ``[dimensions]`` model in the same draw without the crises'
    reputation shocks ``delta`` (S, U, T', raw scale of the common level): each raw pillar
    less the shock on the common level's standard scale, its deviation held (model.
    _read_pillars), then the standardised mean of the pillars over the ``active`` cells."""
    n_years = raw.shape[2]
    _, common_sd = standardisation(raw, active)
    shift = delta[:, :, :n_years] / common_sd[:, None, None]  # on the common level's scale
    pillar = stack_draws(post, "pillar")  # (S, U, T, K), each on its own standard scale
    sd_raw = stack_draws(post, "pillar_sd_raw")  # (S, K)
    without = (pillar - shift[..., None] / sd_raw[:, None, None, :]).mean(axis=3)
    mean, sd = standardisation(without, active)
    return (without - mean[:, None, None]) / sd[:, None, None]


def _refit_in_the_baseline_mode(result, panel, fit, draws, tune, chains, progress):
    """The model re-fitted on the scenario's ``panel``, with the baseline's signal scales (a
    scenario's values are measured on the baseline's scale), in the baseline's mode: a
    re-fit whose loadings disagree with the baseline's (:func:`_other_mode`) is repeated with
    the next seed, at most ``SEEDS`` times.  Why: with two or more signals per pillar the
    posterior can have a mode per signal a pillar follows, and NUTS started from one ADVI
    fit stays in it; on the US triad the README's example scenario re-fitted with seed 1
    had cost sharing follow personnel instead of spending.  Returns the re-fit and a note
    for the answer's reason ("" when the first seed agreed)."""
    seed = result.spec.sampler.seed
    for attempt in range(SEEDS):
        spec = result.spec.with_sampler(seed=seed + attempt)
        refit = fit(spec, panel, draws=draws, tune=tune, chains=chains, progress=progress,
                    scales=result.scales)
        other = _other_mode(result.posterior, refit.idata.posterior, result.spec)
        if other is None:
            if not attempt:
                return refit, ""
            return refit, (f"the re-fit with seed {seed} settled in another mode of the model; "
                           f"seed {seed + attempt} agrees with the baseline")
        stage(f"re-fit with seed {seed + attempt}: {other}; trying seed {seed + attempt + 1}")
    raise ResultError(
        f"the scenario's re-fit settled in another mode of the model with seeds {seed}-"
        f"{seed + SEEDS - 1} ({other}), so its contrasts would compare two readings of the "
        "pillars; try a scenario closer to the data, or more tuning draws (--tune)"
    )


def _other_mode(baseline, scenario, spec) -> str | None:
    """What shows that ``scenario`` sits in another mode than ``baseline``: within one
    pillar of ``spec``, one signal's loading falls and another's rises, each by more than
    ``MODE_SDS`` combined posterior sds (the pillar now follows the other signal); None when
    no pillar shows it, and for a model without pillars (a scenario's new data may move a
    loading by itself: only the swap within a pillar says "another mode")."""
    if not spec.dimensions or "loading" not in baseline or "loading" not in scenario:
        return None
    known = set(map(str, scenario["loading"]["signal"].values))
    for pillar, dim in spec.dimensions.items():
        shifts = {}
        for signal in (s for s in dim.signals if s in known):
            b = baseline["loading"].sel(signal=signal).values.ravel()
            s = scenario["loading"].sel(signal=signal).values.ravel()
            shifts[signal] = ((s.mean() - b.mean()) / np.sqrt(b.var() + s.var() + 1e-300),
                              s.mean(), b.mean())
        if len(shifts) < 2:
            continue
        down = min(shifts, key=lambda k: shifts[k][0])
        up = max(shifts, key=lambda k: shifts[k][0])
        if shifts[down][0] < -MODE_SDS and shifts[up][0] > MODE_SDS:
            return (f"{pillar} follows {up!r} instead of {down!r} (loadings {shifts[up][1]:.3g} "
                    f"and {shifts[down][1]:.3g} against the baseline's {shifts[up][2]:.3g} "
                    f"and {shifts[down][2]:.3g})")
    return None
