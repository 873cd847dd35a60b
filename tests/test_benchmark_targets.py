"""The benchmark's check of the issue's speed-up targets (benchmarks/run.py), on rows
with known figures: no fitting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
run = pytest.importorskip("run")


def _row(engine, run_name="cold", status="ok", ess_per_s=None, problem="medium"):
    return {"problem": problem, "engine": engine, "run": run_name, "status": status,
            "ess_per_s": ess_per_s}  # fmt: skip


def _speedups(rows):
    return {t["target"]: t for t in run._speedups(rows)}


def test_ratios_against_the_best_finished_baseline_and_stan():
    rows = [
        _row("bayescred-nutpie", ess_per_s=30.0),
        _row("bayescred-nutpie", "warm: new data", ess_per_s=50.0),  # warm rows: not compared
        _row("bayescred-numpyro", ess_per_s=2.0),
        _row("baseline-pymc", ess_per_s=4.0),
        _row("stan", ess_per_s=3.0),
        _row("stan", ess_per_s=0.1, problem="large"),  # other problems: not compared
    ]
    got = _speedups(rows)
    straight = got["ESS/s (cold, bayescred-nutpie) >= 5x the best straightforward engine's"]
    assert straight["value"] == "30.0 / 4.00 (baseline-pymc) = 7.5x"
    assert straight["met"]
    stan = got["ESS/s (cold, bayescred-nutpie) >= 15x Stan's"]
    assert stan["value"] == "30.0 / 3.00 (stan) = 10.0x"
    assert not stan["met"]
    assert len(got) == 2


def test_timed_out_baselines_are_named_or_make_the_comparison_unmeasured():
    rows = [
        _row("bayescred-nutpie", ess_per_s=13.0),
        _row("bayescred-cli", ess_per_s=12.0),
        _row("bayescred-numpyro", ess_per_s=0.5),
        _row("baseline-pymc", status="timeout (> 1000 s)"),
        _row("stan", status="timeout (> 1000 s)"),
    ]
    got = _speedups(rows)
    cli = got["ESS/s (cold, bayescred-cli) >= 5x the best straightforward engine's"]
    assert cli["value"] == (
        "12.0 / 0.50 (bayescred-numpyro) = 24.0x; baseline-pymc: timeout (> 1000 s)"
    )
    assert cli["met"]
    stan = got["ESS/s (cold) >= 15x Stan's"]
    assert stan["value"] == "unmeasured (stan: timeout (> 1000 s))"
    assert not stan["met"]


def test_no_comparison_without_both_sides():
    assert run._speedups([_row("stan", ess_per_s=1.0)]) == []
    assert run._speedups([_row("bayescred-nutpie", ess_per_s=10.0)]) == []
