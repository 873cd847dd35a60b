"""The generative model run forward, with the truth kept (for recovery tests and demos).

The simulation follows ``model.py`` exactly: raw credibility from alliance baselines,
unit dynamics, crisis-driven reputation (crises are decided year by year, since each
outcome depends on credibility that earlier outcomes moved) and covariates; the truth is
then standardised over the active unit-years, as the model does, and signals are drawn
from the standardised path.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from .errors import SpecError
from .families import FAMILIES
from .numpy_model import dynamics_step, reputation_step
from .spec import ModelSpec, spec_from_dict, spec_to_toml

DEFAULT_SIGNALS = {
    "troops": {"family": "negbinomial", "direction": 1, "description": "troops deployed"},
    "spending": {"family": "lognormal", "direction": 1, "description": "defence spending"},
    "votes": {"family": "binomial", "direction": 1, "description": "votes aligned (of trials)"},
    "exercises": {"family": "poisson", "direction": 1, "description": "joint exercises"},
}


def default_spec(
    dynamics: str = "random_walk",
    signals: dict | None = None,
    reputation: bool = True,
    covariates: tuple[str, ...] = (),
    crisis_covariates: tuple[str, ...] = (),
    **sampler,
) -> ModelSpec:
    """A spec with the four standard signals (troops, spending, votes, exercises)."""
    return spec_from_dict(
        {
            "name": "simulated",
            "signals": DEFAULT_SIGNALS if signals is None else signals,
            "latent": {"dynamics": dynamics, "covariates": list(covariates)},
            "follow_through": {"covariates": list(crisis_covariates)},
            "reputation": {"enabled": reputation},
            "sampler": sampler,
        }
    )


@dataclass(frozen=True)
class TrueParameters:
    """The parameters a simulation used, on the raw path's scale (``Simulation.params``
    reports kappa, the follow-through loading and beta on credibility's scale).

    The kappas are signed (0: no reputation effect); a negative follow-through loading
    is a reversed link (credible-looking commitments honoured less often).  ``kinds``:
    crisis kind -> its share of the crises and any of ``alpha_followthrough``,
    ``kappa_honor``, ``kappa_violate`` of its own (empty: every crisis is a ``war`` with
    the scalar values).  ``beta_followthrough``: effect of each crisis covariate of the
    spec ([follow_through] covariates, drawn standard normal per crisis; 0.5 if unnamed).
    """

    kappa_honor: float = 0.5
    kappa_violate: float = 1.0
    phi_reputation: float = 0.9
    sigma_innovation: float = 0.2
    phi: float = 0.85
    tau: float = 0.5
    alpha_followthrough: float = 0.8
    loading_followthrough: float = 1.5
    kinds: dict[str, dict] = field(default_factory=dict)
    beta_followthrough: dict[str, float] = field(default_factory=dict)

    def of_kind(self, kind: str, name: str) -> float:
        """Parameter ``name`` of crisis kind ``kind`` (its own, else the scalar one)."""
        return float(self.kinds.get(kind, {}).get(name, getattr(self, name)))
    noise: dict[str, float] = field(
        default_factory=lambda: {"sigma": 0.4, "dispersion": 0.15, "precision": 40.0, "nu": 4.0}
    )
    # [dimensions] (credibility's scale; per-pillar values may be given as {pillar: value}),
    # year_effects and unit_offsets (the signals' link scale)
    sigma_pillar: float | dict = 0.5
    phi_pillar: float | dict = 0.8
    sigma_year: float = 0.15
    sigma_offset: float = 0.4

    def per_pillar(self, name: str, pillar: str) -> float:
        """``sigma_pillar`` or ``phi_pillar`` of ``pillar``."""
        value = getattr(self, name)
        return float(value[pillar]) if isinstance(value, dict) else float(value)


@dataclass
class Simulation:
    """A simulated panel in the data contract, plus the truth behind it."""

    spec: ModelSpec
    observations: pd.DataFrame
    crises: pd.DataFrame
    units: pd.DataFrame
    truth: pd.DataFrame  # member, alliance, year, credibility
    params: dict

    def write(self, directory: str | Path) -> Path:
        """Deprecated name of :meth:`save`."""
        warnings.warn(
            "Simulation.write is deprecated; use Simulation.save (one verb for writing files)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.save(directory)

    def save(self, directory: str | Path) -> Path:
        """Write observations/crises/units/truth CSVs, truth.json and spec.toml into
        ``directory``; returns the spec's path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("observations", "crises", "units", "truth"):
            getattr(self, name).to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
        (out / "truth.json").write_text(json.dumps(self.params, indent=2) + "\n")
        paths = {"observations": "observations.csv", "crises": "crises.csv", "units": "units.csv"}
        (out / "spec.toml").write_text(spec_to_toml(self.spec, paths))
        return out / "spec.toml"


