"""The what-if figure: drawn in a parallel process, or here when that process fails."""

from __future__ import annotations

import numpy as np

from bayescred.whatif_plot import FigureData, Marker, ParallelPng, Series, Subplot, save_png

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


def test_parallel_process_writes_the_png(tmp_path):
    path = tmp_path / "w.png"
    with ParallelPng() as png:
        png.send(_data(), path)
        assert png.wait() == path  # right after send: the hand-over must not race the wait
        assert png.drawn_by_process
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_png_is_drawn_here_when_the_process_fails(tmp_path):
    path = tmp_path / "w.png"
    png = ParallelPng()
    png._proc.kill()  # the drawing process died before it got the figure
    png._proc.wait()
    png.send(_data(), path)
    assert png.wait() == path
    assert not png.drawn_by_process
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_unused_process_is_stopped():
    png = ParallelPng()
    proc = png._proc
    png.close()
    assert proc.poll() is not None


def test_save_png_in_process(tmp_path):
    assert save_png(_data(6), tmp_path / "x.png").read_bytes().startswith(PNG_MAGIC)


def test_figure_data_round_trips_through_json():
    data = _data(2)
    data.panels[0].series[0].mean[3] = np.nan  # a missing mean survives
    back = FigureData.from_json(data.to_json())
    assert back.title == data.title and back.divider == data.divider
    assert back.panels[1].markers == data.panels[1].markers
    for a, b in zip(back.panels[0].series, data.panels[0].series, strict=True):
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.years, b.years)
