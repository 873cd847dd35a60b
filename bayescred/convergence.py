"""Convergence and the sampler's health: R-hat and ESS of what users report, divergences,
E-BFMI, tree depth, and the next step when a check fails (see :mod:`bayescred.diagnostics`
for the thresholds and what the verdict is about)."""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from . import mixing
from .checks import Check, Thresholds, _grade
from .results import CredibilityResult

# Sampler-internal coordinates (non-centred innovations, the random walk's coordinates)
# are left out of the verdict: what matters is the quantities users report.
# credibility_common: with [dimensions], the pillars' common level (its parameters,
# ``level`` and the rest, are checked; credibility and the pillars are what is reported)
INTERNAL = ("z_innovation", "z_alliance", "z_reputation", "level", "z_walk",
            "credibility_common")


_MAXDEPTH_FLAGS = ("maxdepth_reached", "reached_max_treedepth")  # nutpie, PyMC


_DEPTH = ("depth", "tree_depth")  # when no flag is stored (numpyro): compare with 10


_DEFAULT_MAX_DEPTH = 10


def reported_variables(result: CredibilityResult) -> list[str]:
    """Posterior variables users report: credibility and every structural parameter."""
    return reported_names(result.idata.posterior)


def reported_names(posterior) -> list[str]:
    """:func:`reported_variables` of a posterior Dataset with bayescred's variable names
    (a trace that is not a fit's result, such as benchmarks/spread_scales.py's)."""
    return [v for v in posterior.data_vars if v not in INTERNAL and not v.endswith("_raw")]


def internal_variables(result: CredibilityResult) -> list[str]:
    """Sampler-internal and raw-scale variables (reported, but not part of the verdict)."""
    reported = set(reported_variables(result))
    return [v for v in result.idata.posterior.data_vars if v not in reported]


def convergence(result: CredibilityResult, var_names: list[str] | None = None) -> dict:
    """Max R-hat, min bulk/tail ESS over ``var_names`` (default: every reported variable),
    and the divergence count.  Credibility counts over the active unit-years only (the
    reported ones), as in :func:`convergence_table`: years before a member joined are
    prior extrapolation and would otherwise set the headline."""
    idata = result.idata
    names = var_names or reported_variables(result)
    rhat, bulk, tail = mixing_statistics(result)
    div = idata.sample_stats.get("diverging")
    return {
        "max_rhat": float(max(np.nanmax(rhat[v].values) for v in names)),
        "min_ess_bulk": float(min(np.nanmin(bulk[v].values) for v in names)),
        "min_ess_tail": float(min(np.nanmin(tail[v].values) for v in names)),
        "divergences": int(div.sum()) if div is not None else 0,
    }


def approximation(result: CredibilityResult) -> dict | None:
    """What the approximate backend recorded (algorithm, iterations, converged, ELBO,
    Pareto k), or None for a fit by MCMC."""
    attrs = result.idata.posterior.attrs
    if "approximation" not in attrs:
        return None
    return {
        "algorithm": str(attrs["approximation"]),
        "iterations": int(attrs["approx_iterations"]),
        "converged": bool(int(attrs["approx_converged"])),
        "elbo": float(attrs["approx_elbo"]),
        "pareto_k": float(attrs["approx_pareto_k"]),
    }


def quick_check(result: CredibilityResult) -> str:
    """Headline convergence figures for the terminal: credibility, then the worst parameter."""
    approx = approximation(result)
    if approx is not None:
        state = "converged" if approx["converged"] else "NOT converged (stopped at the limit)"
        return (
            f"approximate posterior ({approx['algorithm']}: ELBO {state} after "
            f"{approx['iterations']} iterations, Pareto k {approx['pareto_k']:.2f}): for "
            "exploring; fit with NUTS (sampler nutpie) for estimates you report"
        )
    if result.idata.posterior.sizes["chain"] < 2:
        return "convergence: one chain, R-hat not available"
    cred = convergence(result, ["credibility"])
    others = [v for v in reported_variables(result) if v != "credibility"]
    rhat = mixing_statistics(result)[0]
    worst = max(others, key=lambda v: float(np.nanmax(rhat[v].values)))
    return (
        f"credibility: max R-hat {cred['max_rhat']:.3f}, min bulk ESS "
        f"{cred['min_ess_bulk']:.0f}, min tail ESS {cred['min_ess_tail']:.0f}; "
        f"worst parameter: {worst} (R-hat {float(np.nanmax(rhat[worst].values)):.3f}); "
        f"divergences {cred['divergences']}"
    )


