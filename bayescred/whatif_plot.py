"""The what-if figure, drawn from plain arrays.

:class:`FigureData` holds what the figure shows (NumPy arrays and strings, no pandas), so
that :func:`draw` needs only matplotlib; :func:`save_png` draws it on a bare Agg figure
(no pyplot) and writes the PNG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# panel geometry in inches; a fixed layout, because tight_layout measured every text
# box of the figure (~2 s of the command's time on two cores) to place six small panels
PANEL_W, PANEL_H = 3.8, 2.5
LEFT, RIGHT, TOP, BOTTOM = 0.75, 0.15, 0.6, 0.4
WSPACE, HSPACE = 0.45, 0.4
DPI = 110


@dataclass
class Series:
    """One case's posterior mean and interval over years."""

    label: str
    colour: str
    alpha: float
    years: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass
class Marker:
    """A hypothetical crisis: ▲ honoured, ▼ violated; filled when in the panel's alliance."""

    year: int
    y: float
    honored: bool
    own: bool


@dataclass
class Subplot:
    title: str
    series: list[Series]
    markers: list[Marker] = field(default_factory=list)


@dataclass
class FigureData:
    panels: list[Subplot]
    title: str
    ylabel: str
    ncols: int = 3
    divider: float | None = None  # x of the line between data years and forecast years

    @property
    def shape(self) -> tuple[int, int]:
        ncols = max(1, min(self.ncols, len(self.panels)))
        return max(1, math.ceil(len(self.panels) / ncols)), ncols

    @property
    def size(self) -> tuple[float, float]:
        nrows, ncols = self.shape
        width = LEFT + RIGHT + ncols * PANEL_W + (ncols - 1) * WSPACE
        height = TOP + BOTTOM + nrows * PANEL_H + (nrows - 1) * HSPACE
        return width, height


def draw(data: FigureData, fig):
    """Draw ``data`` on the empty matplotlib figure ``fig`` (sized ``data.size``)."""
    nrows, ncols = data.shape
    width, height = data.size
    fig.subplots_adjust(
        left=LEFT / width,
        right=1 - RIGHT / width,
        bottom=BOTTOM / height,
        top=1 - TOP / height,
        wspace=WSPACE / PANEL_W,
        hspace=HSPACE / PANEL_H,
    )
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    for ax, panel in zip(axes.flat, data.panels):
        for s in panel.series:
            ax.fill_between(s.years, s.low, s.high, color=s.colour, alpha=s.alpha, lw=0)
            ax.plot(s.years, s.mean, color=s.colour, lw=1.5, label=s.label)
        if data.divider is not None:
            ax.axvline(data.divider, color="k", lw=0.7, ls="--")
        for m in panel.markers:
            colour = "tab:green" if m.honored else "tab:red"
            ax.scatter(
                [m.year],
                [m.y],
                marker="^" if m.honored else "v",
                color=colour,
                facecolors=colour if m.own else "none",
                zorder=3,
            )
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(panel.title, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.locator_params(nbins=5)  # fewer tick labels to lay out; small panels need no more
    for ax in list(axes.flat)[len(data.panels) :]:
        ax.set_visible(False)
    if data.panels:
        axes.flat[0].legend(fontsize=7, loc="best")
    fig.supylabel(data.ylabel, fontsize=9)
    fig.suptitle(data.title, fontsize=11)
    return fig


def save_png(data: FigureData, path: str | Path) -> Path:
    """Draw ``data`` on a bare Agg figure (no pyplot, no GUI backend) and save it."""
    from matplotlib.figure import Figure

    fig = draw(data, Figure(figsize=data.size))
    # zlib level 1: a third larger file, written in a fifth of the time of the default 6
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
    return Path(path)
