"""The explorer's charts as Plotly figure dicts (JSON the browser draws with plotly.js):
a unit's credibility, baseline and scenario with intervals and crisis markers, and its
pillars when the model has several dimensions.  The numbers come from the what-if answer's
own tables (:meth:`WhatIfResult.trajectories`), never recomputed here.

Traces carry fixed names (``baseline``, ``scenario``, ``baseline interval``, ...), so a
reader of the page (or a test) finds each one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import UNIT_SEP
from ..whatif import WhatIfResult
from ..whatif.result import _hdi

COLOURS = {"baseline": "rgb(110,110,110)", "scenario": "rgb(230,120,20)"}
BANDS = {"baseline": "rgba(110,110,110,0.22)", "scenario": "rgba(230,120,20,0.25)"}
OUTCOME_SYMBOLS = {"honored": "triangle-up", "violated": "triangle-down"}
PILLAR_COLOURS = ("rgb(31,119,180)", "rgb(44,160,44)", "rgb(148,103,189)", "rgb(214,39,40)")


def unit_rows(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The rows of a what-if table (contrast, trajectories) that belong to ``unit``."""
    member, alliance = unit.split(UNIT_SEP, 1)
    return table[(table.member == member) & (table.alliance == alliance)]


def trajectory_figure(answer: WhatIfResult, crises: pd.DataFrame, unit: str) -> dict:
    """Credibility of ``unit`` under the baseline and the scenario (mean and HDI), with
    the member's crises: ▲ honoured, ▼ violated; filled on this commitment, open on the
    member's others; hypothetical crises in the scenario's colour."""
    traj = unit_rows(answer.trajectories(), unit)
    cases = ["baseline"] if answer.scenario.is_empty else ["baseline", "scenario"]
    traces = []
    for case in cases:
        rows = traj[traj.case == case].sort_values("year")
        traces += _band(case, rows)
    base = traj[traj.case == "baseline"].set_index("year")["mean"]
    scen = traj[traj.case == cases[-1]].set_index("year")["mean"]
    member, alliance = unit.split(UNIT_SEP, 1)
    traces.append(_crisis_trace("crises", crises, member, alliance, base, COLOURS["baseline"]))
    if len(answer.crises):
        traces.append(
            _crisis_trace(
                "hypothetical crises", answer.crises, member, alliance, scen, COLOURS["scenario"]
            )
        )
    pct = round(answer.hdi_prob * 100)
    layout = _layout(f"{unit}: credibility", f"credibility ({pct}% HDI)")
    if answer.scenario.horizon:
        layout["shapes"] = [_divider(answer.last_data_year + 0.5)]
    return {"data": traces, "layout": layout}


def pillar_figure(pillars, unit: str, hdi_prob: float) -> dict | None:
    """The unit's pillars (posterior mean and HDI per dimension), or None without any.

    ``pillars``: the posterior's ``pillar`` draws, dims (chain, draw, unit, year,
    dimension)."""
    if pillars is None:
        return None
    mine = pillars.sel(unit=unit).stack(sample=("chain", "draw")).transpose("sample", ...)
    years = mine.year.values.astype(int)
    traces = []
    for i, name in enumerate(mine.dimension.values):
        draws = mine.sel(dimension=name).values  # (sample, year)
        low, high = _hdi(draws, hdi_prob)
        rows = pd.DataFrame(
            {"year": years, "mean": draws.mean(0), "hdi_low": low, "hdi_high": high}
        )
        colour = PILLAR_COLOURS[i % len(PILLAR_COLOURS)]
        traces += _band(str(name), rows, colour, colour.replace("rgb", "rgba")[:-1] + ",0.18)")
    pct = round(hdi_prob * 100)
    return {"data": traces, "layout": _layout(f"{unit}: pillars", f"pillar ({pct}% HDI)")}


def _band(name: str, rows: pd.DataFrame, colour: str | None = None, band: str | None = None):
    """A mean line and its interval as a filled polygon."""
    x = rows.year.to_numpy(int).tolist()
    return [
        {
            "type": "scatter",
            "name": f"{name} interval",
            "x": x + x[::-1],
            "y": rows.hdi_high.tolist() + rows.hdi_low.tolist()[::-1],
            "fill": "toself",
            "fillcolor": band or BANDS[name],
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": rows["mean"].tolist(),
            "line": {"color": colour or COLOURS[name], "width": 2},
            "marker": {"size": 4},
            "customdata": np.column_stack([rows.hdi_low, rows.hdi_high]).tolist(),
            "hovertemplate": "%{x}: %{y:.2f} [%{customdata[0]:.2f}, %{customdata[1]:.2f}]",
        },
    ]


def _crisis_trace(name, crises, member, alliance, level: pd.Series, colour: str) -> dict:
    """The member's crises at the line's level in their year (NaN where not reported)."""
    mine = crises[crises.member == member] if len(crises) else crises
    own = (mine.alliance == alliance).to_numpy() if len(mine) else np.zeros(0, bool)
    symbols = [
        OUTCOME_SYMBOLS.get(o, "diamond") + ("" if same else "-open")
        for o, same in zip(mine.get("outcome", []), own)
    ]
    kinds = mine["kind"].astype(str).tolist() if "kind" in mine else [""] * len(mine)
    text = [
        f"{c.crisis}: {c.outcome}" + (f" ({k})" if k else "") + f", {c.alliance}"
        for c, k in zip(mine.itertuples(), kinds)
    ]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": mine.year.astype(int).tolist() if len(mine) else [],
        "y": [_level(level, y) for y in mine.get("year", [])],
        "text": text,
        "hovertemplate": "%{x}: %{text}<extra></extra>",
        "marker": {
            "symbol": symbols,
            "size": 12,
            "color": colour,
            "line": {"color": colour, "width": 2},
        },
    }


def _level(series: pd.Series, year) -> float | None:
    value = series.get(int(year), np.nan)
    return None if not np.isfinite(value) else float(value)


def _layout(title: str, ytitle: str) -> dict:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "year"}, "gridcolor": "#eee"},
        "yaxis": {"title": {"text": ytitle}, "gridcolor": "#eee", "zerolinecolor": "#ccc"},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 45},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 380,
        "plot_bgcolor": "white",
    }


def _divider(x: float) -> dict:
    """A dashed line between the data's years and the forecast's."""
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"dash": "dash", "color": "grey"},
    }
