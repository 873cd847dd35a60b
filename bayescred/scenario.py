"""What-if scenarios: the format (TOML or Python), parsing, and validation against a result.

A scenario changes signals and/or adds hypothetical crises, in past years or in future
years up to its ``horizon`` (years beyond the data)::

    name = "Germany spends more; the patron reneges in 2014"
    horizon = 3                      # optional, a positive integer

    [[set]]                          # replace a signal's value
    member = "DEU"
    alliance = "NATO"
    signal = "spending"
    years = "2013-2015"              # an integer, a list of integers or "first-last"
    value = 2.5

    [[shift]]                        # add to (`by`) or multiply (`factor`) a signal's value
    member = "POL"
    alliance = "NATO"
    signal = "troops"
    years = [2013, 2014]
    factor = 2

    [[crisis]]                       # a hypothetical crisis and its outcome
    member = "USA"
    alliance = "NATO"
    year = 2014
    outcome = "violated"             # honored | violated
    kind = "war"                     # optional: one of the fit's crisis kinds (default war)
    covariates = { gap = 1.5 }       # optional: [follow_through] covariates (default: mean)

The same in Python::

    Scenario("more spending", horizon=3).set("DEU", "NATO", "spending", "2013-2015", 2.5)

Two layers, as for model specs: :class:`Scenario` checks what it can alone (keys, types,
the horizon); :func:`bind` checks it against a fitted result (members, alliances,
signals, years, each signal family's support) and resolves it into cell changes.  Every
error names the scenario (file) and the entry, e.g. ``scenario.toml: [[shift]] entry 2:
unknown member 'Atlantis'; members are ...``.

Rules where a scenario could mean two things:

* ``[[set]]`` entries apply first, then ``[[shift]]`` entries, each in file order; a shift
  of a cell that a set changed shifts the set value.
* A shift of a year with no observation (a missing year, or a future one) shifts the
  unit's most recent value of that signal before that year (carried forward), as it
  stood before the entry: ``factor = 2`` from 2013 on doubles the last observed value.
* A shifted count (a family with integer values: binomial, poisson, ...) is rounded to the nearest
  integer; a ``[[set]]`` value must already be valid for the signal's family.
* Binomial signals need trials: a set may give ``trials``; otherwise the cell's own, or
  the most recent, trials are used.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, SpecError
from .families import FAMILIES, INTEGER_FAMILIES
from .hypothetical import crisis_table
from .panel import UNIT_SEP, Panel
from .spec import parse_toml, read_toml

SCENARIO_KEYS = ("name", "description", "horizon", "set", "shift", "crisis")
SET_KEYS = ("member", "alliance", "signal", "years", "value", "trials")
SHIFT_KEYS = ("member", "alliance", "signal", "years", "by", "factor")
CRISIS_KEYS = ("member", "alliance", "year", "outcome")
CRISIS_OPTIONAL = ("kind", "covariates")
SCENARIO_OUTCOMES = ("honored", "violated")
_RANGE = re.compile(r"^\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?$")
_SHOW = 40  # how many valid names an error message lists


# ---------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class SetEntry:
    """Replace ``signal`` of unit (member, alliance) in ``years`` by ``value``."""

    member: str
    alliance: str
    signal: str
    years: tuple[int, ...]
    value: float
    trials: float | None = None


@dataclass(frozen=True)
class ShiftEntry:
    """Add ``by`` to, or multiply by ``factor``, ``signal`` of a unit in ``years``."""

    member: str
    alliance: str
    signal: str
    years: tuple[int, ...]
    by: float | None = None
    factor: float | None = None


@dataclass(frozen=True)
class CrisisEntry:
    """A hypothetical crisis on a unit in ``year`` with ``outcome`` honored or violated, of
    ``kind`` (default ``war``), with crisis covariates (name, value) on the data's own
    scale; a covariate left out takes its mean over the fitted crises."""

    member: str
    alliance: str
    year: int
    outcome: str
    kind: str = "war"
    covariates: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A validated what-if scenario (see the module docstring for the format).

    Build one with :func:`load_scenario` (TOML), :meth:`from_dict`, or in Python with the
    chainable :meth:`set`, :meth:`shift` and :meth:`crisis`, each returning a new scenario.
    With no entries it is the baseline itself; with a ``horizon`` it is a forecast.

    Examples
    --------
    >>> sc = Scenario("reneging", horizon=2).crisis("M00", "A0", 2001, "violated")
    >>> sc.crises[0].outcome, sc.horizon
    ('violated', 2)
    """

    name: str = "scenario"
    horizon: int = 0
    sets: tuple[SetEntry, ...] = ()
    shifts: tuple[ShiftEntry, ...] = ()
    crises: tuple[CrisisEntry, ...] = ()
    description: str = ""
    source: str = field(default="scenario", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"{self.source}: 'name' must be a string, got {self.name!r}")
        if (
            isinstance(self.horizon, bool)
            or not isinstance(self.horizon, int | np.integer)
            or self.horizon < 0
        ):
            raise SpecError(
                f"{self.source}: 'horizon' must be a positive integer (years beyond the "
                f"data), got {self.horizon!r}"
            )

    # ------------------------------------------------------------------ building

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "scenario") -> Scenario:
        """Validate a scenario given as a dict of the TOML file's shape."""
        if not isinstance(raw, dict):
            raise SpecError(f"{source}: expected a table of keys, got {type(raw).__name__}")
        _reject_unknown(raw, SCENARIO_KEYS, source)
        horizon = raw.get("horizon", 0)
        if "horizon" in raw and (
            isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1
        ):
            raise SpecError(
                f"{source}: 'horizon' must be a positive integer (years beyond the data), "
                f"got {horizon!r}"
            )
        name = raw.get("name", Path(source).stem if source != "scenario" else "scenario")
        if not isinstance(name, str):
            raise SpecError(f"{source}: 'name' must be a string, got {name!r}")
        tables = {kind: _entries(raw, kind, source) for kind in ("set", "shift", "crisis")}
        return cls(
            name=name,
            horizon=int(horizon),
            sets=tuple(
                _set_entry(t, f"{source}: [[set]] entry {i}")
                for i, t in enumerate(tables["set"], 1)
            ),
            shifts=tuple(
                _shift_entry(t, f"{source}: [[shift]] entry {i}")
                for i, t in enumerate(tables["shift"], 1)
            ),
            crises=tuple(
                _crisis_entry(t, f"{source}: [[crisis]] entry {i}")
                for i, t in enumerate(tables["crisis"], 1)
            ),
            description=str(raw.get("description", "")),
            source=source,
        )

    def set(self, member: str, alliance: str, signal: str, years, value, trials=None):
        """A copy with one more ``[[set]]`` entry."""
        entry = {
            "member": member,
            "alliance": alliance,
            "signal": signal,
            "years": years,
            "value": value,
        }
        if trials is not None:
            entry["trials"] = trials
        where = f"{self.source}: [[set]] entry {len(self.sets) + 1}"
        return replace(self, sets=(*self.sets, _set_entry(entry, where)))

    def shift(self, member: str, alliance: str, signal: str, years, *, by=None, factor=None):
        """A copy with one more ``[[shift]]`` entry (give exactly one of ``by``, ``factor``)."""
        entry = {"member": member, "alliance": alliance, "signal": signal, "years": years}
        entry |= {k: v for k, v in (("by", by), ("factor", factor)) if v is not None}
        where = f"{self.source}: [[shift]] entry {len(self.shifts) + 1}"
        return replace(self, shifts=(*self.shifts, _shift_entry(entry, where)))

    def crisis(self, member: str, alliance: str, year: int, outcome: str, kind: str = "war",
               covariates: dict[str, float] | None = None):
        """A copy with one more hypothetical ``[[crisis]]`` (of ``kind``, with crisis
        ``covariates`` on the data's scale; those left out take their mean)."""
        entry = {"member": member, "alliance": alliance, "year": year, "outcome": outcome,
                 "kind": kind, "covariates": dict(covariates or {})}
        where = f"{self.source}: [[crisis]] entry {len(self.crises) + 1}"
        return replace(self, crises=(*self.crises, _crisis_entry(entry, where)))

    def with_horizon(self, horizon: int) -> Scenario:
        """A copy with another horizon."""
        return replace(self, horizon=horizon)

    # ------------------------------------------------------------------ reading back

    @property
    def is_empty(self) -> bool:
        """No entries: the scenario is the baseline (with a horizon: a forecast)."""
        return not (self.sets or self.shifts or self.crises)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict that :meth:`from_dict` reads back."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.horizon:
            out["horizon"] = self.horizon
        for kind, entries in (("set", self.sets), ("shift", self.shifts), ("crisis", self.crises)):
            if entries:
                out[kind] = [_entry_dict(e) for e in entries]
        return out

    def to_toml(self) -> str:
        """The scenario as TOML text (what :func:`load_scenario` reads)."""
        d = self.to_dict()
        lines = [f"name = {_toml(d['name'])}"]
        for key in ("description", "horizon"):
            if key in d:
                lines.append(f"{key} = {_toml(d[key])}")
        for kind in ("set", "shift", "crisis"):
            for entry in d.get(kind, []):
                lines += ["", f"[[{kind}]]"] + [f"{k} = {_toml(v)}" for k, v in entry.items()]
        return "\n".join(lines) + "\n"


