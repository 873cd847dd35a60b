"""Member-level signals (``level = "member"``): declared in the spec, read once per
member-year whichever form the rows take, measured on the mean credibility of the member's
active commitments, and counted once -- where a signal declared per unit counts k times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytest

import bayescred as bc
from bayescred.errors import DataError, SpecError
from bayescred.model import build_model, signal_scales
from bayescred.panel import load_panel

SIGNALS = {
    "troops": {"family": "negbinomial"},
    "spending": {"family": "lognormal", "level": "member"},
}


def _spec(signals=SIGNALS, dynamics="random_walk", **sampler):
    return bc.spec_from_dict(
        {"name": "members", "signals": signals, "latent": {"dynamics": dynamics},
         "sampler": sampler}
    )


def _sim(spec, seed=4, **shape):
    shape = {"n_units": 9, "n_members": 3, "n_alliances": 3, "n_years": 8, "n_crises": 4,
             **shape}
    return bc.simulate(spec, seed=seed, **shape)


def _per_alliance(obs: pd.DataFrame, units: pd.DataFrame, signal="spending") -> pd.DataFrame:
    """The member-year rows of ``signal`` repeated in every alliance of the member."""
    here = obs.signal == signal
    repeated = obs[here].drop(columns="alliance").merge(units[["member", "alliance"]])
    return pd.concat([obs[~here], repeated], ignore_index=True)


# ---------------------------------------------------------------------------- the spec


def test_level_defaults_to_unit_and_reads_member():
    spec = _spec()
    assert spec.signals["troops"].level == "unit"
    assert spec.member_signals == ("spending",)
    again = bc.spec_from_dict(spec.to_dict())
    assert again.member_signals == ("spending",)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"level": "country"}, r"\[signals\.spending\]: level must be one of unit, member"),
        ({"level": "member", "unit_offsets": True}, r"unit_offsets = true needs level"),
    ],
)
def test_a_bad_level_is_one_line_naming_the_signal(entry, message):
    with pytest.raises(SpecError, match=message) as err:
        _spec({"spending": {"family": "lognormal", **entry}})
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------- the data


def test_both_forms_of_rows_give_one_row_per_member_year():
    spec = _spec()
    sim = _sim(spec)
    blank = load_panel(sim.observations, sim.crises, sim.units, spec=spec)
    per_alliance = _per_alliance(sim.observations, sim.units)
    repeated = load_panel(per_alliance, sim.crises, sim.units, spec=spec)
    for panel in (blank, repeated):
        rows = panel.observations[panel.observations.signal == "spending"]
        assert not rows.duplicated(["member", "year"]).any()
        assert (rows.alliance == "").all()
        # the carrier is one of the member's units, active that year
        active = panel.active_mask()
        assert active[rows.unit_idx, rows.year_idx].all()
        assert (panel.units.member.to_numpy()[rows.unit_idx] == rows.member.to_numpy()).all()
    assert len(per_alliance) > len(sim.observations)  # three alliances per member
    assert any("read once per member-year" in n for n in repeated.notes)
    pd.testing.assert_frame_equal(
        blank.observations.sort_values(["signal", "member", "year"]).reset_index(drop=True),
        repeated.observations.sort_values(["signal", "member", "year"])
        .reset_index(drop=True)[blank.observations.columns],
        check_dtype=False,
    )


def test_conflicting_values_name_file_lines_member_year_and_signal(tmp_path):
    spec = _spec()
    sim = _sim(spec)
    obs = _per_alliance(sim.observations, sim.units)
    row = obs.index[(obs.signal == "spending") & (obs.member == "M01") & (obs.year == 1983)]
    obs.loc[row[1], "value"] = obs.loc[row[0], "value"] * 2
    path = tmp_path / "observations.csv"
    obs.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_panel(path, None, None, spec=spec)
    message = str(err.value)
    assert "\n" not in message
    for part in (str(path), "'spending'", "member M01 in 1983", f"lines {row[0] + 2}",
                 f"{row[1] + 2}", "conflicting values"):
        assert part in message, part


def test_a_blank_alliance_is_refused_on_a_unit_level_signal(tmp_path):
    spec = _spec()
    obs = _sim(spec).observations
    obs.loc[obs.index[obs.signal == "troops"][0], "alliance"] = ""
    with pytest.raises(DataError, match="column 'alliance' is empty on row"):
        load_panel(obs, None, None, spec=spec)


def test_a_member_row_naming_an_unknown_unit_is_refused():
    spec = _spec()
    obs = _sim(spec).observations
    obs.loc[obs.index[obs.signal == "spending"][0], "alliance"] = "NOWHERE"
    with pytest.raises(DataError, match=r"names unit M00/NOWHERE, which no unit-level row"):
        load_panel(obs, None, None, spec=spec)


def test_member_years_without_an_active_commitment_are_dropped_and_counted():
    spec = _spec()
    sim = _sim(spec)
    obs = sim.observations
    # M00's commitments all end after 1984; its member-level rows run to 1987
    late = (obs.member == "M00") & (obs.signal == "troops") & (obs.year > 1984)
    panel = load_panel(obs[~late], None, None, spec=spec)
    note = next(n for n in panel.notes if "no active commitment" in n)
    assert "dropped 3 member-year(s)" in note and "spending: 3" in note
    kept = panel.observations[(panel.observations.signal == "spending")]
    assert kept[kept.member == "M00"].year.max() == 1984


def test_only_member_level_signals_cannot_place_the_members():
    spec = _spec({"spending": {"family": "lognormal", "level": "member"}})
    obs = _sim(_spec()).observations
    with pytest.raises(DataError, match="no row of a unit-level signal"):
        load_panel(obs[obs.signal == "spending"], None, None, spec=spec)


# ---------------------------------------------------------------------------- the model


def _eta_of_member_rows(spec, panel):
    """(credibility, the member rows' lognormal mu, the point's loading and intercept of
    ``spending``) at a random point."""
    scales = signal_scales(panel, spec)
    model = build_model(panel, spec, scales)
    mu = model["y_lognormal"].owner.inputs[2]  # (rng, size, mu, sigma): the predictor
    outs = model.replace_rvs_by_values([model["credibility"], mu])
    fn = pytensor.function(model.value_vars, outs, on_unused_input="ignore")
    rng = np.random.default_rng(1)
    point = {k: rng.normal(size=np.shape(v)) for k, v in model.initial_point().items()}
    cred, eta = fn(*[point[v.name] for v in model.value_vars])
    j = list(spec.signals).index("spending")
    intercept = point["alpha"][j] + scales["spending"].offset
    return cred, eta, np.exp(point["loading_log__"][j]), intercept


def test_a_member_row_reads_the_mean_credibility_of_the_members_active_units():
    spec = _spec({"troops": {"family": "negbinomial"},
                  "spending": {"family": "lognormal", "level": "member"}})
    sim = _sim(spec)
    obs = sim.observations
    # unit 0's member holds a late commitment: its mean changes when the unit joins
    late = (obs.member + obs.alliance == "M00A0") & (obs.year < 1983)
    panel = load_panel(obs[~late], None, None, spec=spec)
    cred, mu, loading, intercept = _eta_of_member_rows(spec, panel)
    rows = panel.observations[panel.observations.signal == "spending"]
    active = panel.active_mask()
    expected = []
    for member, t in zip(rows.member, rows.year_idx):
        mine = (panel.units.member == member).to_numpy() & active[:, t]
        expected.append(cred[mine, t].mean())
    assert active[:, 0].sum() < len(panel.units)  # the late unit is out in the first years
    np.testing.assert_allclose(mu, intercept + loading * np.array(expected), rtol=1e-10)


def test_per_unit_rows_count_a_members_signal_once_per_alliance():
    """The information about the signal's intercept: k alliances per member give k times the
    curvature of the log-likelihood when the signal is declared per unit (the old way), once
    when it is declared per member."""
    member_spec = _spec()
    unit_spec = _spec({**SIGNALS, "spending": {"family": "lognormal"}})
    sim = _sim(member_spec, n_years=6)
    obs = _per_alliance(sim.observations, sim.units)
    curvature = {}
    for name, spec in (("member", member_spec), ("unit", unit_spec)):
        panel = load_panel(obs, None, sim.units, spec=spec)
        model = build_model(panel, spec, signal_scales(panel, member_spec))
        alpha = model["alpha"]
        (lik,) = [v for v in model.observed_RVs if v.name == "y_lognormal"]
        logp = model.logp(vars=[lik])
        hess = pytensor.gradient.hessian(logp, model.rvs_to_values[alpha])
        fn = pytensor.function(model.value_vars, hess, on_unused_input="ignore")
        curvature[name] = fn(*model.initial_point().values())[1, 1]
    k = sim.units.groupby("member").size()
    assert (k == 3).all()
    np.testing.assert_allclose(curvature["unit"], 3 * curvature["member"], rtol=1e-12)


# ---------------------------------------------------------------------------- recovery


@pytest.fixture(scope="module")
def recovery():
    """One simulated panel (4 members, 3 alliances each), fitted with the signal declared
    per member (rows once per member-year) and per unit (rows repeated per alliance)."""
    member_spec = _spec(dynamics="static", chains=2, draws=400, tune=400, seed=2)
    sim = bc.simulate(member_spec, n_units=12, n_members=4, n_alliances=3, n_years=12,
                      n_crises=0, seed=8)
    unit_spec = bc.spec_from_dict(
        {**member_spec.to_dict(),
         "signals": {**SIGNALS, "spending": {"family": "lognormal"}}}
    )
    fits = {}
    for name, spec, obs in (
        ("member", member_spec, sim.observations),
        ("unit", unit_spec, _per_alliance(sim.observations, sim.units)),
    ):
        panel = load_panel(obs, None, sim.units, spec=spec)
        fits[name] = bc.fit(spec, panel, progress=False)
    return sim, fits


@pytest.mark.sampling
def test_member_level_loading_and_credibility_are_recovered(recovery):
    sim, fits = recovery
    result = fits["member"]
    loading = result.posterior["loading"].sel(signal="spending").values.ravel()
    true = sim.params["loading"]["spending"]
    assert np.quantile(loading, 0.02) < true < np.quantile(loading, 0.98)
    table = result.credibility(active_only=False).merge(sim.truth, on=["member", "alliance",
                                                                       "year"])
    assert np.corrcoef(table["mean"], table.credibility)[0, 1] > 0.8


@pytest.mark.sampling
def test_a_signal_declared_per_unit_is_counted_once_per_alliance(recovery):
    """Per unit, the same member-year value enters three times: the posterior of the
    signal's own noise (sigma) and loading narrow as if there were three times the data."""
    _, fits = recovery
    sd = {name: float(f.posterior["sigma"].sel(sigma_signal="spending").std())
          for name, f in fits.items()}
    assert sd["unit"] < 0.75 * sd["member"], sd
    rows = {name: int((f.panel.observations.signal == "spending").sum())
            for name, f in fits.items()}
    assert rows["unit"] == 3 * rows["member"]


