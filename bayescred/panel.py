"""The data contract: tidy tables in, a validated panel with coordinates and index arrays out.

Inputs (CSV paths or DataFrames):

- observations: ``member, alliance, year, signal, value[, trials]``
- crises (optional): ``crisis, year, member, alliance, outcome[, kind, <covariate
  columns...>]``; ``kind`` (e.g. ``war``, ``dispute``) defaults to ``war``
- units (optional): ``member, alliance, <covariate columns...>``

Every problem raises :class:`~bayescred.errors.DataError` naming the file, column and the
offending rows (as line numbers of the file, header = line 1, or as DataFrame index
labels).  Missing values are dropped and counted in ``Panel.notes``, never silently.

Rules of the contract beyond the columns:

- Identifiers (member, alliance, signal, crisis, outcome) are read as the text typed, with
  surrounding spaces stripped: ``NA`` (Namibia) is a member, ``002`` stays ``002``, and
  alliances ``1.1`` and ``1.10`` are two alliances.  Only numeric columns (year, value,
  trials, covariates) read an empty cell or ``NA``, ``NaN``, ``null``, ... as missing.
- ``/`` is reserved: a unit is labelled ``member/alliance`` (``UNIT_SEP``) in results,
  scenarios and plots, so a member or alliance containing ``/`` is refused (``A/B`` + ``C``
  and ``A`` + ``B/C`` would be one label).
- Numbers must be finite; years, counts and trials exact integers (1980.01 and 12.5 are
  refused, not rounded).  Counts and trials must be at most ``MAX_COUNT`` (2**53, beyond
  which a float64 does not hold every integer), other values and covariates at most
  ``MAX_ABS`` (1e100) in size, so that their squares and sums stay within float range.
- A member-level signal (``level = "member"``, :mod:`bayescred.member_signals`) is read once
  per member-year: its rows leave ``alliance`` blank or repeat one value in each of the
  member's alliances; conflicting values are refused, member-years without an active
  commitment are dropped and counted.
- Each header column appears once; each (member, alliance, year, signal) once; each unit
  once in the units table; each crisis id once in the crises table (one row is one
  member's decision in one crisis).
- The year grid runs from the first to the last observed year; consecutive observed years
  may be at most ``MAX_YEAR_GAP`` (50) years apart: a wider gap is almost always a mistyped
  year (1000 for 2000) and would fill the grid with empty years.
- A spec without signals is fitted to its crises alone: then there is no observations
  table, the units are the (member, alliance) pairs the crises name and the year grid runs
  from the first to the last crisis.
- Crisis covariates (``[follow_through] covariates``) must be numbers on every crisis and
  vary across crises; they are standardised over the crises (``Panel.crisis_scaling``).
- Covariates must vary across units and none may be a linear combination of the others:
  a constant or collinear covariate has no information of its own, its coefficient
  (``gamma``) would be its prior alone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .families import FAMILIES
from .families.base import is_integer
from .member_signals import place_member_rows, split_rows
from .spec import ModelSpec

OBS_COLUMNS = ("member", "alliance", "year", "signal", "value")
CRISIS_COLUMNS = ("crisis", "year", "member", "alliance", "outcome")
DEFAULT_KIND = "war"  # a crisis's kind when the crises table has no ``kind`` column
UNIT_COLUMNS = ("member", "alliance")
OUTCOMES = ("violated", "partial", "honored")  # ordered: worst to best
UNIT_SEP = "/"  # joins member and alliance in a unit's label; reserved in identifiers
MAX_COUNT = 2.0**53  # counts and trials: every integer up to here is exact in a float64
MAX_ABS = 1e100  # other values and covariates: squares and sums stay within float range
MAX_YEAR_GAP = 50  # most years between consecutive observed years (see the docstring)
# Cells read as missing in numeric columns (pandas' defaults); identifiers keep them as text.
MISSING_TOKENS = frozenset(
    ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
)
_SHOW = 5  # how many offending rows a message lists


@dataclass(frozen=True)
class Source:
    """Where a table came from, for error messages."""

    label: str
    from_file: bool

    def rows(self, index) -> str:
        idx = list(index)
        shown = [str(i + 2) if self.from_file else str(i) for i in idx[:_SHOW]]
        more = f" and {len(idx) - _SHOW} more" if len(idx) > _SHOW else ""
        kind = "line" if self.from_file else "row"
        return f"{kind}{'s' if len(idx) > 1 else ''} {', '.join(shown)}{more}"

    def hold(self, index) -> str:
        """``line 7 holds`` or ``lines 7, 12 hold``: the rows, and the verb that agrees."""
        return f"{self.rows(index)} {'hold' if len(list(index)) > 1 else 'holds'}"


@dataclass
class Panel:
    """A validated panel, ready for :func:`bayescred.model.build_model`.

    Attributes
    ----------
    observations : DataFrame
        Clean observed cells with integer index columns ``unit_idx``, ``year_idx``,
        ``signal_idx`` added.
    crises : DataFrame
        Crises with ``unit_idx``, ``year_idx``, ``member_idx`` added (may be empty).
    units : DataFrame
        One row per unit: ``member, alliance`` and covariate columns, in unit order.
    years : ndarray of int
        The year grid shared by all units (first to last observed year).
    signals : list of str
        Signal names in spec order.
    notes : list of str
        What was dropped or assumed while reading, for the user to see.
    crisis_scaling : dict
        Crisis covariate -> (mean, sd) over the crises read from the data: the model's
        standardisation of crisis covariates, kept when a scenario adds crises.
    """

    observations: pd.DataFrame
    crises: pd.DataFrame
    units: pd.DataFrame
    years: np.ndarray
    signals: list[str]
    notes: list[str] = field(default_factory=list)
    crisis_scaling: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def unit_labels(self) -> list[str]:
        return [f"{m}{UNIT_SEP}{a}" for m, a in zip(self.units.member, self.units.alliance)]

    @property
    def members(self) -> list[str]:
        return sorted(self.units.member.unique())

    @property
    def alliances(self) -> list[str]:
        return sorted(self.units.alliance.unique())

    @property
    def member_of_unit(self) -> np.ndarray:
        return np.searchsorted(self.members, self.units.member.to_numpy())

    @property
    def alliance_of_unit(self) -> np.ndarray:
        return np.searchsorted(self.alliances, self.units.alliance.to_numpy())

    def active_mask(self) -> np.ndarray:
        """(unit, year) mask of the years between each unit's first and last evidence.

        Credibility is standardised over these cells and reported for them; years
        outside a unit's span are extrapolation, not measurement.
        """
        spans = pd.concat(
            [self.observations[["unit_idx", "year_idx"]], self.crises[["unit_idx", "year_idx"]]]
        ).groupby("unit_idx")["year_idx"].agg(["min", "max"])
        t = np.arange(len(self.years))
        lo = spans["min"].reindex(range(len(self.units))).to_numpy()
        hi = spans["max"].reindex(range(len(self.units))).to_numpy()
        return (t[None, :] >= lo[:, None]) & (t[None, :] <= hi[:, None])

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy input tables (without index columns), e.g. to save or to modify."""
        obs_cols = [c for c in (*OBS_COLUMNS, "trials") if c in self.observations]
        extra = [c for c in self.crises.columns if c not in CRISIS_COLUMNS and c not in
                 ("unit_idx", "year_idx", "member_idx")]
        return {
            "observations": self.observations[obs_cols].reset_index(drop=True),
            "crises": self.crises[[*CRISIS_COLUMNS, *extra]].reset_index(drop=True),
            "units": self.units.reset_index(drop=True),
        }


