"""The family registry: every likelihood bayescred knows, each declared once.

Each module of this package declares ``FAMILY`` (or ``FAMILIES``, a tuple) — a
:class:`~bayescred.families.base.Family` — and is found here by itself: adding a family is
adding one module (see ``docs/families.md``).  Every table the package needs is derived
from the registry below, never written by hand: the valid family names of a spec, the
integer families a scenario must keep integer, the per-signal parameters and their default
priors, and the kernel's family codes (``kernel.layout``).  Tests are parametrised over
:data:`FAMILIES`, so a registered family is checked automatically.

>>> from bayescred.families import FAMILIES
>>> FAMILIES["negbinomial"].param_names
('dispersion',)
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Family, KernelCode, Param

# modules of this package that declare no family
_NOT_FAMILIES = {"base", "pointwise"}


def _discover() -> dict[str, Family]:
    found: dict[str, Family] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_FAMILIES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = getattr(module, "FAMILIES", None) or (getattr(module, "FAMILY", None),)
        for family in declared:
            if not isinstance(family, Family):
                raise TypeError(f"bayescred.families.{info.name} declares no Family")
            if family.name in found:
                raise ValueError(f"family {family.name!r} is declared twice")
            found[family.name] = family
    return found


FAMILIES: dict[str, Family] = _discover()

# Families whose values are integers (counts, categories): scenarios keep them integer.
INTEGER_FAMILIES: tuple[str, ...] = tuple(n for n, f in FAMILIES.items() if f.integer)


def _params() -> dict[str, Param]:
    out: dict[str, Param] = {}
    for family in FAMILIES.values():
        for p in family.params:
            if p.name in out and out[p.name] != p:
                raise ValueError(f"parameter {p.name!r} is declared differently by two families")
            out[p.name] = p
    return out


# The families' own parameters by name (one posterior variable each, over the signals
# whose family has it), and their default priors (overridable by name in a spec).
PARAMS: dict[str, Param] = _params()
PARAM_PRIORS: dict[str, dict] = {name: p.prior for name, p in PARAMS.items()}

# Families with kernel code, in the order of the kernel's family codes.
KERNEL_FAMILIES: tuple[str, ...] = tuple(n for n, f in FAMILIES.items() if f.kernel is not None)
FAMILY_CODES: dict[str, int] = {name: i for i, name in enumerate(KERNEL_FAMILIES)}


def data_offset(family: Family, values, trials) -> float:
    """Centre of the linear predictor implied by the data (so ``alpha`` starts near 0).

    Keeps the default intercept prior weakly informative whatever the scale of a count or
    rate: ``alpha`` is then a deviation from the data's own typical value.
    """
    import numpy as np

    if family.link == "log":
        return float(np.log(np.mean(values) + 0.5))
    if family.link == "logit":
        if family.needs_trials:
            p = (values.sum() + 0.5) / (trials.sum() + 1.0)
        else:
            p = float(np.clip(np.mean(values), 0.01, 0.99))
        return float(np.log(p / (1 - p)))
    return 0.0


def signal_params(family: Family, signal: str, posterior, draws, ndim: int = 2) -> dict:
    """The posterior draws of ``family``'s parameters for ``signal``, ready to pass to the
    family's NumPy functions with a linear predictor of ``ndim`` dimensions, draws first.

    ``posterior`` is a posterior Dataset (a scalar parameter ``name`` has coordinate
    ``{name}_signal``; a vector parameter is the variable ``{name}_{signal}``) and
    ``draws(DataArray)`` turns a variable into an array with the draws first.
    """
    out = {}
    for p in family.params:
        if p.vector:
            out[p.name] = draws(posterior[f"{p.name}_{signal}"])
        else:
            values = draws(posterior[p.name].sel({f"{p.name}_signal": signal}))
            out[p.name] = values.reshape(values.shape[0], *([1] * (ndim - 1)))
    return out


__all__ = [
    "FAMILIES",
    "FAMILY_CODES",
    "INTEGER_FAMILIES",
    "KERNEL_FAMILIES",
    "PARAMS",
    "PARAM_PRIORS",
    "Family",
    "KernelCode",
    "Param",
    "data_offset",
    "signal_params",
]
