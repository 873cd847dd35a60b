"""Many fits on Dask (bayescred.many): fit_many, simulation-based calibration, K-fold and
leave-future-out, sweeps -- on a real LocalCluster of 2 workers, and once on a scheduler
and two workers started as separate processes, as a user would.  Fits are tiny."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import arviz as az
import numpy as np
import pytest
from scipy import stats

import bayescred as bc
from bayescred.errors import ClusterError, DataError, SpecError
from bayescred.many.calibrate import band_excess, structural_variables
from bayescred.many.prior_draws import prior_datasets
from bayescred.panel import load_panel
from bayescred.simulate import default_spec, simulate

pytestmark = pytest.mark.sampling

SMALL = {"draws": 150, "tune": 150, "chains": 2}
UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      processes=True) as cluster, Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def tiny():
    sim = simulate(default_spec(), n_units=4, n_members=3, n_alliances=2, n_years=8,
                   n_crises=4, seed=1)
    return sim.spec, load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)


@pytest.fixture(scope="module")
def fitted(tiny):
    spec, panel = tiny
    return bc.fit(spec, panel, seed=3, progress=False, **SMALL)


def test_fit_many_returns_files_and_a_table_and_keeps_going_past_a_failure(
        client, tiny, tmp_path):
    spec, panel = tiny
    jobs = [bc.Job(spec, panel, seed=s, overrides=SMALL, name=f"seed{s}") for s in range(3)]
    # passes the up-front checks, fails inside the fit: scales that lack the signals
    jobs.append(bc.Job(spec, panel, seed=9, overrides={**SMALL, "scales": {"x": None}},
                       name="broken"))
    fits = bc.fit_many(jobs, client, out=tmp_path, progress=False)
    table = fits.table.set_index("name")
    assert list(table.status) == ["ok", "ok", "ok", "failed"]
    assert table.loc["broken", "error"] and "\n" not in table.loc["broken", "error"]
    assert all(p.exists() for p in fits.paths) and len(fits.paths) == 3
    assert (table.loc[["seed0", "seed1", "seed2"], "max_rhat"] < 1.5).all()
    kappa = fits.stack("kappa_honor")
    assert kappa.dims[0] == "fit" and list(kappa.fit.values) == ["seed0", "seed1", "seed2"]
    # different seeds, different draws; the saved file is a complete result
    assert not np.allclose(kappa.sel(fit="seed0"), kappa.sel(fit="seed1"))
    assert fits.load("seed0").credibility().shape[0] == 4 * 8
    assert set(fits.warm_s) == set(client.scheduler_info()["workers"])
    with pytest.raises(bc.BayescredError, match="exists; fit_many never overwrites"):
        bc.fit_many(jobs[:1], client, out=tmp_path, progress=False)


def test_a_bad_job_or_address_fails_in_one_line_before_any_work(tiny, tmp_path):
    spec, panel = tiny
    good = bc.Job(spec, panel, seed=0, overrides=SMALL)
    missing = bc.Job(tmp_path / "nosuch.toml", seed=1, name="lost")
    with pytest.raises(SpecError, match=r"job 1 \('lost'\): .*nosuch.toml"):
        bc.fit_many([good, missing], client=UNREACHABLE, out=tmp_path / "a")
    bad_sampler = bc.Job(spec, panel, overrides={"sampler": "gibbs"})
    with pytest.raises(SpecError, match="job 0: sampler: backend must be one of"):
        bc.fit_many([bad_sampler], client=UNREACHABLE)
    with pytest.raises(SpecError, match="unknown key.*valid keys are draws"):
        bc.fit_many([bc.Job(spec, panel, overrides={"drawz": 5})], client=UNREACHABLE)
    nodata = bc.spec_from_dict({"signals": {"troops": {"family": "poisson"}}})
    with pytest.raises(DataError, match="job 0"):
        bc.fit_many([bc.Job(nodata)], client=UNREACHABLE)
    start = time.perf_counter()
    with pytest.raises(ClusterError, match=f"Dask scheduler '{UNREACHABLE}' cannot be reached"
                       ) as exc:
        bc.fit_many([good], client=UNREACHABLE, out=tmp_path / "b")
    assert "\n" not in str(exc.value) and time.perf_counter() - start < 60
    assert not (tmp_path / "b" / "fit-0.nc").exists()


def test_prior_datasets_draw_parameters_from_the_priors(tiny):
    """The truths of many datasets are draws from the spec's priors (KS tests), and the
    truth's credibility is standardised over the active cells, as the model defines it."""
    spec, panel = tiny
    _, datasets = prior_datasets(spec, panel, 200, seed=5)
    tau = np.array([d.truth["tau"] for d in datasets])
    phi = np.array([d.truth["phi_reputation"] for d in datasets])
    tau_prior, phi_prior = spec.prior("tau"), spec.prior("phi_reputation")
    assert stats.kstest(tau, stats.halfnorm(scale=tau_prior["sigma"]).cdf).pvalue > 0.01
    assert stats.kstest(phi, stats.beta(phi_prior["alpha"], phi_prior["beta"]).cdf
                        ).pvalue > 0.01
    active = panel.active_mask()
    cred = np.array([d.truth["credibility"][active] for d in datasets])
    assert np.allclose(cred.mean(axis=1), 0, atol=1e-8)
    assert np.allclose(cred.std(axis=1), 1, atol=1e-6)
    # outcomes and values are drawn, the panel's shape is kept
    honored = np.mean([(d.panel.crises.outcome == "honored").mean() for d in datasets])
    assert 0.05 < honored < 0.95
    assert all(len(d.panel.observations) == len(panel.observations) for d in datasets[:5])
    assert not np.allclose(datasets[0].panel.observations.value,
                           datasets[1].panel.observations.value)


