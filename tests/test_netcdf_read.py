"""The HDF5 reader of result groups returns what ``xarray.open_dataset`` returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayescred.netcdf_read import UnsupportedLayout, read_group


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 5, 3))
    values[0, 1, 2] = np.nan  # a missing value survives (float _FillValue is NaN)
    return xr.Dataset(
        {
            "credibility": (("chain", "draw", "unit"), values),
            "diverging": (("chain", "draw"), rng.random((2, 5)) < 0.3),  # stored as int8
            "count": (("chain", "draw"), rng.integers(0, 9, (2, 5))),
            "label": (("row",), np.array(["a", "bb", "ccc", "d"], dtype=object)),
            "loading": (("signal",), [0.5, -1.0]),  # a dimension with no coordinate
        },
        coords={
            "chain": [0, 1],
            "draw": np.arange(5),
            "unit": ["M00/A0", "M01/A0", "M00/A1"],
            "member": ("unit", ["M00", "M01", "M00"]),
            # a coordinate named like a dimension it does not index (netCDF: _nc4_non_coord_)
            "alliance": ("unit", ["A0", "A0", "A1"]),
        },
        attrs={"bayescred_format": 1, "bayescred_spec": '{"a": 1}', "note": "ü"},
    ).assign(mu=(("chain", "draw", "alliance_dim"), rng.normal(size=(2, 5, 2))))


@pytest.mark.parametrize("group", ["posterior", "sample_stats"])
def test_read_group_equals_xarray(tmp_path, group):
    path = tmp_path / "groups.nc"
    ds = _dataset()
    ds.to_netcdf(path, group="posterior", engine="h5netcdf")
    ds.to_netcdf(path, group="sample_stats", engine="h5netcdf", mode="a")
    expected = xr.open_dataset(path, group=group, engine="h5netcdf").load()
    got = read_group(path, group)
    xr.testing.assert_identical(got, expected)
    assert got.diverging.dtype == bool
    assert list(got.coords["alliance"].values) == ["A0", "A0", "A1"]
    assert np.isnan(got.credibility.values[0, 1, 2])


def test_encodings_left_to_xarray(tmp_path):
    path = tmp_path / "time.nc"
    xr.Dataset({"t": ("x", pd.date_range("2000-01-01", periods=3))}).to_netcdf(
        path, engine="h5netcdf"
    )
    with pytest.raises(UnsupportedLayout, match="CF decoding"):
        read_group(path, "/")
