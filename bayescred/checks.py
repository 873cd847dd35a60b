"""What a diagnostic check is: its thresholds, its result, and how a value is graded.

:class:`Thresholds` holds the pass and fail level of every check (the table in
:mod:`bayescred.diagnostics`); a :class:`Check` is one check's value, threshold, status and
advice; the verdict of a report is the worst status of its checks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from .errors import SpecError

STATUSES = ("pass", "warn", "fail")


_RANK = {"info": -1, "pass": 0, "warn": 1, "fail": 2}


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
    divergences_fail_share: float = 0.01  # more than 1% of draws divergent: fail
    bfmi: float = 0.3
    bfmi_fail: float = 0.2
    treedepth_share: float = 0.01
    pareto_k: float = 0.7
    ppp: float = 0.05
    ppp_fail: float = 0.005
    coverage: float = 0.8
    coverage_fail: float = 0.6
    coverage_prob: float = 0.9
    # follow-through link (bayescred.followthrough_check): warn below, never fail
    followthrough_auc: float = 0.6  # cross-validated AUC of credibility alone
    followthrough_calibration: float = 0.05  # Hosmer-Lemeshow p-value
    followthrough_min_crises: float = 10  # fewer crises: not assessable
    followthrough_min_each: float = 3  # fewer honoured (or not honoured): not assessable
    loading_negative_prob: float = 0.9  # P(loading_followthrough < 0) this high: reversed

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
    "followthrough_auc": "cross-validated AUC of credibility",
    "followthrough_calibration": "calibration p-value of P(honour)",
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
