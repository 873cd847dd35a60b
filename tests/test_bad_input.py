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


# ---------------------------------------------------------------------------- issue 30
# Cells are edited as text (csv module), so that what the test writes is what a user
# types: pandas would guess types on the way.


def read_rows(path):
    import csv

    with path.open(newline="") as f:
        return list(csv.reader(f))


def write_rows(path, rows):
    import csv

    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def set_cell(spec_path, table, column, text, signal=None, line=None):
    """Set ``column`` to ``text`` on a data line of ``table`` (the first of ``signal``'s
    rows, or line ``line`` of the file, header = 1); returns that line number."""
    path = spec_path.parent / f"{table}.csv"
    rows = read_rows(path)
    header = rows[0]
    if line is None:
        line = 2
        if signal is not None:
            col = header.index("signal")
            line = next(i + 1 for i, r in enumerate(rows) if i and r[col] == signal)
    rows[line - 1][header.index(column)] = text
    write_rows(path, rows)
    return line


def check_cell(panel_dir, tmp_path, table, column, text, signal, *fragments):
    line = set_cell(panel_dir, table, column, text, signal=signal)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), f"{table}.csv", f"line {line}", *fragments)


@pytest.mark.parametrize(
    "column, text, signal, fragments",
    [
        ("value", "inf", "troops", ("troops", "non-negative integer")),
        ("value", "inf", "exercises", ("exercises", "non-negative integer")),
        ("value", "-inf", "spending", ("spending", "positive")),
        ("value", "inf", "spending", ("spending", "positive")),
        ("value", "inf", "votes", ("votes",)),
        ("trials", "inf", "votes", ("'trials'", "positive integer", "inf")),
        ("trials", "12.5", "votes", ("'trials'", "positive integer", "12.5")),
        ("value", "1e308", "troops", ("troops", "2**53")),
        ("value", "1e308", "spending", ("spending", "1e100")),
        ("value", "100000.5", "troops", ("troops", "100000.5")),
        ("year", "1980.01", None, ("'year'", "1980.01")),
        ("year", "inf", None, ("'year'",)),
        ("year", "", None, ("'year'",)),
        ("value", "12 apples", "troops", ("'value'", "must be numeric", "12 apples")),
        ("member", "M/00", None, ("'member'", "'/' is reserved")),
        ("alliance", "A0/x", None, ("'alliance'", "'/' is reserved")),
    ],
)
def test_non_finite_inexact_or_oversized_observations(
    panel_dir, tmp_path, column, text, signal, fragments
):
    check_cell(panel_dir, tmp_path, "observations", column, text, signal, *fragments)


def test_mistyped_year_makes_no_huge_grid(panel_dir, tmp_path):
    """A year typed 1000 in a 1980-1991 panel would make a 1,000-year grid: refused, the
    row named."""
    set_cell(panel_dir, "observations", "year", "1000", line=2)
    assert_clean_failure(
        *run_fit(panel_dir, tmp_path), "observations.csv", "1000", "line 2", "mistyped", "50"
    )


def test_duplicated_header_column(panel_dir, tmp_path):
    path = panel_dir.parent / "observations.csv"
    rows = read_rows(path)
    rows[0][rows[0].index("trials")] = "value"
    write_rows(path, rows)
    assert_clean_failure(
        *run_fit(panel_dir, tmp_path), "observations.csv", "'value'", "more than once"
    )


def test_duplicate_crisis_id(panel_dir, tmp_path):
    path = panel_dir.parent / "crises.csv"
    rows = read_rows(path)
    rows[2][0] = rows[1][0]
    write_rows(path, rows)
    assert_clean_failure(
        *run_fit(panel_dir, tmp_path), "crises.csv", f"'{rows[1][0]}'", "lines 2, 3"
    )


def test_exact_duplicate_crisis_row(panel_dir, tmp_path):
    path = panel_dir.parent / "crises.csv"
    rows = read_rows(path)
    write_rows(path, [*rows, rows[1]])
    assert_clean_failure(
        *run_fit(panel_dir, tmp_path), "crises.csv", f"lines 2, {len(rows) + 1}",
        "count twice",
    )


def test_crisis_year_inexact(panel_dir, tmp_path):
    set_cell(panel_dir, "crises", "year", "1985.5", line=3)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "crises.csv", "'year'", "line 3")


def test_every_value_missing(panel_dir, tmp_path):
    path = panel_dir.parent / "observations.csv"
    rows = read_rows(path)
    col = rows[0].index("value")
    write_rows(path, [rows[0], *([*r[:col], "NA", *r[col + 1:]] for r in rows[1:])])
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "observations.csv", "missing value")


def append_to_spec(spec_path, text):
    spec_path.write_text(spec_path.read_text() + "\n" + text + "\n")


