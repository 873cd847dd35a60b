"""The spec: validation, defaults, overrides, TOML round trip."""

from __future__ import annotations

import re

import pytest

from bayescred.errors import SpecError
from bayescred.simulate import default_spec
from bayescred.spec import DEFAULT_PRIORS, load_spec, spec_from_dict, spec_to_toml

BASE = {"signals": {"troops": {"family": "negbinomial"}}}


def test_defaults_are_merged():
    spec = spec_from_dict(BASE)
    assert spec.latent.dynamics == "random_walk"
    assert spec.sampler.backend == "nutpie"
    assert spec.sampler.draws == 1000 and spec.sampler.chains == 4
    assert spec.reputation.enabled
    assert spec.prior("loading") == DEFAULT_PRIORS["loading"]


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({**BASE, "latnet": {}}, "'latnet'"),
        ({**BASE, "latent": {"dynamic": "ar1"}}, "'dynamic'"),
        ({"signals": {"t": {"family": "poison"}}}, "valid families"),
        ({"signals": {"t": {"family": "poisson", "direction": 2}}}, "direction must be one of 1"),
        ({**BASE, "latent": {"dynamics": "spline"}}, "static, random_walk, ar1"),
        ({**BASE, "sampler": {"backend": "stan"}}, "nutpie, pymc, numpyro"),
        ({**BASE, "sampler": {"draws": "many"}}, "'draws' must be int"),
        ({**BASE, "sampler": {"tune": "long"}}, "'tune' must be int"),
        ({**BASE, "sampler": {"tune": -5}}, "tune must be >= 1"),
        ({**BASE, "sampler": {"step_size_jitter": 1.0}}, "step_size_jitter must lie in [0, 1)"),
        ({**BASE, "sampler": {"step_size_jitter": -0.1}}, "got -0.1"),
        ({**BASE, "sampler": {"step_size_jitter": float("nan")}}, "step_size_jitter must lie"),
        ({**BASE, "sampler": {"step_size_jitter": "some"}}, "'step_size_jitter' must be float"),
        ({**BASE, "sampler": {"spread_scale": 0.0}}, "spread_scale must lie in (0, 1]"),
        ({**BASE, "sampler": {"spread_scale": 1.5}}, "got 1.5"),
        ({**BASE, "output": {"log_likelihood": "no"}}, "'log_likelihood' must be bool"),
        ({**BASE, "output": {"predictive_draws": -1}}, "predictive_draws must be >= 0"),
        ({**BASE, "output": {"thin": 2}}, "valid keys are: log_likelihood, predictive_draws"),
        ({**BASE, "sampler": {"spread_scale": float("nan")}}, "spread_scale must lie"),
        ({**BASE, "priors": {"lodaing": {"dist": "Normal"}}}, "'lodaing'"),
        ({**BASE, "priors": {"loading": {"dist": "Cauchy"}}}, "unknown dist"),
        ({**BASE, "priors": {"loading": {"dist": "HalfNormal", "mu": 1}}}, "'mu'"),
        ({"signals": {}, "data": {"observations": "o.csv"}}, "declares no signal"),
        (
            {"data": {"crises": "c.csv"}, "priors": {"loading_followthrough": {"dist": "Normal"}}},
            "must have positive support",
        ),
        ({**BASE, "follow_through": {"covariates": ["outcome"]}}, "other than crisis"),
        ({**BASE, "follow_through": {"covariates": "x"}}, "must be a list"),
        ({**BASE, "follow_through": {"kinds": ["war"]}}, "valid keys are: covariates"),
        ({**BASE, "priors": {"sigma_innovation": {"dist": "HalfNormal"}}}, "sigma_level_raw"),
        (
            {
                **BASE,
                "latent": {"dynamics": "ar1"},
                "priors": {"sigma_level_raw": {"dist": "HalfNormal"}},
            },
            "random_walk models only",
        ),
    ],
)
def test_invalid_specs_name_the_key(raw, fragment):
    with pytest.raises(SpecError, match=None) as err:
        spec_from_dict(raw)
    assert fragment in str(err.value)


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    "raw, fragment",
    [
        # prior parameters: each distribution's own constraints (priors.py)
        ({**BASE, "priors": {"loading": {"dist": "LogNormal", "sigma": 0}}}, "'sigma' of Log"),
        ({**BASE, "priors": {"loading": {"dist": "LogNormal", "sigma": -1.0}}}, "must be > 0"),
        ({**BASE, "priors": {"loading": {"dist": "LogNormal", "sigma": NAN}}}, "finite number"),
        ({**BASE, "priors": {"loading": {"dist": "LogNormal", "sigma": INF}}}, "finite number"),
        ({**BASE, "priors": {"alpha": {"dist": "Normal", "mu": INF}}}, "'mu' must be a finite"),
        ({**BASE, "priors": {"tau": {"dist": "HalfNormal", "sigma": 0.0}}}, "must be > 0"),
        ({**BASE, "priors": {"tau": {"dist": "Gamma", "alpha": 2.0}}}, "needs parameter(s) 'beta'"),
        ({**BASE, "priors": {"tau": {"dist": "Exponential"}}}, "needs parameter(s) 'lam'"),
        ({**BASE, "priors": {"phi": {"dist": "Beta", "alpha": 2, "beta": -1}}}, "'beta' of Beta"),
        ({**BASE, "priors": {"tau": {"dist": "HalfStudentT", "nu": 0}}}, "'nu' of HalfStudentT"),
        (
            {**BASE, "priors": {"phi": {"dist": "Uniform", "lower": 1.0, "upper": 0.5}}},
            "Uniform needs lower < upper",
        ),
        ({**BASE, "priors": {"phi": {"dist": "Uniform", "lower": 1.0}}}, "lower < upper"),
        (
            {**BASE, "priors": {"alpha": {"dist": "TruncatedNormal", "lower": 2, "upper": 2}}},
            "TruncatedNormal needs lower < upper",
        ),
        (
            {**BASE, "priors": {"alpha": {"dist": "TruncatedNormal", "lower": INF}}},
            "'lower' must be a finite number or -inf",
        ),
        ({**BASE, "priors": {"alpha": {"dist": "Normal", "sigma": True}}}, "must be a number"),
        ({**BASE, "priors": {"alpha": {"dist": ["Normal"]}}}, "unknown dist"),
        ({**BASE, "priors": {"alpha": "Normal"}}, "expected a table like"),
        # sampler settings
        ({**BASE, "sampler": {"seed": -1}}, "seed must be >= 0"),
        ({**BASE, "sampler": {"tune": 0}}, "tune must be >= 1"),
        ({**BASE, "sampler": {"draws": 0}}, "draws must be >= 1"),
        ({**BASE, "sampler": {"chains": 0}}, "chains must be >= 1"),
        ({**BASE, "sampler": {"target_accept": 1.0}}, "target_accept must lie in (0, 1)"),
        ({**BASE, "sampler": {"target_accept": NAN}}, "target_accept must lie in (0, 1)"),
        ({**BASE, "sampler": {"seed": 1.5}}, "'seed' must be int"),
        # shape of the tables
        ({"signals": ["troops"]}, "[signals] must be a table of signals"),
        ({"signals": {"troops": "negbinomial"}}, "[signals.troops]: expected a table"),
        ({"signals": {"t": {"family": {"name": "poisson"}}}}, "unknown family"),
        ({"signals": {"t": {"family": "poisson", "description": {}}}}, "'description' must be"),
        ({**BASE, "name": {"x": 1}}, "key 'name' must be a string"),
        ({**BASE, "latent": ["ar1"]}, "[latent]: expected a table of keys, got list"),
        ({**BASE, "latent": {"dynamics": ["ar1"]}}, "dynamics must be one of"),
        ({**BASE, "latent": {"covariates": "defense"}}, "covariates must be a list"),
        ({**BASE, "latent": {"covariates": ["a", "a"]}}, "'a' listed twice"),
        ({**BASE, "latent": {"covariates": ["member"]}}, "other than member, alliance"),
        ({**BASE, "sampler": {"draws": {"n": 5}}}, "'draws' must be int"),
        ({**BASE, "sampler": 5}, "[sampler]: expected a table of keys, got int"),
        ({**BASE, "data": {"observations": ["a.csv"]}}, "'observations' must be str"),
        ({**BASE, "priors": []}, "[priors]: expected a table of keys, got list"),
    ],
)
def test_malformed_values_and_tables_name_the_key(raw, fragment):
    with pytest.raises(SpecError, match=None) as err:
        spec_from_dict(raw)
    assert fragment in str(err.value)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, "sampler": {"draw": 10}})
    assert "valid keys are: backend, draws, tune, chains, seed, target_accept" in str(err.value)


