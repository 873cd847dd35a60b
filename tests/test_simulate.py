"""The simulator's files: ``Simulation.save`` (``write`` is its deprecated name)."""

from __future__ import annotations

import pandas as pd
import pytest

from bayescred.spec import load_spec


def test_save_writes_the_panel_and_a_spec_that_reads_it(small_sim, tmp_path):
    spec_path = small_sim.save(tmp_path / "panel")
    assert spec_path == tmp_path / "panel" / "spec.toml"
    assert load_spec(spec_path).signals.keys() == small_sim.spec.signals.keys()
    observations = pd.read_csv(tmp_path / "panel" / "observations.csv")
    assert len(observations) == len(small_sim.observations)


def test_write_is_a_deprecated_name_of_save(small_sim, tmp_path):
    with pytest.warns(DeprecationWarning, match="Simulation.save"):
        spec_path = small_sim.write(tmp_path / "old")
    assert spec_path.read_text() == small_sim.save(tmp_path / "new").read_text()
