"""Scenarios: the TOML and Python formats, and every bad scenario failing with a message
that names the entry, before any work is done and without touching the result file."""

from __future__ import annotations

import os

import arviz as az
import numpy as np
import pytest
from typer.testing import CliRunner

import bayescred as bc
from bayescred.cli import app
from bayescred.errors import DataError, SpecError
from bayescred.fit import Timing
from bayescred.model import signal_scales
from bayescred.results import CredibilityResult
from bayescred.scenario import Scenario, ScenarioPanel, bind, load_scenario

EXAMPLE = """
name = "more spending, a reneged crisis"
horizon = 2

[[set]]
member = "M00"
alliance = "A0"
signal = "spending"
years = "1990-1991"
value = 2.5

[[shift]]
member = "M01"
alliance = "A1"
signal = "troops"
years = [1991, 1992]
factor = 2

[[crisis]]
member = "M00"
alliance = "A0"
year = 1992
outcome = "violated"
"""


@pytest.fixture(scope="module")
def fake_result(small_sim):
    """A result with the small panel's data and a made-up posterior (no sampling): enough
    for everything that happens before an engine runs."""
    sim = small_sim
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    shape = (1, 4, len(panel.units), len(panel.years))
    rng = np.random.default_rng(0)
    idata = az.from_dict(
        # the spec has reputation and the panel crises: a result file must then hold kappa
        posterior={"credibility": rng.normal(size=shape),
                   "kappa_honor": rng.gamma(2.0, size=(1, 4)),
                   "kappa_violate": rng.gamma(2.0, size=(1, 4))},  # fmt: skip
        coords={"unit": panel.unit_labels, "year": panel.years},
        dims={"credibility": ["unit", "year"]},
    )
    spec = sim.spec.with_sampler(chains=1, draws=4)  # what the made-up posterior holds
    return CredibilityResult(idata, spec, panel, signal_scales(panel, spec), Timing(0.0, 0.0))


def bound(result, scenario):
    return bind(scenario, result.panel, result.spec, result.scales)


