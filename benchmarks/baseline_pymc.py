"""The baseline: the credibility model written the straightforward way in PyMC.

This is the model of DESIGN.md section 3 as a user would write it from the text, without
bayescred's tricks; the benchmark compares bayescred with it.  What differs from
``bayescred/model.py``:

* the random walk is a cumulative sum of non-centred innovations (bayescred: its
  Karhunen-Loeve basis);
* reputation is a ``scan`` over years (bayescred: a triangular matrix product);
* no in-model standardisation: the latent path is identified by its first-year spread,
  ``level ~ Normal(0, 1)``, the zero-mean alliance baselines and ``loading > 0``
  (bayescred standardises credibility over the active unit-years), so ``credibility``
  here is on the raw latent scale;
* signals are modelled on their own scale (log counts, logit rates, log spending), with
  each intercept's prior centred on the data's typical value (``design().offset``).

The likelihood families and the default priors are bayescred's: negative binomial
troops, lognormal spending, binomial votes, Poisson exercises, beta proportions (the
``large`` problem's ``un_votes``), and a Bernoulli follow-through of each crisis on
credibility in its year.  ``benchmarks/credibility.stan`` is the same model in Stan, on
the same :func:`design`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from scipy.special import logit

from bayescred.model import crisis_counts
from bayescred.panel import Panel
from bayescred.spec import ModelSpec

# Families the baseline implements (one vectorised likelihood each), with the family's
# own per-signal parameter, if any.
FAMILY_AUX = {
    "negbinomial": "dispersion",
    "lognormal": "sigma",
    "binomial": None,
    "poisson": None,
    "beta": "precision",
}
# Non-centred coordinates: sampled, but not what anyone reports (bayescred's INTERNAL).
INTERNAL = ("level", "z_alliance", "z_innovation")


@dataclass(frozen=True)
class FamilyRows:
    """The observed cells of the signals of one family (0-based indices)."""

    unit: np.ndarray
    year: np.ndarray
    signal: np.ndarray  # index into Design.signals
    aux: np.ndarray  # index into this family's parameter vector (Design.aux_signals)
    y: np.ndarray
    trials: np.ndarray | None


@dataclass(frozen=True)
class Design:
    """The panel as plain arrays: what the PyMC baseline and the Stan model both read."""

    units: list[str]
    years: np.ndarray
    members: list[str]
    alliances: list[str]
    signals: list[str]
    alliance_of_unit: np.ndarray
    member_of_unit: np.ndarray
    honored: np.ndarray  # (member, year) crises honoured
    violated: np.ndarray  # (member, year) crises violated
    direction: np.ndarray  # +1 / -1 per signal
    offset: np.ndarray  # data-implied centre of each signal's linear predictor
    families: dict[str, FamilyRows]
    aux_signals: dict[str, list[str]]  # family -> signals having its parameter, in order
    crisis_unit: np.ndarray
    crisis_year: np.ndarray
    crisis_honored: np.ndarray  # 1 honoured, 0 violated


def design(panel: Panel, spec: ModelSpec) -> Design:
    """Arrays of ``panel`` for the baseline models (signals and families from ``spec``)."""
    unknown = {s.family for s in spec.signals.values()} - set(FAMILY_AUX)
    if unknown:
        raise ValueError(f"the baseline has no likelihood for {sorted(unknown)}")
    if (panel.crises.outcome == "partial").any():
        raise ValueError("the baseline models honoured / violated crises only")
    obs = panel.observations
    signals = list(panel.signals)
    family_of = {s: spec.signals[s].family for s in signals}
    offset = np.array([_offset(family_of[s], obs[obs.signal == s]) for s in signals])
    families, aux_signals = {}, {}
    for family in FAMILY_AUX:
        members = [s for s in signals if family_of[s] == family]
        if not members:
            continue
        rows = obs[obs.signal.isin(members)]
        aux_signals[family] = members
        families[family] = FamilyRows(
            unit=rows.unit_idx.to_numpy(int),
            year=rows.year_idx.to_numpy(int),
            signal=rows.signal_idx.to_numpy(int),
            aux=np.array([members.index(s) for s in rows.signal]),
            y=rows.value.to_numpy(float),
            trials=rows.trials.to_numpy(int) if family == "binomial" else None,
        )
    honored, violated = crisis_counts(panel)
    crises = panel.crises
    return Design(
        units=list(panel.unit_labels),
        years=panel.years.astype(int),
        members=list(panel.members),
        alliances=list(panel.alliances),
        signals=signals,
        alliance_of_unit=panel.alliance_of_unit.astype(int),
        member_of_unit=panel.member_of_unit.astype(int),
        honored=honored,
        violated=violated,
        direction=np.array([spec.signals[s].direction for s in signals], float),
        offset=offset,
        families=families,
        aux_signals=aux_signals,
        crisis_unit=crises.unit_idx.to_numpy(int),
        crisis_year=crises.year_idx.to_numpy(int),
        crisis_honored=(crises.outcome == "honored").to_numpy(int),
    )


def _offset(family: str, rows) -> float:
    """Typical value of a signal on its predictor's scale (where its intercept centres)."""
    y = rows.value.to_numpy(float)
    match family:
        case "negbinomial" | "poisson":
            return float(np.log(y.mean() + 0.5))
        case "lognormal":
            return float(np.log(y).mean())
        case "binomial":
            return float(logit((y.sum() + 0.5) / (rows.trials.to_numpy(float).sum() + 1.0)))
        case "beta":
            return float(logit(y.mean()))
    raise AssertionError(family)


