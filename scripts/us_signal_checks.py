"""Check the US panel's signals against their families and against each other.

Usage::

    python scripts/us_signal_checks.py [--spec models/us_alliances_one_factor.toml]

Prints the two tables of data/README.md's "Modelling choices" (tests/test_datasets.py
checks that the README holds them as printed): per signal, its counts and its shape on
the likelihood's scale; per pair of signals, correlations between allies and within an
ally over time.  Reads only the committed panel, not the raw files.

Every signal is put on the scale its likelihood's mean is linear on (the log of a
lognormal; the log of the mean for log links, ``log1p`` for counts; the logit for logit
links, empirical ``(k + 0.5) / (n + 1)`` for binomial shares) and turned by its
``direction``, so a positive correlation means the two signals agree
about credibility.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

from bayescred.families import FAMILIES  # noqa: E402
from bayescred.spec import ModelSpec, load_spec  # noqa: E402

UNIT = ["member", "alliance"]
DEMEAN_TOL = 1e-12  # alternating projections stop when no cell moves more than this
DEMEAN_MAX_ROUNDS = 1000
# The pillars the signals are meant for (docs/dimensions.md), used while the spec has no
# [dimensions] of its own.
PLANNED_TRIAD = {
    "commitment": ("un_votes", "ideal_distance"),
    "capability": ("troops", "exercises"),
    "cost_sharing": ("spending", "personnel"),
}


def link_scale(obs: pd.DataFrame, spec: ModelSpec) -> pd.Series:
    """Each observation on its family's link scale, times its signal's direction.

    Parameters
    ----------
    obs : DataFrame
        ``signal, value`` and, for signals with trials, ``trials``.
    spec : ModelSpec
        Gives each signal's family and direction.

    Returns
    -------
    Series
        Aligned with ``obs``.
    """
    out = pd.Series(np.nan, index=obs.index)
    for name, rows in obs.groupby("signal"):
        signal = spec.signals[name]
        family = FAMILIES[signal.family]
        y = family.to_likelihood_scale(rows.value.to_numpy(float), 0.0, 1.0)  # lognormal: log
        if family.needs_trials:  # a share, kept off 0 and 1
            y = (y + 0.5) / (rows.trials.to_numpy(float) + 1.0)
        if family.link == "log":
            z = np.log1p(y) if family.integer else np.log(y)
        elif family.link == "logit":
            z = np.log(y / (1.0 - y))
        else:
            z = y
        out[rows.index] = signal.direction * z
    return out


def demean(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """Residual of ``values`` after removing additive effects of every grouping.

    One grouping removes its group means; several (unit and year) are removed together
    by alternating projections, which converge to the two-way fixed-effects residual on
    an unbalanced panel.
    """
    r = values - values.mean()
    for _ in range(DEMEAN_MAX_ROUNDS):
        before = r
        for g in groups:
            r = r - r.groupby(g).transform("mean")
        if (r - before).abs().max() < DEMEAN_TOL:
            break
    return r


def wide_table(obs: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Unit-years by signals, on the oriented link scale (NaN where not observed)."""
    z = obs.assign(z=link_scale(obs, spec))
    return z.pivot_table(index=[*UNIT, "year"], columns="signal", values="z")


def pair_correlations(wide: pd.DataFrame, a: str, b: str) -> dict[str, float]:
    """Correlations of two signals over the unit-years where both are observed.

    ``between``: of the allies' means; ``within``: of the deviations from each ally's
    mean; ``within_no_year``: the same with the common year effects removed too (the
    two-way fixed-effects residuals), so a shared world trend does not count as agreement.
    """
    both = wide[[a, b]].dropna()
    unit = pd.Series([u[:2] for u in both.index], index=both.index)
    year = pd.Series(both.index.get_level_values("year"), index=both.index)
    means = both.groupby(unit).mean()
    within = both.apply(lambda c: demean(c, [unit]))
    two_way = both.apply(lambda c: demean(c, [unit, year]))
    return {
        "cells": len(both),
        "units": len(means),
        "between": means[a].corr(means[b]),
        "within": within[a].corr(within[b]),
        "within_no_year": two_way[a].corr(two_way[b]),
    }