# ---------------------------------------------------------------------------- entry points


def read_panel(spec: ModelSpec) -> Panel:
    """Read the files named in the spec's [data] table."""
    if spec.data.observations is None and not spec.signals:
        if spec.data.crises is None:
            raise DataError(
                "spec [data]: key 'crises' (path to crises.csv) is required by a spec "
                "without signals (its crises are its only evidence)"
            )
        return load_panel(None, spec.path("crises"), spec.path("units"), spec=spec)
    if spec.data.observations is None:
        raise DataError("spec [data]: key 'observations' (path to observations.csv) is required")
    return load_panel(
        spec.path("observations"), spec.path("crises"), spec.path("units"), spec=spec
    )


def load_panel(
    observations: pd.DataFrame | str | Path | None,
    crises: pd.DataFrame | str | Path | None = None,
    units: pd.DataFrame | str | Path | None = None,
    *,
    spec: ModelSpec,
) -> Panel:
    """Validate tidy tables against the spec and build the panel.

    Parameters
    ----------
    observations, crises, units : DataFrame or path
        The three tables of the data contract; crises and units are optional, and
        observations is absent (None) for a spec without signals, fitted to crises alone.
    spec : ModelSpec
        Declares the signals (family, direction) and covariates.

    Examples
    --------
    >>> from bayescred.simulate import simulate, default_spec
    >>> sim = simulate(default_spec(), n_members=4, n_years=10, seed=1)
    >>> panel = load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    >>> len(panel.years)
    10
    """
    if not spec.signals:
        return _crises_only_panel(observations, crises, units, spec)
    obs, obs_src = _read(observations, "observations")
    notes: list[str] = []
    obs = _clean_observations(obs, obs_src, spec, notes)
    obs, member_rows = split_rows(obs, spec.member_signals)
    if obs.empty:
        raise DataError(
            f"{obs_src.label}: no row of a unit-level signal; member-level signals "
            f"({', '.join(spec.member_signals)}) are read on the member's commitments, which "
            "the unit-level signals' rows place in their alliances and years"
        )
    units_df = _units(obs, units, spec)
    unit_key = _unit_key(units_df)
    years = np.arange(obs.year.min(), obs.year.max() + 1)
    obs = obs.assign(
        unit_idx=_lookup(unit_key, obs.member, obs.alliance),
        year_idx=(obs.year - years[0]).to_numpy(),
    )
    crises_df, src = _read_crises(crises, spec)
    crises_df = _index_crises(crises_df, src, unit_key, years)
    members = sorted(units_df.member.unique())
    crises_df["member_idx"] = np.searchsorted(members, crises_df.member.to_numpy())
    if len(member_rows):  # on the commitments active by the unit-level evidence alone
        active = Panel(obs, crises_df, units_df, years, []).active_mask()
        placed = place_member_rows(member_rows, obs_src, units_df, active, years, notes)
        obs = pd.concat([obs, placed])
    obs = obs.assign(
        signal_idx=pd.Categorical(obs.signal, categories=list(spec.signals)).codes
    )
    unused = sorted(set(spec.signals) - set(obs.signal))
    if unused:
        raise DataError(
            f"{obs_src.label}: signal(s) {', '.join(unused)} are declared in the spec "
            "but have no observed values"
        )
    scaling = _crisis_scaling(crises_df, spec)
    return Panel(obs, crises_df, units_df, years, list(spec.signals), notes, scaling)


