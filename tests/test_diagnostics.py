"""Diagnostics on real fits: the verdict, the log-likelihood, LOO, PPC, and the report.

Small fits share the module, in two model structures (each compiled once):

* a panel simulated with a random walk, fitted with a random walk (2 x 300 draws), the
  same under-sampled (2 x 25 draws), and with static dynamics: for LOO and the fail verdict;
* a panel simulated with static dynamics, fitted well (static, 2 x 1000 draws): for the
  pass verdict, the predictive checks and the report.  (With a random walk, the innovation
  scale needs several thousand draws to reach bulk ESS 400 on a panel this small.)  It has
  another shape (12 units x 10 years), so it is a model of its own: a fit of the same
  model on other data of the same shape is never cached across panels here.

Reputation is switched off to keep the fits quick; the checks do not depend on it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import bayescred as bc
from bayescred.cli import app
from bayescred.errors import ResultError
from bayescred.model import signal_scales
from bayescred.predictive import graph_key, log_likelihood, observation_rows, rebuild
from bayescred.simulate import TrueParameters

pytestmark = pytest.mark.sampling
runner = CliRunner()

SHAPE = {"n_units": 6, "n_members": 6, "n_alliances": 1, "n_years": 16, "n_crises": 12,
         "missing": 0.1}
WALK = bc.default_spec(dynamics="random_walk", reputation=False)
STATIC = bc.default_spec(dynamics="static", reputation=False)


@pytest.fixture(scope="module")
def sim():
    truth = TrueParameters(sigma_innovation=0.4)
    return bc.simulate(WALK, truth=truth, seed=21, **SHAPE)


@pytest.fixture(scope="module")
def panel(sim):
    return bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)


@pytest.fixture(scope="module")
def walk(panel):
    return bc.fit(WALK, panel, draws=300, tune=300, chains=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def short(panel):
    return bc.fit(WALK, panel, draws=25, tune=25, chains=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def static(panel):
    return bc.fit(STATIC, panel, draws=300, tune=300, chains=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def good():
    """Static data, static model, 2 x 1000 draws: a fit that should pass every check."""
    shape = {**SHAPE, "n_units": 12, "n_members": 12, "n_years": 10}
    static_sim = bc.simulate(STATIC, seed=22, **shape)
    panel = bc.load_panel(
        static_sim.observations, static_sim.crises, static_sim.units, spec=STATIC
    )
    return bc.fit(STATIC, panel, draws=1000, tune=300, chains=2, seed=5, progress=False)


@pytest.fixture(scope="module")
def good_report(good):
    return bc.diagnose(good)


# ---------------------------------------------------------------------------- verdict


def test_under_sampled_fit_fails_naming_rhat_or_ess(short):
    report = bc.diagnose(short, ppc=False, loo=False)
    assert report.verdict == "fail"
    failing = {c.check for c in report.failures}
    assert failing & {"rhat", "ess_bulk", "ess_tail"}, failing
    named = [c for c in report.failures if c.check in ("rhat", "ess_bulk", "ess_tail")]
    # every failing check names its variable and says what to do
    assert all(c.variables and c.next_step for c in named)
    assert "credibility" in {v for c in named for v in c.variables}
    text = report.text()
    assert text.startswith("verdict: FAIL")
    assert "ESS" in text or "R-hat" in text
    assert "more draws" in text
    # the report shows itself in a few lines; the table and the full text are a call away
    shown = repr(report)
    assert shown.startswith("DiagnosticReport: verdict FAIL") and len(shown.splitlines()) <= 5
    assert len(shown) < len(text) and "<strong>DiagnosticReport" in report._repr_html_()
    assert isinstance(report.summary(), pd.DataFrame)


def test_rhat_advice_asks_for_more_draws_than_were_run():
    """R-hat over the bound with plenty of ESS (one of credibility's thousands of folded
    R-hats, at 4 x 1000): the advice is at least twice the draws, more the further R-hat
    is from the bound (R-hat^2 - 1 ~ 1 / draws), never the draws already run."""
    from bayescred.checks import Thresholds
    from bayescred.convergence import _convergence_steps

    def advice(max_rhat, chains=4, draws=1000):
        reported = pd.DataFrame({"max_rhat": [max_rhat, 1.001], "min_ess_bulk": [900, 2000],
                                 "min_ess_tail": [1100, 1500]})  # fmt: skip
        return _convergence_steps(reported, Thresholds(), chains, draws)

    assert "about 2000 per chain with 4 chains" in advice(1.0136)["rhat"]
    assert "about 4100 per chain with 4 chains" in advice(1.04)["rhat"]  # 0.0816 / 0.0201
    assert "about 1000 per chain" in advice(1.0136)["ess_bulk"]  # ESS alone: enough already


def test_well_sampled_fit_passes(good_report):
    report = good_report
    assert report.verdict == "pass", report.text()
    conv = report.convergence[report.convergence.role == "reported"]
    assert conv.max_rhat.max() <= 1.01
    assert conv.min_ess_bulk.min() >= 400
    assert report.sampler["divergences"] == 0
    assert min(report.sampler["bfmi"]) >= 0.3
    # every check carries its value and threshold
    table = report.table()
    assert table.value.notna().all() and table.threshold.notna().all()


def test_headline_convergence_ignores_years_outside_a_units_span(good, monkeypatch):
    """Years before a unit's first evidence are prior extrapolation: a cell there that the
    chains disagree on must not set the headline R-hat (nor the table's)."""
    from bayescred.diagnostics import convergence, convergence_table

    mask = good.panel.active_mask().copy()
    unit, year = np.argwhere(mask)[0]
    idata = good.idata.copy()
    cred = idata.posterior["credibility"].copy()
    noise = np.random.default_rng(0).normal(size=(cred.sizes["chain"], cred.sizes["draw"]))
    cred[{"unit": unit, "year": year}] = np.where(cred.chain == 0, -5.0, 5.0)[:, None] + noise
    idata.posterior["credibility"] = cred
    result = dataclasses.replace(good, idata=idata)
    assert convergence(result, ["credibility"])["max_rhat"] > 1.5  # counts while active
    mask[unit, year] = False
    monkeypatch.setattr(type(good.panel), "active_mask", lambda self: mask)
    headline = convergence(result, ["credibility"])["max_rhat"]
    assert headline < 1.05
    assert headline == pytest.approx(convergence_table(result).loc["credibility", "max_rhat"])


@pytest.mark.parametrize("share, status", [(0.005, "warn"), (0.015, "fail"), (0.034, "fail")])
def test_divergences_above_one_percent_of_draws_fail(good, share, status):
    """Divergences are a warning only while rare: above 1% of the draws they fail."""
    from bayescred.checks import Thresholds
    from bayescred.convergence import _sampler_checks

    idata = good.idata.copy()
    div = idata.sample_stats["diverging"].copy()
    n = int(round(share * div.size))
    div.values[...] = np.arange(div.size).reshape(div.shape) < n
    idata.sample_stats["diverging"] = div
    info, checks = _sampler_checks(dataclasses.replace(good, idata=idata), Thresholds())
    check = next(c for c in checks if c.check == "divergences")
    assert info["divergences"] == n and check.status == status
    assert "--target-accept 0.95" in check.next_step


def test_divergence_advice_never_asks_for_a_target_accept_already_used():
    from bayescred.convergence import _divergence_advice

    assert "to 0.99" in _divergence_advice(0.95)
    assert "target_accept is already 0.99" in _divergence_advice(0.99)
    assert "raise" not in _divergence_advice(0.995)


def test_trajectories_say_how_many_units_are_shown_and_report_units_chooses(good, tmp_path):
    import matplotlib.pyplot as plt

    from bayescred.plots import trajectories

    labels = good.panel.unit_labels
    fig = trajectories(good, max_units=5)
    assert f"5 of {len(labels)} units shown" in fig._suptitle.get_text()
    plt.close(fig)
    one = trajectories(good, units=[labels[3]])  # one panel, not a row of four
    assert f"1 of {len(labels)} units shown" in one._suptitle.get_text()
    assert [ax.get_title() for ax in one.axes if ax.get_visible()] == [labels[3]]
    plt.close(one)
    path = tmp_path / "r.nc"
    good.save(path)
    bad = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "rep"),
                              "--units", f"{labels[0]},NOPE"])
    assert bad.exit_code == 2 and "'NOPE': no such unit or member" in bad.output
    assert not (tmp_path / "rep").exists()