def test_the_verdict_band_accepts_uniform_ranks_and_rejects_skewed_ones(rng):
    uniform_fails = np.mean([band_excess(rng.random(100)) > 0 for _ in range(200)])
    assert uniform_fails < 0.1  # a 95% simultaneous band: ~5% false alarms
    assert band_excess(rng.beta(2, 2, 100)) > 0  # over-dispersed posteriors
    assert band_excess(rng.random(100) ** 2) > 0  # biased posteriors


def test_structural_variables_are_found_from_the_posterior(fitted):
    names = structural_variables(fitted.idata.posterior)
    assert {"tau", "kappa_honor", "alpha", "loading", "phi_reputation"} <= set(names)
    assert not {"credibility", "level", "z_walk", "z_alliance"} & set(names)


def test_kfold_and_lfo_give_elpd_data_that_az_compare_takes(client, tiny, fitted, tmp_path):
    spec, panel = tiny
    static = bc.fit(default_spec(dynamics="static"), panel, seed=3, progress=False, **SMALL)
    walk = bc.kfold(fitted, k=2, by="year", client=client, progress=False,
                    out=tmp_path / "walk")
    flat = bc.kfold(static, k=2, by="year", client=client, progress=False,
                    out=tmp_path / "static")
    n = len(panel.observations)
    for score in (walk, flat):
        assert score["n_data_points"] == n and np.isfinite(score["loo_i"]).all()
        assert np.isclose(score["elpd_loo"], float(score["loo_i"].sum()))
    assert "2-fold by year" in str(walk)
    table = az.compare({"walk": walk, "static": flat})
    assert set(table.index) == {"walk", "static"} and table["rank"].min() == 0
    future = bc.lfo(fitted, start=int(panel.years[-3]), horizon=1, client=client,
                    progress=False, out=tmp_path / "lfo")
    assert future["n_data_points"] == int((panel.observations.year > panel.years[-3]).sum())
    assert np.isfinite(future["elpd_loo"])
    with pytest.raises(SpecError, match="by must be one of unit, year, cell"):
        bc.kfold(fitted, k=2, by="member", client=client)


def test_prior_sensitivity_says_which_conclusions_move(client, tiny, tmp_path):
    spec, panel = tiny
    tight = {"kappa_violate_raw": {"dist": "HalfNormal", "sigma": 0.01}}
    found = bc.prior_sensitivity(spec, panel, {"tight": tight}, client, progress=False,
                                 out=tmp_path, **SMALL)
    rows = found.table.set_index(["variant", "quantity"])
    assert rows.loc[("tight", "mean kappa_violate_raw[war]"), "moved"]
    assert rows.loc[("tight", "mean kappa_violate_raw[war]"), "value"] < 0.05
    assert not rows.loc[("baseline", "mean tau"), "moved"]
    assert ("tight", "P(kappa_violate > kappa_honor)[war]") in rows.index
    with pytest.raises(SpecError, match="prior variant 'odd'"):
        bc.prior_sensitivity(spec, panel, {"odd": {"tau": {"dist": "Nope"}}}, client)