def scenario_from_text(text: str, source: str = "scenario") -> Scenario:
    """Read and validate a scenario given as TOML text (``source``: the name errors give,
    e.g. an uploaded file's name)."""
    return Scenario.from_dict(parse_toml(text, source), source=source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Examples
    --------
    >>> sc = load_scenario("scenarios/example.toml")          # doctest: +SKIP
    """
    path = Path(path)
    return Scenario.from_dict(read_toml(path, "scenario"), source=str(path))


# ---------------------------------------------------------------------------- parsing


def _entry_dict(entry) -> dict[str, Any]:
    """An entry as the plain dict its table holds (a crisis's covariates as a table, left
    out when empty)."""
    out = {}
    for k, v in entry.__dict__.items():
        if k == "covariates":
            if v:
                out[k] = dict(v)
        elif v is not None:
            out[k] = list(v) if isinstance(v, tuple) else v
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reject_unknown(table: dict, valid: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise SpecError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys are: "
            f"{', '.join(valid)}"
        )


def _entries(raw: dict, kind: str, source: str) -> list[dict]:
    tables = raw.get(kind, [])
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SpecError(
            f"{source}: '{kind}' must be a list of tables ([[{kind}]] in TOML), "
            f"got {type(tables).__name__}"
        )
    return tables


def _require(table: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in table]
    if missing:
        raise SpecError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")


def _string(table: dict, key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecError(f"{where}: {key!r} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SpecError(f"{where}: {key!r} must be a finite number, got {value!r}")
    return float(value)


def _year(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SpecError(f"{where}: {key!r} must be an integer year, got {value!r}")
    return int(value)


def _years(value: Any, where: str) -> tuple[int, ...]:
    """An integer, a list of integers, a range, or a string "first-last" (inclusive)."""
    if isinstance(value, str):
        match = _RANGE.match(value)
        if not match:
            raise SpecError(
                f"{where}: 'years' must be an integer, a list of integers or a string "
                f"'first-last', got {value!r}"
            )
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if last < first:
            raise SpecError(f"{where}: 'years' range {value!r} ends before it starts")
        return tuple(range(first, last + 1))
    if isinstance(value, range):
        value = list(value)
    if isinstance(value, list | tuple | np.ndarray):
        if len(value) == 0:
            raise SpecError(f"{where}: 'years' is empty")
        return tuple(sorted({_year(v, "years", where) for v in value}))
    return (_year(value, "years", where),)


def _unit_keys(table: dict, where: str) -> dict:
    return {k: _string(table, k, where) for k in ("member", "alliance")}


def _set_entry(table: dict, where: str) -> SetEntry:
    _reject_unknown(table, SET_KEYS, where)
    _require(table, ("member", "alliance", "signal", "years", "value"), where)
    trials = table.get("trials")
    if trials is not None:
        trials = _number(trials, "trials", where)
        if trials < 1 or trials != round(trials):
            raise SpecError(f"{where}: 'trials' must be a positive integer, got {trials:g}")
    return SetEntry(
        **_unit_keys(table, where),
        signal=_string(table, "signal", where),
        years=_years(table["years"], where),
        value=_number(table["value"], "value", where),
        trials=trials,
    )


def _shift_entry(table: dict, where: str) -> ShiftEntry:
    _reject_unknown(table, SHIFT_KEYS, where)
    _require(table, ("member", "alliance", "signal", "years"), where)
    given = [k for k in ("by", "factor") if table.get(k) is not None]
    if len(given) != 1:
        raise SpecError(
            f"{where}: give exactly one of 'by' (added) or 'factor' (multiplied), "
            f"got {' and '.join(given) or 'neither'}"
        )
    key = given[0]
    return ShiftEntry(
        **_unit_keys(table, where),
        signal=_string(table, "signal", where),
        years=_years(table["years"], where),
        **{key: _number(table[key], key, where)},
    )


def _crisis_entry(table: dict, where: str) -> CrisisEntry:
    _reject_unknown(table, (*CRISIS_KEYS, *CRISIS_OPTIONAL), where)
    _require(table, CRISIS_KEYS, where)
    kind = _string(table, "kind", where) if "kind" in table else "war"
    covariates = table.get("covariates", {})
    if not isinstance(covariates, dict):
        raise SpecError(
            f"{where}: 'covariates' must be a table of crisis covariates, e.g. "
            f"{{ gap = 1.5 }}, got {covariates!r}"
        )
    values = tuple(
        (str(k), _number(v, f"covariates.{k}", where)) for k, v in covariates.items()
    )
    outcome = table["outcome"]
    if not isinstance(outcome, str) or outcome.strip().lower() not in SCENARIO_OUTCOMES:
        raise SpecError(
            f"{where}: 'outcome' must be one of {', '.join(SCENARIO_OUTCOMES)}, got {outcome!r}"
        )
    return CrisisEntry(
        **_unit_keys(table, where),
        year=_year(table["year"], "year", where),
        outcome=outcome.strip().lower(),
        kind=kind,
        covariates=values,
    )


# ---------------------------------------------------------------------------- binding


@dataclass(frozen=True)
class BoundScenario:
    """A scenario resolved against a fitted panel: the cells it changes and the crises it
    adds, on the year grid extended by the horizon.

    Attributes
    ----------
    scenario : Scenario
    panel : Panel
        The baseline (fitted) panel.
    years : ndarray of int
        The data years followed by the horizon's years.
    changes : DataFrame
        One row per changed observation cell: ``member, alliance, year, signal, unit_idx,
        year_idx, signal_idx, old_value, old_trials, value, trials`` (``old_value`` is NaN
        where the cell had no observation).
    crises : DataFrame
        The hypothetical crises, with the panel's index columns.
    """

    scenario: Scenario
    panel: Panel
    years: np.ndarray
    changes: pd.DataFrame
    crises: pd.DataFrame

    @property
    def horizon(self) -> int:
        return len(self.years) - len(self.panel.years)

    @property
    def is_empty(self) -> bool:
        return self.changes.empty and self.crises.empty

    def observations(self) -> pd.DataFrame:
        """The scenario's observation table (the baseline's with the changes applied)."""
        obs = self.panel.observations.copy()
        if self.changes.empty:
            return obs
        key = ["unit_idx", "year_idx", "signal_idx"]
        ch = self.changes
        pos = pd.MultiIndex.from_frame(obs[key]).get_indexer(pd.MultiIndex.from_frame(ch[key]))
        old = pos >= 0
        obs.loc[obs.index[pos[old]], "value"] = ch.value.to_numpy()[old]
        if "trials" in obs:
            obs.loc[obs.index[pos[old]], "trials"] = ch.trials.to_numpy()[old]
        cols = [c for c in obs.columns if c in ch.columns]
        new = ch.loc[~old, cols]
        obs = pd.concat([obs, new], ignore_index=True) if len(new) else obs
        obs[key] = obs[key].astype(int)
        return obs

    def all_crises(self) -> pd.DataFrame:
        """Baseline crises followed by the hypothetical ones."""
        if self.crises.empty:
            return self.panel.crises
        if self.panel.crises.empty:
            return self.crises.reset_index(drop=True)
        return pd.concat([self.panel.crises, self.crises], ignore_index=True)

    def scenario_panel(self) -> ScenarioPanel:
        """The scenario's panel on the extended year grid (what the exact engine fits),
        standardised over the baseline's active unit-years (see :class:`ScenarioPanel`)."""
        base = self.panel.active_mask()
        scale_cells = np.pad(base, ((0, 0), (0, self.horizon)), constant_values=False)
        return ScenarioPanel(
            self.observations(),
            self.all_crises(),
            self.panel.units,
            self.years,
            list(self.panel.signals),
            list(self.panel.notes),
            dict(self.panel.crisis_scaling),  # crisis covariates on the fitted data's scale
            scale_cells=scale_cells,
        )

    def evidence_mask(self) -> np.ndarray:
        """(unit, year) cells between each unit's first and last evidence in the scenario
        (the baseline's spans, stretched by the scenario's entries), on the extended grid."""
        base = self.panel.active_mask()
        t = np.arange(len(self.years))
        has = base.any(axis=1)
        lo = np.where(has, base.argmax(axis=1), len(self.years))
        hi = np.where(has, base.shape[1] - 1 - base[:, ::-1].argmax(axis=1), -1)
        for frame in (self.changes, self.crises):
            if len(frame):
                u = frame.unit_idx.to_numpy(int)
                y = frame.year_idx.to_numpy(int)
                np.minimum.at(lo, u, y)
                np.maximum.at(hi, u, y)
        return (t[None, :] >= lo[:, None]) & (t[None, :] <= hi[:, None])


