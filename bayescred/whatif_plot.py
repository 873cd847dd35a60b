"""The what-if figure: drawn from plain arrays, in this process or in a parallel one.

:class:`FigureData` holds what the figure shows (NumPy arrays and strings, no pandas), so
that :func:`draw` needs only matplotlib.  The command line draws ``whatif.png`` in a
second process (:class:`ParallelPng`) started with the command: matplotlib's import and
font set-up (2-3 s on two cores) then overlap with reading the result and reweighting
its draws, instead of following them.  ``python -m bayescred.whatif_plot`` is that
process: it prepares matplotlib, reads a :class:`FigureData` (as JSON) and a path from
standard input, and writes the PNG.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
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

    def to_json(self) -> str:
        """Plain JSON (arrays as lists; NaN as JSON's NaN), for the drawing process."""
        return json.dumps(asdict(self), default=lambda a: np.asarray(a).tolist())

    @classmethod
    def from_json(cls, text: str) -> FigureData:
        raw = json.loads(text)
        raw["panels"] = [
            Subplot(
                p["title"],
                [
                    Series(**{k: np.asarray(v) if isinstance(v, list) else v for k, v in s.items()})
                    for s in p["series"]
                ],
                [Marker(**m) for m in p["markers"]],
            )
            for p in raw["panels"]
        ]
        return cls(**raw)

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


class ParallelPng:
    """A second process, started now, that will draw one PNG when given its data.

    ``send(data, path)`` hands the figure over (the caller goes on); ``wait()`` waits for
    the file.  If the process cannot be started or fails, ``wait()`` draws the figure
    here instead: the PNG is never missing.  ``close()`` stops a process that was never
    used (the command failed before it had a figure).
    """

    def __init__(self) -> None:
        self._job: tuple[FigureData, Path] | None = None
        self._writer: threading.Thread | None = None
        self.drawn_by_process = False
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._proc = None

    def send(self, data: FigureData, path: str | Path) -> None:
        self._job = (data, Path(path))
        if self._proc is not None:  # a thread writes: a large figure may fill the pipe
            payload = json.dumps({"path": str(path), "figure": data.to_json()}).encode()
            self._writer = threading.Thread(target=_write, args=(self._proc, payload), daemon=True)
            self._writer.start()

    def wait(self, timeout: float = 120) -> Path:
        """The PNG's path, once written; ``drawn_by_process`` says which process drew it."""
        data, path = self._job
        proc, self._proc = self._proc, None
        if proc is not None:
            self._writer.join(timeout)
            try:
                if proc.wait(timeout) == 0 and path.is_file():
                    self.drawn_by_process = True
                    return path
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return save_png(data, path)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> ParallelPng:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write(proc: subprocess.Popen, payload: bytes) -> None:
    """Hand the job to the drawing process and close its input (its end-of-job)."""
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:  # the process died; wait() draws here
        pass


def _serve() -> None:
    """The drawing process: prepare matplotlib while the parent works, then draw."""
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    # load the font list, the font and Agg now, while the parent still reads and computes
    font_manager.findfont("DejaVu Sans")
    warm = Figure(figsize=(1, 1))
    warm.text(0.5, 0.5, "0")
    warm.savefig(io.BytesIO(), format="png")
    job = json.loads(sys.stdin.buffer.read())
    save_png(FigureData.from_json(job["figure"]), job["path"])


if __name__ == "__main__":
    _serve()
