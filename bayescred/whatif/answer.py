"""What both engines start from and hand back: the baseline posterior on the year grid
extended by the horizon (:class:`Baseline`), an engine's answer (:class:`_Answer`), and the
hypothetical crises' reputation shocks (:func:`hypothetical_shock`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..design import crisis_counts, crisis_kinds
from ..errors import SpecError
from ..numpy_model import LatentDraws, RebuildError, rebuild, stack_draws
from ..results import CredibilityResult
from ..scenario import BoundScenario
from .result import WhatIfResult


class FastUnavailable(Exception):
    """The fast engine cannot answer this scenario (the reason is the message)."""


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
        stored = stack_draws(post, "credibility")
        active = result.panel.active_mask()
        try:
            latent, mean, sd = rebuild(post, result.panel, result.spec, active, horizon, seed)
        except (RebuildError, KeyError, ValueError) as exc:
            if horizon:
                raise SpecError(f"cannot forecast from this result: {exc}") from None
            return cls(None, stored, None, None, active, str(exc))
        future = latent.raw[:, :, stored.shape[2] :]
        future = (future - mean[:, None, None]) / sd[:, None, None]
        cred = np.concatenate([stored, future], axis=2)
        return cls(latent, cred, mean, sd, _pad_years(active, horizon))


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
    # [dimensions] models: each pillar's draws (baseline (Sb, U, T', K), NaN beyond the
    # data; scenario (Ss, U, T', K)) and the pillars' names
    pillars: tuple | None = None

    def finish(self, result, bound, baseline, hdi_prob, seed, timings, start) -> WhatIfResult:
        timings = {**timings, **self.timings, "total_s": time.perf_counter() - start}
        return WhatIfResult.assemble(self, result, bound, baseline, hdi_prob, seed, timings)


def hypothetical_shock(latent: LatentDraws, bound: BoundScenario) -> np.ndarray | None:
    """Raw-scale change of each member's reputation (S, M, T') from the hypothetical
    crises (None without crises, or when the model has no reputation)."""
    if bound.crises.empty or latent.rep is None:
        return None
    kinds = crisis_kinds(bound.panel.crises)  # the fit's kinds (a scenario adds none)
    honored, violated = crisis_counts(
        bound.crises, kinds, latent.rep.shape[1], len(bound.years)
    )
    return latent.shock(honored, violated)
