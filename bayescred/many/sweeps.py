"""Sweeps: the same data under other priors (which conclusions move?), and what-if
scenarios answered side by side, each through Dask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BayescredError, SpecError
from .batch import ManyFits, fit_many
from .cluster import connected
from .jobs import Job, _one_line

MOVED_SD = 0.5  # a posterior mean moves when it shifts by this many baseline sds
MOVED_PROB = 0.1  # a probability moves when it shifts by this much


@dataclass(frozen=True)
class Sensitivity:
    """The outcome of :func:`prior_sensitivity`: ``table`` (one row per prior variant
    and conclusion: value, baseline value, change, moved) and the fits."""

    table: pd.DataFrame
    fits: ManyFits

    def moved(self) -> pd.DataFrame:
        """The conclusions that move under some variant's priors."""
        return self.table[self.table.moved]


def with_priors(spec, priors: dict, name: str):
    """``spec`` with its [priors] table updated by ``priors``, validated as a spec is (a
    SpecError naming the variant and the prior otherwise)."""
    from ..spec import spec_from_dict

    if not isinstance(priors, dict):
        raise SpecError(f"prior variant {name!r}: expected a table of priors by name")
    raw = spec.to_dict()
    raw["sampler"] = {k: v for k, v in raw["sampler"].items() if v is not None}
    raw["data"] = {k: v for k, v in raw["data"].items() if v is not None}
    raw["priors"] = {**raw.get("priors", {}), **priors}
    return spec_from_dict(raw, base_dir=spec.base_dir, source=f"prior variant {name!r}")


def prior_sensitivity(spec, panel, variants: dict[str, dict], client=None, *, seed: int = 0,
                      out=None, n_workers: int | None = None, progress: bool = True,
                      **sampler) -> Sensitivity:
    """Fit the same panel under the spec's priors and under each variant's.

    Parameters
    ----------
    spec : ModelSpec
        The baseline model (its own priors: variant ``"baseline"``).
    panel : Panel or None
        The data (the spec's [data] files when None).
    variants : dict
        Variant name -> prior overrides by name, e.g.
        ``{"tight_kappa": {"kappa_violate_raw": {"dist": "HalfNormal", "sigma": 0.2}}}``.
    **sampler
        ``draws``, ``tune``, ``chains`` of every fit.

    Returns
    -------
    Sensitivity
        Conclusions compared: P(kappa_violate > kappa_honor) and the posterior mean of
        every structural scalar; a conclusion *moves* when a probability shifts by more
        than ``MOVED_PROB`` or a mean by more than ``MOVED_SD`` baseline posterior sds.
    """
    if "baseline" in variants:
        raise SpecError("prior variants: 'baseline' names the spec's own priors; rename it")
    specs = {"baseline": spec, **{n: with_priors(spec, p, n) for n, p in variants.items()}}
    overrides = {k: v for k, v in sampler.items() if v is not None}
    jobs = [Job(s, panel, seed=seed, overrides=overrides, name=f"prior-{n}")
            for n, s in specs.items()]
    fits = fit_many(jobs, client, out=out, n_workers=n_workers, progress=progress)
    return Sensitivity(_conclusions(fits, list(specs)), fits)


def _conclusions(fits: ManyFits, names: list[str]) -> pd.DataFrame:
    import arviz as az

    from .calibrate import structural_variables

    values = {}
    for name, row in zip(names, fits.table.itertuples()):
        if row.status == "ok":
            values[name] = _summary(az.from_netcdf(row.path).posterior, structural_variables)
    if "baseline" not in values:
        raise SpecError(f"prior sensitivity: the baseline fit failed: {fits.table.error[0]}")
    base = values["baseline"]
    rows = []
    for name, summary in values.items():
        for quantity, (value, _) in summary.items():
            if quantity not in base:
                continue
            ref, ref_sd = base[quantity]
            change = value - ref
            limit = MOVED_PROB if quantity.startswith("P(") else MOVED_SD * ref_sd
            rows.append({"variant": name, "quantity": quantity, "value": value,
                         "baseline": ref, "change": change,
                         "moved": bool(abs(change) > limit)})
    return pd.DataFrame(rows)


