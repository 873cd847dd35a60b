"""benchmarks/spread_scales.py: the block map between nutpie's coordinates and the
preconditioner's must be exact, or the experiment samples another posterior."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
spread_scales = pytest.importorskip("spread_scales")


def test_block_map_inverts_and_its_gradient_is_the_adjoint():
    bmap = spread_scales.BlockMap(n=30, start=4, size=17, block=8, scale=0.6)
    rng = np.random.default_rng(1)
    w, a = rng.standard_normal(30), rng.standard_normal(30)
    u = bmap.to_u(w)
    np.testing.assert_allclose(bmap.to_w(u), w, atol=1e-12)
    # outside the whole blocks of the walk (4 .. 4 + 16) the map is the identity
    np.testing.assert_array_equal(u[:4], w[:4])
    np.testing.assert_array_equal(u[20:], w[20:])
    # d/dw of a . u(w), by central differences (the map is linear: exact up to rounding)
    eye = np.eye(30)
    numeric = [(a @ bmap.to_u(w + 1e-6 * e) - a @ bmap.to_u(w - 1e-6 * e)) / 2e-6 for e in eye]
    np.testing.assert_allclose(bmap.grad_w(a), numeric, atol=1e-7)


def test_the_scales_are_spread_as_asked():
    """In w, a standard normal u has covariance P diag(s^2) P^T: singular values of the
    map w -> u are 1 / s, s spread evenly from the scale to 1."""
    bmap = spread_scales.BlockMap(n=8, start=0, size=8, block=8, scale=0.4)
    singular = np.sort(np.linalg.svd(bmap.inv[0], compute_uv=False))
    np.testing.assert_allclose(singular, np.sort(1 / np.linspace(0.4, 1.0, 8)), rtol=1e-12)


def test_options_are_checked_before_anything_is_fitted(capsys):
    with pytest.raises(SystemExit):
        spread_scales.main(["--scales", "1,1.5"])
    assert "--scales must lie in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        spread_scales.main(["--seeds=-,x"])
    assert "'x' in '-,x'" in capsys.readouterr().err
    assert spread_scales.numbers(int, blank="-")("-,1001") == [None, 1001]
