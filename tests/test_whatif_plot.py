"""The what-if figure: laid out from plain arrays and drawn in this process."""

from __future__ import annotations

import numpy as np

from bayescred.whatif_plot import FigureData, Marker, Series, Subplot, save_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data(n_panels: int = 4) -> FigureData:
    years = np.arange(2000, 2010)
    panels = [
        Subplot(
            f"M{i:02d}/A0",
            [
                Series(
                    case,
                    colour,
                    0.3,
                    years,
                    np.sin(years + i),
                    np.sin(years) - 1,
                    np.sin(years) + 1,
                )
                for case, colour in (("baseline", "grey"), ("scenario", "tab:orange"))
            ],
            [Marker(2008, 0.2, honored=False, own=True)],
        )
        for i in range(n_panels)
    ]
    return FigureData(panels, title="t", ylabel="credibility", ncols=3, divider=2007.5)


def test_layout_fits_the_panels():
    data = _data(4)
    assert data.shape == (2, 3)
    width, height = data.size
    assert width > height > 0
    assert _data(1).shape == (1, 1)


def test_save_png_in_process(tmp_path):
    assert save_png(_data(6), tmp_path / "x.png").read_bytes().startswith(PNG_MAGIC)


def test_save_png_with_a_missing_mean_and_no_panels(tmp_path):
    data = _data(2)
    data.panels[0].series[0].mean[3] = np.nan  # a year without a mean is left blank
    assert save_png(data, tmp_path / "a.png").read_bytes().startswith(PNG_MAGIC)
    empty = FigureData([], title="nothing", ylabel="credibility")
    assert save_png(empty, tmp_path / "b.png").read_bytes().startswith(PNG_MAGIC)
