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
        ({"signals": {}}, "at least one signal"),
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
