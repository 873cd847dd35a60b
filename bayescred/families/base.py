"""What a likelihood family is: one object that every reader of the model takes its
family-specific part from.

A :class:`Family` holds, for one likelihood: its support check, how observed values are
put on the likelihood's scale, its own per-signal parameters (:class:`Param`: name and
default prior), its PyMC likelihood, its NumPy log-density and random draw (the simulator,
the what-if fast engine and the predictive checks), its Fisher information about the
linear predictor (``information.py``), and optionally its kernel code (the numba
log-density nutpie samples through).  Nothing outside ``bayescred/families`` branches on
a family's name.

Every family sees the same linear predictor ``eta = offset + alpha + direction * loading *
credibility`` (families without an intercept, such as ordinal, ignore ``offset + alpha``).
Parameters passed to the NumPy and PyMC functions are in a dict keyed by
:attr:`Param.name`, each broadcastable against ``eta``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# A support check takes the values (and trials, or None) and returns a boolean mask of
# the cells that are *not* valid, so the caller can name the offending rows.
SupportCheck = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


@dataclass(frozen=True)
class Param:
    """A family's own per-signal parameter.

    Attributes
    ----------
    name : str
        Posterior variable name, shared by every family that has a parameter of that name
        (``sigma`` is one vector over the gaussian, lognormal and student-t signals), and
        the key of its prior in a spec's ``[priors]`` table.
    prior : dict
        Default prior, e.g. ``{"dist": "HalfNormal", "sigma": 1.0}``.
    vector : bool
        An ordered vector per signal (ordinal cutpoints: one variable per signal named
        ``{name}_{signal}``), rather than one positive number per signal.
    """

    name: str
    prior: dict
    vector: bool = False


@dataclass(frozen=True)
class KernelCode:
    """A family's part of the numba kernel.

    ``rows`` is a factory (called once, when the kernel is built) that returns a numba
    function with the signature ::

        rows(rows, cred, g_cred, cell, y, trials, c1, c2, icpt, slope, val, gval, par, n_vec)
            -> (loglik, d loglik / d icpt, d loglik / d slope)

    summing the log-likelihood of one signal's rows ``rows[0]:rows[1]`` (constants in y may be
    dropped), adding ``slope * d loglik / d eta`` of row i to ``g_cred[cell[i]]``, and the
    gradient with respect to its own parameters to ``gval`` at the offsets ``par[j]`` (the
    j-th of :attr:`Family.params`; ``n_vec`` is the length of a vector parameter).  Its
    parameters' constrained values are ``val[par[j]]``.  See
    :func:`bayescred.families.pointwise.rows_from_pointwise` to write it as one function of
    one row.  ``columns`` turns observed values into the two extra data columns ``c1, c2``
    the rows may read (e.g. ``log y``), computed once per fit.
    """

    rows: Callable[[], Any]
    columns: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None


@dataclass(frozen=True)
class Family:
    """One likelihood family (see the module docstring).

    Attributes
    ----------
    name : str
        Name used in specs (``family = "negbinomial"``).
    expected : str
        Human description of the support, used in error messages.
    bad_values : SupportCheck
        Mask of invalid values.
    integer : bool
        Values are integers (counts or categories); scenarios must set integers.
    needs_trials : bool
        Whether the ``trials`` column is required.
    transform : str
        ``"standardise"`` (centre and scale y), ``"log_standardise"`` (the same on log y),
        or ``"none"`` (likelihood on the raw values).
    link : str
        ``"identity"``, ``"log"`` or ``"logit"``: how ``eta`` maps to the mean.
    intercept : bool
        Whether ``eta`` has the signal's intercept (ordinal: its cutpoints place it).
    params : tuple of Param
        The family's own per-signal parameters.
    pymc : callable
        ``pymc(name, eta, observed, params, trials, dims)`` adds the observed variable to
        the current PyMC model.
    logp : callable
        ``logp(y, eta, params, trials)``: elementwise log-density (all constants, as
        PyMC's), NumPy.
    draw : callable
        ``draw(rng, eta, params, trials)``: one value per element of ``eta``.
    fisher : callable
        ``fisher(eta, params, trials)``: Fisher information of one observation about
        ``eta``, the expected squared score (times ``loading**2`` it is the information
        about credibility).  Exact for every built-in family but the beta-binomial, whose
        quasi-likelihood information is documented as an approximation.
    synthetic : callable
        ``synthetic(rng, eta, shape_params)`` -> ``(values, trials or None)``: values on
        the data's own scale for simulated panels (``bayescred.simulate``).
    kernel : KernelCode or None
        The numba kernel's code; ``None`` makes fits with this family use the
        PyTensor-compiled model (with a one-line notice).
    binary : bool
        Values are 0 or 1: a predictive check of their spread says nothing the mean does
        not.
    skewed : bool
        Positive, right-skewed values, best seen on a log axis (the predictive plots).
    advice_more_spread, advice_less_spread : str
        What the diagnostics advise when the data vary more (less) than the fitted model
        lets them.
    """

    name: str
    expected: str
    bad_values: SupportCheck
    pymc: Callable
    logp: Callable
    draw: Callable
    fisher: Callable
    synthetic: Callable
    integer: bool = False
    needs_trials: bool = False
    transform: str = "none"
    link: str = "identity"
    intercept: bool = True
    params: tuple[Param, ...] = ()
    kernel: KernelCode | None = field(default=None, compare=False)
    binary: bool = False
    skewed: bool = False
    advice_more_spread: str = "a different family with more dispersion, or check for outliers"
    advice_less_spread: str = "a family with less dispersion, or check the data's transform"

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def to_likelihood_scale(self, values: np.ndarray, center: float, scale: float):
        """Observed values on the scale the likelihood sees (see ``transform``)."""
        if self.transform == "log_standardise":
            return (np.log(values) - center) / scale
        if self.transform == "standardise":
            return (values - center) / scale
        return values

    def from_likelihood_scale(self, values: np.ndarray, center: float, scale: float):
        """Inverse of :meth:`to_likelihood_scale` (predictive draws back in data units)."""
        if self.transform == "log_standardise":
            return np.exp(values * scale + center)
        if self.transform == "standardise":
            return values * scale + center
        return values


# ---------------------------------------------------------------------------- supports


def is_integer(v: np.ndarray) -> np.ndarray:
    """Exact integers (no tolerance: 100000.5 is not a count)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & (v == np.round(v))


def bad_real(v, trials):
    return ~np.isfinite(v)


def bad_positive(v, trials):
    return ~(np.isfinite(v) & (v > 0))


def bad_count(v, trials):
    return ~((v >= 0) & is_integer(v))


def bad_binomial(v, trials):
    return ~((v >= 0) & is_integer(v) & (v <= trials))


def bad_bernoulli(v, trials):
    return ~np.isin(v, (0.0, 1.0))


def bad_proportion(v, trials):
    return ~((v > 0) & (v < 1))


# ---------------------------------------------------------------------------- numpy maths


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def expit(x):
    from scipy.special import expit as _expit

    return _expit(x)


def gammaln(x):
    from scipy.special import gammaln as _gammaln

    return _gammaln(x)


def log_choose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
