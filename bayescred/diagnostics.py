"""Checks of a fit (ArviZ's statistics), posterior predictive checks, LOO, and a verdict a
user can act on.

:func:`diagnose` returns a :class:`DiagnosticReport`: every check with its value, its
threshold and a status, and a verdict, the worst status of the checks:

==================  ==============================  =====================  ==============
check               pass                            warn                   fail
==================  ==============================  =====================  ==============
R-hat (max)         <= 1.01                         (1.01, 1.05]           > 1.05
bulk ESS (min)      >= 400                          [100, 400)             < 100
tail ESS (min)      >= 400                          [100, 400)             < 100
divergences         0                               up to 1% of draws      > 1% of draws
E-BFMI (per chain)  >= 0.3                          [0.2, 0.3)             < 0.2
max tree depth      <= 1% of draws                  > 1% of draws          never
PPC p-value         in [0.05, 0.95]                 in [0.005, 0.995]      outside
PPC coverage        >= 80% in 90% intervals         [60%, 80%)             < 60%
Pareto k (LOO)      every k <= 0.7                  some k > 0.7           never
approximation       never (ADVI is approximate)     ELBO converged         not converged
follow-through AUC  credibility's cross-validated   weak, reversed, or     never
                    AUC >= 0.6, interval > 0.5      not assessable
calibration         Hosmer-Lemeshow p >= 0.05       p < 0.05               never
==================  ==============================  =====================  ==============

What the verdict is about.  Convergence checks (R-hat, ESS) apply to what users report:
``credibility`` (over the active unit-years, those :meth:`CredibilityResult.credibility`
lists) and every structural parameter (:func:`reported_variables`).  The non-centred
internals (``level``, ``z_*``) and raw-scale ``*_raw`` parameters are reported with
status ``info`` only: the likelihood sees the path after standardisation, so they may
wander along directions the data cannot see while everything reported is converged.
A fit with the approximate backend (``advi``, :mod:`bayescred.approx`) has independent
draws from a Gaussian, not a Markov chain: R-hat, ESS and the sampler's checks say nothing
about it and are reported as ``info``; instead the ``approximation`` check warns that the
draws are approximate (its value is the Pareto k of the importance ratios p/q, how far q
is from the posterior in the tails) and fails if the optimisation did not converge.
Tree-depth saturation costs time, not correctness, so it never fails; Pareto k above 0.7
makes LOO unreliable for those observations, not the posterior wrong, so it warns.
The follow-through checks (:mod:`bayescred.followthrough_check`) ask whether credibility
tells honoured from violated crises out of sample (credibility alone is graded; the whole
model's P(honour), covariates included, is reported beside it); a weak or reversed link is a finding
about the data, not a failed fit, so it warns.  The report also summarises the reputation
effects (:mod:`bayescred.reputation_effects`).
Posterior predictive checks run on the data scale: for each signal the predictive
p-values of the mean and the standard deviation (P(T(y_rep) >= T(y)), ties counted half)
and the share of observed values inside their central 90% predictive interval
(posterior, not leave-one-out, intervals: a fitting model covers at least ~90%);
for follow-through and other binary signals only the mean (the spread of a 0/1 outcome
is fixed by its mean).  A PPC check's value is the two-sided tail probability
min(p, 1 - p).  Every threshold can be changed: ``diagnose(result,
thresholds={"ess_bulk": 1000})``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

# the checks and the convergence functions, where they were before (imported from here)
from .checks import _LABELS, _RANK, STATUSES, Check, Thresholds, _fmt, _grade  # noqa: E402,F401
from .convergence import (  # noqa: E402,F401
    INTERNAL,
    _approximation_check,
    _convergence_checks,
    _sampler_checks,
    approximation,
    convergence,
    convergence_table,
    internal_variables,
    quick_check,
    reported_names,
    reported_variables,
    worst_mixing,
)
from .errors import ResultError
from .families import FAMILIES
from .followthrough_check import FollowThroughCheck, followthrough_check, followthrough_checks
from .loo import PARETO_K, loo_table, psis_loo, relative_ess
from .predictive import observation_rows
from .reputation_effects import ReputationEffects, reputation_effects
from .results import DEFAULT_PROB, PREDICTIVE_DRAWS, CredibilityResult
from .runtime import stage
from .safe_text import html_lines


@dataclass(frozen=True, eq=False)
class DiagnosticReport:
    """What :func:`diagnose` found.

    Attributes
    ----------
    verdict : str
        ``pass``, ``warn`` or ``fail``: the worst status of the checks.
    checks : tuple of Check
        Every check, with value, threshold, status and (unless it passed) a message.
    thresholds : Thresholds
        The thresholds used.
    convergence : DataFrame
        Per variable: ``role`` (reported / internal), ``size``, ``max_rhat``,
        ``min_ess_bulk``, ``min_ess_tail`` and the worst element.
    sampler : dict
        Chains, draws, divergences, E-BFMI per chain, share of draws at max tree depth.
    ppc : DataFrame or None
        Posterior predictive checks per signal and for follow-through.
    loo : DataFrame or None
        PSIS-LOO per signal, follow-through and ``all``, with Pareto-k counts.
    log_likelihood, predictive : DataArray or None
        Pointwise log-likelihood and posterior predictive draws, dims (chain, draw, obs).
    result : CredibilityResult
        The diagnosed fit (not modified).
    followthrough : FollowThroughCheck or None
        Whether credibility discriminates honoured from violated crises: leave-one-out AUC
        of P(honour) with its interval, overall and per crisis kind, and its calibration
        (:mod:`bayescred.followthrough_check`); None without crises or LOO.
    reputation : ReputationEffects or None
        kappa_honor and kappa_violate: intervals, P(> 0), P(kappa_violate > kappa_honor)
        (:mod:`bayescred.reputation_effects`); None with reputation off.
    """

    verdict: str
    checks: tuple[Check, ...]
    thresholds: Thresholds
    convergence: pd.DataFrame
    sampler: dict
    ppc: pd.DataFrame | None = None
    loo: pd.DataFrame | None = None
    log_likelihood: xr.DataArray | None = field(default=None, repr=False)
    predictive: xr.DataArray | None = field(default=None, repr=False)
    result: CredibilityResult | None = field(default=None, repr=False)
    followthrough: FollowThroughCheck | None = field(default=None, repr=False)
    reputation: ReputationEffects | None = field(default=None, repr=False)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == "warn"]

    def table(self) -> pd.DataFrame:
        """Every check as one row."""
        return pd.DataFrame([c.to_dict() for c in self.checks])

    def summary(self) -> pd.DataFrame:
        """One row per kind of check: the worst value, its subject and the status."""
        rows = []
        for name, group in self.table().groupby("check", sort=False):
            group = group[group.status != "info"]
            if group.empty:
                continue
            worst = group.loc[group.status.map(_RANK).idxmax()]
            if (group.status == worst.status).sum() > 1:  # ties: the most extreme value
                tied = group[group.status == worst.status].dropna(subset=["value"])
                if len(tied):
                    pick = tied.value.idxmax() if worst.rule == "<=" else tied.value.idxmin()
                    worst = tied.loc[pick]
            rows.append(
                {
                    "check": name,
                    "worst": worst.subject,
                    "value": worst.value,
                    "threshold": f"{worst.rule} {worst.threshold:g}",
                    "status": worst.status,
                    "n_checked": len(group),
                    "n_not_passed": int((group.status != "pass").sum()),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """JSON-ready: verdict, thresholds, every check, sampler figures, PPC and LOO tables."""

        def frame(df):
            if df is None:
                return None
            return json.loads(df.reset_index().to_json(orient="records"))

        return {
            "verdict": self.verdict,
            "thresholds": asdict(self.thresholds),
            "checks": [c.to_dict() for c in self.checks],
            "convergence": frame(self.convergence),
            "sampler": self.sampler,
            "ppc": frame(self.ppc),
            "loo": frame(self.loo),
            "followthrough": None if self.followthrough is None else self.followthrough.to_dict(),
            "reputation": None if self.reputation is None else self.reputation.to_dict(),
        }

    def text(self) -> str:
        """A short plain-text account: the verdict, then what failed or warned and why."""
        lines = [f"verdict: {self.verdict.upper()}"]
        for status in ("fail", "warn"):
            groups: dict[tuple[str, str], list[Check]] = {}
            for c in self.checks:
                if c.status == status:
                    groups.setdefault((c.check, c.next_step), []).append(c)
            for (check, step), items in groups.items():
                if len(items) == 1:
                    text = items[0].message
                else:
                    what = ", ".join(f"{c.subject} ({_fmt(c.value, check)})" for c in items)
                    text = (f"{_LABELS.get(check, check)} {items[0].rule} "
                            f"{items[0].threshold:g} not met for {what}.")
                lines.append(f"  {status}: {text} Next step: {step}.")
        return "\n".join(lines)

    def _headline(self) -> list[str]:
        counts = {status: sum(c.status == status for c in self.checks) for status in STATUSES}
        kinds = {status: sorted({c.check for c in self.checks if c.status == status})
                 for status in ("fail", "warn")}
        lines = [
            f"DiagnosticReport: verdict {self.verdict.upper()} ({len(self.checks)} checks: "
            f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail)"
        ]
        for status in ("fail", "warn"):
            if kinds[status]:
                lines.append(f"  {status}: {', '.join(kinds[status])}")
        lines.append("  .text() says why and what to do; .summary() is the table")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._headline())

    def _repr_html_(self) -> str:
        return html_lines(self._headline())


def diagnose(
    result: CredibilityResult,
    thresholds: Thresholds | dict | None = None,
    *,
    ppc: bool = True,
    loo: bool = True,
    ppc_draws: int = PREDICTIVE_DRAWS,
    seed: int = 0,
) -> DiagnosticReport:
    """Check a fit: convergence, sampler health, posterior predictive checks, LOO, verdict.

    Parameters
    ----------
    result : CredibilityResult
        The fit (any sampler).  It is not modified.
    thresholds : Thresholds or dict, optional
        Pass/fail levels; a dict overrides the defaults by name (see :class:`Thresholds`).
    ppc, loo : bool
        Run the posterior predictive checks / LOO (switch off for a convergence-only
        report).  A result read from a file reuses its saved ``posterior_predictive``
        (when it holds the same draws) and ``log_likelihood`` groups; otherwise both are
        computed from the rebuilt model.  With ``loo``, crises are also checked for
        follow-through: the leave-one-out AUC and calibration of P(honour)
        (``followthrough_auc``, ``followthrough_calibration``; warn, never fail).
    ppc_draws : int
        At most this many posterior draws (thinned evenly) for the predictive checks;
        LOO uses every draw.
    seed : int
        Seed of the posterior predictive draws.

    Returns
    -------
    DiagnosticReport

    Examples
    --------
    >>> report = diagnose(result)                                  # doctest: +SKIP
    >>> report.verdict                                             # doctest: +SKIP
    'pass'
    >>> print(report.text())                                       # doctest: +SKIP
    """
    limits = Thresholds.from_any(thresholds)
    stage("diagnose: convergence (R-hat, ESS) and the sampler's checks")
    conv = convergence_table(result)
    checks = _convergence_checks(result, conv, limits)
    sampler, sampler_checks = _sampler_checks(result, limits)
    checks += sampler_checks
    approx = approximation(result)
    if approx is not None:  # independent draws of a Gaussian: MCMC checks do not apply
        checks = [replace(c, status="info", message="", next_step="") for c in checks]
        checks.append(_approximation_check(approx, limits))
        sampler["approximation"] = approx
    log_lik = predictive = ppc_table = loo_table_ = followthrough = None
    if ppc:  # the saved draws where the file holds these (same number, same seed)
        stage("diagnose: posterior predictive checks")
        predictive = result.posterior_predictive(ppc_draws, seed)
        ppc_table = ppc_summary(predictive, families(result), limits.coverage_prob)
        checks += _ppc_checks(ppc_table, limits, result.spec)
    if loo:  # the saved log_likelihood group where the file has one
        stage("diagnose: PSIS-LOO")
        log_lik = result.log_likelihood()
        reff = relative_ess(result)
        loo_table_ = loo_table(log_lik, reff, limits.pareto_k)
        checks += _loo_checks(loo_table_, limits)
        followthrough = followthrough_check(result, log_lik, reff, limits, DEFAULT_PROB)
        if followthrough is not None:
            checks += followthrough_checks(followthrough, limits)
    graded = [c.status for c in checks if c.status in STATUSES]
    verdict = max(graded, key=_RANK.__getitem__) if graded else "pass"
    return DiagnosticReport(
        verdict, tuple(checks), limits, conv, sampler, ppc_table, loo_table_, log_lik,
        predictive, result, followthrough, reputation_effects(result, DEFAULT_PROB),
    )


def ppc_summary(
    predictive: xr.DataArray, families: dict[str, str], prob: float = 0.9
) -> pd.DataFrame:
    """Posterior predictive checks per signal and for follow-through (data scale).

    ``predictive`` holds replicated values, dims ``(chain, draw, obs)``, with the observed
    ones in its ``value`` coordinate and the signal of each row in ``signal``
    (:func:`bayescred.predictive.posterior_predictive`); ``families`` maps signal names to
    their family (rows of other signals are treated as follow-through).

    Columns: ``family``, ``n``, observed ``mean``/``sd``, predictive p-values ``ppp_mean``
    and ``ppp_sd`` (P(T(y_rep) >= T(y)), ties counted half), and ``coverage``: the share of
    observed values inside their central ``prob`` predictive interval.  Binary outcomes
    (follow-through, bernoulli signals) get the mean only.
    """
    observed = predictive["value"].values
    draws = predictive.stack(sample=("chain", "draw")).transpose("sample", "obs").values
    signals = list(dict.fromkeys(predictive.signal.values))
    rows = []
    for label in signals:
        here = predictive.signal.values == label
        y, rep = observed[here], draws[:, here]
        family = families.get(label, "followthrough")
        binary = (FAMILIES[family].binary if family in FAMILIES else y.max() <= 1)
        row = {
            "signal": label,
            "family": family,
            "n": int(here.sum()),
            "mean": float(y.mean()),
            "pred_mean": float(rep.mean()),
            "ppp_mean": _ppp(rep.mean(axis=1), y.mean()),
            "sd": float(y.std()),
            "pred_sd": float(rep.std(axis=1).mean()),
            "ppp_sd": np.nan if binary else _ppp(rep.std(axis=1), y.std()),
            "coverage": np.nan,
        }
        if not binary:
            lo, hi = np.quantile(rep, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
            row["coverage"] = float(((y >= lo) & (y <= hi)).mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("signal")


def families(result: CredibilityResult) -> dict[str, str]:
    """Signal name -> family name of a result's spec."""
    return {name: sig.family for name, sig in result.spec.signals.items()}


