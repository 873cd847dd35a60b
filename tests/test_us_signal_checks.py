"""Tests of scripts/us_signal_checks.py: its statistics, and that data/README.md holds
the tables it prints from the committed US panel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayescred.spec import load_spec, spec_from_dict

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location(
        "us_signal_checks", REPO / "scripts" / "us_signal_checks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checks = _script()


def _panel(rng, n_units=40, n_years=30, rho_between=0.8, rho_within=0.5, year_sd=3.0):
    """Two signals a, b: unit levels correlated rho_between, yearly deviations correlated
    rho_within, plus large year effects that differ between the signals; some cells of b
    missing (an unbalanced panel)."""
    cov = lambda r: [[1.0, r], [r, 1.0]]  # noqa: E731
    levels = rng.multivariate_normal([0, 0], cov(rho_between), n_units) * 2.0
    years = rng.normal(0, year_sd, (n_years, 2))
    rows = []
    for u in range(n_units):
        dev = rng.multivariate_normal([0, 0], cov(rho_within), n_years)
        for t in range(n_years):
            a, b = levels[u] + years[t] + dev[t]
            rows.append({"member": f"M{u:02d}", "alliance": "A", "year": 2000 + t, "a": a, "b": b})
    wide = pd.DataFrame(rows).set_index(["member", "alliance", "year"])
    wide.loc[wide.sample(frac=0.2, random_state=1).index, "b"] = np.nan
    return wide


def test_pair_correlations_recover_between_and_within_without_year_effects():
    """On a panel with known correlations: the unit means give the between correlation;
    the two-way residuals give the within one, which the year effects would swamp."""
    wide = _panel(np.random.default_rng(0))
    got = checks.pair_correlations(wide, "a", "b")
    assert got["units"] == 40 and got["cells"] == int(wide.b.notna().sum())
    assert got["between"] == pytest.approx(0.8, abs=0.1)
    assert got["within_no_year"] == pytest.approx(0.5, abs=0.06)
    assert got["within"] < 0.3  # the year effects, independent across signals, dilute it


def test_demean_gives_the_two_way_fixed_effects_residual():
    """Alternating projections agree with least squares on unit and year dummies."""
    wide = _panel(np.random.default_rng(1))
    b = wide.b.dropna()
    unit = pd.Series(b.index.get_level_values("member"), index=b.index)
    year = pd.Series(b.index.get_level_values("year"), index=b.index)
    resid = checks.demean(b, [unit, year])
    X = pd.get_dummies(pd.DataFrame({"u": unit, "y": year.astype(str)}), dtype=float)
    coef, *_ = np.linalg.lstsq(X.to_numpy(), b.to_numpy(), rcond=None)
    np.testing.assert_allclose(resid.to_numpy(), b.to_numpy() - X.to_numpy() @ coef, atol=1e-8)


def test_link_scale_follows_family_and_direction():
    spec = spec_from_dict(
        {
            "signals": {
                "gap": {"family": "gaussian", "direction": -1},
                "ratio": {"family": "lognormal"},
                "share": {"family": "beta"},
                "count": {"family": "negbinomial"},
                "joint": {"family": "binomial"},
            }
        }
    )
    obs = pd.DataFrame(
        {
            "signal": ["gap", "ratio", "share", "count", "joint"],
            "value": [0.4, np.e, 0.75, 0.0, 0.0],
            "trials": [np.nan, np.nan, np.nan, np.nan, 3.0],
        }
    )
    z = checks.link_scale(obs, spec)
    np.testing.assert_allclose(z, [-0.4, 1.0, np.log(3.0), 0.0, np.log(0.5 / 3.5)])


def test_data_readme_holds_the_printed_tables():
    """data/README.md's "Modelling choices" tables are what the script prints now."""
    printed = checks.report(load_spec(REPO / "models" / "us_alliances_one_factor.toml"))
    readme = (REPO / "data" / "README.md").read_text()
    for table in printed.split("\n\n"):
        assert table in readme, "data/README.md is out of date: run scripts/us_signal_checks.py"