def test_prior_override_by_name():
    spec = spec_from_dict(
        {**BASE, "priors": {"kappa_violate_raw": {"dist": "Exponential", "lam": 2.0}}}
    )
    assert spec.prior("kappa_violate_raw") == {"dist": "Exponential", "lam": 2.0}
    assert spec.prior("kappa_honor_raw") == DEFAULT_PRIORS["kappa_honor_raw"]
    # family parameters are overridable too
    spec_from_dict({**BASE, "priors": {"dispersion": {"dist": "HalfNormal", "sigma": 0.5}}})


def test_toml_round_trip(tmp_path):
    spec = default_spec(dynamics="ar1", draws=200, seed=5)
    path = tmp_path / "spec.toml"
    path.write_text(spec_to_toml(spec, {"observations": "obs.csv"}))
    again = load_spec(path)
    assert again.to_dict() == {**spec.to_dict(), "data": {**spec.to_dict()["data"],
                                                          "observations": "obs.csv"}}
    assert again.path("observations") == (tmp_path / "obs.csv").resolve()


def test_sampler_overrides_ignore_none():
    spec = default_spec().with_sampler(draws=50, chains=None)
    assert spec.sampler.draws == 50 and spec.sampler.chains == 4


def test_warmup_defaults_to_the_engines_own():
    """An unset ``tune`` is the engine's default warm-up: 600 draws for nutpie through the
    ADVI preconditioner (its chains start in the whitened bulk), 1000 otherwise; a given
    ``tune`` is used as it is, and an unset one survives a TOML round trip."""
    spec = spec_from_dict(BASE)
    assert spec.sampler.tune is None and spec.sampler.warmup == 600
    assert spec.with_sampler(precondition=False).sampler.warmup == 1000
    assert spec.with_sampler(backend="pymc").sampler.warmup == 1000
    assert spec.with_sampler(tune=123).sampler.warmup == 123
    assert spec_from_dict(spec.to_dict()).sampler.tune is None