def simulate(
    spec: ModelSpec | None = None,
    *,
    n_units: int = 20,
    n_members: int | None = None,
    n_alliances: int = 3,
    n_years: int = 40,
    n_crises: int = 60,
    missing: float = 0.0,
    start_year: int = 1980,
    truth: TrueParameters | None = None,
    seed: int = 0,
) -> Simulation:
    """Draw a synthetic panel from the generative model of ``spec``.

    Parameters
    ----------
    spec : ModelSpec, optional
        Signals, dynamics, reputation and covariates to simulate; :func:`default_spec`
        when omitted.
    n_units, n_members, n_alliances, n_years, n_crises : int
        Panel shape.  With fewer members than units, some members hold several
        commitments (so reputation spills over between them).
    missing : float
        Share of observed cells dropped at random.
    truth : TrueParameters, optional
        Structural parameters; signal intercepts and loadings are drawn.
    seed : int
        Seed of the random generator: the same seed gives the same panel.

    Examples
    --------
    >>> sim = simulate(n_units=6, n_years=12, n_crises=5, seed=3)
    >>> sorted(sim.observations.signal.unique())
    ['exercises', 'spending', 'troops', 'votes']
    """
    _check_shape(n_units, n_members, n_alliances, n_years, n_crises, missing, start_year, seed)
    spec = spec or default_spec()
    truth = truth or TrueParameters()
    rng = np.random.default_rng(seed)
    units = _units(rng, spec, n_units, n_members or max(2, round(0.7 * n_units)), n_alliances)
    years = np.arange(start_year, start_year + n_years)
    # (a one-factor spec draws no deviations: its panels are as before pillars existed)
    deviations = _pillar_deviations(rng, spec, truth, len(units), n_years)
    mean_dev = np.mean(list(deviations.values()), axis=0) if deviations else 0.0
    raw, crises = _latent_path(rng, spec, truth, units, n_years, n_crises, mean_dev)
    obs = _signals(rng, spec, truth, units, years, raw, missing, deviations)
    crises = crises.assign(year=years[crises.year_idx])
    cred, scale = _standardise(raw, units, obs, crises, years)
    params = _reported(truth, spec, scale, obs, crises)
    covariates = list(spec.follow_through.covariates)
    crises_out = crises[["crisis", "year", "member", "alliance", "outcome", "kind", *covariates]]
    truth_df = pd.DataFrame(
        {
            "member": np.repeat(units.member.to_numpy(), n_years),
            "alliance": np.repeat(units.alliance.to_numpy(), n_years),
            "year": np.tile(years, len(units)),
            "credibility": cred.ravel(),
        }
    )
    if deviations:  # the model's pillars and overall credibility (model._read_pillars)
        active = _active_cells(units, obs, crises, years)
        pillars = {name: _standard(cred + dev, active) for name, dev in deviations.items()}
        truth_df["credibility_common"] = cred.ravel()
        truth_df["credibility"] = _standard(np.mean(list(pillars.values()), axis=0),
                                            active).ravel()
        for name, pillar in pillars.items():
            truth_df[f"pillar_{name}"] = pillar.ravel()
    if "loading" in obs:  # each signal's true loading (on the simulated credibility)
        params["loading"] = {k: float(v) for k, v in obs.groupby("signal").loading.first().items()}
    obs = obs.drop(columns=["eta", "loading"], errors="ignore")
    return Simulation(spec, obs, crises_out, units, truth_df, params)


