"""What-if: the fast and exact engines on a real (small) fit, forecasts, the command line,
and the numpy log-likelihood the fast engine weights with, checked against PyMC's."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import bayescred as bc
from bayescred import psis
from bayescred.cli import app
from bayescred.model import build_model, signal_scales
from bayescred.simulate import TrueParameters

wi = importlib.import_module("bayescred.whatif")  # the module (bc.whatif is the function)

KEY = ["member", "alliance", "year"]
COLUMNS = ["member", "alliance", "year", "mean", "sd", "hdi_low", "hdi_high", "p_up"]


# ---------------------------------------------------------------------------- the fit


@pytest.fixture(scope="module")
def sim():
    # 9 commitments of 4 members: M00 holds three (A0, A1, A2), so reputation spills over
    truth = TrueParameters(kappa_honor=0.4, kappa_violate=1.2)
    return bc.simulate(
        bc.default_spec(),
        truth=truth,
        n_units=9,
        n_members=4,
        n_years=16,
        n_crises=20,
        missing=0.1,
        seed=5,
    )


@pytest.fixture(scope="module")
def result(sim):
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    return bc.fit(sim.spec, panel, draws=500, tune=500, chains=2, seed=3, progress=False)


def posterior_sd(result) -> pd.DataFrame:
    return result.credibility()[[*KEY, "sd"]].rename(columns={"sd": "posterior_sd"})


M00 = ["M00/A0", "M00/A1", "M00/A2"]
LAST = 1995  # the simulated panel's last year


@pytest.mark.sampling
def test_rebuilds_the_stored_credibility(result):
    base = wi.Baseline.build(result, horizon=0, seed=1)
    assert base.latent is not None, base.problem
    raw = base.latent.raw
    cred = (raw - base.mean[:, None, None]) / base.sd[:, None, None]
    stored = result.idata.posterior.credibility.stack(s=("chain", "draw")).transpose("s", ...)
    np.testing.assert_allclose(cred, stored.values, atol=1e-8)
    # kappa on credibility's scale is kappa_raw / sd: the scale the fast engine uses
    # (one per crisis kind)
    kappa = result.idata.posterior.kappa_violate.stack(s=("chain", "draw")).transpose("s", ...)
    raw_kappa = base.latent.params["kappa_violate_raw"]
    np.testing.assert_allclose(raw_kappa / base.sd[:, None], kappa.values)


@pytest.mark.sampling
@pytest.mark.parametrize("engine", ["fast", "exact", "auto"])
def test_empty_scenario_is_exactly_zero(result, engine):
    answer = bc.whatif(result, bc.Scenario("nothing"), engine=engine)
    table = answer.contrast()
    assert list(table.columns) == COLUMNS
    assert (table[["mean", "sd", "hdi_low", "hdi_high", "p_up"]].to_numpy() == 0).all()
    assert answer.paired and answer.engine == ("exact" if engine == "exact" else "fast")
    assert "sample_s" not in answer.timings  # nothing was re-fitted
    assert "changes nothing" in answer.text()


@pytest.mark.sampling
def test_forecast_widens_and_keeps_the_past(result):
    answer = bc.forecast(result, 4)
    assert answer.paired and answer.engine == "fast"
    assert (answer.contrast()[["mean", "sd"]].to_numpy() == 0).all()
    traj = answer.trajectories()
    base = traj[traj.case == "baseline"]
    assert base.year.max() == LAST + 4 and base.forecast.sum() > 0
    width = (base.hdi_high - base.hdi_low).groupby(base.year).mean()
    assert np.all(np.diff(width.loc[LAST:].to_numpy()) > 0), width.loc[LAST:]
    past = base[~base.forecast].merge(result.credibility(), on=KEY, suffixes=("", "_fit"))
    np.testing.assert_allclose(past["mean"], past["mean_fit"])
    assert "Forecast to 1999" in answer.text()
    # seeded: the same seed gives the same forecast, another seed another one
    again = bc.forecast(result, 4)
    np.testing.assert_array_equal(again.baseline.values, answer.baseline.values)
    other = bc.forecast(result, 4, seed=99)
    assert not np.array_equal(other.baseline.values, answer.baseline.values)


@pytest.mark.sampling
def test_whatif_result_conventions(result, tmp_path):
    """save (write deprecated), summary() a DataFrame and text() the sentence, hdi_prob
    (prob deprecated), a short repr and an HTML one."""
    shift = bc.Scenario("shift").shift("M00", "A0", "spending", "1993-1995", factor=1.2)
    answer = bc.whatif(result, shift, engine="fast", hdi_prob=0.8)
    top = answer.summary()
    assert isinstance(top, pd.DataFrame) and list(top.columns) == COLUMNS
    assert not (top.member + "/" + top.alliance).duplicated().any()
    assert top["mean"].abs().is_monotonic_decreasing
    assert len(answer.summary(2)) == 2
    assert answer.text().startswith("Scenario 'shift'") and "80% interval" in answer.text()
    assert answer.hdi_prob == 0.8
    with pytest.warns(DeprecationWarning, match="hdi_prob"):
        old = answer.contrast(prob=0.5)
    pd.testing.assert_frame_equal(old, answer.contrast(hdi_prob=0.5))
    with pytest.warns(DeprecationWarning, match="hdi_prob"):
        assert bc.whatif(result, shift, engine="fast", prob=0.8).hdi_prob == 0.8
    assert 2 <= len(repr(answer).splitlines()) <= 6 and "fast engine" in repr(answer)
    assert "<table" in answer._repr_html_()
    paths = answer.save(tmp_path / "a")
    assert [p.name for p in paths][:3] == ["contrast.csv", "trajectories.csv", "whatif.json"]
    with pytest.warns(DeprecationWarning, match="save"):
        answer.write(tmp_path / "b")
    assert json.loads((tmp_path / "b" / "whatif.json").read_text())["hdi_prob"] == 0.8


@pytest.mark.sampling
def test_violation_spills_over_and_costs_more_than_honour(result):
    year = LAST + 1
    answers = {
        outcome: bc.whatif(
            result, bc.Scenario(outcome, horizon=4).crisis("M00", "A0", year, outcome)
        )
        for outcome in ("violated", "honored")
    }
    after = {}
    for outcome, answer in answers.items():
        assert answer.engine == "fast", answer.reason  # a future crisis: weights are benign
        table = answer.contrast()
        table["unit"] = table.member + "/" + table.alliance
        after[outcome] = table[table.unit.isin(M00) & (table.year > year)]
        assert set(after[outcome].unit) == set(M00)  # all three commitments, every year after
        effect = answer.effect()
        effect = effect[(effect.member == "M00") & (effect.year > year)]
        sign = -1 if outcome == "violated" else 1
        assert (sign * effect["mean"] > 0).all()
        assert (sign * (effect.hdi_high if sign < 0 else effect.hdi_low) > 0).all()
    assert (after["violated"]["mean"] < 0).all(), after["violated"]
    assert (after["honored"]["mean"] > 0).all(), after["honored"]
    assert result.prob_violation_costlier() > 0.9
    drop = -after["violated"].set_index(["unit", "year"])["mean"]
    rise = after["honored"].set_index(["unit", "year"])["mean"]
    assert (drop > rise).all()
    # other members' commitments are not moved by M00's crisis beyond Monte Carlo noise
    table = answers["violated"].contrast()
    others = table[table.member != "M00"]
    assert (others["mean"].abs() < 0.5 * drop.min()).all()


@pytest.mark.sampling
def test_fast_and_exact_agree_for_a_shift(result):
    scenario = bc.Scenario("spending").shift("M00", "A0", "spending", "1992-1995", factor=1.2)
    fast = bc.whatif(result, scenario)  # auto
    assert fast.engine == "fast" and fast.pareto_k <= 0.7, fast.reason
    assert not fast.paired
    exact = bc.whatif(result, scenario, engine="exact")
    assert exact.engine == "exact" and not exact.paired
    assert {"compile_s", "sample_s"} <= set(exact.timings)
    both = fast.contrast().merge(exact.contrast(), on=KEY, suffixes=("_f", "_e"))
    both = both.merge(posterior_sd(result), on=KEY)
    shifted = both[(both.member == "M00") & (both.alliance == "A0") & (both.year >= 1992)]
    assert (shifted.mean_e > 0).all()
    z = (shifted.mean_f - shifted.mean_e).abs() / shifted.posterior_sd
    # Monte Carlo error of the difference, in posterior sds: the fast answer's importance
    # weights (their ESS) and the refit's 1000 draws (credibility's ESS is at least that
    # with the preconditioned sampler); 4 standard errors, ~0.2 sd here
    se = np.sqrt(1.0 / fast.ess + 1.0 / 1000)
    print(f"fast vs exact: max {z.max():.3f} sd; standard error {se:.3f} sd")
    assert (z < 4 * se).all(), shifted
    assert ((shifted.p_up_f - shifted.p_up_e).abs() < 0.05).all(), shifted
    z_all = (both.mean_f - both.mean_e).abs() / both.posterior_sd
    assert np.quantile(z_all, 0.9) < 0.15


@pytest.mark.sampling
def test_auto_falls_back_to_exact_when_k_is_high(result, monkeypatch):
    calls = []

    def fake_exact(result, bound, baseline, **kwargs):  # plumbing only: no re-fit here
        calls.append(bound)
        cred = baseline.cred
        return wi._Answer(
            "exact", cred, cred, np.full(len(cred), 1 / len(cred)), False, baseline.active
        )

    monkeypatch.setattr(wi, "_exact", fake_exact)
    drastic = bc.Scenario("no troops").set("M00", "A0", "troops", "1980-1995", 0)
    answer = bc.whatif(result, drastic)
    assert calls and answer.engine == "exact"
    assert "Pareto k" in answer.reason and "> 0.7" in answer.reason
    with pytest.warns(UserWarning, match="unreliable"):
        forced = bc.whatif(result, drastic, engine="fast")
    assert forced.engine == "fast" and forced.pareto_k > 0.7
    assert len(calls) == 1


@pytest.mark.sampling
def test_fast_engine_is_fast_and_leaves_the_result_alone(result):
    scenario = (
        bc.Scenario("mixed", horizon=3)
        .shift("M01", "A0", "troops", "1994-1996", factor=1.3)
        .crisis("M00", "A1", 1996, "violated")
    )
    before = result.idata.posterior.credibility.values.copy()
    answer = bc.whatif(result, scenario, engine="fast")
    # fast = answered by reweighting, never by sampling (benchmarks/whatif_speed.py times it)
    assert answer.engine == "fast" and "fast_s" in answer.timings
    assert "exact_s" not in answer.timings
    np.testing.assert_array_equal(result.idata.posterior.credibility.values, before)
    assert result.credibility().year.max() == LAST
    # future signal values are conditioned on inside each draw: the weights stay usable
    assert answer.pareto_k <= 0.7, answer.reason
    fig = answer.plot()
    assert len([ax for ax in fig.axes if ax.get_visible()]) >= 3


@pytest.mark.sampling
def test_cli_whatif(result, tmp_path):
    path = result.save(tmp_path / "result.nc")
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'name = "cli"\nhorizon = 2\n\n[[shift]]\nmember = "M00"\nalliance = "A0"\n'
        'signal = "spending"\nyears = "1993-1995"\nfactor = 1.2\n\n[[crisis]]\n'
        'member = "M00"\nalliance = "A2"\nyear = 1996\noutcome = "violated"\n'
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["whatif", str(path), str(scenario), "--out", str(out), "--engine", "fast"]
    )
    assert res.exit_code == 0, res.output
    assert "engine: fast" in res.output
    table = pd.read_csv(out / "contrast.csv")
    assert list(table.columns) == COLUMNS
    assert table.year.max() == LAST + 2
    info = json.loads((out / "whatif.json").read_text())
    assert info["engine"] == "fast" and info["paired"] is False
    # k-hat below 0 is a valid estimate (a bounded weight tail), so only the upper limit binds
    assert math.isfinite(info["pareto_k"]) and info["pareto_k"] <= 0.7
    assert {"fast_s", "total_s"} <= set(info["timings"])
    assert (out / "whatif.png").stat().st_size > 10_000
    # a forecast needs no scenario file
    res = CliRunner().invoke(
        app, ["whatif", str(path), "--horizon", "3", "--out", str(tmp_path / "fc")]
    )
    assert res.exit_code == 0, res.output
    assert "Forecast to 1998" in res.output


@pytest.mark.sampling
def test_fast_engine_smooths_with_the_numpy_psis(result, monkeypatch):
    seen = []

    def spy(log_weights, *args, **kwargs):
        lw, k = psis.psislw(log_weights, *args, **kwargs)
        seen.append(k)
        return lw, k

    monkeypatch.setattr(importlib.import_module("bayescred.whatif.fast"), "psislw", spy)
    shift = bc.Scenario("shift").shift("M00", "A0", "spending", "1993-1995", factor=1.2)
    answer = bc.whatif(result, shift, engine="fast")
    assert seen and answer.pareto_k == pytest.approx(seen[-1])


@pytest.mark.sampling
def test_cli_fast_whatif_reads_the_result_without_arviz_or_pymc(result, tmp_path):
    """The command-line fast path loads the file with xarray and never imports ArviZ,
    PyMC, PyTensor, nutpie or pyplot (their import dominated its run time)."""
    path = result.save(tmp_path / "result.nc")
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'name = "light"\nhorizon = 1\n\n[[crisis]]\nmember = "M00"\nalliance = "A1"\n'
        'year = 1996\noutcome = "violated"\n'
    )
    args = ["whatif", str(path), str(scenario), "--out", str(tmp_path / "o"), "--engine", "fast"]
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from bayescred.cli import app\n"
        f"res = CliRunner().invoke(app, {args!r})\n"
        "assert res.exit_code == 0, res.output\n"
        "heavy = ('arviz', 'pymc', 'pytensor', 'nutpie', 'numba', 'matplotlib.pyplot')\n"
        "print('heavy:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "heavy: []" in out.stdout, out.stdout
    assert (tmp_path / "o" / "whatif.png").stat().st_size > 10_000
    # the same file, loaded in this process, still gives ArviZ's object where it is needed
    loaded = bc.load(path)
    np.testing.assert_array_equal(
        loaded.posterior.credibility.values, result.idata.posterior.credibility.values
    )
    assert type(loaded.idata).__name__ == "InferenceData"
    assert "sample_stats" in loaded.idata.groups()


# ---------------------------------------------------------------------------- pieces


def test_hdi_matches_arviz(rng):
    import arviz as az

    x = rng.normal(size=(400, 5)) * np.arange(1, 6)
    low, high = wi._hdi(x, 0.9)
    ref = az.hdi(x.T[:, None, :].transpose(1, 2, 0), hdi_prob=0.9)  # (chain, draw, cell)
    np.testing.assert_allclose(np.c_[low, high], ref)


def test_prob_greater_is_exact_over_all_pairs(rng):
    s, b = rng.normal(0.3, 1, size=(50, 3)), rng.normal(size=(60, 3))
    w = rng.random(50)
    w /= w.sum()
    brute = np.einsum("i,ijc->c", w, (s[:, None, :] > b[None, :, :]).astype(float)) / 60
    np.testing.assert_allclose(wi._prob_greater(s, w, b), brute)


def test_systematic_resampling_keeps_proportions(rng):
    p = np.tile([0.5, 0.25, 0.125, 0.125, 0.0, 0.0, 0.0, 0.0], (200, 1))
    idx = wi._systematic(p, rng)
    counts = np.stack([(idx == k).sum(1) for k in range(8)], axis=1)
    np.testing.assert_array_equal(counts, np.tile([4, 2, 1, 1, 0, 0, 0, 0], (200, 1)))


SIGNALS = {
    "g": {"family": "gaussian"},
    "ln": {"family": "lognormal", "direction": -1},
    "b": {"family": "binomial"},
    "be": {"family": "bernoulli"},
    "p": {"family": "poisson"},
    "nb": {"family": "negbinomial"},
    "bt": {"family": "beta"},
    "o": {"family": "ordinal"},
}


def _points(model, n: int):
    """``n`` jittered parameter points: constrained values and deterministics as an
    ArviZ-style posterior, and PyMC's pointwise log-likelihood of every observed variable."""
    from pymc.initial_point import make_initial_point_fn

    stored = [*model.free_RVs, *model.deterministics]
    outs = model.replace_rvs_by_values(stored) + model.logp(vars=model.observed_RVs, sum=False)
    fn = model.compile_fn(outs, inputs=model.value_vars, mode="FAST_COMPILE", point_fn=False)
    init = make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
    )
    values: dict[str, list] = {v.name: [] for v in stored}
    logp: dict[str, list] = {v.name: [] for v in model.observed_RVs}
    for seed in range(n):
        point = init(seed)
        res = fn(*[point[v.name] for v in model.value_vars])
        for v, r in zip(stored, res[: len(stored)]):
            values[v.name].append(r)
        for v, r in zip(model.observed_RVs, res[len(stored) :]):
            logp[v.name].append(np.sum(r))

    def dims(name, v):
        named = model.named_vars_to_dims.get(name)
        return tuple(named) if named else tuple(f"{name}_{i}" for i in range(np.ndim(v[0])))

    post = xr.Dataset(
        {k: (("chain", "draw", *dims(k, v)), np.array(v)[None]) for k, v in values.items()},
        coords={k: list(v) for k, v in model.coords.items()},
    )
    return post, {k: np.array(v) for k, v in logp.items()}


