"""Fitted results: credibility tables, parameter summaries, save/load as one netCDF file.

A result file is an ArviZ InferenceData netCDF that ArviZ reads as it is
(``az.from_netcdf``, no bayescred needed): ``az.summary``, ``az.loo``, ``az.compare`` and
``az.plot_ppc`` work on it.  Its groups (result format 2):

``posterior``
    The draws.  ``credibility`` has dims ``(chain, draw, unit, year)``; the ``unit``
    dimension carries the coordinates ``unit_member`` and ``unit_alliance`` (which member
    and alliance each commitment is), so that the ``member`` and ``alliance`` dimensions
    (of ``mu_alliance``, reputation) keep their own labels: ``mu_alliance.sel(alliance=
    "NATO")`` works.  Its attributes carry the spec (JSON), the signal scales, timings,
    package versions and ``bayescred_format``.
``sample_stats``
    The sampler's statistics (divergences, energy, tree depth, ...).
``observed_data``
    One variable per signal (and ``followthrough``, the crises' outcomes: 0 violated,
    1 honoured; with partial outcomes 0/1/2), named after the signal, on the data scale,
    with dimension ``<signal>_obs`` and coordinates ``<signal>_member``,
    ``<signal>_alliance``, ``<signal>_year``.  The index of ``<signal>_obs`` is each
    row's position on ``obs`` (the log-likelihood's rows).  Counts and codes are integers.
``posterior_predictive``
    Replicated data, variables and dimensions as in ``observed_data``, for a thinned set of
    draws: every k-th draw of each chain, at most ``[output] predictive_draws`` (default
    500) in all, seed 0 (attributes ``bayescred_max_draws``, ``bayescred_seed``).  The same
    draws :func:`bayescred.diagnose` checks.  0 saves none.  Stored compactly: float32,
    and int32 counts where they fit.
``log_likelihood``
    One variable, ``y``, dims ``(chain, draw, obs)``: the pointwise log-likelihood of every
    observed value (all signals and crisis outcomes) for every draw, on the data scale
    (transforms' Jacobians included), so ``az.loo(idata)`` needs no ``var_name``.  Stored
    as float32 (it is most of the file: 4 bytes x draws x observations; float32 moves an
    elpd_loo by ~1e-4, far below its standard error); bayescred reads it back as float64.
    Rows
    carry ``obs_signal``, ``obs_member``, ``obs_alliance`` and ``obs_year``; LOO per signal
    is :meth:`bayescred.diagnostics.DiagnosticReport.loo` (or
    :func:`bayescred.loo.loo_table`).  ``[output] log_likelihood = false`` (or
    ``save(..., log_likelihood=False)``, ``bayescred fit --no-log-likelihood``) leaves it
    out for huge panels; bayescred then recomputes it when it needs it.
``constant_data``
    The design: ``member_index`` and ``alliance_index`` per unit (positions on the
    ``member`` and ``alliance`` dimensions), ``active`` (the unit-years credibility is
    reported for), ``covariates`` per unit where the spec has any, and ``<signal>_trials``
    for binomial signals.
``bayescred_data``
    The tidy input tables, so a result can be reported on or re-conditioned for a scenario
    without the original files.  No pickle.

Files of result format 1 (bayescred 0.1.0 before this layout: no observed_data,
log_likelihood, constant_data or posterior_predictive; coordinates ``member`` and
``alliance`` on ``unit``) still load: the coordinates are renamed on reading.

Reading a result needs only xarray and netCDF4: :meth:`CredibilityResult.load` reads the
file's groups as xarray Datasets (xarray's ``netcdf4`` engine), and turns them into an
``arviz.InferenceData`` only when ``result.idata`` is first used, so the what-if fast
engine (which reads ``result.posterior``) never imports ArviZ.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .design import SignalScale, scales_to_dict
from .errors import BayescredError, ResultError, SpecError
from .panel import Panel, load_panel
from .result_groups import (
    _DATA_GROUP,
    _SAMPLE_DIMS,
    UNIT_COORDS,
    ResultGroups,
    _by_signal,
    _constant_data,
    _dataset_to_tables,
    _log_likelihood_from_group,
    _log_likelihood_group,
    _predictive_from_group,
    _tables_to_dataset,
)
from .runtime import Timing
from .safe_text import html_lines, plain, plural
from .spec import ModelSpec, spec_from_dict

if TYPE_CHECKING:
    import arviz as az


FORMAT = 2  # bump when a result file written earlier can no longer be read correctly
READABLE_FORMATS = (1, 2)  # 1: coordinates renamed on reading (see _upgrade_format_1)
DEFAULT_PROB = 0.9  # the package-wide interval probability
PREDICTIVE_DRAWS = 500  # default number of saved (and checked) posterior predictive draws


def package_versions() -> dict[str, str]:
    out = {}
    for pkg in ("bayescred", "pymc", "pytensor", "arviz", "nutpie", "numpy", "pandas", "xarray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def interval_prob(hdi_prob: float | None, prob: float | None, where: str) -> float:
    """The interval probability of a call that takes ``hdi_prob`` (as ArviZ names it) and
    still accepts the old keyword ``prob``, with a DeprecationWarning."""
    if prob is not None:
        warnings.warn(
            f"{where}: the keyword `prob` is deprecated; use `hdi_prob` (as in ArviZ)",
            DeprecationWarning,
            stacklevel=3,
        )
        if hdi_prob is not None and hdi_prob != prob:
            raise TypeError(f"{where}: give `hdi_prob` only (`prob` is its old name)")
        hdi_prob = prob
    return DEFAULT_PROB if hdi_prob is None else float(hdi_prob)


@dataclass(frozen=True)
class Partial:
    """An interrupted fit: ``drawn`` complete draws (all chains) of the ``requested``.

    A result holding it was kept on request (``bayescred fit --save-partial``); its file
    carries the attribute ``bayescred_partial``, and :meth:`CredibilityResult.load`,
    ``repr`` and ``bayescred report`` say so.  Chains are cut to the shortest one."""

    drawn: int
    requested: int

    def text(self) -> str:
        return f"partial result: interrupted after {self.drawn} of {self.requested} draws"

    def to_json(self) -> str:
        return json.dumps({"drawn": self.drawn, "requested": self.requested})


@dataclass(repr=False)
class CredibilityResult:
    """A fitted credibility model.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior with ``credibility`` of dims ``(chain, draw, unit, year)`` and
        ``unit_member``/``unit_alliance`` coordinates on ``unit``.  A result read from a
        file builds it on first use (importing ArviZ); :attr:`posterior` reads the
        posterior group without ArviZ.  :meth:`to_inference_data` adds the groups a saved
        file holds (observed_data, log_likelihood, ...).
    spec : ModelSpec
        The spec that was fitted (sampler settings as used).
    panel : Panel
        The data that were fitted.
    scales : dict
        Per-signal transform constants (reused by scenarios).
    timing : Timing
        Compile and sampling seconds.
    versions : dict
        Package versions of the fit.
    partial : Partial or None
        Set where the fit was interrupted and the draws it had were kept anyway; such a
        result is saved only with ``save(..., partial=True)``.

    Examples
    --------
    >>> result = bc.fit("models/us_alliances.toml")                 # doctest: +SKIP
    >>> result.credibility(hdi_prob=0.9).head()                     # doctest: +SKIP
    >>> result.summary()                                            # doctest: +SKIP
    >>> result.save("result.nc")                                    # doctest: +SKIP
    """

    idata: az.InferenceData
    spec: ModelSpec
    panel: Panel
    scales: dict[str, SignalScale]
    timing: Timing
    versions: dict[str, str] = field(default_factory=package_versions)
    partial: Partial | None = None

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group, without importing ArviZ (see :attr:`idata`)."""
        return self.__dict__["_idata"].posterior

    # ------------------------------------------------------------------ display

    def _lines(self) -> list[str]:
        panel, spec, post = self.panel, self.spec, self.posterior
        years = panel.years
        span = f" ({years[0]}-{years[-1]})" if len(years) else ""
        backend = spec.sampler.backend
        lines = [
            f"CredibilityResult: model {plain(spec.name)!r} ({spec.latent.dynamics} dynamics, "
            f"reputation {'on' if spec.reputation.enabled else 'off'})",
            f"  data: {len(panel.units)} units x {len(years)} years{span}, "
            f"{len(panel.observations)} observations of {len(spec.signals)} signals, "
            f"{plural(len(panel.crises), 'crisis', 'crises')}",
            f"  posterior: {post.sizes['chain']} chains x {post.sizes['draw']} draws "
            f"({backend}); sampling {self.timing.sample_s:.1f} s",
            f"  groups: {', '.join(self._group_names())}",
        ]
        if self.partial is not None:
            lines.append(f"  {self.partial.text()}: not the requested posterior")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        return html_lines(self._lines())

    def text(self) -> str:
        """A short plain-text account: the model, the data, the sampler and the headline
        effects (reputation after honoured and violated crises)."""
        lines = self._lines()
        post = self.posterior
        if "kappa_violate" not in post:
            return "\n".join(lines)
        kinds = _kinds(post)
        for kind in kinds:
            label = f"[{kind}]" if len(kinds) > 1 else ""
            for name in ("kappa_honor", "kappa_violate"):
                draws = _of_kind(post[name], kind)
                lines.append(
                    f"  {name}{label}: {float(draws.mean()):.3f} (sd {float(draws.std()):.3f})"
                )
            p = self.prob_violation_costlier(kind)
            lines.append(f"  P(kappa_violate{label} > kappa_honor{label}) = {p:.2f}")
        return "\n".join(lines)

    def _group_names(self) -> list[str]:
        return [g for g in self.__dict__["_idata"].groups() if g != _DATA_GROUP]

    # ------------------------------------------------------------------ tables

    def credibility(
        self,
        hdi_prob: float | None = None,
        active_only: bool = True,
        *,
        prob: float | None = None,
    ) -> pd.DataFrame:
        """Tidy posterior summary of credibility per unit-year.

        Parameters
        ----------
        hdi_prob : float, optional
            Probability of the highest-density interval (default 0.9, ``DEFAULT_PROB``).
        active_only : bool
            List only the years between each unit's first and last evidence (default);
            the others are extrapolation.
        prob : float, optional
            Deprecated name of ``hdi_prob``.

        Returns
        -------
        DataFrame
            Columns ``member, alliance, year, mean, sd, hdi_low, hdi_high``.
        """
        import arviz as az

        hdi_prob = interval_prob(hdi_prob, prob, "credibility")
        cred = self.idata.posterior["credibility"]
        hdi = az.hdi(cred, hdi_prob=hdi_prob)["credibility"]
        table = pd.DataFrame(
            {
                "member": np.repeat(cred[UNIT_COORDS[0]].values, cred.sizes["year"]),
                "alliance": np.repeat(cred[UNIT_COORDS[1]].values, cred.sizes["year"]),
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

    def pillars(self, hdi_prob: float | None = None, active_only: bool = True) -> pd.DataFrame:
        """Tidy posterior summary of each pillar ([dimensions]) per unit-year: columns
        ``member, alliance, year, dimension, mean, sd, hdi_low, hdi_high``; a
        :class:`~bayescred.errors.SpecError` for a one-factor model."""
        from .pillars import pillar_table

        if "pillar" not in self.posterior:
            raise SpecError(f"model {self.spec.name!r} has no [dimensions]: no pillars to show")
        hdi_prob = interval_prob(hdi_prob, None, "pillars")
        active = self.panel.active_mask() if active_only else None
        return pillar_table(self.posterior, hdi_prob, UNIT_COORDS, active)

    def summary(self, hdi_prob: float | None = None, *, prob: float | None = None) -> pd.DataFrame:
        """ArviZ's summary (mean, sd, HDI, R-hat, ESS) of the structural parameters:
        reputation effects, persistence, scales, alliance baselines, loadings.

        Credibility itself is :meth:`credibility`; everything is in
        ``az.summary(result.idata)``.
        """
        import arviz as az

        hdi_prob = interval_prob(hdi_prob, prob, "summary")
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
                "mu_alliance",
                "gamma",
                "alpha",
                "loading",
                "alpha_followthrough",
                "loading_followthrough",
                "sigma_pillar",
                "phi_pillar",
                "sigma_year",
                "sigma_offset",
                "beta_followthrough",
            )
            if v in self.idata.posterior
        ]
        return az.summary(self.idata, var_names=names, hdi_prob=hdi_prob)

    def parameters(
        self, hdi_prob: float | None = None, *, prob: float | None = None
    ) -> pd.DataFrame:
        """The same table as :meth:`summary` (its older name)."""
        return self.summary(interval_prob(hdi_prob, prob, "parameters"))

    def prob_violation_costlier(self, kind: str | None = None) -> float | None:
        """P(kappa_violate > kappa_honor): is reneging punished more than honouring pays?

        Parameters
        ----------
        kind : str, optional
            The crisis kind whose kappas to compare; by default the only kind, or, with
            several, the comparison pooled over kinds (each kind's kappas weighted by its
            share of the crises).
        """
        post = self.posterior
        if "kappa_violate" not in post:
            return None
        kinds = _kinds(post)
        if kind is not None or len(kinds) == 1:
            kind = kinds[0] if kind is None else kind
            honor, violate = _of_kind(post.kappa_honor, kind), _of_kind(post.kappa_violate, kind)
            return float((violate > honor).mean())
        share = self.panel.crises["kind"].value_counts(normalize=True)
        weight = xr.DataArray(
            share.reindex(post.coords["crisis_kind"].values).to_numpy(), dims="crisis_kind"
        )
        pooled = ((post.kappa_violate - post.kappa_honor) * weight).sum("crisis_kind")
        return float((pooled > 0).mean())

    # ------------------------------------------------------------------ pointwise quantities

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log-likelihood of every observed value, dims ``(chain, draw, obs)``,
        every draw, on the data scale (:func:`bayescred.predictive.log_likelihood`).

        Read from the file's ``log_likelihood`` group where the result has one, else
        computed (from the rebuilt model) and kept for the next call.  The ``obs``
        dimension carries ``signal``, ``member``, ``alliance``, ``year`` and ``value``.
        """
        cache = self._cache()
        if "log_likelihood" not in cache:
            from .predictive import log_likelihood, observation_rows

            rows = observation_rows(self)
            stored = self._stored_group("log_likelihood")
            if stored is not None:
                cache["log_likelihood"] = _log_likelihood_from_group(stored, rows)
            else:
                cache["log_likelihood"] = log_likelihood(self, self._model())
        return cache["log_likelihood"]

    def posterior_predictive(
        self, max_draws: int | None = PREDICTIVE_DRAWS, seed: int = 0
    ) -> xr.DataArray:
        """Posterior predictive draws of every observed value, dims ``(chain, draw, obs)``
        (:func:`bayescred.predictive.posterior_predictive`): at most ``max_draws`` draws,
        thinned evenly, reproducible with ``seed``.

        Read from the file's ``posterior_predictive`` group where it holds the same
        draws (same ``max_draws`` and ``seed``), else computed and kept.
        """
        key = ("posterior_predictive", max_draws, seed)
        cache = self._cache()
        if key not in cache:
            from .predictive import observation_rows, posterior_predictive

            rows = observation_rows(self)
            stored = self._stored_group("posterior_predictive")
            if (
                stored is not None
                and stored.attrs.get("bayescred_max_draws") == (max_draws or 0)
                and stored.attrs.get("bayescred_seed") == seed
            ):
                cache[key] = _predictive_from_group(stored, rows)
            else:
                cache[key] = posterior_predictive(self, self._model(), max_draws, seed)
        return cache[key]

    def _cache(self) -> dict:
        """Derived values (the rebuilt model, pointwise quantities): computed once, never
        part of :attr:`idata` (a result is not changed behind its caller's back)."""
        return self.__dict__.setdefault("_derived", {})

    def _model(self):
        cache = self._cache()
        if "model" not in cache:
            from .predictive import rebuild

            cache["model"] = rebuild(self)
        return cache["model"]

    def _stored_group(self, name: str) -> xr.Dataset | None:
        idata = self.__dict__["_idata"]
        return idata[name] if name in idata.groups() else None

    # ------------------------------------------------------------------ save / load

    def to_inference_data(
        self, *, log_likelihood: bool | None = None, predictive_draws: int | None = None
    ) -> az.InferenceData:
        """The fit as an ArviZ InferenceData with every group a saved file holds (see the
        module docstring): posterior (with bayescred's attributes), sample_stats,
        observed_data, constant_data, and unless switched off, log_likelihood and
        posterior_predictive.  A new object: :attr:`idata` is not changed.

        Parameters
        ----------
        log_likelihood : bool, optional
            Include the pointwise log-likelihood (default: the spec's
            ``[output] log_likelihood``, true unless set).
        predictive_draws : int, optional
            Posterior predictive draws to include (default: ``[output] predictive_draws``,
            500); 0 includes none.
        """
        import arviz as az

        from .predictive import observation_rows

        output = self.spec.output
        keep_ll = output.log_likelihood if log_likelihood is None else bool(log_likelihood)
        n_pred = output.predictive_draws if predictive_draws is None else int(predictive_draws)
        if n_pred < 0:
            raise ValueError(f"predictive_draws must be 0 or more, got {n_pred}")
        source = self.__dict__["_idata"]
        groups = {g: source[g] for g in source.groups() if g != _DATA_GROUP}
        for name in ("log_likelihood", "posterior_predictive", "observed_data", "constant_data"):
            groups.pop(name, None)
        posterior = groups["posterior"].copy()
        posterior.attrs.update(self._attrs())
        groups["posterior"] = posterior
        rows = observation_rows(self)
        families = {name: sig.family for name, sig in self.spec.signals.items()}
        groups["observed_data"] = xr.Dataset(
            _by_signal(rows.table.value.to_numpy()[None, None], rows.table, families)
        ).squeeze(_SAMPLE_DIMS, drop=True)
        groups["constant_data"] = _constant_data(self, rows)
        if keep_ll:
            groups["log_likelihood"] = _log_likelihood_group(self.log_likelihood())
        if n_pred:
            pred = self.posterior_predictive(n_pred, 0)
            ds = xr.Dataset(
                _by_signal(
                    pred.values, rows.table, families, pred.chain.values, pred.draw.values,
                    compact=True,
                )
            )
            ds.attrs.update(bayescred_max_draws=n_pred, bayescred_seed=0)
            groups["posterior_predictive"] = ds
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # groups in ArviZ's own order
            return az.InferenceData(**groups)

    def save(
        self,
        path: str | Path,
        *,
        log_likelihood: bool | None = None,
        predictive_draws: int | None = None,
        partial: bool = False,
    ) -> Path:
        """Write the result as one netCDF file that ArviZ reads as it is (see the module
        docstring for its groups); returns the path.

        Written to a temporary name first, so a failure never leaves a half-written result
        behind; the file gets the folder's usual mode (the process's umask).
        ``log_likelihood`` and ``predictive_draws`` as in :meth:`to_inference_data`
        (defaults: the spec's ``[output]`` table).

        Only a whole posterior is written: the draws the spec asked for, none NaN
        (:class:`~bayescred.errors.ResultError` otherwise).  An interrupted fit's
        result (:attr:`partial`) is written only with ``partial=True``, marked so.

        Examples
        --------
        >>> result.save("result.nc")                                  # doctest: +SKIP
        >>> idata = az.from_netcdf("result.nc")    # no bayescred needed  # doctest: +SKIP
        >>> az.loo(idata); az.plot_ppc(idata)                           # doctest: +SKIP
        """
        import arviz as az

        path = Path(path)
        self._check_complete(path, partial)
        path.parent.mkdir(parents=True, exist_ok=True)
        idata = self.to_inference_data(
            log_likelihood=log_likelihood, predictive_draws=predictive_draws
        )
        groups = {k: idata[k] for k in idata.groups()}
        groups[_DATA_GROUP] = _tables_to_dataset(self.panel.tables())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # bayescred_data: not ArviZ's group
            out = az.InferenceData(**groups)
        fd, tmp = tempfile.mkstemp(suffix=".nc.tmp", dir=path.parent)
        os.close(fd)
        try:
            # uncompressed: zlib shrinks draws of floats by ~4% and took 5 of the 6 s
            # of writing medium's 112 MB
            out.to_netcdf(tmp, engine="h5netcdf", compress=False)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is 0600 whatever the umask
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    def _check_complete(self, path: Path, partial: bool) -> None:
        """Refuse to write anything but the posterior the spec asked for: every chain's
        requested draws, no NaN (an interrupted or failed sampler returns less)."""
        post = self.posterior
        if self.partial is not None:
            if not partial:
                raise ResultError(
                    f"{path}: not written: {self.partial.text()} (save it with "
                    "partial=True, or `bayescred fit --save-partial`, to keep it marked so)"
                )
        else:
            sampler = self.spec.sampler
            chains, draws = sampler.chains, sampler.draws
            if sampler.backend == "advi":  # chains x draws independent draws, one chain
                chains, draws = 1, sampler.chains * sampler.draws
            have = (post.sizes.get("chain", 0), post.sizes.get("draw", 0))
            if have != (chains, draws):
                raise ResultError(
                    f"{path}: not written: the posterior holds {have[0]} chains x {have[1]} "
                    f"draws, the spec asked for {chains} x {draws}"
                )
        for name, values in post.data_vars.items():
            if values.dtype.kind == "f" and bool(values.isnull().any()):
                raise ResultError(
                    f"{path}: not written: posterior variable {name!r} holds NaN (an "
                    "interrupted or failed sampler)"
                )

    def _attrs(self) -> dict[str, str | int]:
        partial = {} if self.partial is None else {"bayescred_partial": self.partial.to_json()}
        return {
            **partial,
            "bayescred_format": FORMAT,
            "bayescred_spec": self.spec.to_json(),
            "bayescred_scales": json.dumps(scales_to_dict(self.scales)),
            "bayescred_timing": json.dumps(self.timing.to_dict()),
            "bayescred_versions": json.dumps(self.versions),
            "bayescred_notes": json.dumps(self.panel.notes),
        }

    @classmethod
    def load(cls, path: str | Path) -> CredibilityResult:
        """Read a result written by :meth:`save` (result format 1 or 2); refuse anything
        else with a one-line :class:`~bayescred.errors.ResultError`."""
        from . import result_trust as trust

        path = Path(path)
        if not path.is_file():
            raise ResultError(f"{path}: result file not found")
        trust.check_layout(path)  # no link out, no huge declared array: before reading
        try:
            groups = ResultGroups.from_netcdf(path)
        except Exception as exc:  # any failure to parse means: not a readable result
            raise ResultError(
                f"{path}: not a readable netCDF result file ({type(exc).__name__})"
            ) from None
        attrs = groups.posterior.attrs if "posterior" in groups else {}
        if "bayescred_format" not in attrs or _DATA_GROUP not in groups:
            raise ResultError(
                f"{path}: a netCDF file, but not a bayescred result (no posterior group with "
                f"a bayescred_format attribute, or no {_DATA_GROUP} group)"
            )
        read = trust.Attributes(path, attrs).read
        versions = read("bayescred_versions", trust.versions, {})
        written_by = versions.get("bayescred", "unknown")
        fmt = read("bayescred_format", trust.format_number)
        if fmt not in READABLE_FORMATS:
            raise ResultError(_refit_message(path, written_by, fmt))
        if fmt == 1:
            groups = groups.with_fix(_upgrade_format_1)
        spec = read("bayescred_spec", lambda v: spec_from_dict(trust.json_object(v)))
        timing = read("bayescred_timing", trust.timing)
        scales = read("bayescred_scales", trust.scales)
        notes = read("bayescred_notes", trust.notes, [])
        partial = read("bayescred_partial", trust.partial, None)
        try:
            tables = _dataset_to_tables(groups[_DATA_GROUP])
            panel = load_panel(
                tables["observations"], tables["crises"], tables["units"], spec=spec
            )
        except Exception as exc:
            why = str(exc) if isinstance(exc, BayescredError) else type(exc).__name__
            raise ResultError(
                _refit_message(
                    path, written_by, fmt, f"its {_DATA_GROUP} group cannot be read ({why})"
                )
            ) from None
        panel.notes[:] = notes
        trust.check_spec_matches(path, spec, panel, scales, groups.posterior)
        return cls(
            groups.without(_DATA_GROUP), spec, panel, scales, timing, versions, partial
        )


def _kinds(post: xr.Dataset) -> list[str]:
    """The crisis kinds of the kappas (one, unnamed, in files written before kinds)."""
    if "crisis_kind" not in post["kappa_honor"].dims:
        return ["war"]
    return [str(k) for k in post.coords["crisis_kind"].values]


def _of_kind(draws: xr.DataArray, kind: str) -> xr.DataArray:
    return draws.sel(crisis_kind=kind) if "crisis_kind" in draws.dims else draws


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _refit_message(path: Path, written_by: str, fmt, problem: str | None = None) -> str:
    mine = package_versions()["bayescred"]
    what = problem or (
        f"this bayescred ({mine}) reads result formats "
        f"{', '.join(map(str, READABLE_FORMATS))}"
    )
    return (
        f"{path}: written by bayescred {written_by} in result format {fmt}; {what}. Refit "
        f"it with `bayescred fit SPEC --out {path}`, or read it with bayescred {written_by}"
    )


def _upgrade_format_1(name: str, ds: xr.Dataset) -> xr.Dataset:
    """A group of a format-1 file in format 2's layout: the per-unit coordinates ``member``
    and ``alliance`` (which hid the ``member``/``alliance`` dimensions' labels) become
    ``unit_member``/``unit_alliance``, and those dimensions get their labels back (the
    sorted members and alliances, as the model names them)."""
    if name == _DATA_GROUP:
        return ds
    for old, new in zip(("member", "alliance"), UNIT_COORDS):
        if old in ds.coords and ds[old].dims == ("unit",):
            ds = ds.rename_vars({old: new})
            if old in ds.dims:
                labels = sorted(set(ds[new].values.tolist()))
                if len(labels) == ds.sizes[old]:
                    ds = ds.assign_coords({old: labels})
    return ds


def _get_idata(self: CredibilityResult) -> az.InferenceData:
    idata = self.__dict__["_idata"]
    if isinstance(idata, ResultGroups):  # read from a file: ArviZ's object on first use
        idata = self.__dict__["_idata"] = idata.to_inference_data()
    return idata


def _set_idata(self: CredibilityResult, value) -> None:
    self.__dict__["_idata"] = value
    self.__dict__.pop("_derived", None)  # derived from the old draws


# ``idata`` stays a dataclass field (constructor, replace and eq are unchanged), but is read
# through this property, so a loaded result converts its groups only when needed
CredibilityResult.idata = property(_get_idata, _set_idata, doc="The fit's InferenceData.")