@pytest.mark.sampling
def test_what_if_answers_exactly_and_refuses_to_change_a_member_level_signal(recovery):
    _, fits = recovery
    result = fits["member"]
    shift_troops = {"shift": [{"member": "M00", "alliance": result.panel.units.alliance[0],
                               "signal": "troops", "years": 1990, "factor": 2}]}
    with pytest.raises(SpecError, match="do not yet cover member-level signals"):
        bc.whatif(result, shift_troops, engine="fast")
    shift_spending = {"shift": [{**shift_troops["shift"][0], "signal": "spending"}]}
    with pytest.raises(DataError, match="'spending' is member-level"):
        bc.whatif(result, shift_spending)


@pytest.mark.sampling
def test_a_member_level_result_saves_and_loads_the_same_model(recovery, tmp_path):
    _, fits = recovery
    result = fits["member"]
    again = bc.load(result.save(tmp_path / "members.nc"))
    assert again.spec.member_signals == ("spending",)
    cols = ["member", "alliance", "year", "signal", "value", "unit_idx", "year_idx"]
    pd.testing.assert_frame_equal(
        again.panel.observations[cols].reset_index(drop=True),
        result.panel.observations[cols].reset_index(drop=True),
        check_dtype=False,
    )
    np.testing.assert_allclose(again.log_likelihood().values, result.log_likelihood().values,
                               rtol=1e-5)
