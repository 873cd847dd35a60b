"""The pillars of credibility in a fitted ``[dimensions]`` model: what a result keeps of
them, their correlations, and their tidy table.

The posterior variable ``pillar`` (unit, year, dimension) is overall credibility plus the
pillar's own deviation (``model._pillar_deviations``), on credibility's scale.  How
strongly the pillars move together is a posterior quantity of its own,
``pillar_correlation`` (dimension, dimension_other): per draw, the correlation of two
pillars over the panel's active unit-years.  The sampler's coordinates ``pillar_state``
(as large as ``pillar`` itself) are not kept: they are ``pillar`` (dynamic pillars) or
``pillar - credibility`` (static ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

# the sampler's coordinates, which a result does not keep (see module docstring)
SAMPLER_ONLY = ("pillar_state", "pillar_log_scale", "pillar_location")


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


def sampler_coordinates(post: xr.Dataset, spec) -> dict[str, xr.DataArray]:
    """The model's ``pillar_state``, ``pillar_log_scale`` and ``pillar_location`` from what a
    result keeps (``model._pillars``, ``model._read_pillars``): a dynamic pillar's state is
    the pillar as signals read it, its log scale and location those of the map back to the
    common level's scale (``raw = read * sd + mean``); a static pillar's state is its
    deviation from the common level ``credibility_common`` (the first year's; the later
    coordinates, which nothing reads, as the same value), its log scale and location 0
    (unused)."""
    pillar = post["pillar"].transpose("chain", "draw", "dimension", "unit", "year")
    static = [d.dynamics == "static" for d in spec.dimensions.values()]
    flag = xr.DataArray(static, dims="dimension", coords={"dimension": pillar["dimension"]})
    dev = pillar * post["pillar_sd_raw"] + post["pillar_mean_raw"] - post["credibility_common"]
    state = xr.where(flag, dev, pillar).transpose("chain", "draw", "dimension", "unit", "year")
    order = ("chain", "draw", "dimension")
    log_scale = xr.where(flag, 0.0, np.log(post["pillar_sd_raw"])).transpose(*order)
    location = xr.where(flag, 0.0, post["pillar_mean_raw"]).transpose(*order)
    return {"pillar_state": state, "pillar_log_scale": log_scale, "pillar_location": location}
