"""The answer to a what-if question, :class:`WhatIfResult`: both trajectories' draws, the
contrast and the crises' effect as tables, a sentence, a figure and the files."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from ..panel import UNIT_SEP
from ..results import DEFAULT_PROB
from ..safe_text import dumps, pareto_k_text, plain
from ..scenario import BoundScenario, Scenario
from ..whatif_plot import FigureData, Marker, Series, Subplot, draw, save_png

if TYPE_CHECKING:
    from .answer import Baseline, _Answer

_N_PAIRS = 4000  # draws of the contrast over independent draws (for its interval)


def _interval(hdi_prob: float | None, prob: float | None, default: float | None) -> float | None:
    """The interval probability asked for: ``hdi_prob``, or the deprecated ``prob``."""
    if prob is not None:
        warnings.warn(
            "'prob' is deprecated: use 'hdi_prob' (the package-wide name of the interval "
            "probability)",
            DeprecationWarning,
            stacklevel=3,
        )
        if hdi_prob is None:
            hdi_prob = prob
    return default if hdi_prob is None else hdi_prob


def _hdi(x: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval per column of ``x`` (draws, cells), as ArviZ computes it."""
    x = np.sort(x, axis=0)
    n = x.shape[0]
    width = int(math.floor(prob * n))
    if width >= n or n < 2:
        return x[0], x[-1]
    gaps = x[width:] - x[: n - width]
    start = np.argmin(gaps, axis=0)
    cols = np.arange(x.shape[1])
    return x[start, cols], x[start + width, cols]


