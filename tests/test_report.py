"""Diagnostics without sampling: thresholds, predictive-check statistics, PSIS-LOO against
an exact leave-one-out answer, sampler-statistics names, and the report command's errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from bayescred.cli import app
from bayescred.convergence import _treedepth_share
from bayescred.diagnostics import (
    Thresholds,
    _family_advice,
    _ppc_checks,
    ppc_summary,
)
from bayescred.errors import SpecError
from bayescred.families import FAMILIES
from bayescred.loo import loo_table
from bayescred.report import markdown_table

runner = CliRunner()


def test_thresholds_refuse_unknown_keys():
    with pytest.raises(SpecError, match="unknown threshold.*rhat_max.*valid: rhat"):
        Thresholds.from_any({"rhat_max": 1.1})
    assert Thresholds.from_any({"ess_bulk": 1000}).ess_bulk == 1000
    assert Thresholds.from_any(None) == Thresholds()


def _predictive(rng, observed: dict[str, np.ndarray], replicated: dict[str, np.ndarray]):
    """A (chain, draw, obs) array with the observed values and signals as coordinates."""
    signal = np.concatenate([[k] * len(v) for k, v in observed.items()])
    value = np.concatenate(list(observed.values()))
    reps = np.concatenate(list(replicated.values()), axis=-1)
    return xr.DataArray(
        reps.reshape(2, -1, len(value)),
        dims=("chain", "draw", "obs"),
        coords={"signal": ("obs", signal), "value": ("obs", value)},
    )


def test_ppc_statistics_separate_a_right_from_a_wrong_family(rng):
    n, s = 300, 400
    mu = rng.uniform(2, 20, n)
    fitting = rng.poisson(mu)
    overdispersed = rng.negative_binomial(2, 2 / (2 + mu))  # same means, far more spread
    replicate = rng.poisson(mu, size=(s, n))
    pred = _predictive(
        rng,
        {"right": fitting, "wrong": overdispersed},
        {"right": replicate, "wrong": replicate},
    )
    table = ppc_summary(pred, {"right": "poisson", "wrong": "poisson"})
    right, wrong = table.loc["right"], table.loc["wrong"]
    assert 0.05 < right.ppp_mean < 0.95 and 0.05 < right.ppp_sd < 0.95
    assert right.coverage >= 0.85
    assert wrong.ppp_sd < 0.005  # observed spread far above every replicated one
    assert wrong.coverage < 0.6
    checks = {(c.check, c.subject): c for c in _ppc_checks(table, Thresholds())}
    assert checks[("ppc_sd", "right")].status == "pass"
    assert checks[("ppc_sd", "wrong")].status == "fail"
    assert checks[("ppc_coverage", "wrong")].status == "fail"
    assert "negbinomial" in checks[("ppc_sd", "wrong")].next_step


def test_ppc_of_binary_outcomes_checks_the_mean_only(rng):
    y = rng.binomial(1, 0.3, 50)
    reps = rng.binomial(1, 0.3, (200, 50))
    pred = _predictive(rng, {"followthrough": y}, {"followthrough": reps})
    row = ppc_summary(pred, {}).loc["followthrough"]
    assert np.isnan(row.ppp_sd) and np.isnan(row.coverage)
    assert 0.0 < row.ppp_mean < 1.0


def test_psis_loo_matches_exact_leave_one_out(rng):
    """y_i ~ N(mu, 1), flat prior: the posterior of mu is N(ybar, 1/n) and each left-out
    predictive density is N(ybar_-i, 1 + 1/(n-1)), so LOO has an exact answer."""
    n, draws = 40, 4000
    y = rng.normal(0.5, 1.0, n)
    mu = rng.normal(y.mean(), 1 / np.sqrt(n), draws)
    ll = -0.5 * np.log(2 * np.pi) - 0.5 * (y[None, :] - mu[:, None]) ** 2
    log_lik = xr.DataArray(
        ll.reshape(2, draws // 2, n),
        dims=("chain", "draw", "obs"),
        coords={"signal": ("obs", np.array(["a"] * 25 + ["b"] * 15))},
    )
    table = loo_table(log_lik)
    loo_mean = (y.sum() - y) / (n - 1)
    var = 1 + 1 / (n - 1)
    exact = -0.5 * np.log(2 * np.pi * var) - 0.5 * (y - loo_mean) ** 2 / var
    assert table.loc["all", "elpd_loo"] == pytest.approx(exact.sum(), abs=0.05)
    assert table.loc["a", "elpd_loo"] == pytest.approx(exact[:25].sum(), abs=0.05)
    assert table.loc["all", "p_loo"] == pytest.approx(1.0, abs=0.15)  # one parameter
    assert table.loc["all", "k_max"] < 0.5
    assert table.loc["a", "n"] == 25 and table.loc["b", "n"] == 15


def test_tree_depth_saturation_from_either_sampler():
    flags = np.zeros((2, 100), bool)
    flags[0, :5] = True
    nutpie = xr.Dataset({"maxdepth_reached": (("chain", "draw"), flags)})
    pymc = xr.Dataset({"reached_max_treedepth": (("chain", "draw"), flags)})
    depth = xr.Dataset({"tree_depth": (("chain", "draw"), np.where(flags, 10, 4))})
    assert _treedepth_share(nutpie) == _treedepth_share(pymc) == _treedepth_share(depth) == 0.025
    assert _treedepth_share(xr.Dataset()) is None


def test_markdown_table():
    df = pd.DataFrame({"a": [1.23456, np.nan], "b": ["x|y", "z"]}, index=pd.Index([1, 2],
                      name="k"))
    lines = markdown_table(df).splitlines()
    assert lines[0] == "| k | a | b |"
    assert lines[2] == "| 1 | 1.235 | x\\|y |"
    assert lines[3] == "| 2 |  | z |"


# ---------------------------------------------------------------------------- CLI errors


def _one_error_line(res, *fragments):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_report_of_a_missing_result(tmp_path):
    missing = tmp_path / "missing.nc"
    res = runner.invoke(app, ["report", str(missing), "--out", str(tmp_path / "out")])
    _one_error_line(res, "missing.nc", "not found")
    assert not (tmp_path / "out").exists()


def test_report_of_a_corrupt_result(tmp_path):
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    res = runner.invoke(app, ["report", str(corrupt), "--out", str(tmp_path / "out")])
    _one_error_line(res, "corrupt.nc", "not a readable")


def test_report_of_a_netcdf_that_is_no_result(tmp_path):
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(other, engine="h5netcdf")
    res = runner.invoke(app, ["report", str(other), "--out", str(tmp_path / "out")])
    _one_error_line(res, "other.nc", "not a bayescred result")


def test_report_into_a_file(tmp_path):
    out = tmp_path / "taken"
    out.write_text("x")
    res = runner.invoke(app, ["report", str(tmp_path / "r.nc"), "--out", str(out)])
    _one_error_line(res, "taken", "not a folder")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_dispersion_advice_fits_the_family(family):
    """A predictive sd check's advice speaks of the signal's own family: a lognormal
    signal that varies too little is not told to leave the negative binomial."""
    for side in ("above", "below"):
        advice = _family_advice(family, "sd", side)
        others = {"sigma", "dispersion", "precision"} - set(FAMILIES[family].param_names)
        assert not any(f"`{name}`" in advice for name in others), (family, side, advice)
        if family != "negbinomial":
            assert "instead of negbinomial" not in advice, (family, side, advice)
    assert "sigma" in _family_advice("lognormal", "sd", "below")
    assert "poisson" in _family_advice("negbinomial", "sd", "below")


def test_trajectories_show_units_with_crises_then_the_largest_movements_first():
    from bayescred.plots import unit_order

    table = pd.DataFrame({
        "unit": ["A/X"] * 3 + ["B/X"] * 3 + ["C/Y"] * 3 + ["D/Y"],
        "mean": [0, 0.1, 0.2, 0, 2, -1, 0, 0.5, 0, 0.3],
    })
    crises = pd.DataFrame({"unit": ["C/Y", "A/X", "C/Y"]})
    # C: two crises; A: one; then B (moves 3) before D (one year: moves 0)
    assert unit_order(table, crises) == ["C/Y", "A/X", "B/X", "D/Y"]
    assert unit_order(table, crises.iloc[:0]) == ["B/X", "C/Y", "A/X", "D/Y"]


def test_trajectories_units_are_chosen_by_label_or_member():
    from bayescred.errors import DataError
    from bayescred.plots import select_units

    labels = ["USA/NATO", "DEU/NATO", "USA/ANZUS", "JPN/US-JPN"]
    assert select_units(labels, ["JPN/US-JPN", "USA"]) == ["JPN/US-JPN", "USA/NATO",
                                                           "USA/ANZUS"]
    with pytest.raises(DataError, match="'FRA': no such unit or member"):
        select_units(labels, ["DEU", "FRA"])


def test_spread_advice_is_offered_only_where_it_can_change_the_check():
    """'a lower floor in the sigma prior' only where the sigma prior has a floor to lower;
    'a precision prior that allows higher values' only where it has a cap."""
    from bayescred.datasets import load_example
    from bayescred.simulate import default_spec

    plain_spec = default_spec()  # HalfNormal sigma: no floor
    advice = _family_advice("lognormal", "sd", "below", plain_spec)
    assert "floor" not in advice and "loading prior" in advice
    _, us = load_example("us_alliances")  # sigma: TruncatedNormal, lower = 0.1
    assert "lower floor in the `sigma` prior" in _family_advice("lognormal", "sd", "below", us)
    assert "floor" not in _family_advice("negbinomial", "sd", "below", plain_spec)
    assert "floor in the `dispersion`" in _family_advice("negbinomial", "sd", "below", us)
    assert "higher values" not in _family_advice("beta", "sd", "below", plain_spec)
    assert "spread" in _family_advice("beta", "sd", "below", plain_spec)  # never empty


def test_the_report_cautions_where_reneging_raises_reputation():
    """A kind whose kappas say reneging moves reputation up against honouring gets a
    caution line naming it; a kind with the expected order does not."""
    import pandas as pd

    from bayescred.report import _reputation_lines
    from bayescred.reputation_effects import ReputationEffects

    table = pd.DataFrame({"p_violation_costlier": [0.002, 0.6]},
                         index=pd.Index(["dispute", "war"], name="kind"))
    effects = ReputationEffects(table=table, prob=0.9, sign_fixed=False)
    text = "\n".join(_reputation_lines(effects))
    assert "Caution, kind `dispute`" in text and "0.002" in text
    assert "kind `war`" not in text