def test_a_spec_name_is_escaped_in_the_report_and_plain_in_the_terminal(good, good_report,
                                                                        tmp_path):
    from bayescred.report import write_report

    name = "x\x1b[31m<script>alert(1)</script>"
    renamed = dataclasses.replace(good, spec=dataclasses.replace(good.spec, name=name))
    files = write_report(renamed, tmp_path, report=good_report)
    text = files.markdown.read_text()
    assert "<script>" not in text and "\x1b" not in text and "&lt;script&gt;" in text
    json.loads(files.diagnostics.read_text(), parse_constant=pytest.fail)  # no NaN/Infinity
    assert "\x1b" not in repr(renamed)


def test_diagnose_leaves_the_result_alone(good, good_report):
    groups = set(good.idata.groups())
    assert not groups & {"log_likelihood", "posterior_predictive"}
    assert good_report.result is good


def test_thresholds_change_the_verdict(good):
    demanding = bc.diagnose(good, {"ess_bulk": 1e6}, ppc=False, loo=False)
    assert demanding.verdict == "warn"  # below the pass level, above the fail level
    assert {c.check for c in demanding.warnings} == {"ess_bulk"}
    assert demanding.thresholds.ess_bulk == 1e6
    strict = bc.diagnose(good, {"ess_bulk": 1e6, "ess_fail": 1e5}, ppc=False, loo=False)
    assert strict.verdict == "fail"
    assert {c.check for c in strict.failures} == {"ess_bulk"}  # tail ESS still passes 400