def _check_shape(n_units, n_members, n_alliances, n_years, n_crises, missing, start_year,
                 seed) -> None:
    """The panel's shape as :func:`simulate` needs it; a SpecError naming the argument."""
    least = {"n_units": 1, "n_alliances": 1, "n_years": 1, "n_crises": 0, "seed": 0}
    given = {"n_units": n_units, "n_alliances": n_alliances, "n_years": n_years,
             "n_crises": n_crises, "seed": seed, "start_year": start_year}
    if n_members is not None:
        least["n_members"], given["n_members"] = 1, n_members
    for name, value in given.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise SpecError(f"simulate: {name} must be an integer, got {value!r}")
        if value < least.get(name, -(10**9)):
            raise SpecError(f"simulate: {name} must be {least[name]} or more, got {value}")
    if not 0 <= missing < 1:
        raise SpecError(f"simulate: missing must lie in [0, 1), got {missing!r}")


def _units(rng, spec, n_units: int, n_members: int, n_alliances: int) -> pd.DataFrame:
    n_members = min(n_members, n_units)
    if n_units > n_members * n_alliances:
        raise SpecError(
            f"{n_units} units need at least {n_units} (member, alliance) pairs; "
            f"{n_members} members x {n_alliances} alliances give {n_members * n_alliances}"
        )
    members = [f"M{i:02d}" for i in range(n_members)]
    alliances = [f"A{i}" for i in range(n_alliances)]
    rows, seen = [], set()
    for i in range(n_units):
        member = members[i % n_members]
        # the k-th commitment of a member goes to a different alliance than its others
        alliance = alliances[(i // n_members + i) % n_alliances]
        while (member, alliance) in seen:
            alliance = alliances[(alliances.index(alliance) + 1) % n_alliances]
        seen.add((member, alliance))
        rows.append((member, alliance))
    units = pd.DataFrame(rows, columns=["member", "alliance"])
    for cov in spec.latent.covariates:
        units[cov] = np.round(rng.normal(size=len(units)), 4)
    return units.sort_values(["alliance", "member"]).reset_index(drop=True)


def _latent_path(rng, spec, truth, units, n_years, n_crises, mean_dev=0.0):
    """Raw credibility, with crises decided year by year (outcome -> reputation -> next).
    With pillars the path is their common level, and a crisis reads overall credibility,
    here the common level plus the pillars' mean deviation ``mean_dev``: the model's
    standardised mean of the pillars (model._read_pillars) up to a location and scale that
    are known only once the whole panel is drawn (the deviations are on credibility's
    scale, which the raw path's is near)."""
    n_units = len(units)
    members = sorted(units.member.unique())
    m_idx = np.searchsorted(members, units.member)
    a_idx = pd.factorize(units.alliance, sort=True)[0]
    base = rng.normal(0, truth.tau, a_idx.max() + 1)[a_idx] + rng.normal(size=n_units)
    base = base + sum(0.5 * units[c].to_numpy() for c in spec.latent.covariates)
    d = np.zeros((n_units, n_years))
    rep = np.zeros((len(members), n_years))
    rep_shock = np.zeros((len(members), n_years))  # crisis in year t lands in t + 1
    shocks = rng.normal(size=(n_units, n_years)) * truth.sigma_innovation
    crisis_cells = _crisis_cells(rng, n_units, n_years, n_crises)
    kinds = list(truth.kinds) or ["war"]
    shares = np.array([truth.kinds.get(k, {}).get("share", 1.0) for k in kinds], float)
    covariates = list(spec.follow_through.covariates)
    beta = np.array([truth.beta_followthrough.get(c, 0.5) for c in covariates])
    outcomes = {}
    raw = np.zeros((n_units, n_years))
    for t in range(n_years):
        if t > 0:
            d[:, t] = dynamics_step(spec.latent.dynamics, d[:, t - 1], shocks[:, t], truth.phi)
            rep[:, t] = reputation_step(rep[:, t - 1], rep_shock[:, t], truth.phi_reputation)
        raw[:, t] = base + d[:, t] + (rep[m_idx, t] if spec.reputation.enabled else 0)
        for u in crisis_cells.get(t, []):
            # no draw where there is nothing to choose: one kind and no covariates give
            # the same panels as before kinds existed (benchmarks' seeds name panels)
            kind = kinds[rng.choice(len(kinds), p=shares / shares.sum())] if len(kinds) > 1 \
                else kinds[0]
            z = np.round(rng.normal(size=len(covariates)), 4) if covariates else np.zeros(0)
            eta = truth.of_kind(kind, "alpha_followthrough") + float(z @ beta)
            overall = raw[u, t] + (mean_dev[u, t] if np.ndim(mean_dev) else 0.0)
            p = expit(eta + truth.loading_followthrough * overall)
            honored = rng.random() < p
            outcomes[(u, t)] = ("honored" if honored else "violated", kind, *z)
            if t + 1 < n_years:
                # raw-scale kappa; rescaled to credibility's scale in _reported
                kappa = (truth.of_kind(kind, "kappa_honor") if honored
                         else -truth.of_kind(kind, "kappa_violate"))
                rep_shock[m_idx[u], t + 1] += kappa
    crises = pd.DataFrame(
        [
            (f"C{i:03d}", t, units.member[u], units.alliance[u], *o)
            for i, ((u, t), o) in enumerate(sorted(outcomes.items(), key=lambda kv: kv[0][::-1]))
        ],
        columns=["crisis", "year_idx", "member", "alliance", "outcome", "kind", *covariates],
    )
    return raw, crises


def _crisis_cells(rng, n_units, n_years, n_crises) -> dict[int, list[int]]:
    cells = rng.choice(n_units * n_years, size=min(n_crises, n_units * n_years), replace=False)
    out: dict[int, list[int]] = {}
    for c in sorted(cells):
        out.setdefault(int(c % n_years), []).append(int(c // n_years))
    return out


def _standardise(raw, units, obs, crises, years):
    """Standardise over each unit's active span, exactly as the model does."""
    active = _active_cells(units, obs, crises, years)
    mean, sd = raw[active].mean(), raw[active].std()
    return (raw - mean) / sd, sd


def _standard(x, active):
    """``x`` standardised over the active cells."""
    return (x - x[active].mean()) / x[active].std()


def _active_cells(units, obs, crises, years):
    """(unit, year) mask of each unit's active span: first to last year with a row."""
    key = {(m, a): i for i, (m, a) in enumerate(zip(units.member, units.alliance))}
    lo, hi = np.full(len(units), len(years)), np.full(len(units), -1)
    for frame in (obs[obs.alliance != ""], crises):  # member-level rows place no unit
        u = np.array([key[(m, a)] for m, a in zip(frame.member, frame.alliance)], int)
        t = (frame.year.to_numpy() - years[0]).astype(int)
        np.minimum.at(lo, u, t)
        np.maximum.at(hi, u, t)
    tt = np.arange(len(years))
    return (tt[None, :] >= lo[:, None]) & (tt[None, :] <= hi[:, None])


def _pillar_deviations(rng, spec, truth, n_units: int, n_years: int) -> dict:
    """Each pillar's deviation from the common level (model.py, ``_pillars``):
    sigma times an AR(1), random-walk or static path of standard-normal innovations."""
    out = {}
    for name, dim in spec.dimensions.items():
        sigma = truth.per_pillar("sigma_pillar", name)
        z = rng.normal(size=(n_units, n_years)) * sigma
        if dim.dynamics == "static":
            out[name] = np.repeat(z[:, :1], n_years, axis=1)
            continue
        phi = truth.per_pillar("phi_pillar", name) if dim.dynamics == "ar1" else 1.0
        dev = np.zeros_like(z)
        for t in range(n_years):
            dev[:, t] = z[:, t] + (phi * dev[:, t - 1] if t else 0.0)
        out[name] = dev
    return out


def _signal_path(rng, spec, truth, name: str, theta, deviations: dict):
    """What signal ``name`` reads: its pillar (credibility's scale), and its year effect
    plus unit offsets (the link scale; model._signal_latent)."""
    pillar = spec.signal_dimension(name)
    value = theta + deviations[pillar] if pillar else theta
    sig = spec.signals[name]
    n_units, n_years = theta.shape
    extra = np.zeros_like(theta)
    if sig.year_effects and n_years > 1:
        steps = rng.normal(0, truth.sigma_year, n_years)
        steps[0] = 0.0
        extra = extra + np.cumsum(steps)[None, :]
    if sig.unit_offsets:
        extra = extra + rng.normal(0, truth.sigma_offset, n_units)[:, None]
    return value, extra


def _signals(rng, spec, truth, units, years, raw, missing, deviations=None):
    """Draw every signal from the (approximately) standardised path."""
    theta = (raw - raw.mean()) / raw.std()
    n_units, n_years = theta.shape
    frames = []
    for name, sig in spec.signals.items():
        alpha = rng.normal(0, 0.3)
        loading = rng.uniform(0.6, 1.2)
        path, extra = _signal_path(rng, spec, truth, name, theta, deviations or {})
        rows = units[["member", "alliance"]]
        if sig.level == "member":  # once per member-year, on the member's mean
            rows, path, extra = _per_member(units, path, extra)
        eta = alpha + extra + sig.direction * loading * path
        value, trials = _draw(rng, sig.family, eta, truth)
        frame = pd.DataFrame(
            {
                "member": np.repeat(rows.member.to_numpy(), n_years),
                "alliance": np.repeat(rows.alliance.to_numpy(), n_years),
                "year": np.tile(years, len(rows)),
                "signal": name,
                "value": value.ravel(),
                "eta": eta.ravel(),
                "loading": loading,
            }
        )
        if trials is not None:
            frame["trials"] = trials.ravel()
        frames.append(frame)
    if not frames:  # a spec without signals: crises are the only evidence
        columns = ["member", "alliance", "year", "signal", "value", "eta"]
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "eta") else
                                          int if c == "year" else str) for c in columns})
    obs = pd.concat(frames, ignore_index=True)
    keep = rng.random(len(obs)) >= missing
    obs = obs[keep].reset_index(drop=True)
    if "trials" in obs:
        obs["trials"] = obs["trials"].astype("Int64")
    return obs


