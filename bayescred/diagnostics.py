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
divergences         0                               up to 5% of draws      > 5% of draws
E-BFMI (per chain)  >= 0.3                          [0.2, 0.3)             < 0.2
max tree depth      <= 1% of draws                  > 1% of draws          never
PPC p-value         in [0.05, 0.95]                 in [0.005, 0.995]      outside
PPC coverage        >= 80% in 90% intervals         [60%, 80%)             < 60%
Pareto k (LOO)      every k <= 0.7                  some k > 0.7           never
approximation       never (ADVI is approximate)     ELBO converged         not converged
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

import html
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from . import mixing
from .errors import ResultError, SpecError
from .loo import PARETO_K, loo_table, psis_loo, relative_ess
from .predictive import observation_rows
from .results import PREDICTIVE_DRAWS, CredibilityResult

# Sampler-internal coordinates (non-centred innovations, the random walk's coordinates)
# are left out of the verdict: what matters is the quantities users report.
INTERNAL = ("z_innovation", "z_alliance", "z_reputation", "level", "z_walk")
STATUSES = ("pass", "warn", "fail")
_RANK = {"info": -1, "pass": 0, "warn": 1, "fail": 2}
_MAXDEPTH_FLAGS = ("maxdepth_reached", "reached_max_treedepth")  # nutpie, PyMC
_DEPTH = ("depth", "tree_depth")  # when no flag is stored (numpyro): compare with 10
_DEFAULT_MAX_DEPTH = 10
_BINARY = ("bernoulli",)


def reported_variables(result: CredibilityResult) -> list[str]:
    """Posterior variables users report: credibility and every structural parameter."""
    return reported_names(result.idata.posterior)


def reported_names(posterior) -> list[str]:
    """:func:`reported_variables` of a posterior Dataset with bayescred's variable names
    (a trace that is not a fit's result, such as benchmarks/spread_scales.py's)."""
    return [v for v in posterior.data_vars if v not in INTERNAL and not v.endswith("_raw")]


def internal_variables(result: CredibilityResult) -> list[str]:
    """Sampler-internal and raw-scale variables (reported, but not part of the verdict)."""
    reported = set(reported_variables(result))
    return [v for v in result.idata.posterior.data_vars if v not in reported]


def convergence(result: CredibilityResult, var_names: list[str] | None = None) -> dict:
    """Max R-hat, min bulk/tail ESS over ``var_names`` (default: every reported variable),
    and the divergence count.  Credibility counts over the active unit-years only (the
    reported ones), as in :func:`convergence_table`: years before a member joined are
    prior extrapolation and would otherwise set the headline."""
    idata = result.idata
    names = var_names or reported_variables(result)
    rhat, bulk, tail = mixing.rhat_ess(idata, var_names=names)
    active = _active(result) if "credibility" in names else None
    if active is not None:
        for stat in (rhat, bulk, tail):
            stat["credibility"] = stat["credibility"].where(active)
    div = idata.sample_stats.get("diverging")
    return {
        "max_rhat": float(max(np.nanmax(rhat[v].values) for v in names)),
        "min_ess_bulk": float(min(np.nanmin(bulk[v].values) for v in names)),
        "min_ess_tail": float(min(np.nanmin(tail[v].values) for v in names)),
        "divergences": int(div.sum()) if div is not None else 0,
    }


def approximation(result: CredibilityResult) -> dict | None:
    """What the approximate backend recorded (algorithm, iterations, converged, ELBO,
    Pareto k), or None for a fit by MCMC."""
    attrs = result.idata.posterior.attrs
    if "approximation" not in attrs:
        return None
    return {
        "algorithm": str(attrs["approximation"]),
        "iterations": int(attrs["approx_iterations"]),
        "converged": bool(int(attrs["approx_converged"])),
        "elbo": float(attrs["approx_elbo"]),
        "pareto_k": float(attrs["approx_pareto_k"]),
    }


