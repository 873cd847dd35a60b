"""The data contract through the Python API: identifiers kept as typed, the reserved
unit separator, exact numbers, and the DataError raised for each class of bad input."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from bayescred.errors import DataError
from bayescred.panel import UNIT_SEP, load_panel, read_panel
from bayescred.spec import load_spec


def rename(spec_path, column, mapping):
    """Rename identifiers in every CSV of the panel, as text."""
    for name in ("observations", "crises", "units"):
        path = spec_path.parent / f"{name}.csv"
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        col = rows[0].index(column)
        for r in rows[1:]:
            r[col] = mapping.get(r[col], r[col])
        with path.open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)


def test_identifiers_are_kept_as_typed(panel_dir):
    """Member NA (Namibia) is a member, not a missing value; 002 stays 002; alliances 1.1
    and 1.10 stay two alliances."""
    rename(panel_dir, "member", {"M00": "NA", "M01": "002"})
    rename(panel_dir, "alliance", {"A0": "1.1", "A1": "1.10"})
    panel = read_panel(load_spec(panel_dir))
    assert {"NA", "002"} <= set(panel.members)
    assert {"1.1", "1.10"} <= set(panel.alliances)
    assert "NA/1.1" in panel.unit_labels
    assert not panel.notes or "missing" not in " ".join(panel.notes)


def test_missing_value_tokens_still_mean_missing_in_numeric_columns(panel_dir):
    path = panel_dir.parent / "observations.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[[1, 2], "value"] = ["NA", "nan"]
    df.to_csv(path, index=False)
    panel = read_panel(load_spec(panel_dir))
    assert any("dropped 2 row(s) with a missing value" in n for n in panel.notes)


def test_valid_panel_reads_the_same_numbers(small_sim, panel_dir):
    """Reading the CSV as text and parsing numbers explicitly gives the values of the
    DataFrames the files were written from."""
    from_file = read_panel(load_spec(panel_dir))
    from_frames = load_panel(
        small_sim.observations, small_sim.crises, small_sim.units, spec=small_sim.spec
    )
    for col in ("value", "trials", "year", "unit_idx", "year_idx", "signal_idx"):
        np.testing.assert_array_equal(
            from_file.observations[col].to_numpy(float),
            from_frames.observations[col].to_numpy(float),
        )
    assert from_file.unit_labels == from_frames.unit_labels


def test_whole_float_year_is_an_integer(small_sim):
    obs = small_sim.observations.assign(year=small_sim.observations.year.astype(float))
    panel = load_panel(obs, small_sim.crises, small_sim.units, spec=small_sim.spec)
    assert panel.years.dtype.kind == "i"


@pytest.mark.parametrize(
    "column, value, fragment",
    [
        ("member", f"A{UNIT_SEP}B", "is reserved"),
        ("year", 1980.01, "integer years"),
        ("value", np.inf, "troops"),
        ("value", 1e308, "2**53"),
        ("value", 100000.5, "100000.5"),
    ],
)
def test_bad_observation_frames_raise_data_error(small_sim, column, value, fragment):
    obs = small_sim.observations.copy()
    obs[column] = obs[column].astype(object)
    obs.loc[0, column] = value
    with pytest.raises(DataError) as err:
        load_panel(obs, small_sim.crises, small_sim.units, spec=small_sim.spec)
    assert fragment in str(err.value) and "row 0" in str(err.value)


def test_units_that_would_collide_on_the_separator_are_refused(small_sim):
    """"A/B" + "C" and "A" + "B/C" would both be labelled A/B/C: refused, not merged."""
    obs = small_sim.observations.copy()
    obs.loc[obs.member == "M00", "member"] = "M/00"
    with pytest.raises(DataError, match="'/' is reserved"):
        load_panel(obs, small_sim.crises, small_sim.units, spec=small_sim.spec)


def test_repeated_dataframe_columns_are_refused(small_sim):
    obs = small_sim.observations
    twice = pd.concat([obs, obs[["value"]]], axis=1)
    with pytest.raises(DataError, match="'value' appear more than once"):
        load_panel(twice, small_sim.crises, small_sim.units, spec=small_sim.spec)


def test_duplicate_crisis_ids_are_refused(small_sim):
    crises = small_sim.crises.copy()
    crises.loc[1, "crisis"] = crises.loc[0, "crisis"]
    with pytest.raises(DataError, match="rows 0, 1"):
        load_panel(small_sim.observations, crises, small_sim.units, spec=small_sim.spec)


def test_year_gap_rule(small_sim):
    """Gaps up to 50 years between observed years are accepted, wider ones refused."""
    obs = small_sim.observations.copy()
    last = obs.year.max()
    first_rows = obs.index[obs.year == obs.year.min()]
    crises = small_sim.crises[small_sim.crises.year > obs.year.min()]
    ok = obs.copy()
    ok.loc[first_rows, "year"] = sorted(obs.year.unique())[1] - 50
    panel = load_panel(ok, crises, small_sim.units, spec=small_sim.spec)
    assert panel.years[-1] == last
    bad = obs.copy()
    bad.loc[first_rows, "year"] = sorted(obs.year.unique())[1] - 51
    with pytest.raises(DataError, match="at most 50 apart"):
        load_panel(bad, crises, small_sim.units, spec=small_sim.spec)