def convergence_table(result: CredibilityResult) -> pd.DataFrame:
    """Max R-hat and min bulk/tail ESS per posterior variable, with the worst element.

    Credibility is checked over the active unit-years only (the ones reported).
    """
    reported = reported_variables(result)
    names = reported + internal_variables(result)
    rhat, bulk, tail = mixing_statistics(result)  # R-hat NaN for 1 chain
    rows = []
    for name in names:
        r, b, t = rhat[name], bulk[name], tail[name]
        rows.append(
            {
                "variable": name,
                "role": "reported" if name in reported else "internal",
                "size": int(np.isfinite(b.values).sum()) if b.ndim else 1,
                "max_rhat": _nanext(r, np.nanmax),
                "min_ess_bulk": _nanext(b, np.nanmin),
                "min_ess_tail": _nanext(t, np.nanmin),
                "worst_rhat": _where_extreme(r, np.nanargmax),
                "worst_ess": _where_extreme(b, np.nanargmin),
            }
        )
    return pd.DataFrame(rows).set_index("variable")


def mixing_statistics(result: CredibilityResult) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """R-hat, bulk ESS and tail ESS of every posterior variable, computed once per result
    (the report's tables, verdict and worst-mixing list all read them).  Variables per
    unit-year (credibility, pillars) count over the active unit-years only, the reported
    ones: years before a member joined are prior extrapolation (NaN here), and skipping
    them saves a third of the work on the US panel."""
    cache = result._cache()
    active = _active(result)
    key = ("mixing", None if active is None else active.values.tobytes())
    if key not in cache:
        post = result.idata.posterior
        if active is not None:
            post = post.assign({
                name: da.where(active) for name, da in post.data_vars.items()
                if {"unit", "year"} <= set(da.dims)
            })
        cache[key] = mixing.rhat_ess(post)
    return cache[key]


def _active(result: CredibilityResult) -> xr.DataArray | None:
    cred = result.idata.posterior["credibility"]
    mask = result.panel.active_mask()
    if mask.shape != (cred.sizes["unit"], cred.sizes["year"]):
        return None
    return xr.DataArray(mask, dims=("unit", "year"), coords={"unit": cred.unit, "year": cred.year})


def _nanext(da: xr.DataArray, fn) -> float:
    values = np.asarray(da.values, float)
    if not np.isfinite(values).any():
        return float("nan")
    return float(fn(values))


def _where_extreme(da: xr.DataArray, fn) -> str:
    """Label of the element where ``fn`` (nanargmax / nanargmin) lands, e.g. ``[M03/A1, 1992]``."""
    values = np.asarray(da.values, float)
    if values.ndim == 0 or not np.isfinite(values).any():
        return ""
    idx = np.unravel_index(fn(values), values.shape)
    labels = []
    for dim, i in zip(da.dims, idx):
        coord = da[dim].values if dim in da.coords else np.arange(da.sizes[dim])
        labels.append(str(coord[i]))
    return "[" + ", ".join(labels) + "]"


