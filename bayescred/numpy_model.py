"""The model in NumPy, per posterior draw: what the fast what-if engine (and the checks
against PyMC) read the model from, next to PyMC (reference) and the numba kernel (speed).

* :class:`LatentDraws` and :func:`rebuild`: each draw's latent path rebuilt from its
  parameters (exactly the model's arithmetic: dynamics, alliance baselines, covariates,
  member reputation) and simulated forward for years beyond the data;
  :func:`standardisation` is the model's standardisation of that path to credibility.
* :class:`Measurement`: the measurement log-likelihood of signal rows, each family's from
  the family registry (:mod:`bayescred.families`), and the follow-through log-likelihood
  of crisis outcomes, per draw.

Arrays hold the draws first (chains stacked, :func:`stack_draws`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .design import (
    WALK_STEP,
    crisis_covariate_matrix,
    kind_index,
    panel_crisis_counts,
    walk_centring,
    walk_path,
)
from .families import FAMILIES, signal_params
from .panel import Panel
from .structure import model_structure

_TOLERANCE = 1e-6  # rebuilt credibility must match the stored one to this


def dynamics_step(dynamics: str, prev, innovation, phi=None):
    """One year of a unit's dynamics: ``static`` keeps ``prev``, ``ar1`` is
    ``phi * prev + innovation``, ``random_walk`` is ``prev + innovation`` (the innovation
    already scaled).  The simulator's step and the fast engine's forward simulation."""
    if dynamics == "static":
        return prev
    if dynamics == "ar1":
        return phi * prev + innovation
    return prev + innovation


def reputation_step(prev, kick, phi_reputation):
    """One year of member reputation: ``phi_r * r_{t-1} + kick`` (``kick``: the crises of
    the year before, weighted by kappa)."""
    return phi_reputation * prev + kick


class RebuildError(Exception):
    """The posterior's latent path could not be rebuilt from its parameters."""


def stack_draws(post: xr.Dataset, name: str) -> np.ndarray:
    """Posterior variable as a (sample, ...) float array, chains stacked."""
    return _stack(post[name])


def _stack(da: xr.DataArray) -> np.ndarray:
    rest = [d for d in da.dims if d not in ("chain", "draw")]
    arr = da.transpose("chain", "draw", *rest).values
    return np.asarray(arr, dtype=float).reshape(-1, *arr.shape[2:])