def _ppp(replicated: np.ndarray, observed: float) -> float:
    return float((replicated > observed).mean() + 0.5 * (replicated == observed).mean())


def _ppc_checks(table: pd.DataFrame, limits: Thresholds, spec=None) -> list[Check]:
    checks = []
    for signal, row in table.iterrows():
        for stat in ("mean", "sd"):
            p = row[f"ppp_{stat}"]
            if not np.isfinite(p):
                continue
            extreme = min(p, 1 - p)
            status = _grade(extreme, limits.ppp, limits.ppp_fail, ">=")
            message = ""
            if status != "pass":
                side = "above" if p < 0.5 else "below"
                message = (
                    f"signal {signal!r} ({row.family}): the observed {stat} ({row[stat]:.4g}) "
                    f"lies {side} what the model predicts ({row[f'pred_{stat}']:.4g}; "
                    f"p = {p:.3f})."
                )
            checks.append(Check(f"ppc_{stat}", signal, extreme, limits.ppp, ">=", status,
                                limits.ppp_fail, (signal,) if message else (), message,
                                _family_advice(row.family, stat, side, spec)
                                if message else ""))
        cov = row["coverage"]
        if np.isfinite(cov):
            status = _grade(cov, limits.coverage, limits.coverage_fail, ">=")
            message = ""
            if status != "pass":
                message = (
                    f"signal {signal!r} ({row.family}): only {cov:.0%} of observed values lie "
                    f"inside their {limits.coverage_prob:.0%} predictive intervals."
                )
            checks.append(Check("ppc_coverage", signal, cov, limits.coverage, ">=", status,
                                limits.coverage_fail, (signal,) if message else (), message,
                                _family_advice(row.family, "sd", "above", spec)
                                if message else ""))
    return checks


