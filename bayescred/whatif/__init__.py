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

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from ..numpy_model import LatentDraws, rebuild, standardisation
from ..numpy_model import Measurement as _Measurement  # noqa: F401  (tests' old names)
from ..numpy_model import stack_draws as _draws  # noqa: F401
from ..results import DEFAULT_PROB, CredibilityResult
from ..safe_text import pareto_k_text
from ..scenario import Scenario, bind, load_scenario
from .answer import Baseline, FastUnavailable, _Answer
from .exact import _exact
from .fast import _fast, _systematic  # noqa: F401
from .result import WhatIfResult, _hdi, _prob_greater  # noqa: F401

ENGINES = ("auto", "fast", "exact")
MAX_HORIZON = 200  # years beyond the data; horizon 100000 once took 19.5 GB
MAX_CELLS = 2 * 10**8  # draws x units x years a what-if may hold (~1.6 GB per array)
MAX_DRAWS = 10**6  # exact engine: draws x chains
K_THRESHOLD = 0.7  # the usual PSIS limit: above it importance weights are unreliable

__all__ = [
    "ENGINES",
    "K_THRESHOLD",
    "Baseline",
    "FastUnavailable",
    "LatentDraws",
    "WhatIfResult",
    "forecast",
    "rebuild",
    "standardisation",
    "whatif",
]


# ---------------------------------------------------------------------------- the call


def whatif(
    result: CredibilityResult,
    scenario: Scenario | dict | str | Path | None = None,
    *,
    engine: str = "auto",
    horizon: int | None = None,
    hdi_prob: float = DEFAULT_PROB,
    seed: int | None = None,
    k_threshold: float = K_THRESHOLD,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    progress: bool = False,
    prob: float | None = None,
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
    hdi_prob : float
        Interval probability (highest-density intervals).  ``prob`` is its deprecated
        name.
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
    if prob is not None:
        warnings.warn("'prob' is deprecated: use 'hdi_prob'", DeprecationWarning, stacklevel=2)
        hdi_prob = prob
    if engine not in ENGINES:
        raise SpecError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    scenario = _as_scenario(scenario, horizon)
    # a result read from disk is lazy and every access would re-read the file: read the
    # posterior into memory once (its values are not changed)
    result.posterior.load()  # result.posterior: no ArviZ import on this path
    bound = bind(scenario, result.panel, result.spec, result.scales)
    _check_size(result, bound.horizon, draws, tune, chains)
    seed = result.spec.sampler.seed if seed is None else int(seed)
    baseline = _baseline(result, bound.horizon, seed)
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
                return answer.finish(result, bound, baseline, hdi_prob, seed, timings, start)
            reason = (
                f"the fast engine's Pareto k is {k:.2f} > {k_threshold} (its importance "
                "weights cannot be trusted), so the model was re-fitted"
            )
    t0 = time.perf_counter()
    answer = _exact(
        result, bound, baseline, draws=draws, tune=tune, chains=chains, progress=progress
    )
    timings["exact_s"] = time.perf_counter() - t0
    why = "exact engine requested" if engine == "exact" else reason
    answer.reason = f"{why}; {answer.reason}" if answer.reason else why
    return answer.finish(result, bound, baseline, hdi_prob, seed, timings, start)


_BASELINES_KEPT = 4  # per result: (horizon, seed) pairs an explorer session moves between


def _baseline(result: CredibilityResult, horizon: int, seed: int) -> Baseline:
    """The baseline on the extended grid, built once per (result, horizon, seed) and kept
    with the result's derived values: it depends on nothing else, and rebuilding it was
    half of each fast answer (0.6 of 1.1 s on ``medium``), what an explorer pays for every
    control change.  The engines never modify it in place."""
    kept = result._cache().setdefault("whatif_baselines", {})
    key = (int(horizon), int(seed))
    if key not in kept:
        while len(kept) >= _BASELINES_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = Baseline.build(result, horizon, seed)
    return kept[key]


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


def _check_size(result, horizon: int, draws, tune, chains) -> None:
    """Refuse, before allocating, a what-if too large to hold: a horizon beyond
    MAX_HORIZON years, draws x units x years beyond MAX_CELLS, exact-engine settings that
    are not positive integers or ask for more than MAX_DRAWS draws."""
    if horizon > MAX_HORIZON:
        raise SpecError(f"horizon must be at most {MAX_HORIZON} years, got {horizon}")
    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1
        ):
            raise SpecError(f"{name} must be a positive integer, got {value!r}")
    post = result.posterior
    n_draws = (chains or post.sizes["chain"]) * (draws or post.sizes["draw"])
    if draws is not None and n_draws > MAX_DRAWS:
        raise SpecError(f"draws x chains must be at most {MAX_DRAWS}, got {n_draws}")
    n_draws = max(n_draws, post.sizes["chain"] * post.sizes["draw"])
    cells = n_draws * len(result.panel.units) * (len(result.panel.years) + horizon)
    if cells > MAX_CELLS:
        raise SpecError(
            f"horizon {horizon}: {n_draws} draws x {len(result.panel.units)} units x "
            f"{len(result.panel.years) + horizon} years is {cells:.3g} values per array, "
            f"more than {MAX_CELLS:.0e}; use a shorter horizon or fewer draws"
        )


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
        f"fast engine {asked}: {pareto_k_text(answer.pareto_k)} {verdict} {k_threshold}, "
        f"effective sample size {answer.ess:.0f} of {n} draws"
    )