def _crises_only_panel(observations, crises, units, spec: ModelSpec) -> Panel:
    """The panel of a spec without signals: units and years come from the crises."""
    if observations is not None and not (
        isinstance(observations, pd.DataFrame) and observations.empty
    ):
        raise DataError(
            "observations: the spec declares no signals, so there is no observations table "
            "to read; declare the signals it holds in [signals]"
        )
    if crises is None:
        raise DataError("crises: a spec without signals needs a crises table (its only "
                        "evidence)")
    df, src = _read_crises(crises, spec)
    if df.empty:
        raise DataError(f"{src.label}: a spec without signals needs at least one crisis")
    _check_year_gaps(df, src)
    units_df = _units(df, units, spec)
    unit_key = _unit_key(units_df)
    years = np.arange(df.year.min(), df.year.max() + 1)
    df = _index_crises(df, src, unit_key, years)
    df["member_idx"] = np.searchsorted(sorted(units_df.member.unique()), df.member.to_numpy())
    obs = pd.DataFrame(
        {c: pd.Series(dtype=int if c == "year" else float if c == "value" else str)
         for c in OBS_COLUMNS}
    ).assign(
        unit_idx=pd.Series(dtype=int),
        year_idx=pd.Series(dtype=int),
        signal_idx=pd.Series(dtype=int),
    )
    return Panel(obs, df, units_df, years, [], [], _crisis_scaling(df, spec))