def quick_check(result: CredibilityResult) -> str:
    """Headline convergence figures for the terminal: credibility, then the worst parameter."""
    approx = approximation(result)
    if approx is not None:
        state = "converged" if approx["converged"] else "NOT converged (stopped at the limit)"
        return (
            f"approximate posterior ({approx['algorithm']}: ELBO {state} after "
            f"{approx['iterations']} iterations, Pareto k {approx['pareto_k']:.2f}): for "
            "exploring; fit with NUTS (sampler nutpie) for estimates you report"
        )
    if result.idata.posterior.sizes["chain"] < 2:
        return "convergence: one chain, R-hat not available"
    cred = convergence(result, ["credibility"])
    others = [v for v in reported_variables(result) if v != "credibility"]
    rhat = mixing.rhat(result.idata, var_names=others)
    worst = max(others, key=lambda v: float(np.nanmax(rhat[v].values)))
    return (
        f"credibility: max R-hat {cred['max_rhat']:.3f}, min bulk ESS "
        f"{cred['min_ess_bulk']:.0f}, min tail ESS {cred['min_ess_tail']:.0f}; "
        f"worst parameter: {worst} (R-hat {float(np.nanmax(rhat[worst].values)):.3f}); "
        f"divergences {cred['divergences']}"
    )