# ---------------------------------------------------------------------------- log-likelihood


def _cells(result, rows):
    """Posterior credibility at each row's unit-year, (chain, draw, row)."""
    cred = result.idata.posterior["credibility"]
    units = list(cred.unit.values)
    years = list(cred.year.values)
    u = [units.index(f"{m}/{a}") for m, a in zip(rows.member, rows.alliance)]
    t = [years.index(y) for y in rows.year]
    return cred.values[:, :, u, t]


def test_log_likelihood_matches_an_explicit_computation(good, good_report):
    """Poisson, binomial and lognormal rows against scipy, from the posterior draws."""
    ll = good_report.log_likelihood
    rows = observation_rows(good).table
    post = good.idata.posterior
    obs = good.panel.observations
    for signal in ("exercises", "votes", "spending"):
        here = (rows.signal == signal).to_numpy()
        sub = rows[here]
        theta = _cells(good, sub)
        alpha = post.alpha.sel(signal=signal).values[..., None]
        loading = post.loading.sel(signal=signal).values[..., None]
        scale = good.scales[signal]
        eta = scale.offset + alpha + loading * theta
        y = sub.value.to_numpy()
        if signal == "exercises":
            expected = stats.poisson.logpmf(y, np.exp(eta))
        elif signal == "votes":
            key = obs[obs.signal == signal].set_index(["member", "alliance", "year"]).trials
            trials = key.loc[list(zip(sub.member, sub.alliance, sub.year))].to_numpy(float)
            expected = stats.binom.logpmf(y, trials, 1 / (1 + np.exp(-eta)))
        else:  # lognormal: the density of the value as given (Jacobian included)
            sigma = post.sigma.sel(sigma_signal=signal).values[..., None]
            expected = stats.lognorm.logpdf(
                y, s=sigma * scale.scale, scale=np.exp(scale.center + scale.scale * eta)
            )
        np.testing.assert_allclose(ll.values[:, :, here], expected, rtol=1e-8, atol=1e-8)