def _convergence_checks(result, conv: pd.DataFrame, limits: Thresholds) -> list[Check]:
    post = result.idata.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    reported = conv[conv.role == "reported"]
    steps = _convergence_steps(reported, limits, chains, draws)
    checks = []
    for name, row in conv.iterrows():
        specs = [
            ("rhat", row.max_rhat, limits.rhat, limits.rhat_fail, "<=", row.worst_rhat),
            ("ess_bulk", row.min_ess_bulk, limits.ess_bulk, limits.ess_fail, ">=", row.worst_ess),
            ("ess_tail", row.min_ess_tail, limits.ess_tail, limits.ess_fail, ">=", ""),
        ]
        for check, value, good, bad, rule, where in specs:
            status = _grade(value, good, bad, rule) if row.role == "reported" else "info"
            if check == "rhat" and chains < 2 and row.role == "reported":
                status = "warn"
            message = next_step = ""
            if status in ("warn", "fail"):
                message = _convergence_problem(check, name, where, value, good, chains)
                next_step = steps[check]
            checks.append(
                Check(check, name, value, good, rule, status, bad,
                      (name,) if message else (), message, next_step)
            )
    return checks


def _convergence_steps(reported: pd.DataFrame, limits: Thresholds, chains: int, draws: int):
    """One next step per kind of convergence check (the draws needed by the worst)."""
    ratios = [reported.min_ess_bulk.min() / limits.ess_bulk,
              reported.min_ess_tail.min() / limits.ess_tail]
    worst = float(np.nanmin(ratios)) if len(reported) and np.isfinite(ratios).any() else 1.0
    target_chains = max(chains, 4)

    def more(factor: float) -> str:
        per_chain = draws * chains * factor / target_chains
        needed = int(math.ceil(max(per_chain, draws) / 100.0) * 100)
        return f"more draws: about {needed} per chain with {target_chains} chains"

    for_ess = more(1 / max(worst, 1e-3))
    return {
        "rhat": (
            "run 4 chains, so their agreement can be checked" if chains < 2 else
            "more tuning and " + more(_rhat_draws_factor(reported, limits)) + "; if R-hat "
            "stays high, reparametrise the variables named or give them tighter priors"
        ),
        "ess_bulk": for_ess + "; if ESS per draw stays low, reparametrise",
        "ess_tail": for_ess + "; if ESS per draw stays low, reparametrise",
    }


def _rhat_draws_factor(reported: pd.DataFrame, limits: Thresholds) -> float:
    """How many times the draws bring the worst R-hat to the bound, at least 2.  Once the
    chains mix, R-hat^2 - 1 shrinks about as 1 / draws.  The worst of many R-hats is
    itself noisy: a posterior of thousands of values (credibility) has one folded R-hat
    above 1.01 in many fits of 4 x 1000 draws even when it mixes as well as NUTS does on
    independent normals (benchmarks/rhat_floor.py), and twice the draws brings it below."""
    worst = float(np.nanmax(reported.max_rhat)) if len(reported) else np.nan
    if not np.isfinite(worst) or worst <= limits.rhat or limits.rhat <= 1:
        return 2.0
    return max(2.0, (worst**2 - 1) / (limits.rhat**2 - 1))


def _convergence_problem(check, name, where, value, threshold, chains) -> str:
    place = f"{name}{where}" if where else name
    if check == "rhat":
        if chains < 2:
            return f"R-hat of {name} cannot be computed from one chain."
        return f"R-hat {value:.3f} > {threshold:g} for {place}: the chains disagree."
    kind = "bulk" if check == "ess_bulk" else "tail"
    return (
        f"{kind} ESS {value:.0f} < {threshold:g} for {place}: too few effective draws for "
        f"{'the centre' if kind == 'bulk' else 'the interval ends'}."
    )


def _approximation_check(approx: dict, limits: Thresholds) -> Check:
    """An approximate fit warns at best: how far it is from the posterior is unknown
    without NUTS (Pareto k above 0.7: far, in the tails at least)."""
    k = approx["pareto_k"]
    if not approx["converged"]:
        status = "fail"
        message = (f"{approx['algorithm']} stopped at its iteration limit "
                   f"({approx['iterations']}) before the ELBO levelled off.")
    else:
        status = "warn"
        message = (f"approximate posterior ({approx['algorithm']}, Pareto k {k:.2f} of the "
                   "importance ratios p/q): means are usually close to NUTS's, intervals "
                   "and tails are not checked.")
    return Check("approximation", approx["algorithm"], k, limits.pareto_k, "<=", status,
                 None, (), message, "fit with NUTS (sampler nutpie) for estimates you report")


