"""Crisis kinds, crisis covariates and crises-only specs: the data contract, the model's
variables and what-if scenarios (no sampling; the kernel is checked in test_kernel.py and
recovery in test_followthrough_recovery.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayescred as bc
from bayescred.errors import DataError
from bayescred.model import build_model
from bayescred.panel import read_panel
from bayescred.scenario import Scenario, bind
from bayescred.spec import spec_from_dict


def _spec(small_sim, covariates=()):
    d = small_sim.spec.to_dict()
    d["follow_through"] = {"covariates": list(covariates)}
    return spec_from_dict(d)


def _crises(small_sim):
    c = small_sim.crises.copy()
    return c.assign(kind=np.where(c.index % 2, "dispute", "war"), gap=np.arange(len(c)) * 0.5)


def test_kinds_and_covariates_become_coordinates_and_variables(small_sim):
    spec = _spec(small_sim, ["gap"])
    panel = bc.load_panel(small_sim.observations, _crises(small_sim), small_sim.units, spec=spec)
    model = build_model(panel, spec)
    assert model.coords["crisis_kind"] == ("dispute", "war")  # sorted
    assert model.coords["crisis_covariate"] == ("gap",)
    for name in ("alpha_followthrough", "kappa_honor_raw", "kappa_violate", "kappa_honor"):
        assert model.named_vars_to_dims[name] == ("crisis_kind",)
    assert model.named_vars_to_dims["beta_followthrough"] == ("crisis_covariate",)
    z = model["crisis_covariates"].get_value()
    np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-12)


def test_a_table_without_kind_is_all_war(small_sim):
    panel = bc.load_panel(
        small_sim.observations, small_sim.crises.drop(columns="kind"), small_sim.units,
        spec=small_sim.spec,
    )
    assert set(panel.crises.kind) == {"war"}


@pytest.mark.parametrize(
    ("change", "covariates", "fragment"),
    [
        (lambda c: c.assign(kind=c.kind.where(c.index != 2, " ")), (),
         "column 'kind' is empty on line 4"),
        (lambda c: c.drop(columns="gap"), ("gap",), "missing required column(s) gap"),
        (lambda c: c.assign(gap=c.gap.astype(object).where(c.index != 1, "big")), ("gap",),
         "column 'gap' must be numeric; line 3 holds 'big'"),
        (lambda c: c.assign(gap=c.gap.astype(object).where(c.index != 0, "")), ("gap",),
         "crisis covariate 'gap' is empty on line 2"),
        (lambda c: c.assign(gap=1.0), ("gap",), "takes the one value 1 on every crisis"),
    ],
)
def test_bad_crisis_columns_are_one_line_errors(small_sim, tmp_path, change, covariates, fragment):
    path = tmp_path / "crises.csv"
    change(_crises(small_sim)).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        bc.load_panel(small_sim.observations, path, small_sim.units,
                      spec=_spec(small_sim, covariates))
    message = str(err.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_a_spec_without_signals_reads_its_crises_alone(small_sim, tmp_path):
    _crises(small_sim).to_csv(tmp_path / "crises.csv", index=False)
    (tmp_path / "spec.toml").write_text(
        'name = "crises only"\n[data]\ncrises = "crises.csv"\n'
        '[follow_through]\ncovariates = ["gap"]\n'
    )
    spec = bc.load_spec(tmp_path / "spec.toml")
    assert spec.prior("loading_followthrough")["dist"] == "HalfNormal"  # fixes the sign
    panel = read_panel(spec)
    crises = panel.crises
    assert panel.observations.empty and panel.signals == []
    assert len(panel.units) == len(crises[["member", "alliance"]].drop_duplicates())
    assert panel.years[0] == crises.year.min() and panel.years[-1] == crises.year.max()
    model = build_model(panel, spec)
    assert "loading" not in model.named_vars and "loading_followthrough" in model.named_vars


def test_scenario_crises_take_a_kind_and_covariates(small_sim):
    spec = _spec(small_sim, ["gap"])
    panel = bc.load_panel(small_sim.observations, _crises(small_sim), small_sim.units, spec=spec)
    member, alliance = panel.units.member[0], panel.units.alliance[0]
    year = int(panel.years[-1])
    sc = (
        Scenario("two crises")
        .crisis(member, alliance, year, "violated", kind="dispute", covariates={"gap": 9.0})
        .crisis(member, alliance, year, "honored")
    )
    back = Scenario.from_dict(sc.to_dict())
    assert back == sc
    crises = bind(back, panel, spec, None).crises
    assert list(crises.kind) == ["dispute", "war"]
    assert crises.gap.tolist() == [9.0, panel.crises.gap.mean()]  # left out: the mean
    for bad, fragment in [({"kind": "coup"}, "unknown crisis kind 'coup'"),
                          ({"covariates": {"size": 1.0}}, "unknown crisis covariate(s) 'size'")]:
        wrong = Scenario("bad").crisis(member, alliance, year, "violated", **bad)
        with pytest.raises(DataError, match=r"\[\[crisis\]\] entry 1") as err:
            bind(wrong, panel, spec, None)
        assert fragment in str(err.value)


def test_scenario_panel_keeps_the_fitted_covariate_scaling(small_sim):
    spec = _spec(small_sim, ["gap"])
    panel = bc.load_panel(small_sim.observations, _crises(small_sim), small_sim.units, spec=spec)
    member, alliance = panel.units.member[0], panel.units.alliance[0]
    sc = Scenario("far").crisis(member, alliance, int(panel.years[-1]), "violated",
                                covariates={"gap": 100.0})
    scenario_panel = bind(sc, panel, spec, None).scenario_panel()
    assert scenario_panel.crisis_scaling == panel.crisis_scaling
    assert isinstance(scenario_panel.crises, pd.DataFrame) and len(scenario_panel.crises) == len(
        panel.crises) + 1