def test_compiled_functions_are_reused_only_for_the_same_graph(walk):
    """Same model, other data: the compiled log-likelihood is reused with the new data
    swapped in; data-derived constants (a signal's offset) make it another graph."""
    tables = walk.panel.tables()
    obs = tables["observations"]
    rows = obs.index[obs.signal == "exercises"]
    swapped = obs.copy()  # the same counts in other cells: same mean, so same offset
    swapped.loc[rows, "value"] = obs.loc[rows[::-1], "value"].to_numpy()
    panel = bc.load_panel(swapped, tables["crises"], tables["units"], spec=walk.spec)
    other = dataclasses.replace(walk, panel=panel, scales=signal_scales(panel, walk.spec))
    assert other.scales == walk.scales
    assert graph_key(rebuild(other).observed_RVs) == graph_key(rebuild(walk).observed_RVs)
    ll = log_likelihood(other, max_draws=60)
    sub = observation_rows(other).table
    here = (sub.signal == "exercises").to_numpy()
    sub = sub[here]
    post = other.idata.posterior.isel(draw=slice(None, None, 10))
    eta = (other.scales["exercises"].offset
           + post.alpha.sel(signal="exercises").values[..., None]
           + post.loading.sel(signal="exercises").values[..., None] * _cells(other, sub)[:, ::10])
    expected = stats.poisson.logpmf(sub.value.to_numpy(), np.exp(eta))
    np.testing.assert_allclose(ll.values[:, :, here], expected, rtol=1e-8, atol=1e-8)

    shifted = obs.copy()
    shifted.loc[rows, "value"] = obs.loc[rows, "value"] + 3
    panel = bc.load_panel(shifted, tables["crises"], tables["units"], spec=walk.spec)
    moved = dataclasses.replace(walk, panel=panel, scales=signal_scales(panel, walk.spec))
    assert graph_key(rebuild(moved).observed_RVs) != graph_key(rebuild(walk).observed_RVs)


def test_log_likelihood_rows_are_every_observation_once(good):
    ll = log_likelihood(good, max_draws=50)
    n = len(good.panel.observations) + len(good.panel.crises)
    assert ll.sizes["obs"] == n
    assert ll.sizes["chain"] * ll.sizes["draw"] <= 50
    counts = pd.Series(ll.signal.values).value_counts()
    assert counts["followthrough"] == len(good.panel.crises)
    assert np.isfinite(ll.values).all()


# ---------------------------------------------------------------------------- PPC and LOO


def test_posterior_predictive_checks_are_calibrated(good_report):
    ppc = good_report.ppc
    assert set(ppc.index) == {"troops", "spending", "votes", "exercises", "followthrough"}
    signals = ppc.drop(index="followthrough")
    # the right family: observed mean and spread are typical of replicated data, and at
    # least ~90% of observed values fall in their 90% predictive intervals
    assert signals.ppp_mean.between(0.05, 0.95).all(), signals
    assert signals.ppp_sd.between(0.05, 0.95).all(), signals
    assert (signals.coverage >= 0.85).all(), signals
    # predictive means track the observed ones
    np.testing.assert_allclose(signals.pred_mean, signals["mean"], rtol=0.1)


def test_loo_table_per_signal(good_report):
    loo = good_report.loo
    assert list(loo.index[-1:]) == ["all"]
    per_signal = loo.drop(index="all")
    assert per_signal.n.sum() == loo.loc["all", "n"]
    assert np.isclose(per_signal.elpd_loo.sum(), loo.loc["all", "elpd_loo"])
    counts = per_signal[["k_good", "k_ok", "k_bad", "k_very_bad"]].sum(axis=1)
    assert (counts == per_signal.n).all()


