"""A result file is data: every edited attribute, an edited spec, a link to another file
and a huge declared array are refused by load (and the CLI) in one line; results are
written with the folder's usual mode; a result short of its draws is never written."""

from __future__ import annotations

import json
import os
import shutil

import h5py
import numpy as np
import pytest
from result_files import made_up_result, save_made_up
from typer.testing import CliRunner

import bayescred as bc
from bayescred.cli import app
from bayescred.errors import ResultError

runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, small_sim):
    folder = tmp_path_factory.mktemp("trust")
    spec_path = small_sim.save(folder / "panel")
    return save_made_up(spec_path, folder / "result.nc")


@pytest.fixture
def copy(pristine, tmp_path):
    path = tmp_path / "edited.nc"
    shutil.copyfile(pristine, path)
    return path


def set_attr(path, name, value):
    with h5py.File(path, "r+") as f:
        f["posterior"].attrs[name] = value


def refused(path, *fragments):
    with pytest.raises(ResultError) as err:
        bc.load(path)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_pristine_file_loads(pristine):
    assert bc.load(pristine).partial is None


EDITS = [
    ("bayescred_format", "abc"),
    ("bayescred_format", "inf"),
    ("bayescred_format", 1.5),
    ("bayescred_format", np.array([1, 2])),
    ("bayescred_spec", "{not json"),
    ("bayescred_spec", "[1, 2]"),
    ("bayescred_spec", 5),
    ("bayescred_timing", '{"compile_s": "x", "sample_s": 1}'),
    ("bayescred_timing", "[]"),
    ("bayescred_timing", '{"compile_s": 1}'),
    ("bayescred_timing", '{"compile_s": -1, "sample_s": 1, "cached": false}'),
    ("bayescred_timing", '{"compile_s": 1, "sample_s": 1, "cached": "yes"}'),
    ("bayescred_scales", '{"troops": 5}'),
    ("bayescred_scales", '{"troops": {"center": "a"}}'),
    ("bayescred_scales", '{"troops": {"scale": NaN}}'),
    ("bayescred_scales", "[1]"),
    ("bayescred_versions", "[1]"),
    ("bayescred_versions", '{"bayescred": 3}'),
    ("bayescred_notes", '{"a": 1}'),
    ("bayescred_notes", "[1]"),
    ("bayescred_partial", '{"drawn": -1, "requested": 3}'),
    ("bayescred_partial", "1"),
]


@pytest.mark.parametrize(("name", "value"), EDITS, ids=[f"{n}={v!r}" for n, v in EDITS])
def test_an_edited_attribute_is_refused_in_one_line_naming_it(copy, name, value):
    set_attr(copy, name, value)
    refused(copy, name)


def test_an_edited_attribute_through_the_cli(copy, tmp_path):
    set_attr(copy, "bayescred_timing", '{"compile_s": "x", "sample_s": 1}')
    res = runner.invoke(app, ["report", str(copy), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert res.output.strip().count("\n") == 0 and "bayescred_timing" in res.output


def test_a_spec_edited_inside_the_file_is_refused(copy):
    with h5py.File(copy, "r") as f:
        spec = json.loads(f["posterior"].attrs["bayescred_spec"])
    assert spec["signals"]["troops"]["family"] == "negbinomial"
    spec["signals"]["troops"]["family"] = "poisson"
    set_attr(copy, "bayescred_spec", json.dumps(spec))
    refused(copy, "bayescred_spec", "does not match the posterior", "dispersion")


def test_a_link_to_another_file_is_refused(copy, tmp_path):
    other = tmp_path / "secret.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with h5py.File(copy, "r+") as f:
        f["posterior"]["stolen"] = h5py.ExternalLink(str(other), "/x")
    refused(copy, "link to another file")


def test_a_huge_declared_array_is_refused_before_it_is_allocated(copy):
    with h5py.File(copy, "r+") as f:  # 298 GiB declared, nothing stored
        f["bayescred_data"].create_dataset("huge", shape=(40 * 10**9,), dtype="f8",
                                           chunks=(1024,))
    assert copy.stat().st_size < 10 * 2**20
    refused(copy, "/bayescred_data/huge", "GiB")


def test_results_get_the_folders_usual_mode(pristine, tmp_path):
    old = os.umask(0o022)
    try:
        made_up_result(pristine.parent / "panel" / "spec.toml").save(
            tmp_path / "r.nc", log_likelihood=False, predictive_draws=0
        )
    finally:
        os.umask(old)
    assert (tmp_path / "r.nc").stat().st_mode & 0o777 == 0o644


def test_a_result_short_of_its_draws_or_with_nan_is_not_written(pristine, tmp_path):
    spec_path = pristine.parent / "panel" / "spec.toml"
    short = made_up_result(spec_path)
    short.spec = short.spec.with_sampler(draws=50)
    with pytest.raises(ResultError, match="the spec asked for 2 x 50"):
        short.save(tmp_path / "short.nc", log_likelihood=False, predictive_draws=0)
    holed = made_up_result(spec_path)
    holed.posterior["kappa_honor"][0, -1] = np.nan
    with pytest.raises(ResultError, match="'kappa_honor' holds NaN"):
        holed.save(tmp_path / "nan.nc", log_likelihood=False, predictive_draws=0)
    assert not list(tmp_path.iterdir())


def test_a_partial_result_is_written_only_on_request_and_says_so(pristine, tmp_path):
    from bayescred.results import Partial

    result = made_up_result(pristine.parent / "panel" / "spec.toml")
    result.partial = Partial(40, 100)
    with pytest.raises(ResultError, match="interrupted after 40 of 100"):
        result.save(tmp_path / "p.nc", log_likelihood=False, predictive_draws=0)
    result.save(tmp_path / "p.nc", log_likelihood=False, predictive_draws=0, partial=True)
    loaded = bc.load(tmp_path / "p.nc")
    assert loaded.partial == Partial(40, 100)
    assert "partial result" in repr(loaded)


def test_whatif_horizon_is_bounded(pristine, tmp_path):
    res = runner.invoke(
        app, ["whatif", str(pristine), "--horizon", "100000", "--out", str(tmp_path / "w")]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.startswith("error: ") and "horizon" in res.output
    assert res.output.strip().count("\n") == 0
