"""bayescred.mixing gives ArviZ's R-hat and bulk / tail ESS, for every scalar at once."""

import logging
import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayescred import mixing


def _ar1(rng, n_chain, n_draw, k, phi, offsets=0.0):
    x = np.empty((n_chain, n_draw, k))
    x[:, 0] = rng.normal(size=(n_chain, k)) / np.sqrt(max(1e-9, 1 - phi**2))
    for t in range(1, n_draw):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(n_chain, k))
    return x + np.reshape(offsets, (-1, 1, 1)) if np.ndim(offsets) else x


def _awkward(rng, n_chain, n_draw, phi):
    """Draws with what trips a vectorised version: ties, a constant scalar, a NaN draw,
    chains that disagree, a heavy tail."""
    x = _ar1(rng, n_chain, n_draw, 7, phi)
    x[..., 1] = np.round(x[..., 1])  # ties
    x[..., 2] = 3.0  # constant
    x[0, min(3, n_draw - 1), 3] = np.nan
    x[..., 4] += np.arange(n_chain)[:, None] * 0.7  # chains apart: R-hat well above 1
    x[..., 5] = np.exp(3 * x[..., 5])  # heavy right tail
    return xr.Dataset(
        {
            "theta": (("chain", "draw", "k"), x),
            "scalar": (("chain", "draw"), x[..., 6]),
            "grid": (("chain", "draw", "a", "b"), x[..., :6].reshape(n_chain, n_draw, 2, 3)),
        },
        coords={"a": ["x", "y"], "b": [10, 20, 30]},
    )


def _arviz(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("arviz").setLevel(logging.ERROR)
        return az.rhat(ds), az.ess(ds, method="bulk"), az.ess(ds, method="tail")


SHAPES = [
    (4, 1000, 0.0),
    (4, 1000, 0.95),  # slow mixing: Geyer's sequence runs long
    (4, 1000, -0.6),  # antithetic: ESS above the draw count
    (4, 999, 0.5),  # odd draws: the split drops the middle one
    (2, 7, 0.5),
    (4, 4, 0.1),  # the fewest draws ESS accepts
    (3, 5, 0.99),
    (1, 60, 0.3),  # one chain: no R-hat
    (8, 101, 0.999),
]


@pytest.mark.parametrize("n_chain,n_draw,phi", SHAPES)
def test_the_statistics_are_arviz_s(n_chain, n_draw, phi):
    ds = _awkward(np.random.default_rng(n_chain * 1000 + n_draw), n_chain, n_draw, phi)
    expected = _arviz(ds)
    together = mixing.rhat_ess(ds)
    apart = (mixing.rhat(ds), mixing.ess(ds, method="bulk"), mixing.ess(ds, method="tail"))
    for ours in (together, apart):
        for got, want in zip(ours, expected):
            for name in ds.data_vars:
                assert got[name].dims == want[name].dims
                np.testing.assert_allclose(got[name].values, want[name].values, rtol=1e-9)
                for dim in got[name].dims:
                    assert np.array_equal(got[name][dim].values, want[name][dim].values)


def test_nan_only_where_arviz_gives_nan():
    ds = _awkward(np.random.default_rng(3), 4, 200, 0.3)
    rhat, bulk, tail = mixing.rhat_ess(ds)
    assert np.isnan(rhat["theta"].values[3]) and np.isnan(bulk["theta"].values[3])
    assert np.isfinite(np.delete(bulk["theta"].values, 3)).all()
    assert bulk["theta"].values[2] == 4 * 200  # a constant counts as independent draws
    assert rhat["theta"].values[4] > 1.1  # chains apart are flagged


def test_blocks_and_threads_give_the_same_numbers(monkeypatch):
    ds = _awkward(np.random.default_rng(4), 4, 300, 0.8)
    whole = mixing.rhat_ess(ds)
    monkeypatch.setattr(mixing, "BLOCK_VALUES", 2 * 4 * 300)  # two scalars per block
    for got, want in zip(mixing.rhat_ess(ds), whole):
        for name in ds.data_vars:
            np.testing.assert_array_equal(got[name].values, want[name].values)


def test_an_inference_data_and_var_names():
    ds = _awkward(np.random.default_rng(5), 2, 100, 0.2)
    idata = az.InferenceData(posterior=ds)
    got = mixing.ess(idata, var_names=["scalar"])
    assert list(got.data_vars) == ["scalar"]
    assert float(got["scalar"]) == pytest.approx(float(mixing.ess(ds)["scalar"]))


def test_ess_of_independent_draws_is_the_draw_count_and_falls_with_autocorrelation():
    """The statistic itself: for AR(1) chains the ESS of the mean is N (1 - phi)/(1 + phi)."""
    rng = np.random.default_rng(6)
    for phi in (0.0, 0.5, 0.8):
        x = _ar1(rng, 4, 2000, 400, phi)
        ds = xr.Dataset({"x": (("chain", "draw", "k"), x)})
        bulk = mixing.ess(ds)["x"].values
        expected = 8000 * (1 - phi) / (1 + phi)
        assert abs(np.median(bulk) / expected - 1) < 0.06
        assert np.median(mixing.rhat(ds)["x"].values) < 1.005


def test_unknown_method_is_refused():
    ds = _awkward(np.random.default_rng(7), 2, 20, 0.0)
    with pytest.raises(ValueError, match="'mean'.*bulk.*tail"):
        mixing.ess(ds, method="mean")
