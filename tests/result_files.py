"""A saved result with a made-up posterior shaped like a real fit's (family parameters
per signal, the measurement model's coordinates), written without sampling."""

from __future__ import annotations

import arviz as az
import numpy as np

from bayescred.model import signal_scales
from bayescred.panel import read_panel
from bayescred.results import CredibilityResult
from bayescred.runtime import Timing
from bayescred.spec import load_spec
from bayescred.structure import model_structure


def made_up_result(spec_path, draws: int = 20, chains: int = 2) -> CredibilityResult:
    spec = load_spec(spec_path).with_sampler(draws=draws, chains=chains)
    panel = read_panel(spec)
    structure = model_structure(spec, panel)
    rng = np.random.default_rng(0)
    shape = (chains, draws)
    kinds = list(structure.crisis_kinds) or ["war"]
    posterior = {
        "credibility": rng.normal(size=(*shape, len(panel.units), len(panel.years))),
        "kappa_honor": rng.normal(0.4, 0.2, size=(*shape, len(kinds))),
        "kappa_violate": rng.normal(0.8, 0.2, size=(*shape, len(kinds))),
        "alpha": rng.normal(size=(*shape, len(panel.signals))),
    }
    coords = {"unit": panel.unit_labels, "year": panel.years.astype(int),
              "signal": list(panel.signals), "crisis_kind": kinds}
    dims = {"credibility": ["unit", "year"], "alpha": ["signal"],
            "kappa_honor": ["crisis_kind"], "kappa_violate": ["crisis_kind"]}
    for name, signals in structure.param_signals.items():
        posterior[name] = rng.gamma(2.0, 1.0, size=(*shape, len(signals)))
        coords[f"{name}_signal"] = signals
        dims[name] = [f"{name}_signal"]
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    idata.posterior = idata.posterior.assign_coords(
        unit_member=("unit", panel.units.member.to_numpy(str)),
        unit_alliance=("unit", panel.units.alliance.to_numpy(str)),
    )
    return CredibilityResult(idata, spec, panel, signal_scales(panel, spec), Timing(1.0, 2.0))


def save_made_up(spec_path, path):
    made_up_result(spec_path).save(path, log_likelihood=False, predictive_draws=0)
    return path
