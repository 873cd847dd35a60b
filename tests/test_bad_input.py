"""Every bad input of the data contract fails through the CLI with a clear message:
exit status 2, a one-line error naming the file, column or row, no traceback, no result."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayescred.cli import app

runner = CliRunner()


def run_fit(spec_path, tmp_path):
    out = tmp_path / "result.nc"
    result = runner.invoke(app, ["fit", str(spec_path), "--out", str(out), "--draws", "5"])
    return result, out


def assert_clean_failure(result, out, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ")
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert not out.exists()


def edit(spec_path, name, change):
    path = spec_path.parent / f"{name}.csv"
    df = pd.read_csv(path)
    df = change(df)
    df.to_csv(path, index=False)
    return path


def test_missing_required_column(panel_dir, tmp_path):
    edit(panel_dir, "observations", lambda d: d.drop(columns=["signal"]))
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "observations.csv", "signal")


def test_non_integer_year(panel_dir, tmp_path):
    def change(d):
        d["year"] = d["year"].astype(object)
        d.loc[3, "year"] = "1990.5"
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "'year'", "line 5")


def test_undeclared_signal(panel_dir, tmp_path):
    def change(d):
        d.loc[0, "signal"] = "tweets"
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "'tweets'", "not declared", "line 2")


@pytest.mark.parametrize("signal", ["troops", "exercises"])
def test_negative_count(panel_dir, tmp_path, signal):
    def change(d):
        d.loc[d.index[d.signal == signal][0], "value"] = -3
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), signal, "non-negative integer")


def test_non_positive_lognormal(panel_dir, tmp_path):
    def change(d):
        d.loc[d.index[d.signal == "spending"][0], "value"] = 0.0
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "spending", "positive")


def test_non_integer_count(panel_dir, tmp_path):
    def change(d):
        d.loc[d.index[d.signal == "troops"][0], "value"] = 12.5
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "troops", "12.5")


def test_beta_outside_unit_interval(tmp_path):
    from bayescred.simulate import default_spec, simulate

    spec = default_spec(signals={"share": {"family": "beta"}})
    sim = simulate(spec, n_units=4, n_years=8, n_crises=2, seed=1)
    sim.observations.loc[2, "value"] = 1.0
    spec_path = sim.save(tmp_path / "beta")
    assert_clean_failure(*run_fit(spec_path, tmp_path), "share", "strictly between 0 and 1")


def test_binomial_above_trials(panel_dir, tmp_path):
    def change(d):
        i = d.index[d.signal == "votes"][0]
        d.loc[i, "value"] = d.loc[i, "trials"] + 1
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "votes", "at most its trials")


def test_binomial_trials_missing(panel_dir, tmp_path):
    def change(d):
        d.loc[d.index[d.signal == "votes"][0], "trials"] = None
        return d

    edit(panel_dir, "observations", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "votes", "trials")


def test_binomial_trials_column_absent(panel_dir, tmp_path):
    edit(panel_dir, "observations", lambda d: d.drop(columns=["trials"]))
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "votes", "'trials' column")


def test_duplicated_rows(panel_dir, tmp_path):
    edit(panel_dir, "observations", lambda d: pd.concat([d, d.iloc[[4]]]))
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "duplicated", "lines 6, ")


def test_unknown_crisis_outcome(panel_dir, tmp_path):
    def change(d):
        d.loc[0, "outcome"] = "ignored"
        return d

    edit(panel_dir, "crises", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "crises.csv", "'ignored'", "outcome")


def test_crisis_on_unknown_unit(panel_dir, tmp_path):
    def change(d):
        d.loc[0, "member"] = "ZZZ"
        return d

    edit(panel_dir, "crises", change)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "crises.csv", "ZZZ", "no observations")


@pytest.mark.parametrize("content", [b"", b"\x00\x9f\x92\x96\xff\xfe garbage \x00\x01"])
def test_empty_or_binary_file(panel_dir, tmp_path, content):
    (panel_dir.parent / "observations.csv").write_bytes(content)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "observations.csv")


def test_missing_file(panel_dir, tmp_path):
    (panel_dir.parent / "observations.csv").unlink()
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "observations.csv", "not found")


def test_misspelt_spec_key(panel_dir, tmp_path):
    text = panel_dir.read_text().replace("dynamics =", "dynamic =")
    panel_dir.write_text(text)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "'dynamic'", "valid keys")


def test_unknown_family(panel_dir, tmp_path):
    text = panel_dir.read_text().replace('family = "poisson"', 'family = "poison"')
    panel_dir.write_text(text)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "'poison'", "valid families")


def test_binary_spec(panel_dir, tmp_path):
    panel_dir.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "spec.toml")


def test_missing_values_are_dropped_and_reported(panel_dir):
    from bayescred.panel import read_panel
    from bayescred.spec import load_spec

    def change(d):
        d.loc[[1, 2], "value"] = None
        return d

    edit(panel_dir, "observations", change)
    panel = read_panel(load_spec(panel_dir))
    assert any("dropped 2 row(s) with a missing value" in n for n in panel.notes)


@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_bad_trace_memory_setting(panel_dir, tmp_path, monkeypatch, value):
    """A bad BAYESCRED_TRACE_IN_MEMORY_MB fails before anything is compiled or sampled."""
    monkeypatch.setenv("BAYESCRED_TRACE_IN_MEMORY_MB", value)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "BAYESCRED_TRACE_IN_MEMORY_MB", "megabytes")