def _crisis_scaling(crises: pd.DataFrame, spec: ModelSpec) -> dict[str, tuple[float, float]]:
    """Each crisis covariate's (mean, sd) over the crises: the model standardises them."""
    out = {}
    for col in spec.follow_through.covariates:
        x = crises[col].to_numpy(float)
        out[col] = (float(x.mean()), float(x.std()))
    return out


# ---------------------------------------------------------------------------- reading


def _read(table, kind: str) -> tuple[pd.DataFrame, Source]:
    if isinstance(table, pd.DataFrame):
        src = Source(f"{kind} (DataFrame)", from_file=False)
        _refuse_repeated_columns(table.columns, src)
        df = table.copy()
        df.columns = [str(c).strip() for c in df.columns]
        return df, src
    path = Path(table)
    src = Source(str(path), from_file=True)
    if not path.is_file():
        raise DataError(f"{path}: {kind} file not found")
    try:
        df = pd.read_csv(
            path, skipinitialspace=True, encoding="utf-8", dtype=str, keep_default_na=False
        )
        header = _header(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the {kind} file is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot read the {kind} file as UTF-8 CSV ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:120]})"
        ) from None
    _refuse_repeated_columns(header, src)
    df.columns = header if len(header) == len(df.columns) else df.columns
    df.columns = [str(c).strip() for c in df.columns]
    return df, src


def _num(v: float) -> str:
    """A number as typed: 100000.5 (not 100000), 12 (not 12.0), inf."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _header(path: Path) -> list[str]:
    """The header's column names as typed (pandas renames a repeated one ``x.1``): the
    first line that is not blank."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f, skipinitialspace=True):
            if any(c.strip() for c in row):
                return [c.strip() for c in row]
    return []


def _refuse_repeated_columns(columns, src: Source) -> None:
    names = [str(c).strip() for c in columns]
    repeated = sorted({c for c in names if c and names.count(c) > 1})
    if repeated:
        raise DataError(
            f"{src.label}: column(s) {', '.join(map(repr, repeated))} appear more than once "
            "in the header; expected each column once"
        )


def _require_columns(df: pd.DataFrame, required, src: Source, allow_empty=False) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"{src.label}: missing required column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(required)} (found: {', '.join(map(str, df.columns[:12])) or 'none'})"
        )
    if df.empty and not allow_empty:
        raise DataError(f"{src.label}: the table has a header but no rows")


def _integer_years(df: pd.DataFrame, src: Source) -> pd.Series:
    year = _parse_numbers(df.year).to_numpy()
    bad = df.index[~(is_integer(year) & (np.abs(year) < 100_000))]
    if len(bad):
        raise DataError(
            f"{src.label}: column 'year' must hold integer years (exactly: 1980, not "
            f"1980.01); {src.hold(bad)} "
            f"{', '.join(map(repr, df.year[bad][:_SHOW].tolist()))}"
        )
    return pd.Series(year.astype(int), index=df.index)


def _strings(df: pd.DataFrame, columns, src: Source) -> pd.DataFrame:
    for col in columns:
        blank = df.index[df[col].isna() | (df[col].astype(str).str.strip() == "")]
        if len(blank):
            raise DataError(f"{src.label}: column {col!r} is empty on {src.rows(blank)}")
        df[col] = df[col].astype(str).str.strip()
    return df


