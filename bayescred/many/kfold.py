"""Cross-validation by refitting: K-fold and leave-future-out, through :func:`fit_many`.

Each fold refits the result's spec on the panel without the held-out observations (same
units, years and signal scales, so every fit measures on one scale) and scores the
held-out signal values by their log predictive density, averaged over the refit's
draws (log mean exp).  Scores are on the data's scale (the Jacobian of a standardised
or log-standardised signal's transform added), as bayescred's LOO is, so variants that
differ in a family compare.  Crises stay in every training set -- their outcomes also
move reputation, which a panel cannot keep without the crisis -- and are not scored.

The result is an ArviZ ``ELPDData`` in PSIS-LOO's layout (``elpd_loo``, ``p_loo``,
``loo_i``: ArviZ's compare reads only those names), with a ``method`` entry naming the
cross-validation, so ``az.compare`` takes it.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..families import FAMILIES
from .batch import fit_many
from .jobs import Job

BY = ("unit", "year", "cell")


def kfold(result, k: int = 10, by: str = "unit", client=None, *, seed: int = 0,
          out=None, n_workers: int | None = None, progress: bool = True, **sampler):
    """K-fold cross-validation of ``result``: k refits, each without one fold.

    Parameters
    ----------
    result : CredibilityResult
        The fit to cross-validate (its spec, panel and scales are refitted).
    k : int
        Folds.
    by : {"unit", "year", "cell"}
        What a fold holds out whole: commitments (all their observations), years (every
        unit's), or unit-years; groups are dealt to folds at random (``seed``).
    client : distributed.Client, str or None
        Where to fit (see :func:`~bayescred.many.fit_many`).
    **sampler
        ``draws``, ``tune``, ``chains`` of the refits (the result's spec's by default).

    Returns
    -------
    arviz.ELPDData
        ``elpd_loo`` (the K-fold ELPD), ``se``, ``p_loo`` (the result's own log
        predictive density minus that ELPD), pointwise ``loo_i`` in the panel's
        observation order, and ``method`` ("10-fold by unit").

    Examples
    --------
    >>> import arviz as az                                               # doctest: +SKIP
    >>> az.compare({"walk": bc.kfold(walk, k=5), "ar1": bc.kfold(ar1, k=5)})  # doctest: +SKIP
    """
    if by not in BY:
        raise SpecError(f"kfold: by must be one of {', '.join(BY)}, got {by!r}")
    _check_scorable(result, "kfold")
    obs = result.panel.observations
    folds = fold_of_rows(obs, len(result.panel.years), k, by, seed)
    jobs = [_job(result, obs[folds != f], f"fold-{f:02d}", seed + f, sampler)
            for f in range(k)]
    fits = fit_many(jobs, client, out=out, n_workers=n_workers, progress=progress)
    _require_all(fits, "kfold")
    elpd_i = np.full(len(obs), np.nan)
    for f, path in enumerate(fits.paths):
        held = folds == f
        elpd_i[held] = _held_out_density(result, _posterior(path), obs[held])
    return _elpd_data(f"{k}-fold by {by}", elpd_i, _lpd(result), _n_samples(result, sampler))


def lfo(result, start: int, horizon: int = 1, client=None, *, seed: int = 0, out=None,
        n_workers: int | None = None, progress: bool = True, **sampler):
    """Leave-future-out cross-validation: refit on the years up to T, score T+1..T+h.

    For every T from ``start`` to the last year minus ``horizon``, the result's spec is
    refitted on the observations and crises of years <= T, credibility is forecast
    ``horizon`` years on (the latent dynamics and reputation simulated forward, as
    :func:`bayescred.forecast` does), and each observation of years T+1..T+h is scored.
    An observation scored from several T (horizon > 1) is counted once per T.

    Returns
    -------
    arviz.ELPDData
        ``elpd_loo`` (the LFO ELPD), ``se``, pointwise ``loo_i`` (one per score) and
        ``method``; ``p_loo`` is NaN (no single full-data fit to compare with).
    """
    panel = result.panel
    years = panel.years.astype(int)
    _check_scorable(result, "lfo")
    if not isinstance(horizon, int) or horizon < 1:
        raise SpecError(f"lfo: horizon must be a positive integer, got {horizon!r}")
    if start not in years or start + horizon > years[-1]:
        raise SpecError(f"lfo: start must be a year of the panel ({years[0]}-{years[-1]}) "
                        f"with {horizon} year(s) after it, got {start!r}")
    origins = list(range(start, int(years[-1]) - horizon + 1))
    jobs = [_job(result, panel.observations[panel.observations.year <= t], f"lfo-{t}",
                 seed + i, sampler, until=t) for i, t in enumerate(origins)]
    fits = fit_many(jobs, client, out=out, n_workers=n_workers, progress=progress)
    _require_all(fits, "lfo")
    scores = []
    for job, t, path in zip(jobs, origins, fits.paths):
        ahead = panel.observations[(panel.observations.year > t)
                                   & (panel.observations.year <= t + horizon)]
        scores.append(_forecast_density(result, _posterior(path), job.panel, ahead, horizon,
                                        seed))
    method = f"leave-future-out from {start}, {horizon} year(s) ahead"
    return _elpd_data(method, np.concatenate(scores), None, _n_samples(result, sampler))


def _check_scorable(result, what: str) -> None:
    """Refuse, in one line, a model whose signals read more than credibility (pillars, year
    effects, unit offsets, member-level signals): held-out rows are scored here on their
    unit's credibility, which is not what such a signal reads."""
    from ..structure import model_structure

    structure = model_structure(result.spec, result.panel)
    if structure.signal_latent:
        parts = [name for name, on in (
            ("[dimensions]", structure.dimensions), ("year_effects", structure.year_signals),
            ("unit_offsets", structure.offset_signals),
            ('level = "member"', structure.member_signals)) if on]
        raise SpecError(
            f"{what}: not built for a spec with {', '.join(parts)}: held-out rows are scored "
            "on their unit's credibility, which is not what those signals read; compare "
            "such models by PSIS-LOO (bc.compare)"
        )


def fold_of_rows(obs: pd.DataFrame, n_years: int, k: int, by: str, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every observation row: its unit, year or unit-year group,
    groups dealt to folds in a random order."""
    key = {"unit": obs.unit_idx, "year": obs.year_idx,
           "cell": obs.unit_idx * n_years + obs.year_idx}[by].to_numpy(int)
    groups = np.unique(key)
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= len(groups):
        raise SpecError(f"kfold: k must be an integer from 2 to the {len(groups)} "
                        f"{by}s of the panel, got {k!r}")
    order = np.random.default_rng(seed).permutation(groups)
    fold = dict(zip(order, np.arange(len(order)) % k))
    return np.array([fold[g] for g in key])


def _job(result, observations, name, seed, sampler, until=None) -> Job:
    """A refit of ``result``'s spec on ``observations`` (same units, years and scales;
    ``until``: also crises and years cut after that year)."""
    panel = result.panel
    fields = {"observations": observations}
    if until is not None:
        fields["crises"] = panel.crises[panel.crises.year <= until]
        fields["years"] = panel.years[panel.years <= until]
    train = dataclasses.replace(panel, **fields)
    overrides = {k: v for k, v in sampler.items() if v is not None}
    unknown = sorted(set(overrides) - {"draws", "tune", "chains"})
    if unknown:
        raise SpecError(f"unknown sampler setting(s) {', '.join(unknown)}; valid: draws, "
                        "tune, chains")
    return Job(result.spec, train, seed=seed, overrides={**overrides, "scales": result.scales},
               name=name)


def _require_all(fits, what: str) -> None:
    failed = fits.table[~fits.ok]
    if len(failed):
        row = failed.iloc[0]
        raise SpecError(f"{what}: refit {row['name']} failed: {row.error}")


def _posterior(path):
    """A refit's posterior, read into memory (the refit shares the result's spec and
    scales; its panel is the training panel, which the caller holds)."""
    import arviz as az

    return az.from_netcdf(path).posterior.load()


def _held_out_density(result, post, rows: pd.DataFrame) -> np.ndarray:
    """log mean_s p(y_i | draw s) of held-out rows, from the refit's stored credibility."""
    from ..numpy_model import stack_draws

    cred = stack_draws(post, "credibility")
    at = (rows.unit_idx.to_numpy(int), rows.year_idx.to_numpy(int))
    return _density(result, post, rows, cred[:, at[0], at[1]])