def _divergence_advice(target_accept: float) -> str:
    """What to do about divergences: a higher target_accept while one is left to try (a
    fit at 0.99 gains nothing from a higher one), else the model's geometry."""
    geometry = "reparametrise those parameters or tighten their priors"
    if target_accept >= 0.99:
        return f"target_accept is already {target_accept:g}: {geometry}"
    higher = 0.95 if target_accept < 0.95 else 0.99
    return (f"raise target_accept from {target_accept:g} to {higher:g} (`bayescred fit "
            f"--target-accept {higher:g}` or [sampler] target_accept); if divergences "
            f"persist, {geometry}")


def _sampler_checks(result: CredibilityResult, limits: Thresholds) -> tuple[dict, list[Check]]:
    idata = result.idata
    post = idata.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    total = chains * draws
    stats = idata.sample_stats if "sample_stats" in idata.groups() else xr.Dataset()
    checks: list[Check] = []
    info: dict = {"backend": result.spec.sampler.backend, "chains": chains, "draws": draws}

    div = stats.get("diverging")
    n_div = int(div.sum()) if div is not None else 0
    info["divergences"] = n_div
    status = "pass" if n_div <= limits.divergences else (
        "fail" if n_div > limits.divergences_fail_share * total else "warn")
    message = ""
    suspects: tuple[str, ...] = ()
    if status != "pass":
        suspects = _divergence_suspects(result, div)
        message = (
            f"{n_div} divergent transitions of {total} draws: NUTS missed part of the "
            f"posterior (divergent draws sit furthest from the rest in "
            f"{', '.join(suspects) or 'no single parameter'})."
        )
    checks.append(Check("divergences", "all chains", n_div, limits.divergences, "<=", status,
                        limits.divergences_fail_share * total, suspects, message,
                        _divergence_advice(result.spec.sampler.target_accept)
                        if message else ""))

    if "energy" in stats:
        bfmi = e_bfmi(stats["energy"])
        info["bfmi"] = [float(b) for b in bfmi]
        for chain, value in enumerate(bfmi):
            status = _grade(float(value), limits.bfmi, limits.bfmi_fail, ">=")
            message = ""
            suspects = ()
            if status != "pass":
                suspects = _energy_suspects(result, chain)
                message = (
                    f"E-BFMI {value:.2f} < {limits.bfmi:g} in chain {chain}: momentum "
                    f"resampling cannot move the energy enough (heavy tails or a funnel; "
                    f"the energy follows {', '.join(suspects)})."
                )
            checks.append(Check("bfmi", f"chain {chain}", float(value), limits.bfmi, ">=",
                                status, limits.bfmi_fail, suspects, message,
                                "reparametrise (non-centred) or tighter priors on those "
                                "parameters; more tuning" if message else ""))
    else:
        info["bfmi"] = None

    share = _treedepth_share(stats)
    info["treedepth_share"] = share
    if share is not None:
        status = "pass" if share <= limits.treedepth_share else "warn"
        message = ""
        suspects = ()
        if status == "warn":
            suspects = tuple(_slowest(result, 3))
            message = (
                f"{share:.1%} of draws hit the maximum tree depth: long trajectories, slow "
                f"but not biased (slowest to mix: {', '.join(suspects)})."
            )
        checks.append(Check("treedepth", "all chains", share, limits.treedepth_share, "<=",
                            status, None, suspects, message,
                            "reparametrise those parameters, or raise the maximum tree depth"
                            if message else ""))
    return info, checks


def _treedepth_share(stats: xr.Dataset) -> float | None:
    for name in _MAXDEPTH_FLAGS:
        if name in stats:
            return float(stats[name].astype(float).mean())
    for name in _DEPTH:
        if name in stats:
            return float((stats[name] >= _DEFAULT_MAX_DEPTH).mean())
    return None