def _identifiers(df: pd.DataFrame, src: Source, blank_alliance=None) -> pd.DataFrame:
    """Member and alliance: present, and free of the reserved unit separator;
    ``blank_alliance``: rows whose alliance may be blank (member-level signals), read as
    ``""``."""
    blank = df.alliance.isna() | (df.alliance.astype(str).str.strip() == "")
    blank &= False if blank_alliance is None else blank_alliance
    df = _strings(df.assign(alliance=df.alliance.where(~blank, "-")), UNIT_COLUMNS, src)
    df.loc[blank, "alliance"] = ""
    for col in UNIT_COLUMNS:
        bad = df.index[df[col].str.contains(UNIT_SEP, regex=False)]
        if len(bad):
            raise DataError(
                f"{src.label}: column {col!r} holds {df[col][bad[0]]!r} on {src.rows(bad)}; "
                f"{UNIT_SEP!r} is reserved (a unit is labelled member{UNIT_SEP}alliance, so "
                f"it would make two units' labels collide): use another character"
            )
    return df


# ---------------------------------------------------------------------------- observations


def _clean_observations(
    obs: pd.DataFrame, src: Source, spec: ModelSpec, notes: list[str]
) -> pd.DataFrame:
    _require_columns(obs, OBS_COLUMNS, src)
    obs = obs.reset_index(drop=True)
    obs = _strings(obs, ("signal",), src)
    obs = _identifiers(obs, src, blank_alliance=obs.signal.isin(spec.member_signals))
    obs["year"] = _integer_years(obs, src)
    undeclared = sorted(set(obs.signal) - set(spec.signals))
    if undeclared:
        rows = obs.index[obs.signal.isin(undeclared)]
        raise DataError(
            f"{src.label}: column 'signal' has value(s) {', '.join(map(repr, undeclared))} "
            f"not declared in the spec ({src.rows(rows)}); declared signals: "
            f"{', '.join(spec.signals)}"
        )
    obs["value"] = _numeric(obs, "value", src)
    if "trials" in obs:
        obs["trials"] = _numeric(obs, "trials", src)
    obs = _drop_missing(obs, src, notes)
    if obs.empty:
        raise DataError(f"{src.label}: every row has a missing value; nothing to fit")
    for name, signal in spec.signals.items():
        _check_support(obs, name, FAMILIES[signal.family], src)
        _check_size(obs, name, FAMILIES[signal.family], src)
    unit_rows = obs[~obs.signal.isin(spec.member_signals)]  # member-level: place_member_rows
    dup = unit_rows.index[unit_rows.duplicated(["member", "alliance", "year", "signal"],
                                               keep=False)]
    if len(dup):
        raise DataError(
            f"{src.label}: duplicated (member, alliance, year, signal) on {src.rows(dup)}; "
            "expected one value per unit-year-signal"
        )
    _check_year_gaps(obs, src)
    return obs


def _check_year_gaps(obs: pd.DataFrame, src: Source) -> None:
    """Refuse a gap of more than ``MAX_YEAR_GAP`` between consecutive observed years,
    naming the rows on the side of the gap with fewer of them (usually a mistyped year)."""
    years = np.unique(obs.year.to_numpy())
    gaps = np.diff(years)
    if not len(gaps) or gaps.max() <= MAX_YEAR_GAP:
        return
    i = int(np.argmax(gaps))
    before, after = obs.year <= years[i], obs.year >= years[i + 1]
    rows = obs.index[before] if before.sum() <= after.sum() else obs.index[after]
    raise DataError(
        f"{src.label}: no observation between the years {years[i]} and {years[i + 1]} "
        f"({gaps[i] - 1} empty years; {src.rows(rows)} lie on the smaller side); column "
        f"'year' may hold consecutive observed years at most {MAX_YEAR_GAP} apart, as the "
        "year grid runs from the first to the last year: is a year mistyped?"
    )