def test_output_settings_default_on_and_round_trip(tmp_path):
    spec = spec_from_dict(BASE)
    assert spec.output.log_likelihood and spec.output.predictive_draws == 500
    light = spec_from_dict({**BASE, "output": {"log_likelihood": False, "predictive_draws": 0}})
    assert not light.output.log_likelihood and light.output.predictive_draws == 0
    path = tmp_path / "spec.toml"
    path.write_text(spec_to_toml(light))
    assert load_spec(path).output == light.output
    again = spec.with_output(log_likelihood=None, predictive_draws=100)
    assert again.output.predictive_draws == 100 and again.output.log_likelihood


def test_prior_constraints_are_declared_for_every_prior():
    """The constraints beside PRIOR_PARAMS cover every distribution, name only its own
    parameters, and every default prior in the package meets them."""
    from bayescred.families import PARAM_PRIORS
    from bayescred.priors import PRIOR_DISTS, PRIOR_INFINITE, PRIOR_ORDERED, PRIOR_POSITIVE

    assert set(PRIOR_POSITIVE) == set(PRIOR_DISTS)
    for dist, names in PRIOR_POSITIVE.items():
        assert set(names) <= set(PRIOR_DISTS[dist])
    for dist, pairs in PRIOR_ORDERED.items():
        assert {p for pair in pairs for p in pair} <= set(PRIOR_DISTS[dist])
    for dist, bounds in PRIOR_INFINITE.items():
        assert set(bounds) <= set(PRIOR_DISTS[dist])
    spec_from_dict({**BASE, "priors": {k: v for k, v in DEFAULT_PRIORS.items()
                                       if k not in ("sigma_innovation",)}})
    spec_from_dict({**BASE, "priors": {"dispersion": PARAM_PRIORS["dispersion"]}})


@pytest.mark.parametrize(
    "prior",
    [
        {"dist": "TruncatedNormal", "lower": float("-inf"), "upper": 3.0},
        {"dist": "TruncatedNormal", "mu": 1.0, "sigma": 2.0, "lower": 0.0},
        {"dist": "Uniform", "lower": -1.0, "upper": 1.0},
        {"dist": "Gamma", "alpha": 2.0, "beta": 1},
    ],
)
def test_valid_priors_are_accepted(prior):
    assert spec_from_dict({**BASE, "priors": {"alpha": prior}}).prior("alpha") == prior


def test_spec_reference_is_current():
    """docs/spec.md is what scripts/spec_reference.py writes from the spec's declaration."""
    import importlib.util
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    loader = importlib.util.spec_from_file_location(
        "spec_reference", repo / "scripts" / "spec_reference.py"
    )
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    assert (repo / "docs" / "spec.md").read_text() == module.render(), (
        "docs/spec.md is out of date: run python scripts/spec_reference.py"
    )


def test_every_spec_key_is_declared_with_a_line_on_what_it_does():
    from dataclasses import fields

    from bayescred import spec as S

    for cls in (S.DataSpec, S.SignalSpec, S.LatentSpec, S.ReputationSpec, S.SamplerSpec,
                S.OutputSpec):
        for f in fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name}"
    assert set(S.PRIOR_DOCS) == set(S.DEFAULT_PRIORS)


@pytest.mark.parametrize(
    "sampler, fragment",
    [({"seed": -1}, "seed must be >= 0"), ({"tune": 0}, "tune must be >= 1"),
     ({"target_accept": 1.0}, "target_accept must lie in (0, 1)"),
     ({"chains": 0}, "chains must be >= 1")],
)
def test_sampler_ranges_come_from_the_declaration(sampler, fragment):
    with pytest.raises(SpecError, match=re.escape(fragment)):
        spec_from_dict({**BASE, "sampler": sampler})