# ---------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Thresholds:
    """Pass and fail levels of every check (between the two: warn).  See the module
    docstring for the table; pass a dict of overrides to :func:`diagnose`."""

    rhat: float = 1.01
    rhat_fail: float = 1.05
    ess_bulk: float = 400.0
    ess_tail: float = 400.0
    ess_fail: float = 100.0
    divergences: int = 0
    divergences_fail_share: float = 0.05
    bfmi: float = 0.3
    bfmi_fail: float = 0.2
    treedepth_share: float = 0.01
    pareto_k: float = 0.7
    ppp: float = 0.05
    ppp_fail: float = 0.005
    coverage: float = 0.8
    coverage_fail: float = 0.6
    coverage_prob: float = 0.9

    @classmethod
    def from_any(cls, value: Thresholds | dict | None) -> Thresholds:
        """Defaults, a Thresholds, or defaults with a dict of overrides (unknown keys
        are refused, naming the valid ones)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(value) - set(valid))
        if unknown:
            raise SpecError(
                f"unknown threshold(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        return replace(cls(), **{k: float(v) for k, v in value.items()})


# ---------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Check:
    """One check: its value, the rule that passes it, its status and, unless it passed,
    what is wrong (``message``, naming the variables) and what to do (``next_step``).

    ``rule`` is ``"<="`` (pass when value <= threshold) or ``">="``; ``status`` is
    ``pass``, ``warn``, ``fail`` or ``info`` (reported, not part of the verdict).
    """

    check: str
    subject: str
    value: float
    threshold: float
    rule: str
    status: str
    fail_threshold: float | None = None
    variables: tuple[str, ...] = ()
    message: str = ""
    next_step: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["variables"] = list(self.variables)
        d["value"] = _finite(self.value)
        return d


_LABELS = {
    "rhat": "R-hat", "ess_bulk": "bulk ESS", "ess_tail": "tail ESS",
    "divergences": "divergences", "bfmi": "E-BFMI", "treedepth": "share at max tree depth",
    "ppc_mean": "PPC tail probability of the mean", "ppc_sd": "PPC tail probability of the sd",
    "ppc_coverage": "PPC coverage", "pareto_k": "Pareto k",
    "approximation": "Pareto k of the approximation",
}


def _fmt(value, check: str = "") -> str:
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    value = float(value)
    if check == "rhat":
        return f"{value:.3f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _finite(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _grade(value: float, good: float, bad: float, rule: str) -> str:
    """pass / warn / fail of ``value`` against a pass level ``good`` and a fail level."""
    if not math.isfinite(value):
        return "warn"
    if rule == "<=":
        return "pass" if value <= good else ("fail" if value > bad else "warn")
    return "pass" if value >= good else ("fail" if value < bad else "warn")


# ---------------------------------------------------------------------------- the report


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
        first, *rest = self._headline()
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in rest)
        return f"<div><strong>{html.escape(first)}</strong><ul>{items}</ul></div>"


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
        computed from the rebuilt model.
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
    conv = convergence_table(result)
    checks = _convergence_checks(result, conv, limits)
    sampler, sampler_checks = _sampler_checks(result, limits)
    checks += sampler_checks
    approx = approximation(result)
    if approx is not None:  # independent draws of a Gaussian: MCMC checks do not apply
        checks = [replace(c, status="info", message="", next_step="") for c in checks]
        checks.append(_approximation_check(approx, limits))
        sampler["approximation"] = approx
    log_lik = predictive = ppc_table = loo_table_ = None
    if ppc:  # the saved draws where the file holds these (same number, same seed)
        predictive = result.posterior_predictive(ppc_draws, seed)
        ppc_table = ppc_summary(predictive, families(result), limits.coverage_prob)
        checks += _ppc_checks(ppc_table, limits)
    if loo:  # the saved log_likelihood group where the file has one
        log_lik = result.log_likelihood()
        loo_table_ = loo_table(log_lik, relative_ess(result), limits.pareto_k)
        checks += _loo_checks(loo_table_, limits)
    graded = [c.status for c in checks if c.status in STATUSES]
    verdict = max(graded, key=_RANK.__getitem__) if graded else "pass"
    return DiagnosticReport(
        verdict, tuple(checks), limits, conv, sampler, ppc_table, loo_table_, log_lik,
        predictive, result,
    )


# ---------------------------------------------------------------------------- convergence


def convergence_table(result: CredibilityResult) -> pd.DataFrame:
    """Max R-hat and min bulk/tail ESS per posterior variable, with the worst element.

    Credibility is checked over the active unit-years only (the ones reported).
    """
    post = result.idata.posterior
    reported = reported_variables(result)
    names = reported + internal_variables(result)
    rhat, bulk, tail = mixing.rhat_ess(post, var_names=names)  # R-hat NaN for 1 chain
    active = _active(result)
    rows = []
    for name in names:
        r, b, t = rhat[name], bulk[name], tail[name]
        if name == "credibility" and active is not None:
            r, b, t = (x.where(active) for x in (r, b, t))
        rows.append(
            {
                "variable": name,
                "role": "reported" if name in reported else "internal",
                "size": int(np.isfinite(b.values).sum()) if b.ndim else 1,
                "max_rhat": _nanext(r, np.nanmax),
                "min_ess_bulk": _nanext(b, np.nanmin),
                "min_ess_tail": _nanext(t, np.nanmin),
                "worst_rhat": _where_extreme(r, np.nanargmax),
                "worst_ess": _where_extreme(b, np.nanargmin),
            }
        )
    return pd.DataFrame(rows).set_index("variable")


def _active(result: CredibilityResult) -> xr.DataArray | None:
    cred = result.idata.posterior["credibility"]
    mask = result.panel.active_mask()
    if mask.shape != (cred.sizes["unit"], cred.sizes["year"]):
        return None
    return xr.DataArray(mask, dims=("unit", "year"), coords={"unit": cred.unit, "year": cred.year})


def _nanext(da: xr.DataArray, fn) -> float:
    values = np.asarray(da.values, float)
    if not np.isfinite(values).any():
        return float("nan")
    return float(fn(values))


def _where_extreme(da: xr.DataArray, fn) -> str:
    """Label of the element where ``fn`` (nanargmax / nanargmin) lands, e.g. ``[M03/A1, 1992]``."""
    values = np.asarray(da.values, float)
    if values.ndim == 0 or not np.isfinite(values).any():
        return ""
    idx = np.unravel_index(fn(values), values.shape)
    labels = []
    for dim, i in zip(da.dims, idx):
        coord = da[dim].values if dim in da.coords else np.arange(da.sizes[dim])
        labels.append(str(coord[i]))
    return "[" + ", ".join(labels) + "]"


def _convergence_checks(result, conv: pd.DataFrame, limits: Thresholds) -> list[Check]:
    post = result.idata.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    reported = conv[conv.role == "reported"]
    steps = _convergence_steps(reported, limits, chains, draws)
    checks = []
    for name, row in conv.iterrows():
        specs = [
            ("rhat", row.max_rhat, limits.rhat, limits.rhat_fail, "<=", row.worst_rhat),
            ("ess_bulk", row.min_ess_bulk, limits.ess_bulk, limits.ess_fail, ">=", row.worst_ess),
            ("ess_tail", row.min_ess_tail, limits.ess_tail, limits.ess_fail, ">=", ""),
        ]
        for check, value, good, bad, rule, where in specs:
            status = _grade(value, good, bad, rule) if row.role == "reported" else "info"
            if check == "rhat" and chains < 2 and row.role == "reported":
                status = "warn"
            message = next_step = ""
            if status in ("warn", "fail"):
                message = _convergence_problem(check, name, where, value, good, chains)
                next_step = steps[check]
            checks.append(
                Check(check, name, value, good, rule, status, bad,
                      (name,) if message else (), message, next_step)
            )
    return checks


def _convergence_steps(reported: pd.DataFrame, limits: Thresholds, chains: int, draws: int):
    """One next step per kind of convergence check (the draws needed by the worst)."""
    ratios = [reported.min_ess_bulk.min() / limits.ess_bulk,
              reported.min_ess_tail.min() / limits.ess_tail]
    worst = float(np.nanmin(ratios)) if len(reported) and np.isfinite(ratios).any() else 1.0
    target_chains = max(chains, 4)

    def more(factor: float) -> str:
        per_chain = draws * chains * factor / target_chains
        needed = int(math.ceil(max(per_chain, draws) / 100.0) * 100)
        return f"more draws: about {needed} per chain with {target_chains} chains"

    for_ess = more(1 / max(worst, 1e-3))
    return {
        "rhat": (
            "run 4 chains, so their agreement can be checked" if chains < 2 else
            "more tuning and " + more(_rhat_draws_factor(reported, limits)) + "; if R-hat "
            "stays high, reparametrise the variables named or give them tighter priors"
        ),
        "ess_bulk": for_ess + "; if ESS per draw stays low, reparametrise",
        "ess_tail": for_ess + "; if ESS per draw stays low, reparametrise",
    }


def _rhat_draws_factor(reported: pd.DataFrame, limits: Thresholds) -> float:
    """How many times the draws bring the worst R-hat to the bound, at least 2.  Once the
    chains mix, R-hat^2 - 1 shrinks about as 1 / draws.  The worst of many R-hats is
    itself noisy: a posterior of thousands of values (credibility) has one folded R-hat
    above 1.01 in many fits of 4 x 1000 draws even when it mixes as well as NUTS does on
    independent normals (benchmarks/rhat_floor.py), and twice the draws brings it below."""
    worst = float(np.nanmax(reported.max_rhat)) if len(reported) else np.nan
    if not np.isfinite(worst) or worst <= limits.rhat or limits.rhat <= 1:
        return 2.0
    return max(2.0, (worst**2 - 1) / (limits.rhat**2 - 1))


def _convergence_problem(check, name, where, value, threshold, chains) -> str:
    place = f"{name}{where}" if where else name
    if check == "rhat":
        if chains < 2:
            return f"R-hat of {name} cannot be computed from one chain."
        return f"R-hat {value:.3f} > {threshold:g} for {place}: the chains disagree."
    kind = "bulk" if check == "ess_bulk" else "tail"
    return (
        f"{kind} ESS {value:.0f} < {threshold:g} for {place}: too few effective draws for "
        f"{'the centre' if kind == 'bulk' else 'the interval ends'}."
    )


def _approximation_check(approx: dict, limits: Thresholds) -> Check:
    """An approximate fit warns at best: how far it is from the posterior is unknown
    without NUTS (Pareto k above 0.7: far, in the tails at least)."""
    k = approx["pareto_k"]
    if not approx["converged"]:
        status = "fail"
        message = (f"{approx['algorithm']} stopped at its iteration limit "
                   f"({approx['iterations']}) before the ELBO levelled off.")
    else:
        status = "warn"
        message = (f"approximate posterior ({approx['algorithm']}, Pareto k {k:.2f} of the "
                   "importance ratios p/q): means are usually close to NUTS's, intervals "
                   "and tails are not checked.")
    return Check("approximation", approx["algorithm"], k, limits.pareto_k, "<=", status,
                 None, (), message, "fit with NUTS (sampler nutpie) for estimates you report")


# ---------------------------------------------------------------------------- sampler health


def _sampler_checks(result: CredibilityResult, limits: Thresholds) -> tuple[dict, list[Check]]:
    idata = result.idata
    post = idata.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    total = chains * draws
    stats = idata.sample_stats if "sample_stats" in idata.groups() else xr.Dataset()
    checks: list[Check] = []
    info: dict = {"backend": result.spec.sampler.backend, "chains": chains, "draws": draws}

    div = stats.get("diverging")
    n_div = int(div.sum()) if div is not None else 0
    info["divergences"] = n_div
    status = "pass" if n_div <= limits.divergences else (
        "fail" if n_div > limits.divergences_fail_share * total else "warn")
    message = ""
    suspects: tuple[str, ...] = ()
    if status != "pass":
        suspects = _divergence_suspects(result, div)
        message = (
            f"{n_div} divergent transitions of {total} draws: NUTS missed part of the "
            f"posterior (divergent draws sit furthest from the rest in "
            f"{', '.join(suspects) or 'no single parameter'})."
        )
    checks.append(Check("divergences", "all chains", n_div, limits.divergences, "<=", status,
                        limits.divergences_fail_share * total, suspects, message,
                        "raise target_accept (e.g. 0.95); if divergences persist, "
                        "reparametrise those parameters or tighten their priors"
                        if message else ""))

    if "energy" in stats:
        bfmi = az.bfmi(stats["energy"].transpose("chain", "draw").values)
        info["bfmi"] = [float(b) for b in bfmi]
        for chain, value in enumerate(bfmi):
            status = _grade(float(value), limits.bfmi, limits.bfmi_fail, ">=")
            message = ""
            suspects = ()
            if status != "pass":
                suspects = _energy_suspects(result, chain)
                message = (
                    f"E-BFMI {value:.2f} < {limits.bfmi:g} in chain {chain}: momentum "
                    f"resampling cannot move the energy enough (heavy tails or a funnel; "
                    f"the energy follows {', '.join(suspects)})."
                )
            checks.append(Check("bfmi", f"chain {chain}", float(value), limits.bfmi, ">=",
                                status, limits.bfmi_fail, suspects, message,
                                "reparametrise (non-centred) or tighter priors on those "
                                "parameters; more tuning" if message else ""))
    else:
        info["bfmi"] = None

    share = _treedepth_share(stats)
    info["treedepth_share"] = share
    if share is not None:
        status = "pass" if share <= limits.treedepth_share else "warn"
        message = ""
        suspects = ()
        if status == "warn":
            suspects = tuple(_slowest(result, 3))
            message = (
                f"{share:.1%} of draws hit the maximum tree depth: long trajectories, slow "
                f"but not biased (slowest to mix: {', '.join(suspects)})."
            )
        checks.append(Check("treedepth", "all chains", share, limits.treedepth_share, "<=",
                            status, None, suspects, message,
                            "reparametrise those parameters, or raise the maximum tree depth"
                            if message else ""))
    return info, checks


def _treedepth_share(stats: xr.Dataset) -> float | None:
    for name in _MAXDEPTH_FLAGS:
        if name in stats:
            return float(stats[name].astype(float).mean())
    for name in _DEPTH:
        if name in stats:
            return float((stats[name] >= _DEFAULT_MAX_DEPTH).mean())
    return None


def _scalar_draws(result: CredibilityResult) -> dict[str, np.ndarray]:
    """Every scalar component of the structural parameters, as (chain, draw) arrays."""
    post = result.idata.posterior
    out = {}
    for name in reported_variables(result):
        if name == "credibility":
            continue
        da = post[name]
        flat = da.values.reshape(da.sizes["chain"], da.sizes["draw"], -1)
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        labels = (
            [str(v) for v in da[extra[0]].values] if len(extra) == 1 and extra[0] in da.coords
            else [str(i) for i in range(flat.shape[-1])]
        )
        for i in range(flat.shape[-1]):
            key = name if flat.shape[-1] == 1 else f"{name}[{labels[i]}]"
            out[key] = flat[:, :, i]
    return out


def _divergence_suspects(result: CredibilityResult, div, n: int = 3) -> tuple[str, ...]:
    """Parameters whose divergent draws sit furthest from their bulk (in posterior sds)."""
    if div is None:
        return ()
    mask = np.asarray(div.values, bool)
    if not mask.any() or mask.all():
        return ()
    scores = {}
    for key, x in _scalar_draws(result).items():
        sd = x.std()
        if sd > 0:
            scores[key] = abs(x[mask].mean() - x[~mask].mean()) / sd
    return tuple(sorted(scores, key=scores.get, reverse=True)[:n])


def _energy_suspects(result: CredibilityResult, chain: int, n: int = 3) -> tuple[str, ...]:
    """Parameters most correlated with the energy in a chain (the usual culprits)."""
    energy = result.idata.sample_stats["energy"].values[chain]
    scores = {}
    for key, x in _scalar_draws(result).items():
        if np.std(x[chain]) > 0 and np.std(energy) > 0:
            scores[key] = abs(np.corrcoef(x[chain], energy)[0, 1])
    return tuple(sorted(scores, key=scores.get, reverse=True)[:n])


def _slowest(result: CredibilityResult, n: int) -> list[str]:
    draws = {k: (("chain", "draw"), x) for k, x in _scalar_draws(result).items()}
    bulk = mixing.ess(xr.Dataset(draws))
    return sorted(draws, key=lambda k: float(bulk[k]))[:n]


def worst_mixing(result: CredibilityResult, n: int = 4) -> list[tuple[str, dict]]:
    """The ``n`` scalar quantities with the highest R-hat (lowest bulk ESS with one chain):
    ``(variable, selection)`` pairs, e.g. ``("loading", {"signal": "troops"})``, drawn from
    credibility (active unit-years) and the structural parameters."""
    post = result.idata.posterior
    names = reported_variables(result)
    if post.sizes["chain"] > 1:
        stats = mixing.rhat(post, names)
    else:
        stats = -mixing.ess(post, names, method="bulk")
    active = _active(result) if "credibility" in names else None
    if active is not None:
        stats["credibility"] = stats["credibility"].where(active)
    scores = []
    for name in names:
        stat = stats[name]
        values = np.asarray(stat.values, float).ravel()
        for flat, v in enumerate(values):
            if np.isfinite(v):
                scores.append((v, name, flat, stat.dims, stat.shape))
    scores.sort(key=lambda s: s[0], reverse=True)
    out = []
    for _, name, flat, dims, shape in scores[:n]:
        idx = np.unravel_index(flat, shape) if shape else ()
        sel = {d: post[name][d].values[i] if d in post[name].coords else i
               for d, i in zip(dims, idx)}
        out.append((name, sel))
    return out


# ---------------------------------------------------------------------------- predictive checks


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
        binary = family in _BINARY or (family == "followthrough" and y.max() <= 1)
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


def _ppc_checks(table: pd.DataFrame, limits: Thresholds) -> list[Check]:
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
                                _family_advice(row.family, stat, side) if message else ""))
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
                                _family_advice(row.family, "sd", "above") if message else ""))
    return checks


def _family_advice(family: str, stat: str, side: str) -> str:
    if stat == "sd" and side == "above":
        return {
            "poisson": "a different family: negbinomial (the counts are overdispersed)",
            "binomial": "a different family: beta on the proportions (the counts are "
            "overdispersed)",
            "gaussian": "a different family (lognormal for skewed positive values), or check "
            "for outliers",
        }.get(family, "a different family with more dispersion, or check for outliers")
    if stat == "sd":  # the data vary less than the model lets them
        less_noise = (
            "a lower floor in the `sigma` prior (it sets the least noise the model allows"
            + (", on the log scale" if family == "lognormal" else "")
            + "), or a smaller loading prior (credibility's own spread reaches the signal "
            "through the loading)"
        )
        return {
            "negbinomial": "poisson instead of negbinomial, or a lower floor in the "
            "`dispersion` prior (it sets the least extra dispersion the model allows)",
            "gaussian": less_noise,
            "lognormal": less_noise,
            "beta": "a `precision` prior that allows higher values (higher precision is "
            "less dispersion)",
            "poisson": "binomial with trials, if the counts have a ceiling (the counts "
            "are underdispersed)",
        }.get(family, "a family with less dispersion, or check the data's transform")
    return (
        "check the signal's direction and data, or a different family "
        "(the model cannot reproduce its level)"
    )


# ---------------------------------------------------------------------------- LOO


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
                            "K-fold cross-validation for those comparisons, or more draws; "
                            "many high k can also point to a misspecified family"
                            if bad else ""))
    return checks


# ---------------------------------------------------------------------------- comparison


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