@pytest.mark.sampling  # no MCMC, but compiles PyMC functions (tens of seconds)
@pytest.mark.parametrize("kinds", [False, True])
def test_numpy_likelihood_and_path_match_pymc(kinds):
    """Every family, AR(1) dynamics, reputation noise, covariates, partial crises; or
    binary crises of two kinds with crisis covariates (per-kind intercepts and kappas)."""
    spec = bc.spec_from_dict(
        {
            "name": "families",
            "signals": SIGNALS,
            "latent": {"dynamics": "ar1", "covariates": ["c1"]},
            "reputation": {"enabled": True, "noise": True},
            "follow_through": {"covariates": ["gap"] if kinds else []},
        }
    )
    sim = bc.simulate(spec, n_units=5, n_members=3, n_years=7, n_crises=6, missing=0.2, seed=3)
    crises = sim.crises.copy()
    if kinds:
        crises["kind"] = np.where(crises.index % 2, "dispute", "war")
        crises["gap"] = np.linspace(-1.0, 2.0, len(crises))
    else:
        crises.loc[0, "outcome"] = "partial"  # makes follow-through ordinal
    panel = bc.load_panel(sim.observations, crises, sim.units, spec=spec)
    scales = signal_scales(panel, spec)
    model = build_model(panel, spec, scales)
    post, pymc_logp = _points(model, 4)
    # the latent path, rebuilt from the parameters, is the model's credibility
    latent, mean, sd = wi.rebuild(post, panel, spec, panel.active_mask())
    stored = wi._draws(post, "credibility")
    rebuilt = (latent.raw - mean[:, None, None]) / sd[:, None, None]
    np.testing.assert_allclose(rebuilt, stored, atol=1e-10)
    # every family's log-likelihood, and the follow-through's, as PyMC computes them
    meas = wi._Measurement(post, types.SimpleNamespace(spec=spec, scales=scales, panel=panel))
    obs, n_years = panel.observations, len(panel.years)
    flat = stored.reshape(len(stored), -1)
    cells = obs.unit_idx.to_numpy() * n_years + obs.year_idx.to_numpy()
    ours = meas.loglik(obs.signal, obs.value, obs.trials, flat[:, cells])
    theirs = sum(v for k, v in pymc_logp.items() if k != "followthrough")
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    c = panel.crises
    ccells = c.unit_idx.to_numpy() * n_years + c.year_idx.to_numpy()
    ours_ft = meas.followthrough(c, flat[:, ccells])
    np.testing.assert_allclose(ours_ft, pymc_logp["followthrough"], rtol=1e-9)


