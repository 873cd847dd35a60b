"""What the explorer's server holds and does, without any web framework: the result it
reads (read-only), the signals' control ranges, the validation of a scenario and the
what-if answers, computed by :func:`bayescred.whatif` and kept in a small memory cache.

Nothing here writes a file: the result is read once, answers live in memory, and
downloads are built as text.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..families import FAMILIES
from ..results import CredibilityResult
from ..scenario import Scenario, bind
from ..whatif import K_THRESHOLD, WhatIfResult, whatif

CACHE_SIZE = 2  # answers kept in memory; each holds ~3 draw arrays (medium: ~180 MB)


@dataclass(frozen=True)
class SignalControl:
    """What a signal's slider needs: its family, its observed range in the signal's own
    units, and whether its values are counts (integer steps)."""

    name: str
    family: str
    description: str
    low: float
    high: float
    integer: bool

    def bounds(self, mode: str) -> tuple[float, float, float]:
        """(min, max, step) of the slider for ``mode``: "by" adds to the value (±the
        observed range), "factor" multiplies it (0 to 3), "value" sets it (the observed
        range, widened by half)."""
        spread = max(self.high - self.low, 1e-9)
        if mode == "factor":
            return 0.0, 3.0, 0.05
        if mode == "by":
            lo, hi = -spread, spread
        else:
            lo, hi = self.low - spread / 2, self.high + spread / 2
            if self.low >= 0:  # a positive signal's slider stops at 0
                lo = max(lo, 0.0)
        step = 1.0 if self.integer else _nice_step(hi - lo)
        return _round_to(lo, step), _round_to(hi, step), step


def _nice_step(width: float) -> float:
    """A round step giving about 200 positions over ``width``."""
    raw = width / 200
    return float(10 ** np.floor(np.log10(raw))) if raw > 0 else 0.01


def _round_to(x: float, step: float) -> float:
    return float(np.round(np.round(x / step) * step, 10))


class Explorer:
    """The server side of ``bayescred serve``: one fitted result and its what-if answers.

    Parameters
    ----------
    result : CredibilityResult
        The fitted baseline; never modified.
    source : str
        Where it was read from (shown on the page).
    """

    def __init__(self, result: CredibilityResult, source: str = "result"):
        self.result = result
        self.source = source
        result.posterior.load()  # read the draws once: every answer needs them
        self._lock = threading.Lock()  # one computation at a time (the exact engine compiles)
        self._answers: OrderedDict[str, WhatIfResult] = OrderedDict()
        self._views: OrderedDict[tuple[str, str], WhatIfResult] = OrderedDict()

    @classmethod
    def open(cls, path: str | Path) -> Explorer:
        """Read the result at ``path`` (the same checks as every command's)."""
        return cls(CredibilityResult.load(path), str(path))

    # ------------------------------------------------------------------ what the page lists

    @property
    def panel(self):
        return self.result.panel

    @property
    def years(self) -> tuple[int, int]:
        return int(self.panel.years[0]), int(self.panel.years[-1])

    def units_by_alliance(self) -> dict[str, list[str]]:
        """Unit labels (``member/alliance``) grouped by alliance, both sorted."""
        units = self.panel.units
        labels = self.panel.unit_labels
        return {
            a: sorted(label for label, al in zip(labels, units.alliance) if al == a)
            for a in self.panel.alliances
        }

    def signal_controls(self) -> list[SignalControl]:
        """One control per signal, in the spec's order."""
        obs = self.panel.observations
        out = []
        for i, name in enumerate(self.panel.signals):
            signal = self.result.spec.signals[name]
            values = obs.value[obs.signal_idx == i].to_numpy(float)
            family = FAMILIES[signal.family]
            out.append(
                SignalControl(
                    name,
                    signal.family,
                    signal.description,
                    float(values.min()),
                    float(values.max()),
                    bool(family.integer),
                )
            )
        return out

    def last_value(self, unit: str, signal: str) -> float | None:
        """The unit's most recent observed value of ``signal`` (the start of a "set")."""
        obs = self.panel.observations
        u = self.panel.unit_labels.index(unit)
        mine = obs[(obs.unit_idx == u) & (obs.signal_idx == self.panel.signals.index(signal))]
        return None if mine.empty else float(mine.sort_values("year_idx").value.iloc[-1])

    def crises(self):
        """The result's crises (with ``kind`` when the data give one)."""
        return self.panel.crises

    def pillars(self):
        """The posterior's ``pillar`` draws (unit, year, dimension), or None when the model
        has one dimension."""
        post = self.result.posterior
        return post["pillar"] if "pillar" in post else None

    # ------------------------------------------------------------------ scenarios and answers

    def check(self, scenario: Scenario) -> Scenario:
        """``scenario`` if it binds to the result, else the binding's error (the messages
        of ``bayescred whatif``: unknown unit, year out of range, value outside a
        family's support)."""
        bind(scenario, self.panel, self.result.spec, self.result.scales)
        return scenario

    def quick(self, scenario: Scenario) -> tuple[WhatIfResult | None, str]:
        """The fast engine's answer when it can be trusted (what ``engine="auto"`` would
        return), else ``(None, why not)``: then :meth:`exact` answers."""
        key = _key(scenario, "auto")
        if key in self._answers:
            return self._remember(key), ""
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the high-k warning: we fall back instead
            try:
                answer = whatif(self.result, scenario, engine="fast")
            except SpecError as exc:  # the scenario bound (checked first): fast cannot answer
                return None, str(exc)
        k = answer.pareto_k
        if k is not None and k > K_THRESHOLD:
            return None, (
                f"the fast engine's Pareto k is {k:.2f} > {K_THRESHOLD}: its importance "
                "weights cannot be trusted"
            )
        self._answers[key] = answer
        return self._remember(key), ""

    def exact(self, scenario: Scenario) -> WhatIfResult:
        """``bc.whatif(result, scenario)`` with its default engine choice (here: the exact
        engine, since :meth:`quick` found the fast one untrustworthy)."""
        key = _key(scenario, "auto")
        if key not in self._answers:
            with self._lock:
                self._answers[key] = whatif(self.result, scenario)
        return self._remember(key)

    def answer_for(self, key: str) -> WhatIfResult | None:
        """A cached answer by its key (None once it has left the cache)."""
        return self._remember(key) if key in self._answers else None

    def view(self, key: str, unit: str) -> WhatIfResult | None:
        """The cached answer ``key`` for one commitment (see :func:`for_unit`)."""
        if (key, unit) not in self._views:
            answer = self.answer_for(key)
            if answer is None:
                return None
            self._views[(key, unit)] = for_unit(answer, unit)
        self._views.move_to_end((key, unit))
        while len(self._views) > 4 * CACHE_SIZE:
            self._views.popitem(last=False)
        return self._views[(key, unit)]

    def key(self, scenario: Scenario) -> str:
        return _key(scenario, "auto")

    def _remember(self, key: str) -> WhatIfResult:
        self._answers.move_to_end(key)
        while len(self._answers) > CACHE_SIZE:
            self._answers.popitem(last=False)
        return self._answers[key]


def for_unit(answer: WhatIfResult, unit: str) -> WhatIfResult:
    """``answer`` with its tables restricted to ``unit``'s cells: the same draws and the same
    code (:meth:`WhatIfResult.contrast`, ``trajectories``, ``text``), the same rows as the
    full tables (intervals are per cell; the pairing draws depend on the draws alone), but
    computed for one commitment's years instead of the whole panel's (30x less on 30)."""
    keep = answer.reported & (answer.reported.unit == unit)
    return replace(answer, reported=keep, _tables={})


def _key(scenario: Scenario, engine: str) -> str:
    """The same scenario (as TOML) and engine choice give the same answer (seeded)."""
    return hashlib.sha1(f"{engine}\n{scenario.to_toml()}".encode()).hexdigest()[:16]