def _family_advice(family: str, stat: str, side: str, spec=None) -> str:
    """What to try when a predictive check of ``stat`` fails on ``side`` (the family's own
    advice for the spread: :class:`bayescred.families.Family`).  With the fit's ``spec``,
    only alternatives that can change the check are offered (:func:`_effective`)."""
    if stat == "sd" and family in FAMILIES:
        fam = FAMILIES[family]
        advice = fam.advice_more_spread if side == "above" else fam.advice_less_spread
        return advice if spec is None else _effective(advice, spec)
    return (
        "check the signal's direction and data, or a different family "
        "(the model cannot reproduce its level)"
    )


def _effective(advice: str, spec) -> str:
    """``advice`` (alternatives joined by ", or ") without those that would change nothing
    in this spec: lowering the floor of a prior that has none (its lower bound is 0), or
    raising the cap of a prior that has none."""
    kept = []
    for option in advice.split(", or "):
        param = _PRIOR_NAMED.search(option)
        try:
            prior = spec.prior(param.group(1)) if param else None
        except KeyError:  # not a parameter's name: keep the option
            prior = None
        if prior is not None:
            if "floor" in option and not prior.get("lower", 0) > 0:
                continue
            if "higher values" in option and not np.isfinite(prior.get("upper", np.inf)):
                continue
        kept.append(option)
    return ", or ".join(kept) or (
        "check the data's transform and the signal's direction (no prior of this spec "
        "limits the spread)"
    )


