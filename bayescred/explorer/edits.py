"""The page's edits of a scenario, as pure functions from one :class:`Scenario` to the next.

Every edit goes through the scenario's own constructors (:meth:`Scenario.set`,
:meth:`Scenario.shift`, :meth:`Scenario.crisis`), so a value the TOML format refuses is
refused here with the same message.  The page keeps the scenario in the browser as the
dict of the TOML file (:meth:`Scenario.to_dict`) plus its ``source`` name.

A signal's controls stand for one entry per (unit, signal): moving them replaces every
``[[set]]`` and ``[[shift]]`` entry of that unit and signal by one entry (none when the
controls are neutral: add 0, multiply by 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..panel import UNIT_SEP
from ..scenario import Scenario, scenario_from_text

MODES = ("by", "factor", "value")  # add to the value, multiply it, set it
MODE_LABELS = {"by": "add", "factor": "multiply", "value": "set to"}
NEUTRAL = {"by": 0.0, "factor": 1.0}


@dataclass(frozen=True)
class SignalEdit:
    """What a signal's controls say: mode, value (signal units, or a factor), years."""

    mode: str
    value: float | None
    first: int
    last: int

    @property
    def neutral(self) -> bool:
        return self.value is None or NEUTRAL.get(self.mode) == self.value


def to_state(scenario: Scenario) -> dict:
    """The scenario as the page stores it (JSON-able)."""
    return {"source": scenario.source, "scenario": scenario.to_dict()}


def from_state(state: dict | None) -> Scenario:
    """The scenario the page stores (an empty one at first)."""
    if not state:
        return Scenario(name="explorer")
    return Scenario.from_dict(state["scenario"], source=state.get("source", "scenario"))


def from_upload(text: str, filename: str) -> Scenario:
    """A scenario read from an uploaded TOML file (errors name the file)."""
    return scenario_from_text(text, filename or "uploaded scenario")


def with_signal(scenario: Scenario, unit: str, signal: str, edit: SignalEdit) -> Scenario:
    """``scenario`` with the unit's ``signal`` entries replaced by ``edit``."""
    member, alliance = unit.split(UNIT_SEP, 1)
    mine = _matches(member, alliance, signal)
    kept = replace(
        scenario,
        sets=tuple(e for e in scenario.sets if not mine(e)),
        shifts=tuple(e for e in scenario.shifts if not mine(e)),
    )
    if edit.neutral:
        return kept
    years = f"{edit.first}-{edit.last}"
    if edit.mode == "value":
        return kept.set(member, alliance, signal, years, edit.value)
    return kept.shift(member, alliance, signal, years, **{edit.mode: edit.value})


def signal_entry(scenario: Scenario, unit: str, signal: str) -> SignalEdit | None:
    """The controls' state for the unit's ``signal``: its first entry, else None."""
    member, alliance = unit.split(UNIT_SEP, 1)
    mine = _matches(member, alliance, signal)
    for entry in scenario.sets:
        if mine(entry):
            return SignalEdit("value", entry.value, min(entry.years), max(entry.years))
    for entry in scenario.shifts:
        if mine(entry):
            mode = "by" if entry.by is not None else "factor"
            return SignalEdit(mode, getattr(entry, mode), min(entry.years), max(entry.years))
    return None


def with_crisis(scenario: Scenario, unit: str, year, outcome: str) -> Scenario:
    """``scenario`` with one more hypothetical crisis on ``unit``."""
    member, alliance = unit.split(UNIT_SEP, 1)
    return scenario.crisis(member, alliance, year, outcome)


def without_entry(scenario: Scenario, kind: str, index: int) -> Scenario:
    """``scenario`` without its ``kind`` ("set", "shift", "crisis") entry ``index``."""
    field = {"set": "sets", "shift": "shifts", "crisis": "crises"}[kind]
    entries = getattr(scenario, field)
    return replace(scenario, **{field: entries[:index] + entries[index + 1 :]})


def with_horizon(scenario: Scenario, horizon) -> Scenario:
    """``scenario`` with another horizon (0: none); checked as the TOML's ``horizon``."""
    raw = scenario.to_dict()
    raw.pop("horizon", None)
    if horizon:
        raw["horizon"] = horizon
    return Scenario.from_dict(raw, source=scenario.source)


def describe(scenario: Scenario) -> list[tuple[str, int, str]]:
    """One line per entry: (kind, index within its kind, text)."""
    out = []
    for i, e in enumerate(scenario.sets):
        text = f"{e.member}{UNIT_SEP}{e.alliance} {e.signal} = {e.value:g} in {_span(e)}"
        out.append(("set", i, text))
    for i, e in enumerate(scenario.shifts):
        how = f"+ {e.by:g}" if e.by is not None else f"× {e.factor:g}"
        out.append(("shift", i, f"{e.member}{UNIT_SEP}{e.alliance} {e.signal} {how} in {_span(e)}"))
    for i, e in enumerate(scenario.crises):
        out.append(("crisis", i, f"crisis: {e.member}/{e.alliance} {e.outcome} in {e.year}"))
    return out


def _span(entry) -> str:
    first, last = min(entry.years), max(entry.years)
    if len(entry.years) == last - first + 1:
        return str(first) if first == last else f"{first}-{last}"
    return ", ".join(map(str, entry.years))


def _matches(member: str, alliance: str, signal: str):
    return lambda e: (e.member, e.alliance, e.signal) == (member, alliance, signal)