@pytest.mark.parametrize(
    "priors, fragments",
    [
        ('loading = { dist = "LogNormal", sigma = 0 }', ("loading", "'sigma'", "> 0")),
        ('loading = { dist = "LogNormal", sigma = -1.0 }', ("loading", "'sigma'", "> 0")),
        ('loading = { dist = "LogNormal", sigma = nan }', ("loading", "finite")),
        ('loading = { dist = "LogNormal", sigma = inf }', ("loading", "finite")),
        ('tau = { dist = "Gamma", alpha = 2.0 }', ("tau", "'beta'")),
        ('phi = { dist = "Uniform", lower = 0.9, upper = 0.1 }', ("phi", "lower < upper")),
    ],
)
def test_bad_prior_parameters(panel_dir, tmp_path, priors, fragments):
    append_to_spec(panel_dir, f"[priors]\n{priors}")
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "spec.toml", "[priors]", *fragments)


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        ("seed = 1\n", "seed = -1\n", ("[sampler]", "seed", "-1")),
        ("draws = 1000\n", "draws = 1000\ntune = 0\n", ("[sampler]", "tune", "got 0")),
        ("target_accept = 0.8", "target_accept = 1.5", ("target_accept", "(0, 1)")),
        ('dynamics = "random_walk"', "dynamics = { kind = 'ar1' }", ("[latent]", "dynamics")),
        ('family = "poisson"', 'family = { name = "poisson" }', ("[signals.exercises]",)),
    ],
)
def test_bad_spec_values(panel_dir, tmp_path, old, new, fragments):
    text = panel_dir.read_text()
    assert old in text
    panel_dir.write_text(text.replace(old, new, 1))
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "spec.toml", *fragments)


def test_signals_written_as_a_list(panel_dir, tmp_path):
    text = panel_dir.read_text().split("[signals.troops]")[0]
    after = "[latent]" + panel_dir.read_text().split("[latent]")[1]
    panel_dir.write_text(text.replace("[data]", 'signals = ["troops"]\n\n[data]') + after)
    assert_clean_failure(*run_fit(panel_dir, tmp_path), "spec.toml", "[signals]", "table")


@pytest.mark.parametrize(
    "flag, value", [("--seed", "-1"), ("--tune", "0"), ("--draws", "0"), ("--chains", "0")]
)
def test_bad_sampler_flags(panel_dir, tmp_path, flag, value):
    out = tmp_path / "result.nc"
    result = runner.invoke(app, ["fit", str(panel_dir), "--out", str(out), flag, value])
    assert_clean_failure(result, out, flag.lstrip("-"))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--units", "0"], "--units"),
        (["--years", "0"], "--years"),
        (["--alliances", "0"], "--alliances"),
        (["--members", "0"], "--members"),
        (["--crises", "-1"], "--crises"),
        (["--seed", "-1"], "--seed"),
        (["--units", "30", "--members", "2", "--alliances", "2"], "pairs"),
    ],
)
def test_bad_simulate_arguments(tmp_path, args, fragment):
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", "--out", str(out), *args])
    assert_clean_failure(result, out, fragment)


# ---------------------------------------------------------------------------- covariates


@pytest.fixture
def covariate_dir(tmp_path):
    from bayescred.simulate import default_spec, simulate

    spec = default_spec(covariates=("size", "age"))
    return simulate(spec, n_units=6, n_years=10, n_crises=4, seed=3).save(tmp_path / "cov")


def set_units_column(spec_path, column, values):
    path = spec_path.parent / "units.csv"
    rows = read_rows(path)
    col = rows[0].index(column)
    for r, v in zip(rows[1:], values, strict=False):
        r[col] = v
    write_rows(path, rows)


@pytest.mark.parametrize(
    "column, values, fragments",
    [
        ("size", ["inf"], ("'size'", "finite", "line 2")),
        ("size", ["1e308"], ("'size'", "1e100", "line 2")),
        ("age", ["3"] * 6, ("'age'", "one value 3", "prior alone")),
        ("age", ["nope"], ("'age'", "numeric", "line 2")),
    ],
)
def test_bad_covariates(covariate_dir, tmp_path, column, values, fragments):
    set_units_column(covariate_dir, column, values)
    assert_clean_failure(*run_fit(covariate_dir, tmp_path), "units.csv", *fragments)


def test_collinear_covariates(covariate_dir, tmp_path):
    path = covariate_dir.parent / "units.csv"
    rows = read_rows(path)
    size, age = rows[0].index("size"), rows[0].index("age")
    for r in rows[1:]:
        r[age] = repr(2 * float(r[size]) + 1)
    write_rows(path, rows)
    assert_clean_failure(
        *run_fit(covariate_dir, tmp_path), "units.csv", "'age'", "linear combination of 'size'"
    )


# ---------------------------------------------------------------------------- the guard


def test_unexpected_error_is_one_line(panel_dir, tmp_path, monkeypatch):
    """Whatever escapes the checks ends as one line naming its type, exit 2, no
    traceback; BAYESCRED_DEBUG=1 shows the traceback."""
    import bayescred.panel

    def broken(*args, **kwargs):
        raise ZeroDivisionError("something\nnobody foresaw")

    monkeypatch.setattr(bayescred.panel, "load_panel", broken)
    monkeypatch.delenv("BAYESCRED_DEBUG", raising=False)
    result, out = run_fit(panel_dir, tmp_path)
    assert result.exit_code == 2
    assert result.output == (
        "bayescred: internal error: ZeroDivisionError: something; nobody foresaw "
        "(set BAYESCRED_DEBUG=1 for the traceback)\n"
    )
    assert not out.exists()
    monkeypatch.setenv("BAYESCRED_DEBUG", "1")
    result, out = run_fit(panel_dir, tmp_path)
    assert isinstance(result.exception, ZeroDivisionError)