@dataclass
class ScenarioPanel(Panel):
    """A scenario's panel.  Its credibility is standardised over the *baseline's* active
    unit-years (``scale_cells``), not over its own evidence spans: a hypothetical entry in
    2027 is evidence about 2027 but does not redefine what credibility 0 and 1 mean, so
    scenario and baseline stay on one scale (and hypothetical future cells never enter
    the standardisation that every observed row depends on)."""

    scale_cells: np.ndarray | None = None

    def active_mask(self) -> np.ndarray:
        return self.scale_cells

    def evidence_mask(self) -> np.ndarray:
        return Panel.active_mask(self)


def bind(scenario: Scenario, panel: Panel, spec, scales) -> BoundScenario:
    """Check ``scenario`` against a fitted panel and resolve it into cell changes.

    Raises
    ------
    DataError
        Naming the scenario and the entry: an unknown member, alliance, unit or signal, a
        year before the data or beyond the horizon, or a value outside the signal
        family's support.
    """
    years = np.arange(panel.years[0], panel.years[-1] + scenario.horizon + 1)
    units = {label: i for i, label in enumerate(panel.unit_labels)}
    context = _Context(scenario, panel, spec, scales, years, units)
    cells = context.initial_cells()
    for i, entry in enumerate(scenario.sets, 1):
        context.apply_set(entry, f"{scenario.source}: [[set]] entry {i}", cells)
    for i, entry in enumerate(scenario.shifts, 1):
        context.apply_shift(entry, f"{scenario.source}: [[shift]] entry {i}", cells)
    crisis_df = crisis_table(scenario, context, spec.follow_through.covariates)
    return BoundScenario(scenario, panel, years, context.changes(cells), crisis_df)