def _covariates(panel: Panel, spec) -> np.ndarray:
    """Standardised unit covariates, as in the model."""
    x = panel.units[list(spec.latent.covariates)].to_numpy(float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


@dataclass
class LatentDraws:
    """A fit's latent path per draw, in the parts forecasting needs (raw scale).

    ``raw = base[:, :, None] + dyn + rep[:, member_of_unit]`` with ``base`` the alliance
    baseline plus covariates, ``dyn`` the unit dynamics (from ``level``) and ``rep`` the
    member reputation (``None`` when the model has none).
    """

    dynamics: str  # static | random_walk | ar1
    base: np.ndarray  # (S, U)
    dyn: np.ndarray  # (S, U, T)
    rep: np.ndarray | None  # (S, M, T)
    params: dict[str, np.ndarray]
    member_of_unit: np.ndarray

    @property
    def raw(self) -> np.ndarray:
        """The raw path (S, U, T), computed once (do not modify it in place)."""
        if getattr(self, "_raw", None) is None:
            raw = self.base[:, :, None] + self.dyn
            self._raw = raw if self.rep is None else raw + self.rep[:, self.member_of_unit]
        return self._raw

    @classmethod
    def from_posterior(
        cls,
        post: xr.Dataset,
        panel: Panel,
        spec,
        horizon: int = 0,
        rng=None,
        alliance_in_level: bool = True,
    ) -> LatentDraws:
        """Rebuild the path on ``panel``'s years, then simulate ``horizon`` years forward.

        ``alliance_in_level``: the alliance baseline is the mean of ``level`` (the centred
        form of model.py), rather than added to the path (the non-centred form).
        """
        structure = model_structure(spec, panel)  # the model that drew ``post``
        names = ["sigma_innovation", "phi"] if structure.dynamics == "ar1" else []
        if structure.reputation:
            names += ["kappa_honor_raw", "kappa_violate_raw", "phi_reputation"]
            names += ["sigma_reputation"] if structure.reputation_noise else []
        params = {n: stack_draws(post, n) for n in names}
        n_years, dynamics = structure.n_years, structure.dynamics
        level = stack_draws(post, "level")
        if structure.random_walk:  # its raw step is fixed
            params["sigma_innovation"] = np.full(level.shape[0], WALK_STEP)
        n_draws, n_units = level.shape
        base = np.zeros((n_draws, n_units))
        if structure.pooled_alliances and not alliance_in_level:
            base += stack_draws(post, "mu_alliance")[:, panel.alliance_of_unit]
        if structure.covariates:
            base += stack_draws(post, "gamma") @ _covariates(panel, spec).T
        centred = walk_centring(panel) if structure.random_walk else None
        dyn = _dynamics(dynamics, level, post, params, n_years, centred)
        rep = None
        if structure.reputation:
            honored, violated = panel_crisis_counts(panel)  # (kind, member, year)
            noise = None
            if structure.reputation_noise:
                z = stack_draws(post, "z_reputation")
                noise = params["sigma_reputation"][:, None, None] * z
            rep = (honored, violated, noise)
        latent = cls(dynamics, base, dyn, None, params, panel.member_of_unit)
        return latent._forward(horizon, rng, rep)

    def _forward(self, horizon: int, rng, rep) -> LatentDraws:
        n_draws, n_units, _ = self.dyn.shape
        if horizon:
            eps = rng.standard_normal((n_draws, n_units, horizon))
            self.dyn = np.concatenate([self.dyn, self._future_dynamics(eps)], axis=2)
        if rep is not None:
            honored, violated, noise = rep
            pad = ((0, 0), (0, 0), (0, horizon))
            honored, violated = np.pad(honored, pad), np.pad(violated, pad)
            if noise is not None and horizon:
                future = rng.standard_normal((n_draws, honored.shape[1], horizon))
                noise = np.concatenate(
                    [noise, self.params["sigma_reputation"][:, None, None] * future], axis=2
                )
            self.rep = self.shock(honored, violated, noise)
        return self

    def _future_dynamics(self, eps: np.ndarray) -> np.ndarray:
        last = self.dyn[:, :, -1:]
        if self.dynamics == "static":
            return np.repeat(last, eps.shape[2], axis=2)
        sigma = self.params["sigma_innovation"][:, None, None]
        if self.dynamics == "random_walk":
            return last + sigma * np.cumsum(eps, axis=2)
        phi = self.params["phi"][:, None]
        out, x = np.empty_like(eps), last[:, :, 0]
        for h in range(eps.shape[2]):
            x = dynamics_step("ar1", x, sigma[:, :, 0] * eps[:, :, h], phi)
            out[:, :, h] = x
        return out

    def shock(self, honored: np.ndarray, violated: np.ndarray, noise=None) -> np.ndarray:
        """Reputation (S, M, T) from crisis counts (kind, M, T): ``r_t = phi_r r_{t-1} +
        sum_k (kappa_h[k] honored[k]_{t-1} - kappa_v[k] violated[k]_{t-1})`` (+ noise),
        from 0; the kappas are signed, one pair per crisis kind."""
        kh = self.params["kappa_honor_raw"].reshape(-1, honored.shape[0])  # (S, kind)
        kv = self.params["kappa_violate_raw"].reshape(-1, honored.shape[0])
        phi_r = self.params["phi_reputation"][:, None]
        # lands the year after
        kick = np.einsum("sk,kmt->smt", kh, honored) - np.einsum("sk,kmt->smt", kv, violated)
        n_years = honored.shape[-1]
        out = np.zeros((kh.shape[0], honored.shape[1], n_years))
        for t in range(1, n_years):
            out[:, :, t] = reputation_step(out[:, :, t - 1], kick[:, :, t - 1], phi_r)
            if noise is not None:
                out[:, :, t] += noise[:, :, t - 1]
        return out


def _dynamics(dynamics: str, level, post, params, n_years: int, centred) -> np.ndarray:
    if dynamics == "static":
        return np.repeat(level[:, :, None], n_years, axis=2)
    if dynamics == "random_walk":
        walk = walk_path(stack_draws(post, "z_walk"), centred)  # (S, U, T - 1), from 0
        return level[:, :, None] + np.concatenate([np.zeros_like(walk[:, :, :1]), walk], axis=2)
    z = stack_draws(post, "z_innovation")  # (S, U, T - 1)
    sigma = params["sigma_innovation"][:, None, None]
    phi = params["phi"][:, None]
    out = np.empty((*level.shape, n_years))
    out[:, :, 0] = level
    for t in range(1, n_years):
        out[:, :, t] = dynamics_step("ar1", out[:, :, t - 1], sigma[:, :, 0] * z[:, :, t - 1], phi)
    return out


def standardisation(raw: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw mean and sd of ``raw`` (S, U, T) over the ``active`` cells, as in the model."""
    weight = active.astype(float) / active.sum()
    mean = np.einsum("sut,ut->s", raw, weight)
    dev = raw - mean[:, None, None]
    sd = np.sqrt(np.einsum("sut,ut->s", dev * dev, weight) + 1e-12)
    return mean, sd


def rebuild(
    post: xr.Dataset, panel: Panel, spec, active: np.ndarray, horizon: int = 0, seed: int = 0
) -> tuple[LatentDraws, np.ndarray, np.ndarray]:
    """The posterior's latent path per draw (simulated ``horizon`` years on) and its
    standardisation (mean, sd over the ``active`` cells), checked against the stored
    credibility (with ``[dimensions]``: the pillars' common level, ``credibility_common``,
    which is what the path is there).  Both forms of the alliance baseline are tried
    (centred on ``level``, or added to the path): the stored values say which one the fit
    used.

    Raises
    ------
    RebuildError
        If the path cannot be rebuilt to match the stored credibility.
    """
    stored = stack_draws(post, "credibility_common" if "pillar" in post else "credibility")
    n_years = stored.shape[2]
    forms = (True, False) if len(panel.alliances) > 1 else (True,)
    worst = ""
    for alliance_in_level in forms:
        rng = np.random.default_rng(seed)
        latent = LatentDraws.from_posterior(post, panel, spec, horizon, rng, alliance_in_level)
        raw = latent.raw[:, :, :n_years]
        mean, sd = standardisation(raw, active)
        try:
            _check_rebuilt((raw - mean[:, None, None]) / sd[:, None, None], stored, "")
        except RebuildError as exc:
            worst = worst or str(exc)
            continue
        return latent, mean, sd
    raise RebuildError(worst)


def _check_rebuilt(cred: np.ndarray, stored: np.ndarray, what: str) -> None:
    err = float(np.max(np.abs(cred - stored))) if cred.size else 0.0
    if not err <= _TOLERANCE:
        raise RebuildError(
            f"the posterior's credibility could not be rebuilt from its parameters "
            f"(max difference {err:.2g})"
        )


class Measurement:
    """The model's measurement and follow-through log-likelihoods in numpy, per draw.

    Each signal's log-density is its family's (:attr:`Family.logp
    <bayescred.families.base.Family.logp>`, on the likelihood's scale), with the family's
    own parameters from the posterior (:func:`bayescred.families.signal_params`); the
    follow-through of crisis outcomes is the ``bernoulli`` family's (honoured or not) or,
    with partial outcomes, the ``ordinal`` family's.  ``cred`` arrays are (S, ..., rows):
    draws first, rows last, anything between (the particle filter's particles) broadcast;
    results are summed over rows.
    """

    def __init__(self, post: xr.Dataset, result) -> None:
        self.post, self.spec, self.scales = post, result.spec, result.scales
        signals = [str(s) for s in post["alpha"].coords["signal"].values]
        self.index = {s: i for i, s in enumerate(signals)}
        self.alpha = stack_draws(post, "alpha")
        self.loading = stack_draws(post, "loading")
        self._params: dict[tuple[str, int], dict] = {}  # (signal, ndim) -> family params
        ft = ("loading_followthrough", "alpha_followthrough", "cutpoints_followthrough",
              "beta_followthrough")
        self.ft = {name: stack_draws(post, name) for name in ft if name in post}
        kinds = post.coords["crisis_kind"].values if "crisis_kind" in post.coords else []
        self.kinds = tuple(str(k) for k in kinds)
        self.crisis_covariates = tuple(result.spec.follow_through.covariates)
        self.crisis_scaling = result.panel.crisis_scaling

    def loglik(self, signal, value, trials, cred: np.ndarray) -> np.ndarray:
        """Log-likelihood of rows (signal, value, trials) at credibility ``cred``, summed
        over rows."""
        signal = np.asarray(signal)
        value = np.asarray(value, float)
        trials = np.asarray(trials, float)
        total = np.zeros(cred.shape[:-1])
        for name in np.unique(signal):
            here = signal == name
            total += self._signal(str(name), value[here], trials[here], cred[..., here]).sum(-1)
        return total

    def pointwise(self, signal, value, trials, cred: np.ndarray) -> np.ndarray:
        """Log-likelihood of each row (signal, value, trials) at credibility ``cred``
        (S, rows), on the likelihood's scale: (S, rows), not summed."""
        signal = np.asarray(signal)
        value = np.asarray(value, float)
        trials = np.asarray(trials, float)
        out = np.empty(cred.shape)
        for name in np.unique(signal):
            here = signal == name
            out[..., here] = self._signal(str(name), value[here], trials[here], cred[..., here])
        return out

    def params(self, name: str, ndim: int) -> dict:
        """The family parameters of signal ``name``, shaped for an ``ndim`` predictor."""
        key = (name, ndim)
        if key not in self._params:
            family = FAMILIES[self.spec.signals[name].family]
            self._params[key] = signal_params(family, name, self.post, _stack, ndim)
        return self._params[key]

    def _signal(self, name: str, y, n, cred):
        sig = self.spec.signals[name]
        family = FAMILIES[sig.family]
        scale = self.scales[name]
        j = self.index[name]
        loaded = _per_draw(sig.direction * self.loading[:, j], cred.ndim) * cred
        if family.intercept:
            eta = scale.offset + _per_draw(self.alpha[:, j], cred.ndim) + loaded
        else:  # the family's own parameters place it (ordinal: its cutpoints)
            eta = loaded
        y = family.to_likelihood_scale(y, scale.center, scale.scale)
        trials = n if family.needs_trials else None
        return family.logp(y, eta, self.params(name, cred.ndim), trials)

    def followthrough(self, crises: pd.DataFrame, cred: np.ndarray) -> np.ndarray:
        """Follow-through log-likelihood of ``crises`` (outcome, kind and the crisis
        covariates) at ``cred`` (S, ..., rows), summed over crises: ordinal over violated <
        partial < honoured with each kind's cutpoints when the model has cutpoints, else
        bernoulli (honoured or not) with each kind's intercept, as the model declares it."""
        eta = _per_draw(self.ft["loading_followthrough"], cred.ndim) * cred
        if "beta_followthrough" in self.ft:
            z = crisis_covariate_matrix(crises, self.crisis_covariates, self.crisis_scaling)
            eta = eta + _per_row(self.ft["beta_followthrough"] @ z.T, cred.ndim)
        kind = kind_index(crises, self.kinds)
        outcomes = crises.outcome.to_numpy()
        if "cutpoints_followthrough" in self.ft:
            codes = pd.Series(outcomes).map({"violated": 0, "partial": 1, "honored": 2})
            codes = codes.to_numpy(int)
            total = np.zeros(cred.shape[:-1])
            for k in np.unique(kind):
                here = kind == k
                cut = {"cutpoints": self.ft["cutpoints_followthrough"][:, k]}
                total += FAMILIES["ordinal"].logp(codes[here], eta[..., here], cut).sum(-1)
            return total
        eta = eta + _per_row(self.ft["alpha_followthrough"][:, kind], cred.ndim)
        honored = (outcomes == "honored").astype(float)
        return FAMILIES["bernoulli"].logp(honored, eta, {}).sum(-1)


def _per_draw(p: np.ndarray, ndim: int) -> np.ndarray:
    """A per-draw parameter (S,) shaped to broadcast against an (S, ..., rows) array."""
    return p.reshape(p.shape[0], *([1] * (ndim - 1)))


def _per_row(p: np.ndarray, ndim: int) -> np.ndarray:
    """A per-draw, per-row array (S, rows) shaped to broadcast against (S, ..., rows)."""
    return p.reshape(p.shape[0], *([1] * (ndim - 2)), p.shape[-1])