def test_whatif_scenarios_side_by_side_with_the_exact_engine(client, fitted, tmp_path):
    from bayescred.many.sweeps import whatif_many

    path = fitted.save(tmp_path / "fit.nc")
    member, alliance = fitted.panel.units.member[0], fitted.panel.units.alliance[0]
    year = int(fitted.panel.years[-1])
    scenarios = []
    for name, shift in (("up", 2.0), ("down", -2.0)):
        file = tmp_path / f"{name}.toml"
        plan = bc.Scenario(name=name).shift(member, alliance, "spending", [year], by=shift)
        file.write_text(plan.to_toml())
        scenarios.append(file)
    table = whatif_many(path, scenarios, tmp_path / "answers", client, engine="exact",
                        progress=False).set_index("scenario")
    assert list(table.status) == ["ok", "ok"], table.error.tolist()
    assert set(table.engine) == {"exact"}
    for name in ("up", "down"):
        assert (tmp_path / "answers" / name / "contrast.csv").exists()


def test_calibrate_on_a_scheduler_and_workers_started_by_hand(tmp_path):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, the address passed
    to `bayescred calibrate --scheduler`, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if info.exists() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                ["dask", "worker", address, "--nthreads", "1", "--no-dashboard"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as check:
            check.wait_for_workers(2, timeout=120)
        out = tmp_path / "sbc"
        run = subprocess.run(
            [sys.executable, "-m", "bayescred.cli", "calibrate", str(_spec_file(tmp_path)),
             "--fits", "4", "--out", str(out), "--scheduler", address, "--units", "3",
             "--years", "6", "--crises", "3", "--draws", "150", "--tune", "150"],
            env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        assert "simulation-based calibration: 4 of 4 fits" in run.stdout + run.stderr
        import pandas as pd

        ranks = pd.read_csv(out / "ranks.csv")
        assert set(ranks.fit) == {0, 1, 2, 3}
        assert ranks["rank"].between(0, ranks.draws).all()
        assert {"tau", "kappa_honor[war]"} <= set(ranks.parameter)  # kappas per crisis kind
        verdicts = pd.read_csv(out / "verdicts.csv")
        assert set(verdicts.verdict) <= {"uniform", "not uniform"}
        assert (out / "ecdf_parameters.png").exists() and (out / "ecdf_cells.png").exists()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def test_calibrate_command_names_an_unreachable_scheduler(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    run = subprocess.run(
        [sys.executable, "-m", "bayescred.cli", "calibrate", str(_spec_file(tmp_path)),
         "--fits", "4", "--out", str(tmp_path / "sbc"), "--scheduler", UNREACHABLE],
        env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"Dask scheduler '{UNREACHABLE}' cannot be reached" in lines[0]


def _spec_file(folder: Path) -> Path:
    from bayescred.spec import spec_to_toml

    path = folder / "model.toml"
    path.write_text(spec_to_toml(default_spec()))
    return path


def test_diagnose_recommends_kfold_with_the_command_when_pareto_k_is_high():
    import pandas as pd

    from bayescred.diagnostics import Thresholds, _loo_checks

    table = pd.DataFrame({"k_bad": [3, 3], "k_very_bad": [0, 0], "n": [50, 50],
                          "k_max": [0.9, 0.9]}, index=["troops", "all"])
    (check,) = _loo_checks(table, Thresholds())
    assert check.status == "warn"
    assert "bc.kfold(result, k=10)" in check.next_step
    assert "`bayescred kfold RESULT.nc --k 10`" in check.next_step


def test_kfold_refuses_signals_that_read_more_than_credibility():
    """Held-out rows are scored on their unit's credibility: a pillar model (or year
    effects, offsets, member-level signals) is refused in one line before any refit."""
    spec = bc.spec_from_dict({
        "name": "triad", "signals": {"a": {"family": "gaussian"}, "b": {"family": "poisson",
                                                                        "year_effects": True}},
        "dimensions": {"one": ["a"], "two": ["b"]}})
    sim = bc.simulate(spec, n_units=4, n_members=3, n_alliances=2, n_years=6, n_crises=0,
                      seed=1)
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)

    class Fitted:  # what kfold reads before refitting: spec and panel
        pass

    fitted = Fitted()
    fitted.spec, fitted.panel = spec, panel
    for run in (lambda: bc.kfold(fitted, k=2), lambda: bc.lfo(fitted, start=panel.years[2])):
        with pytest.raises(SpecError) as err:
            run()
        text = str(err.value)
        assert "[dimensions], year_effects" in text and "bc.compare" in text and "\n" not in text
