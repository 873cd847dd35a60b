"""bayescred: Bayesian measurement of alliance credibility.

Credibility is a latent variable inferred from signals (deployments, spending, votes,
exercises) and crisis follow-through, in a hierarchical dynamic model fitted with PyMC.

The public names are imported on first use (PEP 562), so ``import bayescred`` is cheap and
each command or function pays only for what it needs (PyMC and ArviZ take most of the
start-up time, and the what-if fast engine needs neither).
"""

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "fit": "api",
    "DiagnosticReport": "diagnostics",
    "Thresholds": "diagnostics",
    "diagnose": "diagnostics",
    "BayescredError": "errors",
    "DataError": "errors",
    "ResultError": "errors",
    "SpecError": "errors",
    "compare": "diagnostics",
    "Panel": "panel",
    "load_panel": "panel",
    "read_panel": "panel",
    "DEFAULT_PROB": "results",
    "CredibilityResult": "results",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "default_spec": "simulate",
    "simulate": "simulate",
    "ModelSpec": "spec",
    "load_spec": "spec",
    "spec_from_dict": "spec",
    "WhatIfResult": "whatif",
    "forecast": "whatif",
    "whatif": "whatif",
    "Job": "many.jobs",
    "ManyFits": "many.batch",
    "fit_many": "many.batch",
    "calibrate": "many.calibrate",
    "kfold": "many.kfold",
    "lfo": "many.kfold",
    "prior_sensitivity": "many.sweeps",
}

__all__ = [
    "BayescredError",
    "CredibilityResult",
    "DEFAULT_PROB",
    "DataError",
    "DiagnosticReport",
    "Job",
    "ManyFits",
    "ModelSpec",
    "Panel",
    "ResultError",
    "Scenario",
    "SpecError",
    "Thresholds",
    "WhatIfResult",
    "calibrate",
    "compare",
    "default_spec",
    "diagnose",
    "fit",
    "fit_many",
    "forecast",
    "kfold",
    "lfo",
    "load",
    "load_panel",
    "load_scenario",
    "load_spec",
    "prior_sensitivity",
    "read_panel",
    "simulate",
    "spec_from_dict",
    "whatif",
]


def __getattr__(name: str):
    if name not in _EXPORTS and name != "load":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .runtime import collector_paused  # light: the standard library only

    with collector_paused():  # a first use may import PyMC and ArviZ: ~1.3 s faster
        if name == "load":
            value = _importlib.import_module(".results", __name__).CredibilityResult.load
        else:
            value = getattr(_importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(_types.ModuleType):
    """Keeps the public functions ``fit``, ``simulate`` and ``whatif`` from being replaced
    by the submodules of the same names: importing a submodule makes the import system set
    it as an attribute of its package, which eager imports used to overwrite at once."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, _types.ModuleType) and (name in _EXPORTS or name == "load"):
            return  # the submodule stays reachable via sys.modules / importlib
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


if _TYPE_CHECKING:  # what static tools and IDEs see
    from .api import fit
    from .diagnostics import DiagnosticReport, Thresholds, compare, diagnose
    from .errors import BayescredError, DataError, ResultError, SpecError
    from .many.batch import ManyFits, fit_many
    from .many.calibrate import calibrate
    from .many.jobs import Job
    from .many.kfold import kfold, lfo
    from .many.sweeps import prior_sensitivity
    from .panel import Panel, load_panel, read_panel
    from .results import DEFAULT_PROB, CredibilityResult
    from .scenario import Scenario, load_scenario
    from .simulate import default_spec, simulate
    from .spec import ModelSpec, load_spec, spec_from_dict
    from .whatif import WhatIfResult, forecast, whatif

    load = CredibilityResult.load
