"""Fitted results: credibility tables, parameter summaries, save/load as one netCDF file.

A result file is an ArviZ InferenceData netCDF with two extra things: the attributes of
its ``posterior`` group carry the spec (JSON), the signal scales, timings and package
versions; and a ``bayescred_data`` group holds the tidy input tables, so a result can be
reported on, or re-conditioned for a scenario, without the original files.  No pickle.

Reading a result needs only xarray and h5py: :meth:`CredibilityResult.load` reads the
file's groups as xarray Datasets (:mod:`bayescred.netcdf_read`), and turns them into an
``arviz.InferenceData`` only when ``result.idata`` is first used, so the what-if fast
engine (which reads ``result.posterior``) never imports ArviZ.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .design import SignalScale, scales_from_dict, scales_to_dict
from .errors import ResultError
from .panel import Panel, load_panel
from .runtime import Timing
from .spec import ModelSpec, spec_from_dict

if TYPE_CHECKING:
    import arviz as az

FORMAT = 1  # bump when a result file written earlier can no longer be read correctly
DEFAULT_PROB = 0.9  # the package-wide interval probability
_DATA_GROUP = "bayescred_data"
_TABLES = ("observations", "crises", "units")


def package_versions() -> dict[str, str]:
    out = {}
    for pkg in ("bayescred", "pymc", "pytensor", "arviz", "nutpie", "numpy", "pandas", "xarray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class CredibilityResult:
    """A fitted credibility model.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior with ``credibility`` of dims ``(chain, draw, unit, year)`` and
        ``member``/``alliance`` coordinates on ``unit``.  A result read from a file
        builds it on first use (importing ArviZ); :attr:`posterior` reads the posterior
        group without ArviZ.
    spec : ModelSpec
        The spec that was fitted (sampler settings as used).
    panel : Panel
        The data that were fitted.
    scales : dict
        Per-signal transform constants (reused by scenarios).
    timing : Timing
        Compile and sampling seconds.
    """

    idata: az.InferenceData
    spec: ModelSpec
    panel: Panel
    scales: dict[str, SignalScale]
    timing: Timing
    versions: dict[str, str] = field(default_factory=package_versions)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group, without importing ArviZ (see :attr:`idata`)."""
        return self.__dict__["_idata"].posterior

    # ------------------------------------------------------------------ tables

    def credibility(self, prob: float = DEFAULT_PROB, active_only: bool = True) -> pd.DataFrame:
        """Tidy posterior summary of credibility per unit-year.

        Columns: member, alliance, year, mean, sd, hdi_low, hdi_high.  With
        ``active_only`` (default), only the years between each unit's first and last
        evidence are listed; the others are extrapolation.
        """
        import arviz as az

        cred = self.idata.posterior["credibility"]
        hdi = az.hdi(cred, hdi_prob=prob)["credibility"]
        table = pd.DataFrame(
            {
                "member": np.repeat(cred.member.values, cred.sizes["year"]),
                "alliance": np.repeat(cred.alliance.values, cred.sizes["year"]),
                "year": np.tile(cred.year.values, cred.sizes["unit"]),
                "mean": cred.mean(("chain", "draw")).values.ravel(),
                "sd": cred.std(("chain", "draw")).values.ravel(),
                "hdi_low": hdi.sel(hdi="lower").values.ravel(),
                "hdi_high": hdi.sel(hdi="higher").values.ravel(),
            }
        )
        if active_only:
            table = table[self.panel.active_mask().ravel()]
        return table.reset_index(drop=True)

    def parameters(self, prob: float = DEFAULT_PROB) -> pd.DataFrame:
        """Summary of the structural parameters (reputation effects, loadings, ...)."""
        import arviz as az

        names = [
            v
            for v in (
                "kappa_honor",
                "kappa_violate",
                "phi_reputation",
                "sigma_innovation",
                "sigma_level",
                "phi",
                "tau",
                "gamma",
                "alpha",
                "loading",
                "alpha_followthrough",
                "loading_followthrough",
            )
            if v in self.idata.posterior
        ]
        return az.summary(self.idata, var_names=names, hdi_prob=prob)

    def prob_violation_costlier(self) -> float | None:
        """P(kappa_violate > kappa_honor): is reneging punished more than honouring pays?"""
        post = self.idata.posterior
        if "kappa_violate" not in post:
            return None
        return float((post.kappa_violate > post.kappa_honor).mean())

    # ------------------------------------------------------------------ save / load

    def save(self, path: str | Path) -> Path:
        """Write one netCDF file; written to a temporary name first, so a failure never
        leaves a half-written result behind."""
        import arviz as az

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        idata = self.idata.copy()
        idata.posterior.attrs.update(self._attrs())
        data = _tables_to_dataset(self.panel.tables())
        groups = {k: getattr(idata, k) for k in idata.groups()}
        groups[_DATA_GROUP] = data
        out = az.InferenceData(**groups)
        fd, tmp = tempfile.mkstemp(suffix=".nc.tmp", dir=path.parent)
        os.close(fd)
        try:
            # uncompressed: zlib shrinks draws of floats by ~4% and took 5 of the 6 s
            # of writing medium's 112 MB
            out.to_netcdf(tmp, engine="h5netcdf", compress=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    def _attrs(self) -> dict[str, str | int]:
        return {
            "bayescred_format": FORMAT,
            "bayescred_spec": self.spec.to_json(),
            "bayescred_scales": json.dumps(scales_to_dict(self.scales)),
            "bayescred_timing": json.dumps(self.timing.to_dict()),
            "bayescred_versions": json.dumps(self.versions),
            "bayescred_notes": json.dumps(self.panel.notes),
        }

    @classmethod
    def load(cls, path: str | Path) -> CredibilityResult:
        """Read a result written by :meth:`save`; refuse anything else with a clear error."""
        path = Path(path)
        if not path.is_file():
            raise ResultError(f"{path}: result file not found")
        try:
            idata = ResultGroups.from_netcdf(path)
        except Exception as exc:  # any failure to parse means: not a readable result
            raise ResultError(
                f"{path}: not a readable netCDF result file ({type(exc).__name__})"
            ) from None
        attrs = idata.posterior.attrs if "posterior" in idata.groups() else {}
        if "bayescred_format" not in attrs or _DATA_GROUP not in idata.groups():
            raise ResultError(f"{path}: a netCDF file, but not a bayescred result")
        versions = json.loads(attrs["bayescred_versions"])
        if int(attrs["bayescred_format"]) != FORMAT:
            raise ResultError(
                f"{path}: written by bayescred {versions.get('bayescred')} in result format "
                f"{attrs['bayescred_format']}; this bayescred reads format {FORMAT}. Refit "
                "with this version, or install the version that wrote it"
            )
        spec = spec_from_dict(json.loads(attrs["bayescred_spec"]))
        tables = _dataset_to_tables(idata[_DATA_GROUP])
        panel = load_panel(tables["observations"], tables["crises"], tables["units"], spec=spec)
        panel.notes[:] = json.loads(attrs.get("bayescred_notes", "[]"))
        timing = Timing(**json.loads(attrs["bayescred_timing"]))
        return cls(
            idata.without(_DATA_GROUP),
            spec,
            panel,
            scales_from_dict(json.loads(attrs["bayescred_scales"])),
            timing,
            versions,
        )


def _get_idata(self: CredibilityResult) -> az.InferenceData:
    idata = self.__dict__["_idata"]
    if isinstance(idata, ResultGroups):  # read from a file: ArviZ's object on first use
        idata = self.__dict__["_idata"] = idata.to_inference_data()
    return idata


def _set_idata(self: CredibilityResult, value) -> None:
    self.__dict__["_idata"] = value


# ``idata`` stays a dataclass field (constructor, replace, repr and eq are unchanged), but
# is read through this property, so a loaded result converts its groups only when needed
CredibilityResult.idata = property(_get_idata, _set_idata, doc="The fit's InferenceData.")


class ResultGroups:
    """The groups of a result file as xarray Datasets, read without ArviZ.

    A stand-in for ``arviz.InferenceData`` holding what the what-if fast engine reads:
    groups by attribute (``groups.posterior``) or by name, and :meth:`groups`.
    :meth:`to_inference_data` makes the real thing.  A group of a file is read on first
    use (:mod:`bayescred.netcdf_read`, straight from HDF5), except ``posterior`` and the
    data tables, which every result is read through.
    """

    _EAGER = ("posterior", _DATA_GROUP)

    def __init__(self, groups: dict[str, xr.Dataset | None], path: Path | None = None):
        self._groups = dict(groups)  # None: a group of the file at ``path``, not yet open
        self._path = path

    @classmethod
    def from_netcdf(cls, path: str | Path) -> ResultGroups:
        """The groups of an InferenceData netCDF file (raises if it cannot be read)."""
        import h5py

        with h5py.File(path, mode="r") as handle:
            names = [n for n, item in handle.items() if isinstance(item, h5py.Group)]
        out = cls(dict.fromkeys(names), Path(path))
        for name in cls._EAGER:  # opened now, so that an unreadable one fails here
            if name in out._groups:
                out[name]  # noqa: B018
        return out

    def groups(self) -> list[str]:
        return list(self._groups)

    def without(self, name: str) -> ResultGroups:
        return ResultGroups({k: v for k, v in self._groups.items() if k != name}, self._path)

    def __getattr__(self, name: str) -> xr.Dataset:
        if name in self.__dict__.get("_groups", {}):
            return self[name]
        raise AttributeError(f"no group {name!r} in this result (groups: {self.groups()})")

    def __getitem__(self, name: str) -> xr.Dataset:
        ds = self._groups[name]
        if ds is None:
            ds = self._groups[name] = _read_group(self._path, name)
        return ds

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def __repr__(self) -> str:
        return f"ResultGroups({', '.join(self._groups)})"

    def to_inference_data(self) -> az.InferenceData:
        import arviz as az

        return az.InferenceData(**{name: self[name] for name in self._groups})


def _read_group(path: Path, name: str) -> xr.Dataset:
    """One group of a result file: straight from HDF5 (fast), or by xarray if the group
    uses an encoding that reader leaves to xarray."""
    from .netcdf_read import UnsupportedLayout, read_group

    try:
        return read_group(path, name)
    except UnsupportedLayout:
        return xr.open_dataset(path, group=name, engine="h5netcdf")


def _tables_to_dataset(tables: dict[str, pd.DataFrame]) -> xr.Dataset:
    """Tidy tables as one dataset: a row dimension per table, one variable per column."""
    variables = {}
    for name, df in tables.items():
        for col in df.columns:
            values = df[col].to_numpy()
            if values.dtype == object or pd.api.types.is_string_dtype(df[col]):
                values = df[col].astype(str).to_numpy(dtype=str)
            elif col == "trials":
                values = df[col].astype(float).to_numpy()
            variables[f"{name}__{col}"] = (f"{name}_row", values)
    return xr.Dataset(variables)


def _dataset_to_tables(ds: xr.Dataset) -> dict[str, pd.DataFrame]:
    out = {}
    for name in _TABLES:
        cols = {
            key.split("__", 1)[1]: ds[key].values
            for key in ds.data_vars
            if key.startswith(f"{name}__")
        }
        out[name] = pd.DataFrame(cols)
    if out["crises"].empty:
        out["crises"] = None
    return out
