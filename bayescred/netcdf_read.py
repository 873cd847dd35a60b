"""Read one group of a netCDF-4 file straight from HDF5 (h5py), as an xarray Dataset.

Why: ``xarray.open_dataset`` reaches the arrays through h5netcdf's object model, which
on two cores took 1.5-3 s for a result's posterior (thousands of HDF5 handle creations
for dimension bookkeeping); reading the same arrays with h5py takes ~0.05 s.  The
what-if fast path reads a result on every command-line call, so that difference is
most of its start-up.

Scope: files that xarray writes through h5netcdf or netCDF4 (as ``result.save`` does),
classic netCDF-4 data model: dimension scales as dimensions (with or without a
coordinate variable), ``_nc4_non_coord_`` names, the ``coordinates`` attribute,
``_FillValue`` masking of floats, variable-length strings.  Anything else (groups within
the group, compound types, CF time decoding) raises :class:`UnsupportedLayout` and the
caller falls back on xarray.  tests/test_results.py checks it against
``xarray.open_dataset`` on real result files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

# attributes that describe the HDF5 encoding of netCDF, not the data
_INTERNAL = {
    "CLASS",
    "NAME",
    "REFERENCE_LIST",
    "DIMENSION_LIST",
    "_Netcdf4Dimid",
    "_Netcdf4Coordinates",
    "_NCProperties",
    "_FillValue",
    "coordinates",
}
# CF encodings that xarray would decode (times, packed values): left to xarray
_ENCODED = {"units", "calendar", "scale_factor", "add_offset", "dtype"}
_DIMENSION_ONLY = "This is a netCDF dimension but not a netCDF variable"
_NON_COORD = "_nc4_non_coord_"


class UnsupportedLayout(Exception):
    """The group uses a netCDF feature this reader does not handle."""


def read_group(path: str | Path, group: str) -> xr.Dataset:
    """The group ``group`` of the netCDF-4 file ``path``, loaded into memory."""
    import h5py

    with h5py.File(path, "r") as handle:
        node = handle[group]
        variables, coords = {}, set()
        for name, item in node.items():
            if not isinstance(item, h5py.Dataset):
                raise UnsupportedLayout(f"group {group}/{name} is not a variable")
            if _is_dimension_only(item):
                continue
            dims = tuple(_dimension_name(item, i, name) for i in range(item.ndim))
            values, attrs = _values(item), _attrs(item.attrs)
            if attrs.get("dtype") == "bool":  # xarray stores booleans as int8
                values, attrs = values.astype(bool), _without(attrs, "dtype")
            if _ENCODED & attrs.keys():
                raise UnsupportedLayout(f"variable {name} needs CF decoding")
            name = name.removeprefix(_NON_COORD)
            variables[name] = xr.Variable(dims, values, attrs)
            coords.update(_text(item.attrs.get("coordinates", "")).split())
        attrs = _attrs(node.attrs)
    indexes = {n for n, v in variables.items() if v.dims == (n,)}
    coord_names = (coords | indexes) & set(variables)
    return xr.Dataset(
        {n: v for n, v in variables.items() if n not in coord_names},
        coords={n: variables[n] for n in variables if n in coord_names},
        attrs=attrs,
    )


def _is_dimension_only(item) -> bool:
    return _text(item.attrs.get("NAME", "")).startswith(_DIMENSION_ONLY)


def _dimension_name(item, axis: int, name: str) -> str:
    scales = item.dims[axis]
    if len(scales) == 0:  # a dimension scale is its own (only) dimension
        if item.ndim != 1:
            raise UnsupportedLayout(f"variable {name} has an axis with no dimension")
        return name.removeprefix(_NON_COORD)
    return scales[0].name.rsplit("/", 1)[-1].removeprefix(_NON_COORD)


def _values(item) -> np.ndarray:
    import h5py

    if h5py.check_string_dtype(item.dtype) is not None:
        return item.asstr()[()].astype(object)
    if item.dtype.kind not in "biuf":
        raise UnsupportedLayout(f"variable {item.name} has type {item.dtype}")
    values = item[()]
    fill = item.attrs.get("_FillValue")
    if fill is not None and values.dtype.kind == "f":
        fill = np.asarray(fill).ravel()[0]
        if not np.isnan(fill):
            values = np.where(values == fill, np.nan, values)
    return values


def _attrs(raw) -> dict:
    out = {}
    for key, value in raw.items():
        if key in _INTERNAL:
            continue
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
            value = value.ravel()[0]
        out[key] = value
    return out


def _without(attrs: dict, key: str) -> dict:
    return {k: v for k, v in attrs.items() if k != key}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
