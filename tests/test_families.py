"""Every registered family, checked from its declaration alone.

Parametrised over :data:`bayescred.families.FAMILIES`: a family added to the registry is
checked here without an edit.  Its NumPy log-density is PyMC's; its draws, log-density and
Fisher information agree with each other (the information is the expected squared score);
its support check accepts its own draws; its kernel code is checked against PyMC in
``test_kernel.py`` (whose every-family case is generated from the registry too), and a fit
of simulated data recovers credibility (marked ``sampling``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest

import bayescred as bc
from bayescred.families import FAMILIES, FAMILY_CODES, INTEGER_FAMILIES, PARAM_PRIORS

# values to test the built-in parameters at; a parameter not listed here is tested at the
# median of its default prior (a vector parameter: three ordered cutpoints), so a new
# family needs no edit here
PARAM_VALUES = {"sigma": 0.7, "dispersion": 0.3, "precision": 12.0, "nu": 5.0}
CUTPOINTS = np.array([-1.0, 0.2, 1.3])
TRIALS = 25


def _prior_median(prior: dict) -> float:
    from bayescred.priors import PRIOR_DISTS

    dist = getattr(pm, prior["dist"]).dist(
        **{k: v for k, v in prior.items() if k in PRIOR_DISTS[prior["dist"]]}
    )
    return float(np.median(pm.draw(dist, draws=2001, random_seed=0)))


def _params(family):
    return {
        p.name: CUTPOINTS if p.vector else PARAM_VALUES.get(p.name) or _prior_median(p.prior)
        for p in family.params
    }


def _trials(family, size):
    return np.full(size, TRIALS) if family.needs_trials else None


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_numpy_log_density_is_pymcs(name):
    family = FAMILIES[name]
    rng = np.random.default_rng(1)
    eta = rng.normal(0.0, 1.0, 40)
    params = _params(family)
    trials = _trials(family, eta.size)
    y = family.draw(rng, eta, params, trials)
    with pm.Model():
        rv = family.pymc("y", eta, y, params, trials)
    expected = pm.logp(rv, y).eval()
    np.testing.assert_allclose(family.logp(y, eta, params, trials), expected, rtol=1e-8,
                               atol=1e-8)  # fmt: skip


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_draws_lie_in_the_support(name):
    family = FAMILIES[name]
    rng = np.random.default_rng(2)
    eta = rng.normal(0.0, 1.5, 500)
    trials = _trials(family, eta.size)
    # draws are on the likelihood's scale; the support is the data's
    y = family.from_likelihood_scale(family.draw(rng, eta, _params(family), trials), 0.0, 1.0)
    assert not family.bad_values(y, trials).any()
    assert (name in INTEGER_FAMILIES) == bool(np.all(y == np.round(y)))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_fisher_information_is_the_expected_squared_score(name):
    """I(eta) = E[(d log p(y | eta) / d eta)^2] over the family's own draws: draw, logp
    and fisher must describe one distribution.  The beta-binomial's information is the
    quasi-likelihood one (documented as an approximation), so it gets a looser bound."""
    family = FAMILIES[name]
    rng = np.random.default_rng(3)
    params = _params(family)
    n = 200_000
    for eta0 in (-0.8, 0.4):
        eta = np.full(n, eta0)
        trials = _trials(family, n)
        y = family.draw(rng, eta, params, trials)
        h = 1e-5
        score = (
            family.logp(y, eta + h, params, trials) - family.logp(y, eta - h, params, trials)
        ) / (2 * h)
        info = float(
            np.mean(family.fisher(eta[:1], params, None if trials is None else trials[:1]))
        )
        tolerance = 0.25 if name == "betabinomial" else 0.03
        assert np.mean(score**2) == pytest.approx(info, rel=tolerance), (name, eta0)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_family_declares_everything_its_readers_need(name):
    family = FAMILIES[name]
    assert family.transform in ("standardise", "log_standardise", "none")
    assert family.link in ("identity", "log", "logit")
    for p in family.params:
        assert p.name in PARAM_PRIORS and "dist" in p.prior
    if family.kernel is not None:
        assert name in FAMILY_CODES
    # a spec may name it, and a simulated panel has it
    spec = bc.default_spec(signals={"s": {"family": name}, "anchor": {"family": "gaussian"}})
    sim = bc.simulate(spec, n_units=4, n_years=5, n_crises=0, seed=1)
    values = sim.observations[sim.observations.signal == "s"]
    trials = values.trials.to_numpy(float) if family.needs_trials else None
    assert not family.bad_values(values.value.to_numpy(float), trials).any()


def test_a_family_without_kernel_code_falls_back_with_a_notice(monkeypatch, capsys):
    """A family the kernel does not cover makes the fit use the PyTensor-compiled model,
    and says so in one line: never a crash."""
    from bayescred import families, structure
    from bayescred.api import native_kernel
    from bayescred.model import build_model, signal_scales

    plain = dataclasses.replace(FAMILIES["gaussian"], name="gaussian_plain", kernel=None)
    monkeypatch.setitem(families.FAMILIES, "gaussian_plain", plain)
    spec = bc.default_spec(signals={"s": {"family": "gaussian_plain"}})
    sim = bc.simulate(bc.default_spec(signals={"s": {"family": "gaussian"}}), n_units=4,
                      n_years=5, n_crises=0, seed=1)  # fmt: skip
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)
    st = structure.model_structure(spec, panel)
    assert st.missing_kernel == ("gaussian_plain",)
    scales = signal_scales(panel, spec)
    model = build_model(panel, spec, scales, st)
    assert native_kernel(model, panel, spec, scales, st) is None
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and "gaussian_plain" in notice[0] and "PyTensor" in notice[0]


@pytest.mark.sampling
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_simulate_fit_recover(name):
    """Simulated from the family's declaration, fitted through the kernel: the posterior
    mean of credibility follows the truth (an anchoring gaussian signal and the family's
    own), and the family's loading is positive and away from zero."""
    spec = bc.default_spec(
        signals={"s": {"family": name}, "anchor": {"family": "gaussian"}}, reputation=False
    )
    sim = bc.simulate(spec, n_units=8, n_members=8, n_alliances=2, n_years=15, n_crises=0,
                      seed=7)  # fmt: skip
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)
    result = bc.fit(spec, panel, draws=300, tune=300, chains=2, seed=3, progress=False)
    est = result.credibility().merge(sim.truth, on=["member", "alliance", "year"])
    assert np.corrcoef(est["mean"], est["credibility"])[0, 1] > 0.85
    loading = result.idata.posterior["loading"].sel(signal="s").values
    assert np.quantile(loading, 0.05) > 0.1