_PRIOR_NAMED = re.compile(r"`(\w+)` prior")


def _loo_checks(table: pd.DataFrame, limits: Thresholds) -> list[Check]:
    checks = []
    for signal, row in table.drop(index="all").iterrows():
        bad = int(row.k_bad + row.k_very_bad)
        status = "pass" if bad == 0 else "warn"
        message = ""
        if bad:
            message = (
                f"signal {signal!r}: {bad} of {int(row.n)} observations have Pareto k > "
                f"{limits.pareto_k:g} (max {row.k_max:.2f}), so PSIS-LOO is unreliable for "
                "them (influential observations)."
            )
        checks.append(Check("pareto_k", signal, float(row.k_max), limits.pareto_k, "<=",
                            status, None, (signal,) if bad else (), message,
                            "K-fold cross-validation for those comparisons (more draws do "
                            "not lower k): bc.kfold(result, k=10), or `bayescred kfold "
                            "RESULT.nc --k 10` (refits on Dask); many high k can also point "
                            "to a misspecified family" if bad else ""))
    return checks


def compare(results: Mapping[str, object], pareto_k: float = PARETO_K) -> pd.DataFrame:
    """Compare model variants fitted to the same data by PSIS-LOO.

    Parameters
    ----------
    results : dict of {name: CredibilityResult or DiagnosticReport}
        Two or more fits of the same observations (e.g. ``static``, ``random_walk``,
        ``ar1``, reputation on/off).  A :class:`~bayescred.diagnostics.DiagnosticReport`
        reuses the log-likelihood it already holds.
    pareto_k : float
        Pareto-k threshold counted in ``n_bad_k``.

    Returns
    -------
    DataFrame
        One row per model, best first: ``rank``, ``elpd_loo``, ``se``, ``p_loo``,
        ``elpd_diff`` (to the best model; 0 for it), ``dse`` (standard error of that
        difference), ``weight`` (stacking), ``n_bad_k`` (observations with k above
        ``pareto_k``), ``warning`` (ArviZ's flag) and ``dynamics``/``reputation`` of each
        spec.  A difference of several ``dse`` is a clear preference.

    Raises
    ------
    ResultError
        If fewer than two results are given, or they were fitted to different data.
    """
    if len(results) < 2:
        raise ResultError(f"compare needs at least two results, got {len(results)}")
    fits = {}
    for name, item in results.items():
        if isinstance(item, DiagnosticReport) and item.result is not None:
            fits[name] = (item.result, item.log_likelihood)
        elif isinstance(item, CredibilityResult):
            fits[name] = (item, None)
        else:
            raise ResultError(
                f"compare: {name!r} is a {type(item).__name__}; expected a CredibilityResult "
                "or a DiagnosticReport"
            )
    # the same observations, or no comparison (checked before any log-likelihood is computed)
    keys = {name: observation_rows(result).table for name, (result, _) in fits.items()}
    first = next(iter(keys))
    for name, table in keys.items():
        if not table.equals(keys[first]):
            raise ResultError(
                f"compare: {name!r} and {first!r} were fitted to different data "
                f"({len(table)} and {len(keys[first])} observations, or different values); "
                "LOO comparison needs the same observations"
            )
    loos, notes = {}, {}
    for name, (result, log_lik) in fits.items():
        log_lik = log_lik if log_lik is not None else result.log_likelihood()
        loos[name] = psis_loo(log_lik, relative_ess(result))
        notes[name] = {
            "n_bad_k": int((np.asarray(loos[name].pareto_k) > pareto_k).sum()),
            "dynamics": result.spec.latent.dynamics,
            "reputation": bool(result.spec.reputation.enabled),
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare(loos, ic="loo", scale="log")
    table = table.join(pd.DataFrame(notes).T)
    table.index.name = "model"
    cols = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "n_bad_k",
            "warning", "dynamics", "reputation"]
    return table[cols]