def _prob_greater(s: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(s > b) per column, s ~ weighted draws, b ~ uniform draws, independent."""
    b_sorted = np.sort(b, axis=0)
    below = np.empty(s.shape)
    for c in range(s.shape[1]):
        below[:, c] = np.searchsorted(b_sorted[:, c], s[:, c], side="left")
    return w @ below / b.shape[0]


def _weighted_sd(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    mean = w @ x
    return np.sqrt(np.maximum(w @ (x - mean) ** 2, 0.0))


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """The answer to a what-if question: a value, never mutating the baseline.

    Attributes
    ----------
    scenario : Scenario
    engine : str
        ``"fast"`` or ``"exact"``: the engine that answered.
    reason : str
        Why that engine answered (the Pareto k, or why the fast engine did not apply).
    pareto_k : float or None
        Pareto k of the fast engine's weights (None: uniform weights, or the exact engine
        answered without one). Values below 0 are valid: the weights' tail is bounded.
    paired : bool
        Whether the contrast's spread is over paired draws (see the module docstring).
    baseline, scenario_draws : xarray.DataArray
        Credibility draws ``(sample, unit, year)`` on the baseline's scale, with
        ``member``/``alliance`` coordinates; years run to the horizon.
    weights : xarray.DataArray
        Weight of each scenario draw (sum 1).
    reported : xarray.DataArray
        ``(unit, year)`` cells the tables list: the units' active years in the baseline or
        the scenario, and the horizon's years for units active at the end of the data.
    timings : dict
        Seconds: ``total_s``, ``fast_s`` and/or ``exact_s``, ``compile_s``, ``sample_s``.
    hdi_prob : float
        Default probability of the highest-density intervals of the tables and figure.

    Examples
    --------
    >>> answer = bc.whatif(result, "scenarios/example.toml")     # doctest: +SKIP
    >>> answer.summary()          # the units that change most, a DataFrame  # doctest: +SKIP
    >>> print(answer.text())      # the same in a sentence                   # doctest: +SKIP
    >>> answer.save("whatif_output")                                         # doctest: +SKIP
    """

    scenario: Scenario
    engine: str
    reason: str
    pareto_k: float | None
    ess: float | None
    paired: bool
    baseline: xr.DataArray
    scenario_draws: xr.DataArray
    weights: xr.DataArray
    reported: xr.DataArray
    last_data_year: int
    changes: pd.DataFrame
    crises: pd.DataFrame
    timings: dict
    hdi_prob: float = DEFAULT_PROB
    seed: int = 0
    shock: xr.DataArray | None = None
    # [dimensions] models (exact engine): each pillar's draws (sample, unit, year, dimension)
    pillar_baseline: xr.DataArray | None = None
    pillar_scenario: xr.DataArray | None = None
    _tables: dict = field(default_factory=dict, repr=False)  # computed tables, by prob

    @classmethod
    def assemble(
        cls,
        answer: _Answer,
        result,
        bound: BoundScenario,
        baseline: Baseline,
        hdi_prob: float,
        seed: int,
        timings: dict,
    ) -> WhatIfResult:
        panel = result.panel
        years = bound.years.astype(int)
        n_data = len(panel.years)
        active_end = baseline.active[:, n_data - 1]
        future = np.zeros_like(baseline.active)
        future[:, n_data:] = active_end[:, None]
        reported = baseline.active | answer.evidence | future
        coords = {
            "unit": panel.unit_labels,
            "year": years,
            "member": ("unit", panel.units.member.to_numpy(str)),
            "alliance": ("unit", panel.units.alliance.to_numpy(str)),
        }
        dims = ("sample", "unit", "year")
        return cls(
            scenario=bound.scenario,
            engine=answer.engine,
            reason=answer.reason,
            pareto_k=answer.pareto_k,
            ess=answer.ess,
            paired=answer.paired,
            baseline=xr.DataArray(answer.baseline, dims=dims, coords=coords, name="baseline"),
            scenario_draws=xr.DataArray(answer.scenario, dims=dims, coords=coords, name="scenario"),
            weights=xr.DataArray(answer.weights, dims="sample", name="weight"),
            reported=xr.DataArray(
                reported, dims=("unit", "year"), coords={k: v for k, v in coords.items()}
            ),
            last_data_year=int(panel.years[-1]),
            changes=bound.changes,
            crises=bound.crises,
            timings=timings,
            hdi_prob=hdi_prob,
            seed=seed,
            shock=None
            if answer.shock is None
            else xr.DataArray(answer.shock, dims=dims, coords=coords, name="shock"),
            **_pillar_arrays(answer.pillars, dims, coords),
        )

    @property
    def prob(self) -> float:
        """Deprecated name of :attr:`hdi_prob`."""
        warnings.warn("'prob' is deprecated: use 'hdi_prob'", DeprecationWarning, stacklevel=2)
        return self.hdi_prob

    # ------------------------------------------------------------------ tables

    def _cells(self):
        mask = self.reported.values.ravel()
        n_b, n_s = self.baseline.sizes["sample"], self.scenario_draws.sizes["sample"]
        b = self.baseline.values.reshape(n_b, -1)[:, mask]
        s = self.scenario_draws.values.reshape(n_s, -1)[:, mask]
        return mask, b, s, self.weights.values

    def _index(self, mask) -> pd.DataFrame:
        n_years = self.reported.sizes["year"]
        units = np.repeat(np.arange(self.reported.sizes["unit"]), n_years)[mask]
        return pd.DataFrame(
            {
                "member": self.reported.member.values[units],
                "alliance": self.reported.alliance.values[units],
                "year": np.tile(self.reported.year.values, self.reported.sizes["unit"])[mask],
            }
        )

    def _pairs(self, n_s: int, n_b: int, w: np.ndarray):
        rng = np.random.default_rng([self.seed, 1])
        edges = np.cumsum(w)
        pick = np.searchsorted(edges, rng.random(_N_PAIRS) * edges[-1], side="right")
        return np.minimum(pick, n_s - 1), rng.integers(n_b, size=_N_PAIRS)

    def _cached(self, kind: str, prob: float, compute):
        if (kind, prob) not in self._tables:
            self._tables[(kind, prob)] = compute(prob)
        table = self._tables[(kind, prob)]
        return None if table is None else table.copy()

    def contrast(self, hdi_prob: float | None = None, *, prob: float | None = None) -> pd.DataFrame:
        """Scenario minus baseline per unit-year: ``member, alliance, year, mean, sd,
        hdi_low, hdi_high, p_up`` (``p_up`` = P(scenario > baseline))."""
        hdi_prob = _interval(hdi_prob, prob, self.hdi_prob)
        return self._cached("contrast", hdi_prob, self._contrast)

    def _contrast(self, prob: float) -> pd.DataFrame:
        mask, b, s, w = self._cells()
        return self._difference(self._index(mask), b, s, w, prob)

    def _difference(self, table, b, s, w, prob: float) -> pd.DataFrame:
        """``table`` with the scenario-minus-baseline columns of draws ``b`` and ``s``
        (sample, cell): paired draw by draw, or unpaired through weighted pairs."""
        if self.paired:
            d = s - b
            mean, sd, p_up = d.mean(0), d.std(0), (d > 0).mean(0)
            low, high = _hdi(d, prob)
        else:
            mean = w @ s - b.mean(0)
            sd = np.sqrt(_weighted_sd(s, w) ** 2 + b.var(0))
            p_up = _prob_greater(s, w, b)
            i, j = self._pairs(len(w), b.shape[0], w)
            low, high = _hdi(s[i] - b[j], prob)
        table["mean"], table["sd"] = mean, sd
        table["hdi_low"], table["hdi_high"], table["p_up"] = low, high, p_up
        return table

    def pillar_contrast(
        self, hdi_prob: float | None = None, *, prob: float | None = None
    ) -> pd.DataFrame | None:
        """Scenario minus baseline per unit-year and pillar, for a ``[dimensions]`` model:
        ``member, alliance, dimension, year, mean, sd, hdi_low, hdi_high, p_up``, as
        :meth:`contrast` is for overall credibility.  The data's years only (the
        baseline's pillars are not forecast into a horizon); None for a one-factor model.
        A spending rise moves its pillar (cost sharing) and, as far as the other pillars'
        evidence allows, overall credibility (:meth:`contrast`)."""
        hdi_prob = _interval(hdi_prob, prob, self.hdi_prob)
        return self._cached("pillar_contrast", hdi_prob, self._pillar_contrast)

    def _pillar_contrast(self, prob: float) -> pd.DataFrame | None:
        if self.pillar_baseline is None:
            return None
        mask, _, _, w = self._cells()
        data_years = self.reported.year.values <= self.last_data_year
        mask = mask & np.broadcast_to(data_years, self.reported.shape).ravel()
        index, frames = self._index(mask), []
        for name in self.pillar_baseline["dimension"].values:
            b, s = (a.sel(dimension=name).values for a in (self.pillar_baseline,
                                                             self.pillar_scenario))
            table = index.copy()
            table.insert(2, "dimension", str(name))
            frames.append(self._difference(table, b.reshape(b.shape[0], -1)[:, mask],
                                           s.reshape(s.shape[0], -1)[:, mask], w, prob))
        return pd.concat(frames, ignore_index=True)

    def effect(
        self, hdi_prob: float | None = None, *, prob: float | None = None
    ) -> pd.DataFrame | None:
        """The hypothetical crises' direct effect through reputation, per unit-year.

        Paired by construction: for each scenario draw, its credibility with the crises
        minus the same draw's without them (``kappa * phi_r ** (s - t - 1)`` for a crisis
        beyond the data), weighted by the scenario's posterior.  Unlike :meth:`contrast` it leaves
        out what the crises' outcomes say, as evidence, about credibility in their year.
        Columns as :meth:`contrast`; None when the scenario has no crises or the model no
        reputation.
        """
        hdi_prob = _interval(hdi_prob, prob, self.hdi_prob)
        return self._cached("effect", hdi_prob, self._effect)

    def _effect(self, prob: float) -> pd.DataFrame | None:
        if self.shock is None:
            return None
        mask, _, _, w = self._cells()
        d = self.shock.values.reshape(len(w), -1)[:, mask]
        if np.ptp(w) == 0:
            low, high = _hdi(d, prob)
        else:
            low, high = _hdi(d[self._pairs(len(w), len(w), w)[0]], prob)
        table = self._index(mask)
        table["mean"], table["sd"] = w @ d, _weighted_sd(d, w)
        table["hdi_low"], table["hdi_high"], table["p_up"] = low, high, w @ (d > 0)
        return table

    def trajectories(
        self, hdi_prob: float | None = None, *, prob: float | None = None
    ) -> pd.DataFrame:
        """Both trajectories: ``member, alliance, year, case (baseline | scenario), mean,
        sd, hdi_low, hdi_high, forecast`` (forecast: a year beyond the data)."""
        hdi_prob = _interval(hdi_prob, prob, self.hdi_prob)
        return self._cached("trajectories", hdi_prob, self._trajectories)

    def _trajectories(self, prob: float) -> pd.DataFrame:
        mask, b, s, w = self._cells()
        frames = []
        uniform = np.ptp(w) == 0
        s_draws = s if uniform else s[self._pairs(len(w), b.shape[0], w)[0]]
        for case, draws, mean, sd in (
            ("baseline", b, b.mean(0), b.std(0)),
            ("scenario", s_draws, w @ s, _weighted_sd(s, w)),
        ):
            table = self._index(mask)
            low, high = _hdi(draws, prob)
            table.insert(3, "case", case)
            table["mean"], table["sd"], table["hdi_low"], table["hdi_high"] = mean, sd, low, high
            table["forecast"] = table.year > self.last_data_year
            frames.append(table)
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ words and pictures

    def summary(
        self, n: int | None = None, hdi_prob: float | None = None, *, prob: float | None = None
    ) -> pd.DataFrame:
        """The units that change most: each unit's largest change (the row of
        :meth:`contrast` with the largest ``|mean|``), largest first, ``n`` of them (all by
        default).  Columns as :meth:`contrast`; :meth:`text` says the same in a sentence."""
        table = self.contrast(_interval(hdi_prob, prob, None))
        unit = table.member + UNIT_SEP + table.alliance
        size = table["mean"].abs()
        order = size.sort_values(ascending=False, kind="stable").index
        top = table.loc[order][~unit.loc[order].duplicated()]
        return (top if n is None else top.head(n)).reset_index(drop=True)

    def text(self, n: int = 3, hdi_prob: float | None = None, *, prob: float | None = None) -> str:
        """One sentence on the largest changes (or the forecast's widening intervals)."""
        prob = _interval(hdi_prob, prob, self.hdi_prob)
        name = plain(self.scenario.name)
        pct = f"{round(prob * 100)}%"
        table = self.contrast(prob)
        how = f"{self.engine} engine" + (
            f", {pareto_k_text(self.pareto_k)}" if self.pareto_k is not None else ""
        )
        if self.scenario.is_empty:
            if not self.scenario.horizon:
                return f"Scenario '{name}' changes nothing: the contrast is 0 everywhere ({how})."
            traj = self.trajectories(prob)
            base = traj[traj.case == "baseline"]
            width = (base.hdi_high - base.hdi_low).groupby(base.year).mean()
            last, end = self.last_data_year, int(base.year.max())
            return (
                f"Forecast to {end} with no scenario: the mean {pct} interval of credibility "
                f"widens from {width.get(last, float('nan')):.2f} in {last} to "
                f"{width.get(end, float('nan')):.2f} in {end} ({how})."
            )
        table["unit"] = table.member + UNIT_SEP + table.alliance
        table["size"] = table["mean"].abs()
        top = table.sort_values("size", ascending=False).drop_duplicates("unit").head(n)
        top = top[top["size"] >= 0.005]  # a change shown as +0.00 or -0.00 is none
        if top.empty:
            return (f"Scenario '{name}' leaves credibility unchanged (no unit-year moves by "
                    f"0.005 or more; {how}).")
        parts = [
            f"{r.unit} in {r.year} ({r['mean']:+.2f}, {pct} interval {r.hdi_low:+.2f} to "
            f"{r.hdi_high:+.2f}, P(up) {r.p_up:.2f})"
            for _, r in top.iterrows()
        ]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        effect = self.effect(prob)
        if effect is not None and effect["mean"].abs().max() >= 0.005:
            e = effect.loc[effect["mean"].abs().idxmax()]
            listed += (
                f"; through reputation alone the crises move {e.member}{UNIT_SEP}{e.alliance} "
                f"by {e['mean']:+.2f} in {e.year} ({pct} interval {e.hdi_low:+.2f} to "
                f"{e.hdi_high:+.2f})"
            )
        pillars = self.pillar_contrast(prob)
        if pillars is not None and pillars["mean"].abs().max() >= 0.005:
            r = pillars.loc[pillars["mean"].abs().idxmax()]
            listed += (
                f"; among the pillars, {r.dimension} of {r.member}{UNIT_SEP}{r.alliance} moves "
                f"most, by {r['mean']:+.2f} in {r.year} ({pct} interval {r.hdi_low:+.2f} to "
                f"{r.hdi_high:+.2f})"
            )
        return f"Scenario '{name}': the largest changes in credibility are {listed} ({how})."

    def plot(
        self,
        units: list[str] | None = None,
        max_units: int = 6,
        ncols: int = 3,
        hdi_prob: float | None = None,
        *,
        prob: float | None = None,
    ):
        """Baseline and scenario trajectories with intervals for the units that change most
        (or ``units``); hypothetical crises marked (▲ honoured, ▼ violated)."""
        import matplotlib.pyplot as plt

        data = self.figure_data(units, max_units, ncols, _interval(hdi_prob, prob, None))
        return draw(data, plt.figure(figsize=data.size))

    def figure_data(
        self,
        units: list[str] | None = None,
        max_units: int = 6,
        ncols: int = 3,
        hdi_prob: float | None = None,
        *,
        prob: float | None = None,
    ) -> FigureData:
        """What :meth:`plot` draws, as arrays (see :mod:`bayescred.whatif_plot`)."""
        prob = _interval(hdi_prob, prob, self.hdi_prob)
        traj = self.trajectories(prob)
        traj["unit"] = traj.member + UNIT_SEP + traj.alliance
        # the contrast's mean is scenario mean - baseline mean (both cases hold the same
        # cells in the same order), so the panels are ordered without the contrast's intervals
        base, scen = traj[traj.case == "baseline"], traj[traj.case == "scenario"]
        change = pd.Series(np.abs(scen["mean"].to_numpy() - base["mean"].to_numpy()))
        order = change.groupby(base.unit.to_numpy(), sort=False).max()
        labels = list(order.sort_values(ascending=False, kind="stable").index)
        if units:
            labels = [u for u in labels if u in units or u.split(UNIT_SEP)[0] in units]
        show_scenario = not self.scenario.is_empty
        cases = {"baseline": ("grey", 0.25), "scenario": ("tab:orange", 0.3)}
        if not show_scenario:
            del cases["scenario"]
        panels = [self._panel(traj, label, cases) for label in labels[:max_units]]
        title = "scenario vs baseline" if show_scenario else "baseline forecast"
        return FigureData(
            panels,
            title=f"{self.scenario.name}: {title} ({self.engine} engine)",
            ylabel=f"credibility ({round(prob * 100)}% HDI)",
            ncols=ncols,
            divider=self.last_data_year + 0.5 if self.scenario.horizon else None,
        )

    def _panel(self, traj: pd.DataFrame, label: str, cases: dict) -> Subplot:
        mine = traj[traj.unit == label]
        series = []
        for case, (colour, alpha) in cases.items():
            rows = mine[mine.case == case]
            series.append(
                Series(
                    case,
                    colour,
                    alpha,
                    *(rows[c].to_numpy() for c in ("year", "mean", "hdi_low", "hdi_high")),
                )
            )
        scen = mine[mine.case == "scenario"].set_index("year")["mean"]
        member, alliance = label.split(UNIT_SEP)
        markers = [
            Marker(
                int(c.year),
                float(scen.get(c.year, np.nan)),
                c.outcome == "honored",
                c.alliance == alliance,
            )
            for c in self.crises[self.crises.member == member].itertuples()
        ]
        return Subplot(label, series, markers)

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        """What ``whatif.json`` holds: engine, why, Pareto k, pairing, timings, summary."""
        return {
            "scenario": self.scenario.name,
            "engine": self.engine,
            "reason": self.reason,
            "pareto_k": self.pareto_k,
            "ess": self.ess,
            "paired": self.paired,
            "horizon": self.scenario.horizon,
            "last_data_year": self.last_data_year,
            "draws": {
                "baseline": int(self.baseline.sizes["sample"]),
                "scenario": int(self.scenario_draws.sizes["sample"]),
            },
            "changed_cells": int(len(self.changes)),
            "hypothetical_crises": int(len(self.crises)),
            "hdi_prob": self.hdi_prob,
            "seed": self.seed,
            "scale": "credibility standardised over the baseline's active unit-years",
            "pillars": None
            if self.pillar_baseline is None
            else [str(d) for d in self.pillar_baseline["dimension"].values],
            "timings": {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.timings.items()
            },
            "summary": self.text(),
            "scenario_spec": self.scenario.to_dict(),
        }

    def write(self, out: str | Path) -> list[Path]:
        """Deprecated name of :meth:`save`."""
        warnings.warn(
            "WhatIfResult.write is deprecated: use save", DeprecationWarning, stacklevel=2
        )
        return self.save(out)

    def save(self, out: str | Path) -> list[Path]:
        """Write ``contrast.csv``, ``trajectories.csv``, ``whatif.json`` and ``whatif.png``
        (drawn in this process), and ``pillar_contrast.csv`` for a ``[dimensions]`` model,
        into folder ``out``; returns the paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / n for n in ("contrast.csv", "trajectories.csv", "whatif.json", "whatif.png")]
        self.contrast().to_csv(paths[0], index=False)
        self.trajectories().to_csv(paths[1], index=False)
        paths[2].write_text(dumps(self.to_dict(), indent=2) + "\n")  # no NaN/Infinity
        save_png(self.figure_data(), paths[3])
        pillars = self.pillar_contrast()
        if pillars is not None:
            paths.append(out / "pillar_contrast.csv")
            pillars.to_csv(paths[-1], index=False)
        return paths

    # ------------------------------------------------------------------ display

    def _headline(self) -> list[str]:
        k = "" if self.pareto_k is None else f", {pareto_k_text(self.pareto_k)}"
        n_b, n_s = self.baseline.sizes["sample"], self.scenario_draws.sizes["sample"]
        return [
            f"WhatIfResult '{self.scenario.name}': {self.engine} engine{k}, "
            f"{'paired' if self.paired else 'independent'} draws",
            f"  {len(self.changes)} changed cells, {len(self.crises)} hypothetical crises, "
            f"horizon {self.scenario.horizon or 0}; draws: baseline {n_b}, scenario {n_s}",
            f"  {self.reason}",
        ]

    def __repr__(self) -> str:
        return "\n".join(
            [*self._headline(), "  .summary() .text() .contrast() .trajectories() .plot() .save()"]
        )

    def _repr_html_(self) -> str:
        import html

        head = "<br>".join(html.escape(line.strip()) for line in self._headline())
        return (
            f"<div><p>{head}</p>{self.summary(5).to_html(index=False, float_format='%.3f')}</div>"
        )


def _pillar_arrays(pillars: tuple | None, dims: tuple, coords: dict) -> dict:
    """``pillar_baseline`` and ``pillar_scenario`` of :meth:`WhatIfResult.assemble` (empty
    for a one-factor model)."""
    if pillars is None:
        return {}
    base, scen, names = pillars
    coords = {**coords, "dimension": names}
    dims = (*dims, "dimension")
    return {
        "pillar_baseline": xr.DataArray(base, dims=dims, coords=coords, name="baseline"),
        "pillar_scenario": xr.DataArray(scen, dims=dims, coords=coords, name="scenario"),
    }