def _forecast_density(result, post, train, rows: pd.DataFrame, horizon: int,
                      seed: int) -> np.ndarray:
    """As :func:`_held_out_density`, with credibility forecast ``horizon`` years past the
    training panel ``train``."""
    from ..numpy_model import rebuild

    latent, mean, sd = rebuild(post, train, result.spec, train.active_mask(), horizon, seed)
    cred = (latent.raw - mean[:, None, None]) / sd[:, None, None]
    return _density(result, post, rows, cred[:, rows.unit_idx.to_numpy(int),
                                             rows.year_idx.to_numpy(int)])


def _density(fit, post, rows: pd.DataFrame, cred: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp

    from ..numpy_model import Measurement

    trials = rows["trials"].to_numpy(float) if "trials" in rows else np.zeros(len(rows))
    trials = np.nan_to_num(trials)
    loglik = Measurement(post, fit).pointwise(
        rows.signal.to_numpy(), rows.value.to_numpy(float), trials, cred)
    loglik = loglik + _jacobian(fit, rows)
    return logsumexp(loglik, axis=0) - np.log(loglik.shape[0])


def _jacobian(fit, rows: pd.DataFrame) -> np.ndarray:
    """log |dz/dy| of each row's transform onto the likelihood's scale (see
    :func:`bayescred.predictive.log_likelihood`)."""
    jac = np.zeros(len(rows))
    for name, sig in fit.spec.signals.items():
        here = (rows.signal == name).to_numpy()
        transform, scale = FAMILIES[sig.family].transform, fit.scales[name].scale
        if transform == "standardise":
            jac[here] = -np.log(scale)
        elif transform == "log_standardise":
            jac[here] = -np.log(scale) - np.log(rows.value.to_numpy(float)[here])
    return jac


def _lpd(result) -> float | None:
    """The result's own log predictive density of its signal observations (for p_kfold)."""
    from scipy.special import logsumexp

    from ..predictive import FOLLOWTHROUGH

    ll = result.log_likelihood()
    ll = ll.isel(obs=(ll.signal != FOLLOWTHROUGH).values)
    values = ll.values.reshape(-1, ll.sizes["obs"])
    return float((logsumexp(values, axis=0) - np.log(values.shape[0])).sum())


def _n_samples(result, sampler: dict) -> int:
    s = result.spec.sampler
    return int((sampler.get("draws") or s.draws) * (sampler.get("chains") or s.chains))


def _elpd_data(method: str, pointwise: np.ndarray, lpd: float | None, n_samples: int):
    """An ArviZ ELPDData in az.loo's layout (``elpd_loo``, ``p_loo``, ``loo_i``: the
    names az.compare reads; ArviZ 0.x compares nothing else), with ``method`` saying
    which cross-validation it holds."""
    import xarray as xr

    elpd = float(pointwise.sum())
    se = float(np.sqrt(len(pointwise) * np.var(pointwise)))
    p = float(lpd - elpd) if lpd is not None else float("nan")
    return _elpd_class()(
        data=[elpd, se, p, n_samples, len(pointwise), False,
              xr.DataArray(pointwise, dims=["obs"]), "log", method],
        index=["elpd_loo", "se", "p_loo", "n_samples", "n_data_points", "warning", "loo_i",
               "scale", "method"],
    )


@functools.lru_cache(maxsize=1)
def _elpd_class():
    """The CrossValidation class (built on first use: it subclasses ArviZ's)."""
    import arviz as az

    class CrossValidation(az.ELPDData):
        """Cross-validated ELPD: az.loo's layout, so az.compare takes it; ``method``
        names the cross-validation (e.g. "10-fold by unit")."""

        def __str__(self) -> str:
            return (f"{self['method']} cross-validation: {self['n_data_points']} held-out "
                    f"observations, {self['n_samples']} draws per refit\n"
                    f"elpd {self['elpd_loo']:.2f} (se {self['se']:.2f}), "
                    f"p {self['p_loo']:.2f}")

        __repr__ = __str__

    return CrossValidation