class _Context:
    """Lookups and checks shared by the entries of one scenario."""

    def __init__(self, scenario, panel: Panel, spec, scales, years, units) -> None:
        self.scenario, self.panel, self.spec, self.scales = scenario, panel, spec, scales
        self.years, self.units = years, units
        self.has_trials = "trials" in panel.observations

    # unit, signal, years ------------------------------------------------------------

    def unit(self, entry, where: str) -> int:
        panel = self.panel
        if entry.member not in panel.members:
            raise DataError(
                f"{where}: unknown member {entry.member!r}; members are {_names(panel.members)}"
            )
        if entry.alliance not in panel.alliances:
            raise DataError(
                f"{where}: unknown alliance {entry.alliance!r}; alliances are "
                f"{_names(panel.alliances)}"
            )
        label = f"{entry.member}{UNIT_SEP}{entry.alliance}"
        if label not in self.units:
            held = panel.units.alliance[panel.units.member == entry.member].tolist()
            raise DataError(
                f"{where}: {entry.member} has no commitment in {entry.alliance} (no unit "
                f"{label}); {entry.member}'s alliances are {_names(held)}"
            )
        return self.units[label]

    def signal(self, entry, where: str) -> str:
        if entry.signal not in self.panel.signals:
            raise DataError(
                f"{where}: unknown signal {entry.signal!r}; signals are "
                f"{_names(self.panel.signals)}"
            )
        if entry.signal in self.spec.member_signals:  # one row per member-year, not per unit
            raise DataError(
                f"{where}: signal {entry.signal!r} is member-level (level = \"member\"); "
                "scenarios do not yet change member-level signals, only unit-level ones "
                "and crises"
            )
        return entry.signal

    def year_idx(self, year: int, where: str) -> int:
        first, last = int(self.panel.years[0]), int(self.panel.years[-1])
        if year < first:
            raise DataError(
                f"{where}: year {year} is before the data ({first}-{last}); a scenario "
                "changes the data's years or the years after them"
            )
        if year > int(self.years[-1]):
            horizon = self.scenario.horizon
            reach = f"horizon {horizon} reaches {last + horizon}" if horizon else "no horizon"
            raise DataError(
                f"{where}: year {year} is beyond the data ({first}-{last}) and the scenario's "
                f"{reach}; set horizon = {year - last} or more"
            )
        return year - first

    # cells ---------------------------------------------------------------------------

    def initial_cells(self) -> dict:
        """(unit_idx, signal) -> {year_idx: (value, trials)}, filled in lazily (only the
        series that entries touch are read from the panel)."""
        obs = self.panel.observations
        self._obs = {
            "unit": obs.unit_idx.to_numpy(),
            "signal": obs.signal_idx.to_numpy(),
            "year": obs.year_idx.to_numpy(),
            "value": obs.value.to_numpy(float),
            "trials": obs.trials.to_numpy(float) if self.has_trials else None,
        }
        self.baseline: dict = {}
        return {}

    def series(self, cells: dict, u: int, signal: str) -> dict:
        """The (unit, signal) series as changed so far, read from the panel on first use."""
        if (u, signal) not in cells:
            o = self._obs
            rows = np.flatnonzero(
                (o["unit"] == u) & (o["signal"] == self.panel.signals.index(signal))
            )
            trials = o["trials"][rows] if o["trials"] is not None else np.full(len(rows), np.nan)
            series = {
                int(t): (float(v), float(n))
                for t, v, n in zip(o["year"][rows], o["value"][rows], trials)
            }
            self.baseline[(u, signal)] = dict(series)
            cells[(u, signal)] = series
        return cells[(u, signal)]

    def apply_set(self, entry: SetEntry, where: str, cells: dict) -> None:
        u, signal = self.unit(entry, where), self.signal(entry, where)
        series = self.series(cells, u, signal)
        updates = {}
        for year in entry.years:
            t = self.year_idx(year, where)
            trials = entry.trials
            if trials is None:  # the cell's own trials, else the most recent ones
                before = _carried(series, t)
                trials = before[1] if before else np.nan
            updates[t] = (entry.value, trials)
        self.check_support(signal, updates, where, f"value {entry.value:g}")
        series.update(updates)

    def apply_shift(self, entry: ShiftEntry, where: str, cells: dict) -> None:
        u, signal = self.unit(entry, where), self.signal(entry, where)
        series = self.series(cells, u, signal)
        updates = {}
        for year in entry.years:
            t = self.year_idx(year, where)
            base = _carried(series, t)
            if base is None:
                raise DataError(
                    f"{where}: {entry.member}{UNIT_SEP}{entry.alliance} has no value of "
                    f"{signal!r} in or before {year} to shift; use [[set]] instead"
                )
            value = base[0] + entry.by if entry.by is not None else base[0] * entry.factor
            if self.spec.signals[signal].family in INTEGER_FAMILIES:
                value = float(np.round(value))  # a shifted count stays a count
            updates[t] = (value, base[1])
        how = f"by {entry.by:g}" if entry.by is not None else f"by a factor {entry.factor:g}"
        self.check_support(signal, updates, where, f"shifting {signal!r} {how}")
        series.update(updates)

    def check_support(self, signal: str, updates: dict, where: str, what: str) -> None:
        family = FAMILIES[self.spec.signals[signal].family]
        values = np.array([v for v, _ in updates.values()])
        trials = np.array([n for _, n in updates.values()])
        if family.needs_trials and np.isnan(trials).any():
            raise DataError(
                f"{where}: signal {signal!r} is {family.name} and this unit has no trials to "
                "carry forward; give 'trials'"
            )
        bad = family.bad_values(values, trials if family.needs_trials else None)
        if not family.intercept:  # ordered categories: at most the fitted ones
            top = self.scales[signal].categories - 1
            bad = bad | (values > top)
        if bad.any():
            year = int(self.panel.years[0]) + list(updates)[int(np.argmax(bad))]
            value = values[bad][0]
            extra = (
                f" up to {self.scales[signal].categories - 1} (the categories fitted)"
                if not family.intercept
                else " (at most its trials)"
                if family.needs_trials
                else ""
            )
            raise DataError(
                f"{where}: {what} gives {value:g} in {year}, outside the support of signal "
                f"{signal!r} ({family.name}): it must be {family.expected}{extra}"
            )

    def changes(self, cells: dict) -> pd.DataFrame:
        rows = []
        units = self.panel.units
        for (u, signal), series in cells.items():
            before = self.baseline.get((u, signal), {})
            for t, (value, trials) in series.items():
                old = before.get(t)
                if (
                    old is not None
                    and old[0] == value
                    and (old[1] == trials or (np.isnan(old[1]) and np.isnan(trials)))
                ):
                    continue
                rows.append(
                    (
                        units.member[u],
                        units.alliance[u],
                        int(self.years[t]),
                        signal,
                        u,
                        t,
                        self.panel.signals.index(signal),
                        np.nan if old is None else old[0],
                        np.nan if old is None else old[1],
                        value,
                        trials,
                    )
                )
        cols = [
            "member",
            "alliance",
            "year",
            "signal",
            "unit_idx",
            "year_idx",
            "signal_idx",
            "old_value",
            "old_trials",
            "value",
            "trials",
        ]
        out = pd.DataFrame(rows, columns=cols)
        return out.sort_values(["unit_idx", "signal_idx", "year_idx"]).reset_index(drop=True)


def _carried(series: dict, t: int):
    """The cell's own value, else the most recent one before year index ``t``."""
    if t in series:
        return series[t]
    earlier = [s for s in series if s < t]
    return series[max(earlier)] if earlier else None


def _names(names) -> str:
    names = list(names)
    shown = ", ".join(names[:_SHOW])
    return shown + (f" and {len(names) - _SHOW} more" if len(names) > _SHOW else "")
