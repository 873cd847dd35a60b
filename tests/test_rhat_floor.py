"""benchmarks/rhat_floor.py: the R-hat an exact NUTS reaches on independent normals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
rhat_floor = pytest.importorskip("rhat_floor")

from bayescred import mixing  # noqa: E402


def _ar1(phi: float, values: int, chains: int, draws: int, seed: int) -> np.ndarray:
    """Stationary N(0, 1) AR(1) chains, (value, chain, draw)."""
    rng = np.random.default_rng(seed)
    x = np.empty((values, chains, draws))
    x[..., 0] = rng.standard_normal((values, chains))
    scale = np.sqrt(1 - phi**2)
    for t in range(1, draws):
        x[..., t] = phi * x[..., t - 1] + scale * rng.standard_normal((values, chains))
    return x


def test_antithetic_draws_have_many_effective_draws_but_their_spread_few():
    """What the script measures, on chains of known autocorrelation: an AR(1) with
    phi = -0.5 is antithetic, bulk ESS ~ N (1 - phi) / (1 + phi) = 3 N, while its distances
    from the median are positively autocorrelated (|x|'s lag-1 correlation is 0.22 here),
    so the folded ESS is below N (~0.63 N from those correlations)."""
    x = _ar1(-0.5, values=200, chains=4, draws=1000, seed=3)
    got = rhat_floor.mixing_figures(x)
    n = 4000
    assert got["ess_bulk_median"] == pytest.approx(3 * n, rel=0.1)
    assert 0.5 * n < got["ess_folded_median"] < 0.8 * n
    assert got["ess_bulk_min"] <= got["ess_bulk_median"]
    assert got["ess_folded_min"] <= got["ess_folded_median"]


def test_its_rhat_is_the_benchmarks():
    """The two halves kept apart recombine into mixing.rhat (ArviZ's rank R-hat), and the
    count over the bound is of the combined statistic."""
    x = _ar1(0.3, values=50, chains=4, draws=200, seed=5)
    x[:5, 0] += 0.3  # a few values whose first chain sits apart
    got = rhat_floor.mixing_figures(x)
    combined = mixing._rhat_rank(x)
    assert got["max_rhat"] == pytest.approx(combined.max(), rel=1e-12)
    assert got["max_rhat"] == max(got["max_rhat_bulk"], got["max_rhat_folded"])
    assert got["values_over"] == int((combined > rhat_floor.RHAT_MAX).sum()) > 0


def test_the_command_writes_its_table(tmp_path):
    """End to end on the tiny problem (24 values, 4 chains x 50 draws after the warm-up)."""
    assert rhat_floor.credibility_values("medium") == 30 * 60
    rhat_floor.main(["--problems", "tiny", "--seeds", "1", "--draws", "50", "--out",
                     str(tmp_path)])  # fmt: skip
    runs = json.loads((tmp_path / "rhat_floor.json").read_text())
    assert [(r["problem"], r["values"], r["draws"], r["seed"]) for r in runs] == [
        ("tiny", 24, 50, 1)
    ]
    assert runs[0]["steps_per_draw"] > 1 and 1 <= runs[0]["max_rhat"] < 1.2
    assert "| tiny | 24 | 50 | 1 |" in (tmp_path / "rhat_floor.md").read_text()


def test_unknown_problems_are_named(capsys):
    with pytest.raises(SystemExit):
        rhat_floor.main(["--problems", "medium,huge"])
    assert "unknown problem(s) huge" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--seeds", "--draws"])
def test_a_list_that_is_not_numbers_is_named(capsys, option):
    with pytest.raises(SystemExit):
        rhat_floor.main([option, "1,two"])
    err = capsys.readouterr().err
    assert option in err and "'two' in '1,two': expected comma-separated ints" in err
