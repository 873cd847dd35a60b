"""The prior distributions a spec may name: one table that the spec's validation, the PyMC
model and the numba kernel all read.

Each entry lists the distribution's parameters in the order the kernel reads them
(``kernel.layout.PRIOR_CODES`` numbers the entries in this order), with PyMC's default
for each (``None``: PyMC requires it).  Adding a prior here and its log-density to
``kernel.density._prior`` is all a new prior needs; a prior the kernel does not know
makes the fit fall back to the PyTensor-compiled model (with a notice), never crash.
"""

from __future__ import annotations

import math

PRIOR_PARAMS: dict[str, tuple[tuple[str, float | None], ...]] = {
    "Normal": (("mu", 0.0), ("sigma", 1.0)),
    "HalfNormal": (("sigma", 1.0),),
    "LogNormal": (("mu", 0.0), ("sigma", 1.0)),
    "Exponential": (("lam", None),),
    "Gamma": (("alpha", None), ("beta", None)),
    "Beta": (("alpha", None), ("beta", None)),
    "HalfCauchy": (("beta", None),),
    "HalfStudentT": (("nu", None), ("sigma", 1.0)),
    "StudentT": (("nu", None), ("mu", 0.0), ("sigma", 1.0)),
    "Uniform": (("lower", 0.0), ("upper", 1.0)),
    "TruncatedNormal": (("mu", 0.0), ("sigma", 1.0), ("lower", -math.inf), ("upper", math.inf)),
}

# Distributions a prior may name, with the parameters each takes (the spec's check).
PRIOR_DISTS: dict[str, tuple[str, ...]] = {
    name: tuple(p for p, _ in params) for name, params in PRIOR_PARAMS.items()
}

# Each distribution's own constraints on its parameters, which the spec's validation
# (``spec._priors``) reads: every parameter is a finite number unless named in
# ``PRIOR_INFINITE`` (a truncation bound may be -inf or inf, its sign given there);
# ``PRIOR_POSITIVE`` must be > 0 (scales, shapes, rates); in each ``PRIOR_ORDERED`` pair
# the first must be below the second.  A parameter whose default is ``None`` above must be
# given.
PRIOR_POSITIVE: dict[str, tuple[str, ...]] = {
    "Normal": ("sigma",),
    "HalfNormal": ("sigma",),
    "LogNormal": ("sigma",),
    "Exponential": ("lam",),
    "Gamma": ("alpha", "beta"),
    "Beta": ("alpha", "beta"),
    "HalfCauchy": ("beta",),
    "HalfStudentT": ("nu", "sigma"),
    "StudentT": ("nu", "sigma"),
    "Uniform": (),
    "TruncatedNormal": ("sigma",),
}
PRIOR_ORDERED: dict[str, tuple[tuple[str, str], ...]] = {
    "Uniform": (("lower", "upper"),),
    "TruncatedNormal": (("lower", "upper"),),
}
PRIOR_INFINITE: dict[str, dict[str, float]] = {
    "TruncatedNormal": {"lower": -math.inf, "upper": math.inf},
}
PRIOR_REQUIRED: dict[str, tuple[str, ...]] = {
    name: tuple(p for p, default in params if default is None)
    for name, params in PRIOR_PARAMS.items()
}
