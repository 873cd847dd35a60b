"""benchmarks/spread_scales.py: the experiment behind the default ``spread_scale``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
spread_scales = pytest.importorskip("spread_scales")


def test_the_command_fits_each_scale_and_writes_its_tables_per_problem(tmp_path, capsys):
    spread_scales.main(["--problem", "tiny", "--seeds", "1", "--scales", "0.6,1",
                        "--draws", "100", "--out", str(tmp_path)])  # fmt: skip
    fits = json.loads((tmp_path / "spread_scales_tiny.json").read_text())
    assert [f["spread_scale"] for f in fits] == [0.6, 1.0]
    for f in fits:
        assert f["steps_per_draw"] > 1 and f["credibility_ess_folded_median"] > 0
        assert 0.99 < f["credibility_max_rhat"] < 1.5 and f["hyper_min_ess_bulk"] > 0
    table = (tmp_path / "spread_scales_tiny.md").read_text()
    assert table in capsys.readouterr().out
    summary = table.split("\n\n")[1].splitlines()
    assert [row.split("|")[1].strip() for row in summary[2:]] == ["1.0", "0.6"]


def test_options_are_checked_before_anything_is_fitted(capsys):
    with pytest.raises(SystemExit):
        spread_scales.main(["--scales", "1,1.5"])
    assert "--scales must lie in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        spread_scales.main(["--seeds=-,x"])
    assert "'x' in '-,x'" in capsys.readouterr().err
    assert spread_scales.numbers(int, blank="-")("-,1001") == [None, 1001]
