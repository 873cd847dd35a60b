"""The pillars of credibility in a fitted ``[dimensions]`` model: what a result keeps of
them, their correlations, and their tidy table.

The posterior variable ``pillar`` (unit, year, dimension) is overall credibility plus the
pillar's own deviation (``model._pillar_deviations``), on credibility's scale.  How
strongly the pillars move together is a posterior quantity of its own,
``pillar_correlation`` (dimension, dimension_other): per draw, the correlation of two
pillars over the panel's active unit-years.  The deviations ``pillar_deviation`` (the
sampler's coordinates, as large as ``pillar`` itself) are not kept: they are ``pillar -
credibility``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

SAMPLER_ONLY = ("pillar_deviation",)  # coordinates a result does not keep (see module docstring)


def derive(idata, active: np.ndarray):
    """``idata`` with ``pillar_correlation`` added to the posterior and the pillars'
    sampler coordinates dropped; unchanged for a one-factor model.  ``active``: the
    panel's active (unit, year) mask."""
    post = idata.posterior
    if "pillar" not in post:
        return idata
    post = post.drop_vars([v for v in SAMPLER_ONLY if v in post])
    post["pillar_correlation"] = pillar_correlation(post["pillar"], active)
    idata.posterior = post
    return idata


def pillar_correlation(pillar: xr.DataArray, active: np.ndarray) -> xr.DataArray:
    """Per draw, the correlation of each pair of pillars over the active unit-years."""
    values = pillar.transpose("chain", "draw", "unit", "year", "dimension").values
    x = values[:, :, active, :]  # (chain, draw, cell, dimension)
    x = x - x.mean(axis=2, keepdims=True)
    cov = np.einsum("cdni,cdnj->cdij", x, x)
    sd = np.sqrt(np.einsum("cdii->cdi", cov))
    corr = cov / (sd[..., :, None] * sd[..., None, :])
    names = pillar["dimension"].values
    return xr.DataArray(
        corr,
        dims=("chain", "draw", "dimension", "dimension_other"),
        coords={
            "chain": pillar["chain"].values,
            "draw": pillar["draw"].values,
            "dimension": names,
            "dimension_other": names,
        },
        name="pillar_correlation",
    )


def pillar_table(post: xr.Dataset, hdi_prob: float, unit_coords: tuple[str, str],
                 active: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Tidy posterior summary of each pillar per unit-year: ``member, alliance, year,
    dimension, mean, sd, hdi_low, hdi_high`` (only active unit-years when ``active`` is
    given)."""
    import arviz as az

    if "pillar" not in post:
        raise KeyError("pillar")
    pillar = post["pillar"].transpose("chain", "draw", "unit", "year", "dimension")
    hdi = az.hdi(pillar, hdi_prob=hdi_prob)["pillar"].transpose("unit", "year", "dimension", "hdi")
    n_u, n_t, n_k = (pillar.sizes[d] for d in ("unit", "year", "dimension"))
    table = pd.DataFrame(
        {
            "member": np.repeat(pillar[unit_coords[0]].values, n_t * n_k),
            "alliance": np.repeat(pillar[unit_coords[1]].values, n_t * n_k),
            "year": np.tile(np.repeat(pillar.year.values, n_k), n_u),
            "dimension": np.tile(pillar.dimension.values, n_u * n_t),
            "mean": pillar.mean(("chain", "draw")).values.ravel(),
            "sd": pillar.std(("chain", "draw")).values.ravel(),
            "hdi_low": hdi.sel(hdi="lower").values.ravel(),
            "hdi_high": hdi.sel(hdi="higher").values.ravel(),
        }
    )
    if active is not None:
        table = table[np.repeat(active.ravel(), n_k)]
    return table.reset_index(drop=True)


def deviations(post: xr.Dataset) -> xr.DataArray:
    """The model's ``pillar_deviation`` (dimension, unit, year), ``pillar - credibility``
    (a result does not keep it).  A static pillar's later coordinates, which nothing
    reads, come back as its first year's value (they do not enter the likelihood)."""
    dev = post["pillar"] - post["credibility"]
    return dev.transpose("chain", "draw", "dimension", "unit", "year")