def _loadings(values, sd=0.01, seed=0):
    import xarray as xr

    rng = np.random.default_rng(seed)
    draws = np.asarray(values)[None, None, :] + sd * rng.normal(size=(2, 50, len(values)))
    draws -= draws.mean(axis=(0, 1)) - np.asarray(values)  # means exactly ``values``
    return xr.Dataset({"loading": (("chain", "draw", "signal"), draws)},
                      coords={"signal": ["spending", "personnel"]})


def _cost_sharing_spec(dimensions=True):
    signals = {"spending": {"family": "lognormal"}, "personnel": {"family": "lognormal"}}
    raw = {"name": "modes", "signals": signals}
    if dimensions:
        raw["dimensions"] = {"cost_sharing": ["spending", "personnel"]}
    return bc.spec_from_dict(raw)


def test_a_refit_in_another_mode_is_named_by_its_pillar():
    """A pillar that follows its other signal shows as a swap of its loadings (spending 0.99
    and personnel 0.31 against 0.31 and 0.99); noise of the same mode does not, nor a
    loading that new data move alone, nor anything in a model without pillars."""
    from bayescred.whatif.exact import _other_mode

    spec = _cost_sharing_spec()
    base = _loadings([0.99, 0.31])
    assert _other_mode(base, _loadings([0.99, 0.31], seed=1), spec) is None
    assert _other_mode(base, _loadings([0.30, 0.31], seed=1), spec) is None  # one moved
    found = _other_mode(base, _loadings([0.31, 0.99], seed=1), spec)
    assert "cost_sharing follows 'personnel' instead of 'spending'" in found
    assert _other_mode(base, _loadings([0.31, 0.99]), _cost_sharing_spec(False)) is None