def _per_member(units: pd.DataFrame, path, extra):
    """A member-level signal's rows (one per member, ``alliance`` blank), what it reads (the
    mean of ``path`` over the member's units: every simulated unit is active in every year)
    and its year effect, (member, year)."""
    members, of_unit = np.unique(units.member.to_numpy(), return_inverse=True)
    one_hot = np.eye(len(members))[of_unit].T  # (member, unit)
    mean = one_hot @ path / one_hot.sum(axis=1, keepdims=True)
    first = np.array([np.flatnonzero(of_unit == m)[0] for m in range(len(members))])
    rows = pd.DataFrame({"member": members, "alliance": ""})
    return rows, mean, extra[first]  # no unit offsets: a member-level signal has none


def _draw(rng, family: str, eta, truth):
    """Values of a ``family`` signal at linear predictor ``eta`` on the data's own scale
    (and trials, or None), from the family's declaration."""
    return FAMILIES[family].synthetic(rng, eta, truth.noise)


def _reported(truth: TrueParameters, spec: ModelSpec, scale: float, obs, crises) -> dict:
    """True parameters on credibility's (standardised) scale, for recovery checks: kappas
    per crisis kind (dicts kind -> value when the truth has kinds), the follow-through
    loading (log-odds per sd of credibility) and beta (per sd of the covariate over the
    crises, as the model standardises it)."""
    kinds = sorted(truth.kinds) or ["war"]

    def per_kind(name):
        values = {k: truth.of_kind(k, name) / scale for k in kinds}
        return values if truth.kinds else values["war"]

    covariates = list(spec.follow_through.covariates)
    return {
        "kappa_honor": per_kind("kappa_honor"),
        "kappa_violate": per_kind("kappa_violate"),
        "loading_followthrough": truth.loading_followthrough * scale,
        "beta_followthrough": {
            c: truth.beta_followthrough.get(c, 0.5) * float(crises[c].std(ddof=0))
            for c in covariates
        },
        "phi_reputation": truth.phi_reputation,
        "dynamics": spec.latent.dynamics,
        "raw_scale": scale,
        "n_observations": int(len(obs)),
    }
