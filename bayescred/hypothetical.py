"""A scenario's hypothetical crises resolved against the fitted panel: the unit, year,
kind and crisis covariates of each ``[[crisis]]`` entry, as a crises table the models read.

A kind must be one the fitted crises have (a kind the data never saw has no follow-through
intercept or reputation effect to draw on).  Crisis covariates are given on the data's own
scale; one an entry leaves out takes its mean over the fitted crises (0 on the model's
standardised scale: the crisis is a typical one in that respect).
"""

from __future__ import annotations

import pandas as pd

from .errors import DataError

_SHOW = 5  # how many valid names a message lists
COLUMNS = ("crisis", "year", "member", "alliance", "outcome", "kind")
INDEX_COLUMNS = ("unit_idx", "year_idx", "member_idx")


def crisis_table(scenario, context, covariates) -> pd.DataFrame:
    """The scenario's crises: ``crisis, year, member, alliance, outcome, kind``, the
    crisis covariates (spec order) and the panel's index columns.

    ``context`` resolves units and years (``scenario._Context``: ``unit``, ``year_idx``,
    ``panel``); errors name the scenario and the entry.
    """
    covariates = list(covariates)
    rows = [
        _row(entry, context, covariates, f"{scenario.source}: [[crisis]] entry {i}", i)
        for i, entry in enumerate(scenario.crises, 1)
    ]
    return pd.DataFrame(rows, columns=[*COLUMNS, *covariates, *INDEX_COLUMNS])


def _row(entry, context, covariates: list[str], where: str, number: int) -> tuple:
    u = context.unit(entry, where)
    t = context.year_idx(entry.year, where)
    panel = context.panel
    return (
        f"whatif-{number}",
        entry.year,
        entry.member,
        entry.alliance,
        entry.outcome,
        _kind(entry, panel, where),
        *_covariates(entry, panel, covariates, where),
        u,
        t,
        panel.members.index(entry.member),
    )


def _kind(entry, panel, where: str) -> str:
    kinds = sorted(set(panel.crises["kind"])) if len(panel.crises) else ["war"]
    if entry.kind not in kinds:
        raise DataError(
            f"{where}: unknown crisis kind {entry.kind!r}; the fitted crises' kinds are "
            f"{_names(kinds)}"
        )
    return entry.kind


def _covariates(entry, panel, names: list[str], where: str) -> list[float]:
    given = dict(entry.covariates)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise DataError(
            f"{where}: unknown crisis covariate(s) {', '.join(map(repr, unknown))}; "
            f"[follow_through] covariates are {_names(names) or 'none'}"
        )
    scaling = panel.crisis_scaling
    return [given.get(c, scaling[c][0] if c in scaling else 0.0) for c in names]


def _names(names) -> str:
    names = list(names)
    shown = ", ".join(names[:_SHOW])
    return shown + (f" and {len(names) - _SHOW} more" if len(names) > _SHOW else "")
