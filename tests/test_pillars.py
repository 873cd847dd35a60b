"""Pillars of credibility ([dimensions]), year effects and unit offsets: the spec's checks,
recovery of simulated truth, and what a result and its report hold."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bayescred as bc
from bayescred.errors import SpecError
from bayescred.report import write_report
from bayescred.spec import spec_to_toml

SIGNALS = {
    "troops": {"family": "negbinomial"},
    "exercises": {"family": "poisson", "year_effects": True},
    "spending": {"family": "lognormal"},
    "milex": {"family": "gaussian", "unit_offsets": True},
    "votes": {"family": "binomial"},
    "align": {"family": "beta"},
}
TRIAD = {
    "capability": ["troops", "exercises"],
    "cost_sharing": {"signals": ["spending", "milex"], "dynamics": "random_walk"},
    "commitment": ["votes", "align"],
}


def _spec(dimensions=TRIAD, signals=SIGNALS, **latent):
    return bc.spec_from_dict(
        {
            "name": "triad",
            "signals": signals,
            "dimensions": dimensions,
            "latent": {"dynamics": "random_walk", **latent},
            "sampler": {"chains": 2, "draws": 300, "seed": 3},
        }
    )


@pytest.mark.parametrize(
    "dimensions, message",
    [
        ({"a": ["troops", "votes"], "b": ["troops"]}, "already in pillar 'a'"),
        ({"a": ["nope"], "b": ["troops", "votes"]}, "unknown signal 'nope'"),
        ({"a": ["troops"]}, "'votes' in no pillar"),
        ({"a": [], "b": ["troops", "votes"]}, "non-empty list"),
        ({"a": {"signals": ["troops", "votes"], "dynamics": "wiggle"}}, "dynamics must be one"),
        ({"a": {"signals": ["troops", "votes"], "speed": 1}}, "unknown key(s) 'speed'"),
        ({"a": "troops"}, "expected a list of signals"),
    ],
)
def test_bad_dimensions_are_one_line_errors_naming_the_key(dimensions, message):
    signals = {"troops": {"family": "poisson"}, "votes": {"family": "beta"}}
    with pytest.raises(SpecError) as err:
        _spec(dimensions, signals)
    text = str(err.value)
    assert message in text and "[dimensions]" in text and "\n" not in text


def test_signal_flags_must_be_booleans():
    with pytest.raises(SpecError, match="'year_effects' must be true or false"):
        _spec({}, {"troops": {"family": "poisson", "year_effects": "yes"}})


def test_a_spec_round_trips_through_toml_and_json(tmp_path):
    spec = _spec(pillar_scale="per_pillar")
    path = tmp_path / "spec.toml"
    path.write_text(spec_to_toml(spec))
    again = bc.load_spec(path)
    assert again.dimensions == spec.dimensions and again.latent == spec.latent
    assert again.signals["exercises"].year_effects and again.signals["milex"].unit_offsets
    assert bc.spec_from_dict(json.loads(spec.to_json())).dimensions == spec.dimensions


@pytest.fixture(scope="module")
def triad_fit():
    spec = _spec()
    sim = bc.simulate(spec, n_units=10, n_members=8, n_alliances=2, n_years=15, n_crises=25,
                      seed=5)
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    return sim, bc.fit(sim.spec, panel)


@pytest.mark.sampling
def test_pillars_and_overall_credibility_are_recovered(triad_fit):
    sim, result = triad_fit
    truth = sim.truth.sort_values(["member", "alliance", "year"]).reset_index(drop=True)
    overall = result.credibility(active_only=False)
    overall = overall.sort_values(["member", "alliance", "year"]).reset_index(drop=True)
    assert np.corrcoef(overall["mean"], truth.credibility)[0, 1] > 0.85
    table = result.pillars(active_only=False)
    covered = []
    for name in TRIAD:
        rows = table[table.dimension == name].sort_values(["member", "alliance", "year"])
        true = truth[f"pillar_{name}"].to_numpy()
        assert np.corrcoef(rows["mean"], true)[0, 1] > 0.8, name
        covered.append(np.mean((rows.hdi_low.to_numpy() <= true) & (true <= rows.hdi_high)))
    # 90% intervals: coverage of the simulated pillars near 0.9 (loose: one data set)
    assert 0.75 <= np.mean(covered) <= 0.99


@pytest.mark.sampling
def test_a_triad_recovers_the_reputation_effects(triad_fit):
    """The kappas, on the common level's scale (simulate reports them there), within their
    posterior's 95% interval: reputation moves the pillars' common level."""
    sim, result = triad_fit
    post = result.idata.posterior
    for name in ("kappa_honor", "kappa_violate"):
        draws = post[name].values.ravel()
        low, high = np.quantile(draws, [0.025, 0.975])
        assert low <= sim.params[name] <= high, (name, sim.params[name], low, high)


@pytest.mark.sampling
def test_a_triad_result_holds_pillars_their_correlation_and_no_sampler_coordinates(triad_fit):
    _, result = triad_fit
    post = result.posterior
    assert post["pillar"].dims == ("chain", "draw", "unit", "year", "dimension")
    assert list(post["dimension"].values) == list(TRIAD)
    assert "pillar_state" not in post
    corr = post["pillar_correlation"].mean(("chain", "draw")).values
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert np.all(corr > 0) and np.all(corr < 1.0 + 1e-12)
    names = set(result.summary().index.str.split("[").str[0])
    assert {"sigma_pillar", "phi_pillar", "sigma_year", "sigma_offset"} <= names


@pytest.mark.sampling
def test_a_triad_result_saves_loads_and_reports_its_pillars(triad_fit, tmp_path):
    _, result = triad_fit
    path = result.save(tmp_path / "triad.nc")
    again = bc.load(path)
    np.testing.assert_allclose(again.pillars()["mean"], result.pillars()["mean"])
    ll = again.log_likelihood()  # rebuilt from pillar and credibility: the model's own
    assert np.all(np.isfinite(ll.values))
    files = write_report(again, tmp_path / "report")
    assert (tmp_path / "report" / "pillars.csv").exists()
    assert "pillars" in files.plots


@pytest.mark.sampling
def test_a_one_factor_result_refuses_pillars_in_one_line(triad_fit):
    sim, _ = triad_fit
    spec = bc.spec_from_dict({"name": "flat", "signals": {"troops": {"family": "negbinomial"}},
                              "sampler": {"chains": 1, "draws": 50, "tune": 50}})
    obs = sim.observations[sim.observations.signal == "troops"]
    result = bc.fit(spec, bc.load_panel(obs, spec=spec), progress=False)
    with pytest.raises(SpecError, match="has no \\[dimensions\\]"):
        result.pillars()


@pytest.mark.sampling
def test_a_spending_rise_moves_its_pillar_most(triad_fit, tmp_path):
    """What-if per pillar: tripling one unit's spending in its last five years raises its
    cost-sharing pillar there, more than its other pillars and more than overall
    credibility (which the other pillars' unchanged evidence holds back)."""
    sim, result = triad_fit
    obs = sim.observations
    first = obs[obs.signal == "spending"].iloc[0]
    years = sorted(obs[(obs.member == first.member) & (obs.alliance == first.alliance)
                       & (obs.signal == "spending")].year)[-5:]
    rise = bc.Scenario("spending rise").shift(first.member, first.alliance, "spending",
                                              f"{years[0]}-{years[-1]}", factor=3.0)
    answer = bc.whatif(result, rise)
    assert answer.engine == "exact"
    table = answer.pillar_contrast()
    here = table[(table.member == first.member) & (table.alliance == first.alliance)
                 & table.year.isin(years)]
    change = here.groupby("dimension")["mean"].mean()
    assert change["cost_sharing"] > 0.3
    assert (here[here.dimension == "cost_sharing"].p_up > 0.9).all()
    assert change["cost_sharing"] > change.drop("cost_sharing").abs().max() + 0.2, change
    overall = answer.contrast()
    overall = overall[(overall.member == first.member) & (overall.alliance == first.alliance)
                      & overall.year.isin(years)]["mean"].mean()
    assert abs(overall) < change["cost_sharing"], (overall, change)
    paths = answer.save(tmp_path / "whatif")
    assert (tmp_path / "whatif" / "pillar_contrast.csv") in paths
    assert json.loads((tmp_path / "whatif" / "whatif.json").read_text())["pillars"] == list(TRIAD)
    assert f"among the pillars, cost_sharing of {first.member}/{first.alliance}" in answer.text()


@pytest.mark.sampling
def test_a_hypothetical_crisis_on_a_triad_moves_overall_credibility_through_reputation(
    triad_fit,
):
    """The exact engine re-fits a pillar model with a hypothetical violated crisis; the
    crisis's reputation effect on overall credibility (the standardised mean of the
    pillars) is rebuilt draw by draw from the common level's path: zero before the
    crisis, the sign of -kappa_violate after it."""
    sim, result = triad_fit
    unit = sim.units.iloc[0]
    last = int(sim.observations.year.max())
    scenario = bc.Scenario("reneged", horizon=2).crisis(unit.member, unit.alliance, last + 1,
                                                        "violated")
    answer = bc.whatif(result, scenario, draws=300, tune=300, chains=2)
    assert answer.engine == "exact"
    effect = answer.effect()
    here = effect[(effect.member == unit.member) & (effect.alliance == unit.alliance)]
    assert np.allclose(here[here.year <= last + 1]["mean"], 0.0, atol=1e-9)
    after = here[here.year == last + 2]["mean"].iloc[0]
    assert 1e-6 < abs(after) < 2.0, here
    kv = result.idata.posterior["kappa_violate"].values.ravel()
    if abs(kv.mean()) > 2 * kv.std():  # a clear reputation effect: reneging moves it down
        assert np.sign(after) == -np.sign(kv.mean()), (after, kv.mean())


@pytest.mark.sampling
def test_a_pillar_result_of_an_earlier_model_is_refused_in_one_line(triad_fit):
    """A pillar posterior without the common level and the pillars' map back to it (an
    earlier bayescred's) cannot be scored: one line naming what is missing."""
    import dataclasses

    from bayescred.errors import ResultError

    _, result = triad_fit
    idata = result.idata.copy()
    idata.posterior = idata.posterior.drop_vars(["credibility_common", "pillar_sd_raw"])
    old = dataclasses.replace(result, idata=idata)
    with pytest.raises(ResultError, match="'credibility_common', 'pillar_sd_raw'.*re-fit"):
        old.log_likelihood()
