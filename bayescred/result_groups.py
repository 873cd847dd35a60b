"""The groups of a saved result beyond the posterior: how bayescred lays them out so that
ArviZ reads the file as it is (observed_data, posterior_predictive, log_likelihood,
constant_data), the input tables it keeps beside them, and :class:`ResultGroups`, the
groups of a file read back.  :mod:`bayescred.results` writes and reads them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .errors import ResultError
from .families import FAMILIES, INTEGER_FAMILIES

if TYPE_CHECKING:
    import arviz as az

    from .predictive import Rows
    from .results import CredibilityResult

UNIT_COORDS = ("unit_member", "unit_alliance")  # per-unit coordinates on ``unit``
LOG_LIKELIHOOD_VAR = "y"  # the one variable of the log_likelihood group
OBS_DIM = "obs"
_DATA_GROUP = "bayescred_data"
_TABLES = ("observations", "crises", "units")
_SAMPLE_DIMS = ("chain", "draw")


class ResultGroups:
    """The groups of a result file as xarray Datasets, read without ArviZ.

    A stand-in for ``arviz.InferenceData`` holding what the what-if fast engine reads:
    groups by attribute (``groups.posterior``) or by name, and :meth:`groups`.
    :meth:`to_inference_data` makes the real thing.  A group of a file is read into memory
    on first use (xarray's ``netcdf4`` engine), except ``posterior`` and the data tables,
    which every result is read through and are read at once.
    """

    _EAGER = ("posterior", _DATA_GROUP)

    def __init__(
        self, groups: dict[str, xr.Dataset | None], path: Path | None = None, fix=None
    ):
        self._groups = dict(groups)  # None: a group of the file at ``path``, not yet read
        self._path = path
        self._fix = fix  # (name, Dataset) -> Dataset, applied as a group is read

    @classmethod
    def from_netcdf(cls, path: str | Path) -> ResultGroups:
        """The groups of an InferenceData netCDF file (raises if it cannot be read)."""
        import netCDF4

        with netCDF4.Dataset(path, mode="r") as handle:
            names = list(handle.groups)
        out = cls(dict.fromkeys(names), Path(path))
        for name in cls._EAGER:  # read now, so that an unreadable one fails here
            if name in out._groups:
                out[name]  # noqa: B018
        return out

    def with_fix(self, fix) -> ResultGroups:
        """The same groups with ``fix(name, dataset)`` applied to each (read ones now)."""
        groups = {k: (None if v is None else fix(k, v)) for k, v in self._groups.items()}
        return ResultGroups(groups, self._path, fix)

    def groups(self) -> list[str]:
        return list(self._groups)

    def without(self, name: str) -> ResultGroups:
        return ResultGroups(
            {k: v for k, v in self._groups.items() if k != name}, self._path, self._fix
        )

    def __getattr__(self, name: str) -> xr.Dataset:
        if name in self.__dict__.get("_groups", {}):
            return self[name]
        raise AttributeError(f"no group {name!r} in this result (groups: {self.groups()})")

    def __getitem__(self, name: str) -> xr.Dataset:
        ds = self._groups[name]
        if ds is None:
            with xr.open_dataset(self._path, group=name, engine="netcdf4") as lazy:
                ds = lazy.load()
            if self._fix is not None:
                ds = self._fix(name, ds)
            self._groups[name] = ds
        return ds

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def __repr__(self) -> str:
        return f"ResultGroups({', '.join(self._groups)})"

    def to_inference_data(self) -> az.InferenceData:
        import arviz as az

        return az.InferenceData(**{name: self[name] for name in self._groups})


def _obs_coords(table: pd.DataFrame, prefix: str, dim: str) -> dict:
    return {
        f"{prefix}_member": (dim, table.member.to_numpy(str)),
        f"{prefix}_alliance": (dim, table.alliance.to_numpy(str)),
        f"{prefix}_year": (dim, table.year.to_numpy(int)),
    }


def _by_signal(
    values: np.ndarray,
    table: pd.DataFrame,
    families: dict[str, str],
    chains=None,
    draws=None,
    compact: bool = False,
) -> dict[str, xr.DataArray]:
    """``values`` (chain, draw, obs) split into one variable per signal, named after it,
    on dimension ``<signal>_obs`` (index: the rows' positions on ``obs``).  Counts and
    codes become integers; with ``compact`` (replicated draws) 4-byte ones where they fit,
    and continuous values float32."""
    chains = np.arange(values.shape[0]) if chains is None else chains
    draws = np.arange(values.shape[1]) if draws is None else draws
    out = {}
    for signal in dict.fromkeys(table.signal):
        here = np.flatnonzero((table.signal == signal).to_numpy())
        dim = f"{signal}_obs"
        data = values[..., here]
        if families.get(signal, "followthrough") in (*INTEGER_FAMILIES, "followthrough"):
            small = compact and (data.size == 0 or np.abs(data).max() < np.iinfo(np.int32).max)
            data = np.rint(data).astype(np.int32 if small else np.int64)
        elif compact:
            data = data.astype(np.float32)
        coords = {"chain": chains, "draw": draws, dim: here}
        coords |= _obs_coords(table.iloc[here], signal, dim)
        out[signal] = xr.DataArray(data, dims=(*_SAMPLE_DIMS, dim), coords=coords)
    return out


def _predictive_from_group(ds: xr.Dataset, rows: Rows) -> xr.DataArray:
    """The posterior_predictive group back as one DataArray (chain, draw, obs)."""
    n = len(rows.table)
    first = next(iter(ds.data_vars.values()))
    out = np.full((first.sizes["chain"], first.sizes["draw"], n), np.nan)
    for name, da in ds.data_vars.items():
        dim = f"{name}_obs"
        pos = np.asarray(ds[dim].values, int) if dim in ds.coords else None
        if pos is None or (pos >= n).any() or (rows.table.signal.to_numpy()[pos] != name).any():
            raise ResultError(
                f"posterior_predictive variable {name!r} does not match the result's "
                "observations; save the result again"
            )
        out[..., pos] = da.transpose(*_SAMPLE_DIMS, dim).values
    if np.isnan(out).any():
        raise ResultError("posterior_predictive group misses observations; save it again")
    return xr.DataArray(
        out,
        dims=(*_SAMPLE_DIMS, OBS_DIM),
        coords={"chain": first.chain.values, "draw": first.draw.values, **rows.coords()},
        name="posterior_predictive",
    )


def _log_likelihood_group(log_lik: xr.DataArray) -> xr.Dataset:
    """The pointwise log-likelihood as the log_likelihood group: one variable over every
    observation row, the rows' description in ``obs_*`` coordinates."""
    plain = log_lik.drop_vars([c for c in log_lik.coords if c not in _SAMPLE_DIMS])
    n = log_lik.sizes[OBS_DIM]
    coords = {
        OBS_DIM: np.arange(n),
        "obs_signal": (OBS_DIM, log_lik["signal"].values.astype(str)),
        "obs_member": (OBS_DIM, log_lik["member"].values.astype(str)),
        "obs_alliance": (OBS_DIM, log_lik["alliance"].values.astype(str)),
        "obs_year": (OBS_DIM, log_lik["year"].values.astype(int)),
    }
    # float32: half the bytes of the file's largest group; LOO's sums move by ~1e-4
    return xr.Dataset({LOG_LIKELIHOOD_VAR: plain.astype(np.float32).assign_coords(coords)})


def _log_likelihood_from_group(ds: xr.Dataset, rows: Rows) -> xr.DataArray:
    if LOG_LIKELIHOOD_VAR not in ds or OBS_DIM not in ds[LOG_LIKELIHOOD_VAR].dims:
        raise ResultError(
            f"log_likelihood group has no variable {LOG_LIKELIHOOD_VAR!r} over {OBS_DIM!r}; "
            "save the result again"
        )
    y = ds[LOG_LIKELIHOOD_VAR]
    signals = ds["obs_signal"].values.astype(str) if "obs_signal" in ds.coords else None
    if signals is None or list(signals) != list(rows.table.signal):
        raise ResultError(
            f"log_likelihood group ({y.sizes[OBS_DIM]} rows) does not match the result's "
            f"{len(rows.table)} observations; save the result again"
        )
    return xr.DataArray(
        y.transpose(*_SAMPLE_DIMS, OBS_DIM).values.astype(float),
        dims=(*_SAMPLE_DIMS, OBS_DIM),
        coords={"chain": y.chain.values, "draw": y.draw.values, **rows.coords()},
        name="log_likelihood",
    )


def _constant_data(result: CredibilityResult, rows: Rows) -> xr.Dataset:
    """The design: which member and alliance each unit is, the reported unit-years,
    covariates, and the trials of binomial signals."""
    panel = result.panel
    coords = {
        "unit": panel.unit_labels,
        UNIT_COORDS[0]: ("unit", panel.units.member.to_numpy(str)),
        UNIT_COORDS[1]: ("unit", panel.units.alliance.to_numpy(str)),
        "member": panel.members,
        "alliance": panel.alliances,
        "year": panel.years.astype(int),
    }
    data = {
        "member_index": ("unit", np.asarray(panel.member_of_unit, np.int64)),
        "alliance_index": ("unit", np.asarray(panel.alliance_of_unit, np.int64)),
        "active": (("unit", "year"), panel.active_mask()),
    }
    covariates = list(result.spec.latent.covariates)
    if covariates:
        coords["covariate"] = covariates
        data["covariates"] = (
            ("unit", "covariate"),
            panel.units[covariates].to_numpy(float),
        )
    obs = panel.observations
    if "trials" in obs:
        key = ["signal", "member", "alliance", "year"]
        trials = rows.table[key].merge(obs[[*key, "trials"]], on=key, how="left")["trials"]
        for name, sig in result.spec.signals.items():
            if not FAMILIES[sig.family].needs_trials:
                continue
            here = np.flatnonzero((rows.table.signal == name).to_numpy())
            dim = f"{name}_obs"
            coords[dim] = here
            data[f"{name}_trials"] = (dim, trials.to_numpy()[here].astype(np.int64))
    return xr.Dataset(data, coords=coords)


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