def signal_shape(obs: pd.DataFrame, spec: ModelSpec, panel_cells: int) -> pd.DataFrame:
    """Per signal: counts, coverage and the shape its family must fit.

    Skewness and excess kurtosis are those of the likelihood's scale (the log for a
    lognormal, the values themselves for a gaussian) after removing each ally's level and
    the common year effects: what the measurement model's residuals look like if a
    static unit level and a year effect explained the rest.
    """
    rows = []
    z = link_scale(obs, spec)
    for name, g in obs.groupby("signal"):
        signal = spec.signals[name]
        unit = pd.Series(list(zip(g.member, g.alliance)), index=g.index)
        resid = demean(z[g.index], [unit, g.year])
        rows.append(
            {
                "signal": name,
                "family": signal.family,
                "obs": len(g),
                "units": unit.nunique(),
                "years": f"{g.year.min()}–{g.year.max()}",
                "missing": panel_cells - len(g),
                "skew": stats.skew(resid),
                "kurtosis": stats.kurtosis(resid),
            }
        )
    return pd.DataFrame(rows)


def pillar_of(spec: ModelSpec) -> dict[str, str]:
    """Signal -> pillar: the spec's ``[dimensions]``, else :data:`PLANNED_TRIAD`."""
    if spec.dimensions:
        return {s: name for name, d in spec.dimensions.items() for s in d.signals}
    return {s: name for name, signals in PLANNED_TRIAD.items() for s in signals}


def correlation_table(wide: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Every pair of signals: pairs within a pillar first, then by between-ally correlation."""
    names = sorted(wide.columns)
    pillar = pillar_of(spec)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            same = pillar.get(a) is not None and pillar.get(a) == pillar.get(b)
            rows.append(
                {
                    "pair": f"{a}–{b}",
                    "pillar": pillar[a] if same else "",
                    **pair_correlations(wide, a, b),
                }
            )
    table = pd.DataFrame(rows).assign(across=lambda d: d.pillar == "")
    return table.sort_values(
        ["across", "pillar", "between"], ascending=[True, True, False], ignore_index=True
    )


def markdown(frame: pd.DataFrame, header: list[str], cells) -> str:
    """A markdown table, one row per row of ``frame`` written by ``cells(row)``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in frame.itertuples()]
    return "\n".join(lines)


def num(x: float) -> str:
    """Two decimals with a true minus sign, as the README writes them."""
    return f"{x:.2f}".replace("-", "−")


def report(spec: ModelSpec) -> str:
    """The two markdown tables for data/README.md."""
    obs = pd.read_csv(spec.path("observations"))
    unit_years = len(obs[[*UNIT, "year"]].drop_duplicates())
    shape_md = markdown(
        signal_shape(obs, spec, unit_years),
        ["signal", "family", "obs.", "units", "years", "unit-years without", "skew",
         "excess kurtosis"],
        lambda r: [f"`{r.signal}`", r.family, f"{r.obs:,}", str(r.units), r.years,
                   f"{r.missing:,}", num(r.skew), num(r.kurtosis)],
    )  # fmt: skip
    pairs_md = markdown(
        correlation_table(wide_table(obs, spec), spec),
        ["pair", "pillar", "unit-years", "between allies (unit means)",
         "within an ally over time", "within, common year effects removed"],
        lambda r: [r.pair, r.pillar or "across", f"{r.cells:,}", num(r.between),
                   num(r.within), num(r.within_no_year)],
    )  # fmt: skip
    return shape_md + "\n\n" + pairs_md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spec",
        type=Path,
        default=REPO / "models" / "us_alliances_one_factor.toml",
        help="the panel's model spec (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    print(report(load_spec(args.spec)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
