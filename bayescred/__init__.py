"""bayescred: Bayesian measurement of alliance credibility.

Credibility is a latent variable inferred from signals (deployments, spending, votes,
exercises) and crisis follow-through, in a hierarchical dynamic model fitted with PyMC.
"""

from .api import fit
from .diagnostics import DiagnosticReport, Thresholds, diagnose
from .errors import BayescredError, DataError, ResultError, SpecError
from .loo import compare
from .panel import Panel, load_panel, read_panel
from .results import DEFAULT_PROB, CredibilityResult
from .scenario import Scenario, load_scenario
from .simulate import default_spec, simulate
from .spec import ModelSpec, load_spec, spec_from_dict
from .whatif import WhatIfResult, forecast, whatif

__version__ = "0.1.0"

load = CredibilityResult.load

__all__ = [
    "BayescredError",
    "CredibilityResult",
    "DEFAULT_PROB",
    "DataError",
    "DiagnosticReport",
    "ModelSpec",
    "Panel",
    "ResultError",
    "Scenario",
    "SpecError",
    "Thresholds",
    "WhatIfResult",
    "compare",
    "default_spec",
    "diagnose",
    "fit",
    "forecast",
    "load",
    "load_panel",
    "load_scenario",
    "load_spec",
    "read_panel",
    "simulate",
    "spec_from_dict",
    "whatif",
]