def _scalar_draws(result: CredibilityResult) -> dict[str, np.ndarray]:
    """Every scalar component of the structural parameters, as (chain, draw) arrays."""
    post = result.idata.posterior
    out = {}
    for name in reported_variables(result):
        if name == "credibility":
            continue
        da = post[name]
        flat = da.values.reshape(da.sizes["chain"], da.sizes["draw"], -1)
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        labels = (
            [str(v) for v in da[extra[0]].values] if len(extra) == 1 and extra[0] in da.coords
            else [str(i) for i in range(flat.shape[-1])]
        )
        for i in range(flat.shape[-1]):
            key = name if flat.shape[-1] == 1 else f"{name}[{labels[i]}]"
            out[key] = flat[:, :, i]
    return out


def _divergence_suspects(result: CredibilityResult, div, n: int = 3) -> tuple[str, ...]:
    """Parameters whose divergent draws sit furthest from their bulk (in posterior sds)."""
    if div is None:
        return ()
    mask = np.asarray(div.values, bool)
    if not mask.any() or mask.all():
        return ()
    scores = {}
    for key, x in _scalar_draws(result).items():
        sd = x.std()
        if sd > 0:
            scores[key] = abs(x[mask].mean() - x[~mask].mean()) / sd
    return tuple(sorted(scores, key=scores.get, reverse=True)[:n])


def _energy_suspects(result: CredibilityResult, chain: int, n: int = 3) -> tuple[str, ...]:
    """Parameters most correlated with the energy in a chain (the usual culprits)."""
    energy = result.idata.sample_stats["energy"].values[chain]
    scores = {}
    for key, x in _scalar_draws(result).items():
        if np.std(x[chain]) > 0 and np.std(energy) > 0:
            scores[key] = abs(np.corrcoef(x[chain], energy)[0, 1])
    return tuple(sorted(scores, key=scores.get, reverse=True)[:n])


def _slowest(result: CredibilityResult, n: int) -> list[str]:
    draws = {k: (("chain", "draw"), x) for k, x in _scalar_draws(result).items()}
    bulk = mixing.ess(xr.Dataset(draws))
    return sorted(draws, key=lambda k: float(bulk[k]))[:n]


def worst_mixing(result: CredibilityResult, n: int = 4) -> list[tuple[str, dict]]:
    """The ``n`` scalar quantities with the highest R-hat (lowest bulk ESS with one chain):
    ``(variable, selection)`` pairs, e.g. ``("loading", {"signal": "troops"})``, drawn from
    credibility (active unit-years) and the structural parameters."""
    post = result.idata.posterior
    names = reported_variables(result)
    rhat, bulk, _ = mixing_statistics(result)
    stats = rhat if post.sizes["chain"] > 1 else -bulk
    scores = []
    for name in names:
        stat = stats[name]
        values = np.asarray(stat.values, float).ravel()
        for flat, v in enumerate(values):
            if np.isfinite(v):
                scores.append((v, name, flat, stat.dims, stat.shape))
    scores.sort(key=lambda s: s[0], reverse=True)
    out = []
    for _, name, flat, dims, shape in scores[:n]:
        idx = np.unravel_index(flat, shape) if shape else ()
        sel = {d: post[name][d].values[i] if d in post[name].coords else i
               for d, i in zip(dims, idx)}
        out.append((name, sel))
    return out


def e_bfmi(energy) -> np.ndarray:
    """E-BFMI per chain (``az.bfmi``) of the sampler's energies (chain, draw), computed on
    each chain's energies less their mean.  The same number, but ArviZ's variance (a sum
    of squares less a squared sum) cancels catastrophically when the energies sit far from
    zero: on the demo's fit, about -2.2e8 with a spread of 60, it returned -0.68."""
    values = np.asarray(energy.transpose("chain", "draw").values, dtype=float)
    return np.asarray(az.bfmi(values - values.mean(axis=1, keepdims=True)))
