"""Result objects and files: ArviZ reads a saved result as it is, old files still load,
and results show themselves in a few lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayescred as bc
from bayescred.errors import ResultError
from bayescred.model import signal_scales
from bayescred.results import CredibilityResult, _tables_to_dataset
from bayescred.runtime import Timing


@pytest.fixture(scope="module")
def panel_and_spec(small_sim):
    sim = small_sim
    return bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec), sim.spec


@pytest.fixture
def made_up(panel_and_spec):
    """A result with the small panel's data and a made-up posterior (no sampling)."""
    panel, spec = panel_and_spec
    rng = np.random.default_rng(0)
    shape = (2, 50)
    idata = az.from_dict(
        posterior={
            "credibility": rng.normal(size=(*shape, len(panel.units), len(panel.years))),
            "mu_alliance": rng.normal(size=(*shape, len(panel.alliances))),
            "kappa_honor": rng.gamma(2.0, 0.2, size=shape),
            "kappa_violate": rng.gamma(4.0, 0.2, size=shape),
        },
        coords={
            "unit": panel.unit_labels,
            "year": panel.years.astype(int),
            "alliance": panel.alliances,
        },
        dims={"credibility": ["unit", "year"], "mu_alliance": ["alliance"]},
    )
    idata.posterior = idata.posterior.assign_coords(
        unit_member=("unit", panel.units.member.to_numpy(str)),
        unit_alliance=("unit", panel.units.alliance.to_numpy(str)),
    )
    return CredibilityResult(idata, spec, panel, signal_scales(panel, spec), Timing(1.0, 2.0))