def test_loo_prefers_random_walk_on_random_walk_data(walk, static):
    table = bc.compare({"static": static, "random_walk": walk})
    assert table.index[0] == "random_walk"
    assert table.loc["random_walk", "elpd_diff"] == 0
    diff, dse = table.loc["static", ["elpd_diff", "dse"]]
    assert diff > 4 * dse > 0, table  # a clear preference, not noise
    assert table.loc["static", "dynamics"] == "static"


def test_compare_refuses_results_of_other_data(walk, sim):
    obs = sim.observations.copy()
    obs.loc[0, "value"] = obs.loc[0, "value"] + 1
    other_panel = bc.load_panel(obs, sim.crises, sim.units, spec=sim.spec)
    other = bc.fit(WALK, other_panel, draws=10, tune=10, chains=1, seed=1, progress=False)
    with pytest.raises(ResultError, match="different data"):
        bc.compare({"a": walk, "b": other})
    with pytest.raises(ResultError, match="at least two"):
        bc.compare({"a": walk})


# ---------------------------------------------------------------------------- report


def test_report_cli_writes_complete_files(good, tmp_path):
    path = good.save(tmp_path / "good.nc")
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "verdict: PASS" in res.output

    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["verdict"] == "pass"
    kinds = {c["check"] for c in diag["checks"]}
    assert {"rhat", "ess_bulk", "ess_tail", "divergences", "bfmi", "treedepth", "ppc_mean",
            "ppc_sd", "ppc_coverage", "pareto_k"} <= kinds
    for check in diag["checks"]:
        assert {"value", "threshold", "status", "rule"} <= set(check)
    assert diag["thresholds"]["rhat"] == 1.01 and diag["thresholds"]["ess_bulk"] == 400

    cred = pd.read_csv(out / "credibility.csv")
    assert list(cred.columns) == ["member", "alliance", "year", "mean", "sd", "hdi_low",
                                  "hdi_high"]
    pd.testing.assert_frame_equal(cred, good.credibility(), check_dtype=False)

    pngs = sorted(p.stem for p in out.glob("*.png"))
    assert pngs == ["energy", "forest", "loadings", "ppc", "rank_trace", "trajectories"]
    assert all((out / f"{p}.png").stat().st_size > 5_000 for p in pngs)
    md = (out / "report.md").read_text()
    assert "Verdict: PASS" in md
    assert all(f"({p}.png)" in md for p in pngs)


def test_report_cli_of_under_sampled_fit_says_fail(short, tmp_path):
    path = short.save(tmp_path / "short.nc")
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", str(path), "--out", str(out), "--strict"])
    assert res.exit_code == 1, res.output  # --strict: a failing verdict is exit status 1
    assert "verdict: FAIL" in res.output
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["verdict"] == "fail"
    failing = [c for c in diag["checks"] if c["status"] == "fail"]
    assert any(c["check"] in ("rhat", "ess_bulk", "ess_tail") for c in failing)
    assert all(c["message"] and c["next_step"] for c in failing)
    assert (out / "credibility.csv").exists()
    assert len(list(out.glob("*.png"))) >= 3


def test_e_bfmi_does_not_depend_on_where_the_energies_sit():
    """E-BFMI is a ratio of spreads: shifting every energy by a constant changes nothing.
    ArviZ's own variance lost it all at the demo's energies (about -2.2e8, spread 60) and
    reported -0.68."""
    import xarray as xr

    from bayescred.convergence import e_bfmi

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(2, 1000)), axis=1) * 0.3 + rng.normal(size=(2, 1000))
    near = xr.DataArray(walk * 20.0, dims=("chain", "draw"))
    far = near - 2.2e8
    np.testing.assert_allclose(e_bfmi(far), e_bfmi(near), rtol=1e-6)
    assert (e_bfmi(far) > 0).all()
