"""ArviZ convergence checks."""

from __future__ import annotations

import arviz as az
import numpy as np

from .results import CredibilityResult

# Sampler-internal coordinates (non-centred innovations) are left out of the checks:
# what matters is the quantities users report.
INTERNAL = ("z_innovation", "z_alliance", "z_reputation", "level")


def reported_variables(result: CredibilityResult) -> list[str]:
    """Posterior variables users report: credibility and every structural parameter."""
    post = result.idata.posterior
    return [v for v in post.data_vars if v not in INTERNAL and not v.endswith("_raw")]


def convergence(result: CredibilityResult, var_names: list[str] | None = None) -> dict:
    """Max R-hat, min bulk/tail ESS over ``var_names`` (default: every reported variable),
    and the divergence count."""
    idata = result.idata
    names = var_names or reported_variables(result)
    rhat = az.rhat(idata, var_names=names)
    bulk = az.ess(idata, var_names=names, method="bulk")
    tail = az.ess(idata, var_names=names, method="tail")
    div = idata.sample_stats.get("diverging")
    return {
        "max_rhat": float(max(np.nanmax(rhat[v].values) for v in names)),
        "min_ess_bulk": float(min(np.nanmin(bulk[v].values) for v in names)),
        "min_ess_tail": float(min(np.nanmin(tail[v].values) for v in names)),
        "divergences": int(div.sum()) if div is not None else 0,
    }


def quick_check(result: CredibilityResult) -> str:
    """Headline convergence figures for the terminal: credibility, then the worst parameter."""
    if result.idata.posterior.sizes["chain"] < 2:
        return "convergence: one chain, R-hat not available"
    cred = convergence(result, ["credibility"])
    others = [v for v in reported_variables(result) if v != "credibility"]
    rhat = az.rhat(result.idata, var_names=others)
    worst = max(others, key=lambda v: float(np.nanmax(rhat[v].values)))
    return (
        f"credibility: max R-hat {cred['max_rhat']:.3f}, min bulk ESS "
        f"{cred['min_ess_bulk']:.0f}, min tail ESS {cred['min_ess_tail']:.0f}; "
        f"worst parameter: {worst} (R-hat {float(np.nanmax(rhat[worst].values)):.3f}); "
        f"divergences {cred['divergences']}"
    )
