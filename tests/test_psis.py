"""Pareto-smoothed importance sampling in NumPy (bayescred.psis) against arviz.psislw, and
the light import path it exists for: the what-if fast engine without ArviZ or PyMC."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bayescred.psis import psislw

az = pytest.importorskip("arviz")


def _vectors():
    rng = np.random.default_rng(11)
    return {
        "normal": rng.normal(size=4000),
        "normal_wide": 3.0 * rng.normal(size=1000),
        "student_t2": np.log(np.abs(rng.standard_t(2, size=2000))),  # heavy right tail
        "student_t1": rng.standard_t(1, size=1000),  # very heavy: k well above 0.7
        "exp_tail": rng.exponential(size=500) * 2.0,
        "small_30": rng.normal(size=30),  # tail of 6 draws: just enough to fit
        "tiny_10": rng.normal(size=10),  # tail of 2 draws: no fit, k = inf
        "ties": np.repeat(rng.normal(size=50), 4),
        "flat": np.zeros(200),
    }


@pytest.mark.parametrize("name", list(_vectors()))
@pytest.mark.parametrize("normalize", [True, False])
def test_matches_arviz(name, normalize):
    lw_in = _vectors()[name]
    before = lw_in.copy()
    lw, k = psislw(lw_in, normalize=normalize)
    ref_lw, ref_k = az.psislw(lw_in.copy(), normalize=normalize)
    np.testing.assert_array_equal(lw_in, before)  # the input is left alone
    assert isinstance(k, float)
    if np.isinf(ref_k):
        assert np.isinf(k)
    else:
        assert k == pytest.approx(float(ref_k), abs=1e-6)
    np.testing.assert_allclose(lw, np.asarray(ref_lw), rtol=1e-6, atol=1e-6)


def test_matches_arviz_with_reff_and_leading_dims():
    rng = np.random.default_rng(3)
    lw_in = rng.standard_t(3, size=(3, 2, 800))
    lw, k = psislw(lw_in, reff=0.6)
    ref_lw, ref_k = az.psislw(lw_in.copy(), reff=0.6)
    assert k.shape == (3, 2)
    np.testing.assert_allclose(k, np.asarray(ref_k), atol=1e-6)
    np.testing.assert_allclose(lw, np.asarray(ref_lw), rtol=1e-6, atol=1e-6)


def test_normalised_weights_sum_to_one_and_k_flags_heavy_tails():
    rng = np.random.default_rng(0)
    lw, k = psislw(0.3 * rng.normal(size=4000))
    assert np.exp(lw).sum() == pytest.approx(1.0)
    assert k < 0.5
    _, k_heavy = psislw(3.0 * rng.standard_t(1, size=4000))
    assert k_heavy > 0.7


def test_the_whatif_fast_path_imports_no_arviz_or_pymc():
    """``bayescred whatif --engine fast`` must not pay for ArviZ, PyMC, PyTensor, nutpie or
    pyplot: the package, its CLI and every module the fast engine uses import light."""
    code = (
        "import sys\n"
        "import bayescred, bayescred.cli\n"
        "assert 'numpy' not in sys.modules, 'import bayescred.cli pulls in numpy'\n"
        "import bayescred.whatif, bayescred.results, bayescred.scenario, bayescred.psis\n"
        "from bayescred import CredibilityResult, Scenario, load, whatif, forecast\n"
        "heavy = ('arviz', 'pymc', 'pytensor', 'nutpie', 'numba', 'matplotlib', 'scipy.stats')\n"
        "print('heavy:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "heavy: []" in out, out


def test_public_names_are_lazy_but_the_same():
    import importlib

    import bayescred as bc

    for name in bc.__all__:
        assert getattr(bc, name) is not None
    assert set(bc.__all__) <= set(dir(bc))
    # the functions named like their modules stay functions once the modules are imported
    for name in ("fit", "simulate", "whatif"):
        module = importlib.import_module(f"bayescred.{name}")
        assert callable(getattr(bc, name)) and getattr(bc, name) is not module
    from bayescred import fit, whatif

    assert fit is importlib.import_module("bayescred.api").fit
    assert whatif is importlib.import_module("bayescred.whatif").whatif
    assert bc.load == bc.CredibilityResult.load
    with pytest.raises(AttributeError):
        bc.not_a_name  # noqa: B018
