"""What the data say about reputation: the crisis effects kappa, their intervals, whether
each is positive, and whether reneging costs more than honouring earns.

:func:`reputation_effects` summarises ``kappa_honor`` (how much an honoured crisis raises
the member's reputation) and ``kappa_violate`` (how much a violated one lowers it), both on
credibility's standardised scale (with ``[dimensions]``: the pillars' common level's), one
row per crisis kind where the kappas carry a kind dimension (one row ``all`` otherwise).

Saying "no reputation effect".  Where a kappa's prior allows only values >= 0 (the
default ``HalfNormal``), every draw is >= 0 and P(kappa > 0) is 1 *by construction*: it
cannot tell an effect from none, and :attr:`ReputationEffects.sign_fixed` says so.  The
data's own verdict on a reputation effect is a comparison of the fit with reputation on
against the same model with it off, by PSIS-LOO (``bc.compare``; docs/diagnostics.md shows
the two lines).  A small ``kappa`` interval near zero and an ``elpd_diff`` within about
two ``dse`` are what "no detectable reputation effect" looks like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EFFECTS = ("kappa_honor", "kappa_violate")
_NONNEGATIVE = {"HalfNormal", "HalfCauchy", "HalfStudentT", "Exponential", "Gamma",
                "LogNormal", "Beta"}


@dataclass(frozen=True, eq=False)
class ReputationEffects:
    """The reputation effects of a fit.

    Attributes
    ----------
    table : DataFrame
        Index ``kind``: for each effect ``e`` in (honor, violate) its posterior mean
        ``kappa_e``, HDI ``e_low``/``e_high`` (probability ``prob``) and ``p_e_positive``
        (P(kappa_e > 0)); and ``p_violation_costlier`` (P(kappa_violate > kappa_honor)).
    prob : float
        HDI probability.
    sign_fixed : bool
        True where a kappa's prior admits no negative value, so P(kappa > 0) = 1 says
        nothing about whether there is an effect.
    """

    table: pd.DataFrame
    prob: float
    sign_fixed: bool

    def to_dict(self) -> dict:
        return {
            "table": self.table.reset_index().to_dict(orient="records"),
            "prob": self.prob,
            "sign_fixed": self.sign_fixed,
        }


def reputation_effects(result, prob: float = 0.9) -> ReputationEffects | None:
    """The kappas' summary (see :class:`ReputationEffects`); None without reputation."""
    post = result.posterior
    if not all(name in post for name in EFFECTS):
        return None
    draws = {name: _by_kind(post[name]) for name in EFFECTS}
    rows = []
    for kind in draws["kappa_honor"]:
        honor, violate = draws["kappa_honor"][kind], draws["kappa_violate"].get(kind)
        if violate is None:
            continue
        row = {"kind": kind}
        for short, values in (("honor", honor), ("violate", violate)):
            low, high = _hdi(values, prob)
            row |= {f"kappa_{short}": float(values.mean()), f"{short}_low": low,
                    f"{short}_high": high, f"p_{short}_positive": float((values > 0).mean())}
        row["p_violation_costlier"] = float((violate > honor).mean())
        rows.append(row)
    table = pd.DataFrame(rows).set_index("kind")
    fixed = any(_nonnegative(result.spec, f"{name}_raw") for name in EFFECTS)
    return ReputationEffects(table, prob, fixed)


def _by_kind(da) -> dict[str, np.ndarray]:
    """Draws (chains stacked) per kind: ``all`` for a scalar, else one per label of the
    one extra dimension."""
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    if not extra:
        return {"all": da.values.ravel()}
    dim = extra[0]
    return {str(label): da.sel({dim: label}).values.ravel() for label in da[dim].values}


def _hdi(values: np.ndarray, prob: float) -> tuple[float, float]:
    """ArviZ's highest-density interval of one parameter's draws."""
    import arviz as az

    low, high = az.hdi(values, hdi_prob=prob)
    return float(low), float(high)


def _nonnegative(spec, name: str) -> bool:
    """Whether the prior of ``name`` admits no negative value (False if unknown)."""
    try:
        prior = spec.prior(name)
    except KeyError:
        return False
    dist = prior.get("dist")
    if dist in _NONNEGATIVE:
        return True
    return dist in ("Uniform", "TruncatedNormal") and prior.get("lower", -np.inf) >= 0