def write(tmp_path, text, name="scenario.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- format


def test_toml_and_python_give_the_same_scenario(tmp_path):
    from_file = load_scenario(write(tmp_path, EXAMPLE))
    built = (
        Scenario("more spending, a reneged crisis", horizon=2)
        .set("M00", "A0", "spending", "1990-1991", 2.5)
        .shift("M01", "A1", "troops", [1991, 1992], factor=2)
        .crisis("M00", "A0", 1992, "violated")
    )
    assert from_file == built
    assert from_file.sets[0].years == (1990, 1991)
    assert Scenario.from_dict(built.to_dict()) == built
    assert load_scenario(write(tmp_path, built.to_toml(), "again.toml")) == built


@pytest.mark.parametrize(
    "years, expected",
    [
        (1990, (1990,)),
        ([1992, 1990], (1990, 1992)),
        ("1990-1992", (1990, 1991, 1992)),
        ("1991", (1991,)),
        (range(1990, 1992), (1990, 1991)),
    ],
)
def test_years_forms(years, expected):
    assert Scenario().set("M00", "A0", "troops", years, 10).sets[0].years == expected


def test_empty_scenario_and_forecast():
    assert Scenario().is_empty and Scenario().horizon == 0
    assert Scenario.from_dict({"horizon": 5}).horizon == 5
    assert Scenario.from_dict({"name": "x"}).is_empty


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"nmae": "x"}, "unknown key(s) 'nmae'"),
        ({"horizon": 0}, "'horizon' must be a positive integer"),
        ({"horizon": -2}, "'horizon' must be a positive integer"),
        ({"horizon": 2.5}, "'horizon' must be a positive integer"),
        ({"horizon": "3"}, "'horizon' must be a positive integer"),
        ({"horizon": True}, "'horizon' must be a positive integer"),
        ({"set": {"member": "M00"}}, "[[set]] entry 1: missing key(s) 'alliance', 'signal'"),
        (
            {
                "set": [
                    {
                        "member": "M00",
                        "alliance": "A0",
                        "signal": "troops",
                        "years": 1990,
                        "value": "lots",
                    }
                ]
            },
            "[[set]] entry 1: 'value' must be a number, got 'lots'",
        ),
        (
            {
                "set": [
                    {
                        "member": "M00",
                        "alliance": "A0",
                        "signal": "troops",
                        "years": 1990,
                        "value": True,
                    }
                ]
            },
            "'value' must be a number",
        ),
        (
            {
                "set": [
                    {
                        "member": "M00",
                        "alliance": "A0",
                        "signal": "troops",
                        "years": "199x",
                        "value": 1,
                    }
                ]
            },
            "'years' must be an integer",
        ),
        (
            {
                "set": [
                    {"member": "M00", "alliance": "A0", "signal": "troops", "years": [], "value": 1}
                ]
            },
            "'years' is empty",
        ),
        (
            {
                "set": [
                    {
                        "member": "M00",
                        "alliance": "A0",
                        "signal": "troops",
                        "year": 1990,
                        "value": 1,
                    }
                ]
            },
            "unknown key(s) 'year'",
        ),
        (
            {"shift": [{"member": "M00", "alliance": "A0", "signal": "troops", "years": 1990}]},
            "[[shift]] entry 1: give exactly one of 'by' (added) or 'factor'",
        ),
        (
            {
                "shift": [
                    {},
                    {
                        "member": "M00",
                        "alliance": "A0",
                        "signal": "troops",
                        "years": 1990,
                        "by": 1,
                        "factor": 2,
                    },
                ]
            },
            "[[shift]] entry 1: missing",
        ),
        (
            {"crisis": [{"member": "M00", "alliance": "A0", "year": 1990, "outcome": "maybe"}]},
            "[[crisis]] entry 1: 'outcome' must be one of honored, violated",
        ),
        (
            {"crisis": [{"member": "M00", "alliance": "A0", "year": "1990", "outcome": "honored"}]},
            "'year' must be an integer year",
        ),
        ({"crisis": "USA"}, "'crisis' must be a list of tables"),
    ],
)
def test_malformed_scenarios_name_the_entry(raw, fragment):
    with pytest.raises(SpecError) as err:
        Scenario.from_dict(raw, source="s.toml")
    assert str(err.value).startswith("s.toml: ")
    assert fragment in str(err.value), str(err.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(SpecError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_scenario(write(tmp_path, "name = [unclosed"))


# ---------------------------------------------------------------------------- binding


@pytest.mark.parametrize(
    "scenario, fragment",
    [
        (
            Scenario().shift("Atlantis", "A0", "troops", 1990, by=1),
            "[[shift]] entry 1: unknown member 'Atlantis'; members are M00",
        ),
        (
            Scenario().set("M00", "NATO", "troops", 1990, 1),
            "[[set]] entry 1: unknown alliance 'NATO'; alliances are A0",
        ),
        (
            Scenario().set("M00", "A0", "tweets", 1990, 1),
            "unknown signal 'tweets'; signals are troops, spending, votes, exercises",
        ),
        (
            Scenario().set("M00", "A0", "troops", 1970, 1),
            "[[set]] entry 1: year 1970 is before the data (1980-1991)",
        ),
        (
            Scenario().set("M00", "A0", "troops", 1993, 1),
            "year 1993 is beyond the data (1980-1991) and the scenario's no horizon; "
            "set horizon = 2 or more",
        ),
        (
            Scenario(horizon=1).crisis("M00", "A0", 1993, "violated"),
            "[[crisis]] entry 1: year 1993 is beyond the data (1980-1991) and the scenario's "
            "horizon 1 reaches 1992",
        ),
        (
            Scenario().set("M00", "A0", "troops", 1990, -5),
            "value -5 gives -5 in 1990, outside the support of signal 'troops' (negbinomial): "
            "it must be a non-negative integer count",
        ),
        (Scenario().set("M00", "A0", "troops", 1990, 2.5), "a non-negative integer count"),
        (
            Scenario().shift("M00", "A0", "spending", 1990, by=-100),
            "shifting 'spending' by -100 gives",
        ),
        (Scenario().set("M00", "A0", "votes", 1990, 10_000), "(at most its trials)"),
        (
            Scenario().set("M00", "A0", "votes", 1990, 1).set("M00", "A0", "spending", 1990, 0),
            "[[set]] entry 2: value 0 gives 0 in 1990, outside the support of signal 'spending' "
            "(lognormal): it must be a positive number",
        ),
    ],
)
def test_bad_entries_name_the_entry(fake_result, scenario, fragment):
    with pytest.raises(DataError) as err:
        bound(fake_result, scenario)
    assert fragment in str(err.value), str(err.value)


def test_unit_that_does_not_exist(fake_result):
    units = fake_result.panel.units
    member = units.member[0]
    other = sorted(set(fake_result.panel.alliances) - set(units.alliance[units.member == member]))
    with pytest.raises(DataError, match=f"{member} has no commitment in {other[0]}"):
        bound(fake_result, Scenario().set(member, other[0], "troops", 1990, 1))


def test_changes_compose_and_carry_forward(fake_result):
    obs = fake_result.panel.observations
    unit = obs[(obs.member == "M00") & (obs.alliance == "A0") & (obs.signal == "troops")]
    last = unit.sort_values("year").iloc[-1]
    sc = (
        Scenario(horizon=2)
        .set("M00", "A0", "troops", 1985, 100)
        .shift("M00", "A0", "troops", [1985, 1992, 1993], factor=1.5)
    )
    b = bound(fake_result, sc)
    ch = b.changes.set_index("year")
    assert ch.loc[1985, "value"] == 150  # set, then shifted
    assert ch.loc[1992, "value"] == np.round(last.value * 1.5)  # carried forward, rounded
    assert ch.loc[1993, "value"] == np.round(last.value * 1.5)  # not compounded
    assert np.isnan(ch.loc[1992, "old_value"])
    assert list(b.years) == list(range(1980, 1994))
    # the scenario panel holds the new rows and keeps the baseline's standardisation cells
    panel = b.scenario_panel()
    assert isinstance(panel, ScenarioPanel)
    assert len(panel.observations) == len(obs) + int(b.changes.old_value.isna().sum())
    base = fake_result.panel.active_mask()
    np.testing.assert_array_equal(panel.active_mask()[:, : base.shape[1]], base)
    assert not panel.active_mask()[:, base.shape[1] :].any()
    assert panel.evidence_mask()[panel.unit_labels.index("M00/A0"), -1]  # span stretched


def test_setting_the_same_value_changes_nothing(fake_result):
    obs = fake_result.panel.observations
    row = obs[obs.signal == "troops"].iloc[0]
    sc = Scenario().set(row.member, row.alliance, "troops", int(row.year), row.value)
    assert bound(fake_result, sc).is_empty


def test_unknown_engine(fake_result):
    with pytest.raises(SpecError, match="engine must be one of auto, fast, exact"):
        bc.whatif(fake_result, Scenario(), engine="slow")


def test_bad_horizon_in_python(fake_result):
    with pytest.raises(SpecError, match="horizon must be a positive integer"):
        bc.whatif(fake_result, Scenario(), horizon=0)
    with pytest.raises(SpecError, match="'horizon' must be a positive integer"):
        Scenario(horizon=-1)


# ---------------------------------------------------------------------------- command line


@pytest.fixture
def result_file(fake_result, tmp_path):
    # a made-up posterior is no draw of the model: nothing to evaluate the likelihood with
    return fake_result.save(tmp_path / "result.nc", log_likelihood=False, predictive_draws=0)


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            EXAMPLE.replace('member = "M01"', 'member = "Atlantis"'),
            "scenario.toml: [[shift]] entry 1: unknown member 'Atlantis'",
        ),
        (
            EXAMPLE.replace("factor = 2", 'factor = "two"'),
            "scenario.toml: [[shift]] entry 1: 'factor' must be a number, got 'two'",
        ),
        (
            EXAMPLE.replace("value = 2.5", "value = -1"),
            "scenario.toml: [[set]] entry 1: value -1 gives -1 in 1990, outside the support",
        ),
        (
            EXAMPLE.replace('years = "1990-1991"', "years = 1950"),
            "scenario.toml: [[set]] entry 1: year 1950 is before the data",
        ),
        (
            EXAMPLE.replace("horizon = 2", "horizon = 0"),
            "scenario.toml: 'horizon' must be a positive integer",
        ),
        (
            EXAMPLE.replace("horizon = 2", "horizon = 1.5"),
            "scenario.toml: 'horizon' must be a positive integer",
        ),
        (
            EXAMPLE.replace("year = 1992", "year = 1999"),
            "scenario.toml: [[crisis]] entry 1: year 1999 is beyond the data",
        ),
    ],
)
def test_cli_bad_scenario_fails_cleanly(result_file, tmp_path, text, fragment):
    before = (result_file.read_bytes(), os.stat(result_file).st_mtime_ns)
    out = tmp_path / "whatif_out"
    res = CliRunner().invoke(
        app, ["whatif", str(result_file), str(write(tmp_path, text)), "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "Traceback" not in res.output
    assert fragment in res.output, res.output
    assert not out.exists()
    assert (result_file.read_bytes(), os.stat(result_file).st_mtime_ns) == before


def test_cli_needs_a_scenario_or_a_horizon(result_file, tmp_path):
    res = CliRunner().invoke(app, ["whatif", str(result_file), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "give a SCENARIO file, or --horizon N" in res.output
    res = CliRunner().invoke(
        app,
        ["whatif", str(result_file), str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 2 and "scenario file not found" in res.output


def test_example_scenario_runs_on_what_the_readmes_main_job_fits():
    """scenarios/example.toml names units and signals of us_alliances (what `bayescred demo`
    fits): it binds to that panel, each entry landing on the unit and years it names."""
    from pathlib import Path

    from bayescred.datasets import load_example
    from bayescred.model import signal_scales
    from bayescred.scenario import bind, load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "example.toml"
    assert "demo_output/result.nc" in path.read_text()
    panel, spec = load_example("us_alliances")
    bound = bind(load_scenario(path), panel, spec, signal_scales(panel, spec))
    assert set(bound.changes.member) == {"DEU"} and list(bound.changes.year) == [2013, 2014, 2015]
    assert list(bound.crises.member) == ["KOR"]