def build_baseline(d: Design) -> pm.Model:
    """The straightforward PyMC model of :class:`Design` ``d``.

    Returns a model with ``credibility`` (dims ``unit``, ``year``) on the latent scale.
    """
    n_units, n_members = len(d.units), len(d.members)
    coords = {
        "unit": d.units,
        "year": d.years,
        "step": d.years[1:],
        "member": d.members,
        "alliance": d.alliances,
        "signal": d.signals,
        **{f"{FAMILY_AUX[f]}_signal": names for f, names in d.aux_signals.items() if FAMILY_AUX[f]},
    }
    with pm.Model(coords=coords) as model:
        # alliance baselines, partially pooled (non-centred)
        tau = pm.HalfNormal("tau", 1.0)
        z_alliance = pm.Normal("z_alliance", 0.0, 1.0, dims="alliance")
        mu_alliance = pm.Deterministic("mu_alliance", tau * z_alliance, dims="alliance")

        # unit dynamics: a random walk from the first-year level (non-centred innovations)
        level = pm.Normal("level", 0.0, 1.0, dims="unit")
        sigma_innovation = pm.HalfNormal("sigma_innovation", 0.5)
        z_innovation = pm.Normal("z_innovation", 0.0, 1.0, dims=("unit", "step"))
        walk = pt.cumsum(sigma_innovation * z_innovation, axis=1)
        walk = pt.concatenate([pt.zeros((n_units, 1)), walk], axis=1)

        # member reputation: crises in year t move it from t + 1 on
        kappa_honor = pm.HalfNormal("kappa_honor", 1.0)
        kappa_violate = pm.HalfNormal("kappa_violate", 1.0)
        phi_reputation = pm.Beta("phi_reputation", 8.0, 2.0)
        shock = kappa_honor * d.honored - kappa_violate * d.violated  # (member, year)

        def next_year(shock_last_year, reputation_last_year, phi):
            return phi * reputation_last_year + shock_last_year

        later = pytensor.scan(
            next_year,
            sequences=[shock.T[:-1]],
            outputs_info=[pt.zeros(n_members)],
            non_sequences=[phi_reputation],
            return_updates=False,
        )
        reputation = pt.concatenate([pt.zeros((1, n_members)), later], axis=0).T

        theta = (
            mu_alliance[d.alliance_of_unit][:, None]
            + level[:, None]
            + walk
            + reputation[d.member_of_unit]
        )
        credibility = pm.Deterministic("credibility", theta, dims=("unit", "year"))

        # measurement: one vectorised likelihood per family
        alpha = pm.Normal("alpha", 0.0, 1.5, dims="signal")
        loading = pm.LogNormal("loading", 0.0, 1.0, dims="signal")
        aux = {
            "dispersion": lambda: pm.Exponential("dispersion", 1.0, dims="dispersion_signal"),
            "sigma": lambda: pm.HalfNormal("sigma", 1.0, dims="sigma_signal"),
            "precision": lambda: pm.Gamma("precision", 2.0, 0.1, dims="precision_signal"),
        }
        for family, rows in d.families.items():
            j = rows.signal
            eta = (
                d.offset[j]
                + alpha[j]
                + d.direction[j] * loading[j] * credibility[rows.unit, rows.year]
            )
            par = aux[FAMILY_AUX[family]]()[rows.aux] if FAMILY_AUX[family] else None
            name = f"y_{family}"
            match family:
                case "negbinomial":
                    pm.NegativeBinomial(name, mu=pt.exp(eta), alpha=1.0 / par, observed=rows.y)
                case "lognormal":
                    pm.LogNormal(name, mu=eta, sigma=par, observed=rows.y)
                case "binomial":
                    pm.Binomial(name, n=rows.trials, logit_p=eta, observed=rows.y)
                case "poisson":
                    pm.Poisson(name, mu=pt.exp(eta), observed=rows.y)
                case "beta":
                    pm.Beta(name, mu=pm.math.sigmoid(eta), nu=par, observed=rows.y)

        # follow-through: credibility when a crisis comes predicts its outcome
        if len(d.crisis_unit):
            alpha_ft = pm.Normal("alpha_followthrough", 0.0, 1.5)
            loading_ft = pm.LogNormal("loading_followthrough", 0.0, 1.0)
            cred = credibility[d.crisis_unit, d.crisis_year]
            pm.Bernoulli(
                "followthrough", logit_p=alpha_ft + loading_ft * cred, observed=d.crisis_honored
            )
    return model


def reported(names) -> list[str]:
    """Of the posterior's variables, those the benchmark checks: credibility and every
    hyperparameter (the non-centred coordinates left out, as bayescred does)."""
    return [n for n in names if n not in INTERNAL]
