"""The command line's own options: --version, sampler settings, stage lines on stderr."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bayescred
from bayescred import cli
from bayescred.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"bayescred {bayescred.__version__}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["version"] == bayescred.__version__


class _Stop(Exception):
    pass


@pytest.fixture
def captured(monkeypatch):
    """The spec `fit` would sample (plumbing only: the sampling itself is not run)."""
    seen = {}

    def fake_fit(spec, panel=None, **kwargs):
        seen["spec"] = spec
        raise _Stop

    monkeypatch.setattr(cli, "_import_fit", lambda: fake_fit)
    monkeypatch.setattr(cli, "_start_compiling", lambda spec: None)
    return seen


def test_fit_passes_sampler_options_into_the_spec(panel_dir, tmp_path, captured):
    args = ["fit", str(panel_dir), "--out", str(tmp_path / "r.nc"), "--target-accept", "0.95",
            "--draws", "7", "--tune", "9", "--chains", "3", "--seed", "11"]
    result = runner.invoke(app, args)
    # the fake fit stops the command: the guard turns that into one line
    assert result.exit_code == 2 and "internal error: _Stop" in result.output, result.output
    sampler = captured["spec"].sampler
    assert (sampler.target_accept, sampler.draws, sampler.tune, sampler.chains, sampler.seed) \
        == (0.95, 7, 9, 3, 11)


@pytest.mark.parametrize("value", ["1.0", "0", "nan"])
def test_fit_refuses_a_target_accept_outside_0_1(panel_dir, tmp_path, captured, value):
    out = tmp_path / "r.nc"
    result = runner.invoke(app, ["fit", str(panel_dir), "--out", str(out),
                                 "--target-accept", value])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "target_accept must lie in (0, 1)" in \
        result.output
    assert "spec" not in captured and not out.exists()


def test_compiling_the_kernel_is_announced_once(monkeypatch, capsys):
    """A cold kernel cache: one line on stderr says it compiles, and how long it takes."""
    from bayescred.kernel import build
    from bayescred.runtime import show_stages

    show_stages()
    monkeypatch.setattr(build, "_cached", lambda f: False)
    monkeypatch.setattr(build, "_compile_elsewhere", lambda group: None)
    assert build.start_compiling() is True
    assert "bayescred: compiling the kernel (one time, ~30 s)" in capsys.readouterr().err
    monkeypatch.setattr(build, "_cached", lambda f: True)
    assert build.start_compiling() is False
    assert capsys.readouterr().err == ""
