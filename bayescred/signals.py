"""Signal families as data: name -> support check, data transform and likelihood.

Adding a likelihood is one `Family` entry plus, at most, one small function.  Every
family sees the same linear predictor ``eta = offset + alpha + direction * loading * theta``
(``theta`` = standardised credibility); what differs is the support of the observed
values, how they are put on a standard scale before fitting, and the likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pytensor.tensor as pt

# PyMC and PyTensor are imported inside likelihood() only: everything else here is what
# specs, panels and the what-if fast engine need, and they must not pay PyMC's import time

# A support check takes the values (and trials, or None) and returns a boolean mask of
# the cells that are *not* valid, so the caller can name the offending rows.
SupportCheck = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


def _is_integer(v: np.ndarray) -> np.ndarray:
    return np.isclose(v, np.round(v))


def _bad_real(v, trials):
    return ~np.isfinite(v)


def _bad_positive(v, trials):
    return ~(v > 0)


def _bad_count(v, trials):
    return ~((v >= 0) & _is_integer(v))


def _bad_binomial(v, trials):
    return ~((v >= 0) & _is_integer(v) & (v <= trials))


def _bad_bernoulli(v, trials):
    return ~np.isin(v, (0.0, 1.0))


def _bad_proportion(v, trials):
    return ~((v > 0) & (v < 1))


@dataclass(frozen=True)
class Family:
    """One likelihood family.

    Attributes
    ----------
    name : str
        Name used in specs (``family = "negbinomial"``).
    expected : str
        Human description of the support, used in error messages.
    bad_values : SupportCheck
        Mask of invalid values.
    needs_trials : bool
        Whether the ``trials`` column is required.
    transform : str
        ``"standardise"`` (centre and scale y), ``"log_standardise"`` (the same on log y),
        or ``"none"`` (likelihood on the raw values).
    link : str
        ``"identity"``, ``"log"`` or ``"logit"``: how ``eta`` maps to the mean.
    aux : tuple of str
        Names of the family's own per-signal parameters (priors overridable by name).
    """

    name: str
    expected: str
    bad_values: SupportCheck
    needs_trials: bool = False
    transform: str = "none"
    link: str = "identity"
    aux: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("gaussian", "a finite number", _bad_real, transform="standardise", aux=("sigma",)),
        Family(
            "lognormal",
            "a positive number",
            _bad_positive,
            transform="log_standardise",
            aux=("sigma",),
        ),
        Family(
            "binomial",
            "an integer count between 0 and its trials",
            _bad_binomial,
            needs_trials=True,
            link="logit",
        ),
        Family("bernoulli", "0 or 1", _bad_bernoulli, link="logit"),
        Family("poisson", "a non-negative integer count", _bad_count, link="log"),
        Family(
            "negbinomial",
            "a non-negative integer count",
            _bad_count,
            link="log",
            aux=("dispersion",),
        ),
        Family(
            "beta",
            "a proportion strictly between 0 and 1",
            _bad_proportion,
            link="logit",
            aux=("precision",),
        ),
        Family(
            "ordinal",
            "a non-negative integer category (0, 1, 2, ...)",
            _bad_count,
            aux=("cutpoints",),
        ),
    )
}

# Default priors of the families' own parameters (all overridable by name in the spec).
AUX_PRIORS: dict[str, dict] = {
    "sigma": {"dist": "HalfNormal", "sigma": 1.0},
    "dispersion": {"dist": "Exponential", "lam": 1.0},
    "precision": {"dist": "Gamma", "alpha": 2.0, "beta": 0.1},
    "cutpoints": {"dist": "Normal", "mu": 0.0, "sigma": 3.0},
}


def data_offset(family: Family, values: np.ndarray, trials: np.ndarray | None) -> float:
    """Centre of the linear predictor implied by the data (so ``alpha`` starts near 0).

    Keeps the default intercept prior weakly informative whatever the scale of a count or
    rate: ``alpha`` is then a deviation from the data's own typical value.
    """
    if family.link == "log":
        return float(np.log(np.mean(values) + 0.5))
    if family.link == "logit":
        if family.needs_trials:
            p = (values.sum() + 0.5) / (trials.sum() + 1.0)
        else:
            p = float(np.clip(np.mean(values), 0.01, 0.99))
        return float(np.log(p / (1 - p)))
    return 0.0


def likelihood(
    family: Family,
    name: str,
    eta: pt.TensorVariable,
    observed,
    local_signal: pt.TensorVariable,
    aux: dict[str, pt.TensorVariable],
    trials=None,
    dims: str | None = None,
):
    """Add the observed variable of one family to the current model.

    ``aux`` holds the family's per-signal parameter vectors; ``local_signal`` indexes them
    for each cell.  Ordinal signals get their cutpoints as a (signal, cut) matrix.
    """
    import pymc as pm
    import pytensor.tensor as pt

    kw = {"observed": observed, "dims": dims}
    match family.name:
        case "gaussian" | "lognormal":
            return pm.Normal(name, mu=eta, sigma=aux["sigma"][local_signal], **kw)
        case "binomial":
            return pm.Binomial(name, n=trials, logit_p=eta, **kw)
        case "bernoulli":
            return pm.Bernoulli(name, logit_p=eta, **kw)
        case "poisson":
            return pm.Poisson(name, mu=pt.exp(eta), **kw)
        case "negbinomial":
            return pm.NegativeBinomial(
                name, mu=pt.exp(eta), alpha=1.0 / aux["dispersion"][local_signal], **kw
            )
        case "beta":
            return pm.Beta(
                name, mu=pm.math.sigmoid(eta), nu=aux["precision"][local_signal], **kw
            )
        case "ordinal":
            return pm.OrderedLogistic(
                name, eta=eta, cutpoints=aux["cutpoints"][local_signal], compute_p=False, **kw
            )
    raise AssertionError(f"no likelihood for family {family.name!r}")