def test_the_exact_engine_refits_with_the_next_seed_until_the_mode_agrees():
    """The re-fit is repeated with the next seed while it sits in another mode, and the
    answer says so; after SEEDS disagreeing seeds it stops with a one-line error."""
    from types import SimpleNamespace

    from bayescred.errors import ResultError
    from bayescred.whatif import exact

    spec = _cost_sharing_spec()
    result = SimpleNamespace(spec=spec, scales={}, posterior=_loadings([0.99, 0.31]))
    seeds = []

    def fake_fit(spec, panel, **kwargs):
        seeds.append(spec.sampler.seed)
        flipped = len(seeds) == 1
        post = _loadings([0.31, 0.99] if flipped else [0.99, 0.31], seed=len(seeds))
        return SimpleNamespace(idata=SimpleNamespace(posterior=post), spec=spec)

    refit, note = exact._refit_in_the_baseline_mode(result, None, fake_fit, None, None, None,
                                                    False)
    base_seed = spec.sampler.seed
    assert seeds == [base_seed, base_seed + 1]
    assert f"seed {base_seed + 1} agrees" in note

    def always_flipped(spec, panel, **kwargs):
        post = _loadings([0.31, 0.99])
        return SimpleNamespace(idata=SimpleNamespace(posterior=post), spec=spec)

    with pytest.raises(ResultError, match="another mode of the model"):
        exact._refit_in_the_baseline_mode(result, None, always_flipped, None, None, None, False)