def write_format_1(result: CredibilityResult, path):
    """A result file in the layout bayescred wrote before result format 2: ``member`` and
    ``alliance`` coordinates on ``unit`` (hiding the alliance dimension's labels), no
    observed_data / log_likelihood / constant_data, ``bayescred_format = 1``."""
    post = result.idata.posterior.drop_vars(["unit_member", "unit_alliance", "alliance"])
    post = post.assign_coords(
        member=("unit", result.panel.units.member.to_numpy(str)),
        alliance=("unit", result.panel.units.alliance.to_numpy(str)),
    )
    post.attrs.update({**result._attrs(), "bayescred_format": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        az.InferenceData(
            posterior=post, bayescred_data=_tables_to_dataset(result.panel.tables())
        ).to_netcdf(str(path), engine="h5netcdf")
    return path


# ---------------------------------------------------------------------------- old files


def test_a_format_1_file_loads_with_the_new_coordinate_names(made_up, tmp_path):
    path = write_format_1(made_up, tmp_path / "old.nc")
    old = xr.open_dataset(path, group="posterior", engine="netcdf4")
    assert old["alliance"].dims == ("unit",)  # the old layout: the dimension is shadowed
    loaded = bc.load(path)
    post = loaded.posterior
    assert post["unit_member"].dims == ("unit",) and post["unit_alliance"].dims == ("unit",)
    assert "member" not in post.coords
    assert list(post.alliance.values) == made_up.panel.alliances
    first = made_up.panel.alliances[0]
    np.testing.assert_array_equal(
        post.mu_alliance.sel(alliance=first).values,
        made_up.posterior.mu_alliance.sel(alliance=first).values,
    )
    pd.testing.assert_frame_equal(loaded.credibility(), made_up.credibility())
    summary = az.summary(loaded.idata, var_names=["mu_alliance"])
    assert list(summary.index) == [f"mu_alliance[{a}]" for a in made_up.panel.alliances]


def test_a_file_of_an_unknown_format_fails_in_one_line_saying_how_to_refit(made_up, tmp_path):
    path = write_format_1(made_up, tmp_path / "future.nc")
    with xr.open_dataset(path, group="posterior", engine="netcdf4") as ds:
        post = ds.load()
    post.attrs["bayescred_format"] = 99
    post.to_netcdf(path, group="posterior", mode="a", engine="h5netcdf")
    with pytest.raises(ResultError) as err:
        bc.load(path)
    message = str(err.value)
    assert "\n" not in message
    assert "result format 99" in message and "written by bayescred" in message
    assert f"bayescred fit SPEC --out {path}" in message


def test_a_file_with_an_unreadable_spec_fails_in_one_line(made_up, tmp_path):
    path = write_format_1(made_up, tmp_path / "broken.nc")
    with xr.open_dataset(path, group="posterior", engine="netcdf4") as ds:
        post = ds.load()
    post.attrs["bayescred_spec"] = "{not json"
    post.to_netcdf(path, group="posterior", mode="a", engine="h5netcdf")
    with pytest.raises(ResultError, match="cannot be read.*bayescred fit SPEC") as err:
        bc.load(path)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------- the object


def test_repr_is_a_few_lines(made_up):
    text = repr(made_up)
    assert text.startswith("CredibilityResult: model")
    assert len(text.splitlines()) <= 6 and len(text) < 600
    assert "<strong>CredibilityResult" in made_up._repr_html_()
    assert "P(kappa_violate > kappa_honor)" in made_up.text()


def test_hdi_prob_is_the_interval_argument_and_prob_still_works(made_up):
    narrow = made_up.credibility(hdi_prob=0.5)
    wide = made_up.credibility(0.95)  # positional: hdi_prob
    assert (narrow.hdi_high - narrow.hdi_low < wide.hdi_high - wide.hdi_low).all()
    with pytest.warns(DeprecationWarning, match="hdi_prob"):
        old = made_up.credibility(prob=0.5)
    pd.testing.assert_frame_equal(old, narrow)
    assert list(narrow.columns) == [
        "member", "alliance", "year", "mean", "sd", "hdi_low", "hdi_high"
    ]
    table = made_up.summary(hdi_prob=0.8)
    assert isinstance(table, pd.DataFrame) and "hdi_10%" in table.columns
    assert "mu_alliance[A0]" in table.index
    with pytest.warns(DeprecationWarning):
        made_up.parameters(prob=0.8)


# ---------------------------------------------------------------------------- a saved fit


@pytest.fixture(scope="module")
def fitted(panel_and_spec):
    panel, spec = panel_and_spec
    return bc.fit(spec, panel, draws=60, tune=60, chains=2, seed=4, progress=False)


ARVIZ_ONLY = textwrap.dedent(
    """
    import json, sys
    import matplotlib
    matplotlib.use("Agg")
    import numpy as np
    import arviz as az

    a, b = az.from_netcdf(sys.argv[1]), az.from_netcdf(sys.argv[2])
    summary = az.summary(a, var_names=["mu_alliance"])
    first = str(a.posterior.alliance.values[0])
    picked = a.posterior.mu_alliance.sel(alliance=first)
    loo = az.loo(a)
    table = az.compare({"a": a, "b": b})
    axes = az.plot_ppc(a, num_pp_samples=10, random_seed=0)
    print(json.dumps({
        "summary": list(summary.index),
        "picked": list(picked.dims),
        "elpd": float(loo.elpd_loo),
        "n": int(loo.n_data_points),
        "compare": sorted(table.index),
        "ppc_axes": int(np.size(axes)),
        "observed": sorted(a.observed_data.data_vars),
        "bayescred_imported": any(m.startswith("bayescred") for m in sys.modules),
    }))
    """
)


@pytest.mark.sampling
def test_arviz_alone_reads_a_saved_result(fitted, tmp_path):
    """az.summary, .sel by alliance, az.loo, az.compare and az.plot_ppc on the file, in a
    process that never imports bayescred."""
    a = fitted.save(tmp_path / "a.nc")
    b = fitted.save(tmp_path / "b.nc", predictive_draws=40)
    run = subprocess.run(
        [sys.executable, "-I", "-c", ARVIZ_ONLY, str(a), str(b)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert not got["bayescred_imported"]
    assert got["summary"] == [f"mu_alliance[{x}]" for x in fitted.panel.alliances]
    assert got["picked"] == ["chain", "draw"]
    n_rows = len(fitted.panel.observations) + len(fitted.panel.crises)
    assert got["n"] == n_rows
    assert got["compare"] == ["a", "b"]
    signals = [*fitted.spec.signals, "followthrough"]
    assert got["observed"] == sorted(signals)
    assert got["ppc_axes"] >= len(signals)
    # the same LOO as bayescred's own (ArviZ's relative ESS is over every variable)
    report = bc.diagnose(bc.load(a), ppc=False)
    assert got["elpd"] == pytest.approx(report.loo.loc["all", "elpd_loo"], rel=0.02)


@pytest.mark.sampling
def test_saved_groups_round_trip_and_are_reused(fitted, tmp_path):
    path = fitted.save(tmp_path / "r.nc")
    loaded = bc.load(path)
    assert {"observed_data", "constant_data", "log_likelihood", "posterior_predictive"} <= set(
        loaded.idata.groups()
    )
    xr.testing.assert_allclose(loaded.log_likelihood(), fitted.log_likelihood())
    pred = loaded.posterior_predictive()
    xr.testing.assert_allclose(pred, fitted.posterior_predictive())
    # observed values come back in the rows' order, as the predictive draws' ``value``
    observed = az.from_netcdf(path).observed_data
    for name, values in observed.data_vars.items():
        rows = pred.isel(obs=observed[f"{name}_obs"].values)
        np.testing.assert_array_equal(rows["value"].values, values.values)
        assert set(rows["signal"].values) == {name}
    constant = az.from_netcdf(path).constant_data
    np.testing.assert_array_equal(constant.active.values, fitted.panel.active_mask())
    members = constant.member.values[constant.member_index.values]
    np.testing.assert_array_equal(members, constant.unit_member.values)
    # switched off: neither group is written; bayescred recomputes what it needs
    light = bc.load(fitted.save(tmp_path / "light.nc", log_likelihood=False, predictive_draws=0))
    assert not {"log_likelihood", "posterior_predictive"} & set(light.idata.groups())
    assert (tmp_path / "light.nc").stat().st_size < path.stat().st_size


def test_a_loaded_result_keeps_the_spec_order_of_its_signals(tmp_path):
    """The signals' order is the model's signal coordinate: a result read back must list
    them as the spec did (not alphabetically), so that a model rebuilt from it is the
    fitted one."""
    import bayescred as bc
    from bayescred.spec import spec_from_dict

    spec = bc.default_spec()
    assert list(spec.signals) != sorted(spec.signals)  # troops, spending, votes, exercises
    again = spec_from_dict(__import__("json").loads(spec.to_json()))
    assert list(again.signals) == list(spec.signals)
