"""Member-level signals: read once per member-year, on the member's part of credibility.

A signal declared ``level = "member"`` (a member's share of world military spending, its
forces per head) is the member's own, the same in every alliance it belongs to.  Stored
once per unit, it would count once per commitment: a member in 14 alliances would weigh
14 times.  Here its rows are read once per member-year and measure *the member's part of
credibility* that year, the mean of credibility over the member's commitments active that
year (docs/member_signals.md):

    m[member, t] = mean over units u of member with t in u's active span of theta[u, t]

Reputation ``r[member, t]`` alone could not carry the signal (it is zero before any
crisis); the mean of the member's commitments contains it and their levels.

Two halves, both pure NumPy/pandas:

* :func:`place_member_rows` (the data contract, called by :mod:`bayescred.panel`): the
  rows given once per member-year (``alliance`` blank) or once per (member, alliance) with
  one value are checked, deduplicated, and placed on one of the member's active units (the
  row's *carrier*: the model reads the member's mean there, not that unit's credibility).
* :func:`member_weights` (the model's structure): the averaging weights every engine
  reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import DataError

KEY = ["member", "year", "signal"]  # one value per member-year of a member-level signal
_SHOW = 5


def member_weights(active: np.ndarray, member_of_unit: np.ndarray, n_members: int) -> np.ndarray:
    """Averaging weights (unit, year): ``active[u, t] / n[m(u), t]`` with ``n[m, t]`` the
    member's active units in year t (0 where the unit is not active, or the member has
    none), so ``sum_u w[u, t] x[u, t]`` over a member's units is the mean over its active
    ones.

    Examples
    --------
    >>> member_weights(np.array([[1, 1], [1, 0], [0, 1]], bool), np.array([0, 0, 1]), 2)
    array([[0.5, 1. ],
           [0.5, 0. ],
           [0. , 1. ]])
    """
    active = active.astype(float)
    counts = np.zeros((n_members, active.shape[1]))
    np.add.at(counts, member_of_unit, active)
    return active / np.maximum(counts[member_of_unit], 1.0)


def split_rows(obs: pd.DataFrame, member_signals) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(unit-level rows, member-level rows) of a cleaned observations table."""
    member = obs.signal.isin(list(member_signals)).to_numpy()
    return obs[~member], obs[member]


def place_member_rows(
    rows: pd.DataFrame,
    src,
    units: pd.DataFrame,
    active: np.ndarray,
    years: np.ndarray,
    notes: list[str],
) -> pd.DataFrame:
    """Member-level rows, one per member-year-signal, each on a carrier unit.

    Parameters
    ----------
    rows : DataFrame
        The cleaned member-level rows (``alliance`` blank or a unit's alliance).
    src : panel.Source
        The table's origin, for messages (``label``, ``rows(index)``).
    units : DataFrame
        The panel's units (from the unit-level rows), in unit order.
    active : ndarray of bool
        (unit, year) active spans from the unit-level evidence alone.
    years : ndarray of int
        The year grid.
    notes : list of str
        Receives what was merged or dropped (never silently).

    Returns
    -------
    DataFrame
        The rows with ``alliance`` blank (the value is the member's) and ``unit_idx``,
        ``year_idx`` of their carrier: the member's first active unit that year.

    Raises
    ------
    DataError
        A row naming a (member, alliance) that is not a unit, or two values for one
        member-year of a signal.
    """
    if rows.empty:
        return rows.assign(unit_idx=pd.Series(dtype=int), year_idx=pd.Series(dtype=int))
    _check_named_units(rows, src, units)
    _check_conflicts(rows, src)
    first = rows[~rows.duplicated(KEY)]
    if len(first) < len(rows):
        notes.append(
            f"{src.label}: member-level signal rows given per alliance read once per "
            f"member-year: {len(rows)} row(s) -> {len(first)} ({_by_signal(first)})"
        )
    carrier = _carriers(first, units, active, years)
    placed = first.assign(alliance="", unit_idx=carrier, year_idx=first.year - years[0])
    dropped = placed[carrier < 0]
    if len(dropped):
        notes.append(
            f"{src.label}: dropped {len(dropped)} member-year(s) of member-level signals in "
            f"which the member has no active commitment ({_by_signal(dropped)}; "
            f"{src.rows(dropped.index)})"
        )
    return placed[carrier >= 0]


def _by_signal(rows: pd.DataFrame) -> str:
    counts = rows.signal.value_counts().sort_index()
    return ", ".join(f"{s}: {n}" for s, n in counts.items())


def _check_named_units(rows: pd.DataFrame, src, units: pd.DataFrame) -> None:
    """A row that names an alliance names one of the member's units."""
    named = rows[rows.alliance != ""]
    known = pd.MultiIndex.from_frame(units[["member", "alliance"]])
    pairs = pd.MultiIndex.from_arrays([named.member, named.alliance])
    unknown = named.index[~pairs.isin(known)]
    if len(unknown):
        row = rows.loc[unknown[0]]
        raise DataError(
            f"{src.label}: member-level signal {row.signal!r} on {src.rows(unknown)} names "
            f"unit {row.member}/{row.alliance}, which no unit-level row observes; a "
            "member-level row leaves 'alliance' blank or names one of the member's units"
        )


def _check_conflicts(rows: pd.DataFrame, src) -> None:
    """Every row of one member-year of a signal holds the same value (and trials)."""
    cols = ["value", "trials"] if "trials" in rows else ["value"]
    distinct = rows[[*KEY, *cols]].astype({c: float for c in cols}).fillna(-np.inf)
    n = distinct.drop_duplicates().groupby(KEY).size()
    bad = n[n > 1]
    if bad.empty:
        return
    member, year, signal = bad.index[0]
    here = rows[(rows.member == member) & (rows.year == year) & (rows.signal == signal)]
    values = ", ".join(f"{v:g}" for v in here.value.unique()[:_SHOW])
    raise DataError(
        f"{src.label}: member-level signal {signal!r} has conflicting values for member "
        f"{member} in {year} on {src.rows(here.index)} ({values}); a member-level signal "
        "holds one value per member-year (each alliance's row must repeat it)"
        + (f"; {len(bad) - 1} more member-year(s) conflict" if len(bad) > 1 else "")
    )


def _carriers(rows: pd.DataFrame, units: pd.DataFrame, active: np.ndarray,
              years: np.ndarray) -> np.ndarray:
    """Each row's carrier unit: the member's first active unit in the row's year, -1 where
    it has none (or the year is off the grid)."""
    members = sorted(units.member.unique())
    of_unit = np.searchsorted(members, units.member.to_numpy())
    n_members, n_years = len(members), len(years)
    first = np.full((n_members, n_years), -1)
    for u in range(len(units) - 1, -1, -1):  # backwards: the first unit is written last
        first[of_unit[u], active[u]] = u
    m = pd.Index(members).get_indexer(rows.member)
    t = rows.year.to_numpy(int) - years[0]
    ok = (m >= 0) & (t >= 0) & (t < n_years)
    out = np.full(len(rows), -1)
    out[ok] = first[m[ok], t[ok]]
    return out