def _summary(post, structural) -> dict[str, tuple[float, float]]:
    """Conclusion -> (value, posterior sd): P(kappa_violate > kappa_honor) (per crisis kind
    where the kappas have kinds) and the posterior mean of every structural scalar and of
    each element of a vector over one labelled dimension (``mean kappa_honor_raw[war]``)."""
    out = {}
    if "kappa_violate" in post and "kappa_honor" in post:
        costlier = post.kappa_violate > post.kappa_honor
        for label, da in _elements(costlier):
            out[f"P(kappa_violate > kappa_honor){label}"] = (float(da.mean()), 0.0)
    for name in structural(post):
        for label, da in _elements(post[name]):
            out[f"mean {name}{label}"] = (float(da.mean()), float(da.std()))
    return out


def _elements(da):
    """(label, values) of a scalar (label "") or of each element of a vector over one
    dimension (label "[coordinate]"); nothing for larger arrays."""
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    if not extra:
        return [("", da)]
    if len(extra) > 1:
        return []
    dim = extra[0]
    return [(f"[{v}]", da.sel({dim: v})) for v in da[dim].values]


# ---------------------------------------------------------------------------- what-if


def whatif_many(result_path, scenarios, out, client=None, *, engine: str = "exact",
                horizon: int | None = None, seed: int | None = None,
                n_workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Answer several what-if scenarios about one result side by side on Dask.

    Each scenario's answer is written to ``out/<scenario file stem>/`` (contrast.csv,
    trajectories.csv, whatif.json, whatif.png), as ``bayescred whatif`` writes one.
    Scenarios are read and checked first (a bad one fails the call, naming its file,
    before any work is sent).  Returns one row per scenario: name, status, engine,
    folder, seconds, largest_change (the largest |mean change| of credibility over
    unit-years), error.
    """
    from distributed import progress as progress_bar
    from distributed import wait

    from ..results import CredibilityResult
    from ..scenario import load_scenario

    result_path = Path(result_path).resolve()
    chains = CredibilityResult.load(result_path).spec.sampler.chains  # fails before work
    plans = [load_scenario(s) for s in scenarios]
    folders = [Path(out).resolve() / Path(s).stem for s in scenarios]
    if len(set(folders)) < len(folders):
        raise SpecError("whatif: two scenario files share a name; their answers would "
                        "overwrite each other")
    with connected(client, n_workers=n_workers, chains=chains) as dask_client:
        futures = [dask_client.submit(_answer, str(result_path), plan, str(folder), engine,
                                      horizon, seed, pure=False)
                   for plan, folder in zip(plans, folders)]
        if progress:
            progress_bar(futures)
        wait(futures)
        rows = [_row(f, Path(s).stem) for f, s in zip(futures, scenarios)]
    return pd.DataFrame(rows, columns=["scenario", "status", "engine", "folder", "seconds",
                                       "largest_change", "error"])


def _answer(result_path: str, plan, folder: str, engine: str, horizon, seed) -> dict:
    """Worker: answer one scenario and save it; a failure is returned, not raised."""
    from ..results import CredibilityResult
    from ..whatif import whatif

    start = time.perf_counter()
    try:
        fitted = CredibilityResult.load(result_path)
        answer = whatif(fitted, plan, engine=engine, horizon=horizon, seed=seed,
                        progress=False)
        answer.save(folder)
        change = float(np.nanmax(np.abs(answer.contrast()["mean"])))
        return {"status": "ok", "engine": answer.engine, "folder": folder,
                "seconds": time.perf_counter() - start, "largest_change": change, "error": ""}
    except Exception as exc:  # noqa: BLE001 - one scenario's failure is its row
        message = str(exc) if isinstance(exc, BayescredError) else _one_line(exc)
        return {"status": "failed", "folder": folder, "seconds": time.perf_counter() - start,
                "error": " ".join(message.split())}


def _row(future, name: str) -> dict:
    try:
        return {"scenario": name, **future.result()}
    except Exception as exc:  # the worker died
        return {"scenario": name, "status": "failed", "error": _one_line(exc)}