def _parse_numbers(column: pd.Series) -> pd.Series:
    """Floats; a missing-value token (``MISSING_TOKENS``) is NaN, other text stays NaN too
    (the caller names it) -- "nan" typed as a value is missing, never a number."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    text = column.astype(str).str.strip()
    missing = column.isna() | text.isin(MISSING_TOKENS)
    return pd.to_numeric(text.where(~missing), errors="coerce").astype(float)


def _is_missing(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        return column.isna()
    return column.isna() | column.astype(str).str.strip().isin(MISSING_TOKENS)


def _numeric(df: pd.DataFrame, col: str, src: Source) -> pd.Series:
    values = _parse_numbers(df[col])
    bad = df.index[values.isna() & ~_is_missing(df[col])]
    if len(bad):
        raise DataError(
            f"{src.label}: column {col!r} must be numeric; {src.hold(bad)} "
            f"{', '.join(map(repr, df[col][bad][:_SHOW].tolist()))}"
        )
    return values


def _drop_missing(obs: pd.DataFrame, src: Source, notes: list[str]) -> pd.DataFrame:
    missing = obs.value.isna()
    if missing.any():
        counts = obs[missing].signal.value_counts().sort_index()
        detail = ", ".join(f"{s}: {n}" for s, n in counts.items())
        notes.append(
            f"{src.label}: dropped {int(missing.sum())} row(s) with a missing value ({detail})"
        )
    return obs[~missing]


def _check_support(obs: pd.DataFrame, name: str, family, src: Source) -> None:
    rows = obs[obs.signal == name]
    if rows.empty:
        return
    trials = None
    if family.needs_trials:
        if "trials" not in obs:
            raise DataError(
                f"{src.label}: signal {name!r} is {family.name} and needs a 'trials' column"
            )
        no_trials = rows.index[rows.trials.isna()]
        if len(no_trials):
            raise DataError(
                f"{src.label}: signal {name!r} ({family.name}) has no 'trials' on "
                f"{src.rows(no_trials)}; expected a positive integer number of trials"
            )
        trials = rows.trials.to_numpy()
        bad_trials = rows.index[~((trials >= 1) & is_integer(trials))]
        if len(bad_trials):
            shown = ", ".join(_num(v) for v in obs.trials[bad_trials][:_SHOW])
            raise DataError(
                f"{src.label}: column 'trials' for signal {name!r} must be a positive integer "
                f"(finite, exact) on {src.rows(bad_trials)}; found {shown}"
            )
    bad = rows.index[family.bad_values(rows.value.to_numpy(), trials)]
    if len(bad):
        shown = ", ".join(_num(v) for v in obs.value[bad][:_SHOW])
        extra = " (at most its trials)" if family.needs_trials else ""
        raise DataError(
            f"{src.label}: column 'value' for signal {name!r} ({family.name}) must be "
            f"{family.expected}{extra}; {src.hold(bad)} {shown}"
        )


def _check_size(obs: pd.DataFrame, name: str, family, src: Source) -> None:
    """Values (and trials) within ``MAX_COUNT`` / ``MAX_ABS``: beyond, int64 overflows or
    squares leave float range."""
    rows = obs[obs.signal == name]
    columns = ("value", "trials") if family.needs_trials else ("value",)
    limit = MAX_COUNT if family.integer else MAX_ABS
    for col in columns:
        big = rows.index[np.abs(rows[col].to_numpy()) > limit]
        if len(big):
            shown = ", ".join(_num(v) for v in obs[col][big][:_SHOW])
            why = (
                "2**53, the largest count a float64 holds exactly"
                if family.integer
                else "1e100 in size, so that squares and sums stay within float range"
            )
            raise DataError(
                f"{src.label}: column {col!r} for signal {name!r} must be at most {why}; "
                f"{src.hold(big)} {shown}"
            )


# ---------------------------------------------------------------------------- units


def _units(obs: pd.DataFrame, units, spec: ModelSpec) -> pd.DataFrame:
    observed = (
        obs[["member", "alliance"]].drop_duplicates().sort_values(["alliance", "member"])
    ).reset_index(drop=True)
    covariates = list(spec.latent.covariates)
    if units is None:
        if covariates:
            raise DataError(
                f"spec [latent]: covariates {', '.join(covariates)} need a units table "
                "([data] units = 'units.csv') with those columns"
            )
        return observed
    df, src = _read(units, "units")
    _require_columns(df, (*UNIT_COLUMNS, *covariates), src)
    df = _identifiers(df.reset_index(drop=True), src)
    dup = df.index[df.duplicated(list(UNIT_COLUMNS), keep=False)]
    if len(dup):
        raise DataError(
            f"{src.label}: duplicated (member, alliance) on {src.rows(dup)}; expected one "
            "row per unit"
        )
    for col in covariates:
        df[col] = _numeric(df, col, src)
        missing = df.index[df[col].isna()]
        if len(missing):
            raise DataError(
                f"{src.label}: covariate {col!r} is missing on {src.rows(missing)}; "
                "covariates must be observed for every unit"
            )
        big = df.index[~(np.abs(df[col]) <= MAX_ABS)]
        if len(big):
            raise DataError(
                f"{src.label}: covariate {col!r} must be finite and at most 1e100 in size "
                f"(it is standardised); {src.hold(big)} "
                f"{', '.join(_num(v) for v in df[col][big][:_SHOW])}"
            )
    merged = observed.merge(df, on=list(UNIT_COLUMNS), how="left", indicator=True)
    absent = merged[merged._merge == "left_only"]
    if len(absent) and covariates:
        names = ", ".join(f"{m}{UNIT_SEP}{a}" for m, a in zip(absent.member, absent.alliance))
        raise DataError(
            f"{src.label}: no row for unit(s) {names} that have observations; "
            f"covariates {', '.join(covariates)} are needed for every unit"
        )
    merged = merged[[*UNIT_COLUMNS, *covariates]]
    _check_covariates_informative(merged, covariates, src)
    return merged


def _check_covariates_informative(units: pd.DataFrame, covariates, src: Source) -> None:
    """Refuse a covariate that is constant over the units with observations, or a linear
    combination of the others: its coefficient would have no information but its prior."""
    if not covariates:
        return
    x = units[list(covariates)].to_numpy(float)
    for j, col in enumerate(covariates):
        if np.ptp(x[:, j]) == 0:
            raise DataError(
                f"{src.label}: covariate {col!r} takes the one value {_num(x[0, j])} on every "
                "unit with observations; a constant covariate cannot shift credibility "
                "between units (its coefficient gamma would be its prior alone): drop it "
                "from [latent] covariates"
            )
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / sd
    for j, col in enumerate(covariates):
        if j and np.linalg.matrix_rank(z[:, : j + 1]) <= j:
            raise DataError(
                f"{src.label}: covariate {col!r} is a linear combination of "
                f"{', '.join(map(repr, covariates[:j]))} over the units with observations "
                "(or there are too few units); collinear covariates cannot be told apart "
                "(their coefficients gamma would be their priors alone): drop one from "
                "[latent] covariates"
            )


def _unit_key(units: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(units[list(UNIT_COLUMNS)])


def _lookup(key: pd.MultiIndex, member, alliance) -> np.ndarray:
    return key.get_indexer(pd.MultiIndex.from_arrays([member, alliance]))


# ---------------------------------------------------------------------------- crises


def empty_crises(covariates=()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "crisis": pd.Series(dtype=str),
            "year": pd.Series(dtype=int),
            "member": pd.Series(dtype=str),
            "alliance": pd.Series(dtype=str),
            "outcome": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            **{c: pd.Series(dtype=float) for c in covariates},
            "unit_idx": pd.Series(dtype=int),
            "year_idx": pd.Series(dtype=int),
        }
    )


def _refuse_repeated_crises(df: pd.DataFrame, src: Source) -> None:
    exact = df.index[df.duplicated(list(CRISIS_COLUMNS), keep=False)]
    if len(exact):
        raise DataError(
            f"{src.label}: {src.rows(exact)} repeat the same crisis row exactly; each row is "
            "one member's decision in one crisis and would count twice in reputation"
        )
    dup = df.index[df.crisis.duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{src.label}: column 'crisis' repeats the id(s) "
            f"{', '.join(map(repr, df.crisis[dup].unique()[:_SHOW]))} on {src.rows(dup)}; "
            "expected one row per crisis id (give each member's decision its own id)"
        )


def _read_crises(crises, spec: ModelSpec) -> tuple[pd.DataFrame, Source | None]:
    """The crises table, validated on its own (before it is placed on units and years)."""
    covariates = list(spec.follow_through.covariates)
    if crises is None:
        if covariates:
            raise DataError(
                f"spec [follow_through]: covariates {', '.join(covariates)} need a crises "
                "table ([data] crises = 'crises.csv') with those columns"
            )
        return empty_crises(), None
    df, src = _read(crises, "crises")
    _require_columns(df, (*CRISIS_COLUMNS, *covariates), src, allow_empty=True)
    if df.empty:
        return empty_crises(covariates), src
    df = _strings(df.reset_index(drop=True), ("crisis", "outcome"), src)
    df = _identifiers(df, src)
    df["year"] = _integer_years(df, src)
    _refuse_repeated_crises(df, src)
    df["outcome"] = df.outcome.str.lower()
    bad = df.index[~df.outcome.isin(OUTCOMES)]
    if len(bad):
        raise DataError(
            f"{src.label}: column 'outcome' must be one of {', '.join(OUTCOMES)}; "
            f"{src.hold(bad)} {', '.join(map(repr, df.outcome[bad][:_SHOW].tolist()))}"
        )
    df["kind"] = _strings(df, ("kind",), src).kind if "kind" in df else DEFAULT_KIND
    for col in covariates:
        df[col] = _crisis_covariate(df, col, src)
    keep = [*CRISIS_COLUMNS, "kind", *covariates]
    return df[keep], src


def _crisis_covariate(df: pd.DataFrame, col: str, src: Source) -> pd.Series:
    """A crisis covariate: a finite number on every crisis that varies across crises."""
    values = _numeric(df, col, src)
    missing = df.index[values.isna()]
    if len(missing):
        raise DataError(
            f"{src.label}: crisis covariate {col!r} is empty on {src.rows(missing)}; "
            "[follow_through] covariates must be observed for every crisis"
        )
    big = df.index[~(np.abs(values) <= MAX_ABS)]
    if len(big):
        raise DataError(
            f"{src.label}: crisis covariate {col!r} must be finite and at most 1e100 in size; "
            f"{src.hold(big)} {', '.join(_num(v) for v in values[big][:_SHOW])}"
        )
    if len(values) > 1 and np.ptp(values.to_numpy()) == 0:
        raise DataError(
            f"{src.label}: crisis covariate {col!r} takes the one value "
            f"{_num(values.iloc[0])} on every crisis; a constant covariate cannot shift the "
            "odds of honouring (its coefficient would be its prior alone): drop it from "
            "[follow_through] covariates"
        )
    return values


def _index_crises(df: pd.DataFrame, src: Source | None, unit_key: pd.MultiIndex,
                  years: np.ndarray) -> pd.DataFrame:
    """The crises placed on the panel's units and year grid."""
    if df.empty:
        return df.assign(unit_idx=pd.Series(dtype=int), year_idx=pd.Series(dtype=int))
    unit_idx = _lookup(unit_key, df.member, df.alliance)
    orphan = df.index[unit_idx < 0]
    if len(orphan):
        pairs = zip(df.member[orphan], df.alliance[orphan])
        names = sorted({f"{m}{UNIT_SEP}{a}" for m, a in pairs})
        raise DataError(
            f"{src.label}: crisis on a unit with no observations ({src.rows(orphan)}: "
            f"{', '.join(names[:_SHOW])}); every crisis must name a (member, alliance) "
            "that appears in the observations"
        )
    outside = df.index[(df.year < years[0]) | (df.year > years[-1])]
    if len(outside):
        raise DataError(
            f"{src.label}: crisis year outside the observed years {years[0]}-{years[-1]} "
            f"on {src.rows(outside)}"
        )
    return df.assign(unit_idx=unit_idx, year_idx=(df.year - years[0]).to_numpy())
