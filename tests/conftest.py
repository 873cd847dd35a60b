"""Shared fixtures: a seeded RNG and small simulated panels written in the data contract."""

from __future__ import annotations

import numpy as np
import pytest

from bayescred.simulate import default_spec, simulate


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


@pytest.fixture(scope="session")
def small_sim():
    """A tiny panel (6 units x 12 years, 4 signals, 8 crises) for plumbing tests."""
    return simulate(default_spec(), n_units=6, n_years=12, n_crises=8, missing=0.1, seed=7)


@pytest.fixture
def panel_dir(tmp_path, small_sim):
    """The tiny panel written as CSV files plus spec.toml; returns the spec path."""
    return small_sim.save(tmp_path / "panel")
