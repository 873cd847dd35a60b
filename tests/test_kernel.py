"""The numba kernel is the PyMC model: same log-density (up to a constant) and gradient.

Each case builds a model with ``model.build_model`` and compares the kernel with PyMC's
own compiled ``logp``/``dlogp`` at random unconstrained points; the expansion (what a
draw stores) is compared with PyMC's deterministics.  Together the cases cover every
family, dynamics, prior distribution and transform the kernel implements.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest

import bayescred as bc
from bayescred.families import FAMILIES, KERNEL_FAMILIES
from bayescred.kernel.build import VECTOR_MATH
from bayescred.kernel.describe import kernel_model
from bayescred.model import build_model, signal_scales
from bayescred.panel import load_panel

# one signal of every registered family with kernel code (every other direction -1), so
# that a family added to the registry is checked here without an edit
ALL_FAMILIES = {
    f"{name}_signal": {"family": name, "direction": -1 if i % 2 else 1}
    for i, name in enumerate(KERNEL_FAMILIES)
}

CASES = {
    "random_walk, reputation, four alliances": dict(
        spec=dict(), sim=dict(n_units=9, n_members=6, n_alliances=4, n_years=12, n_crises=15)
    ),
    "ar1, every family, reputation noise, covariates, partial crises": dict(
        spec=dict(
            dynamics="ar1",
            signals=ALL_FAMILIES,
            covariates=("clarity",),
            reputation_noise=True,
        ),
        sim=dict(n_units=7, n_members=7, n_alliances=1, n_years=10, n_crises=12),
        partial=True,
    ),
    "static, no crises, unusual priors": dict(
        spec=dict(
            dynamics="static",
            priors={
                "tau": {"dist": "HalfCauchy", "beta": 1.0},
                "alpha": {"dist": "StudentT", "nu": 4.0, "sigma": 2.0},
                "loading": {"dist": "Gamma", "alpha": 2.0, "beta": 2.0},
                "dispersion": {"dist": "HalfStudentT", "nu": 3.0},
                "sigma": {"dist": "TruncatedNormal", "mu": 1.0, "sigma": 1.0, "lower": 0.0},
                "precision": {"dist": "Uniform", "lower": 1.0, "upper": 200.0},
            },
            signals={
                f"{k}_signal": {"family": k}
                for k in ("lognormal", "negbinomial", "beta", "gaussian")
            },
        ),
        sim=dict(n_units=6, n_members=6, n_alliances=2, n_years=8, n_crises=0),
    ),
    "random_walk, a member joining late and a gap (non-centred walk coordinates)": dict(
        spec=dict(), sim=dict(n_units=6, n_members=5, n_alliances=2, n_years=12, n_crises=6),
        unobserved=True,
    ),
    "triad: ar1, random-walk and static pillars, year effects, unit offsets": dict(
        spec=dict(
            signals={
                "troops": {"family": "negbinomial", "year_effects": True},
                "exercises": {"family": "binomial", "direction": 1},
                "spending": {"family": "lognormal", "unit_offsets": True},
                "votes": {"family": "beta", "year_effects": True, "unit_offsets": True},
            },
            dimensions={
                "capability": {"signals": ["troops", "exercises"], "dynamics": "random_walk"},
                "cost_sharing": {"signals": ["spending"], "dynamics": "static"},
                "commitment": ["votes"],
            },
        ),
        sim=dict(n_units=7, n_members=5, n_alliances=2, n_years=9, n_crises=8),
    ),
    "triad, a member joining late (pillars exist in the unit's span only)": dict(
        spec=dict(
            signals={
                "troops": {"family": "negbinomial"},
                "spending": {"family": "lognormal"},
                "votes": {"family": "beta"},
            },
            dimensions={
                "capability": {"signals": ["troops"], "dynamics": "ar1"},
                "cost_sharing": {"signals": ["spending"], "dynamics": "static"},
                "commitment": {"signals": ["votes"], "dynamics": "random_walk"},
            },
        ),
        sim=dict(n_units=6, n_members=5, n_alliances=2, n_years=10, n_crises=8),
        unobserved=True,
    ),
    "one-factor static with year effects and offsets": dict(
        spec=dict(
            dynamics="static",
            signals={
                "troops": {"family": "poisson", "year_effects": True, "unit_offsets": True},
                "spending": {"family": "gaussian"},
            },
        ),
        sim=dict(n_units=6, n_members=6, n_alliances=2, n_years=7, n_crises=5),
    ),
    "random_walk with an exponential and a bounded prior": dict(
        spec=dict(
            priors={
                "sigma_level_raw": {"dist": "Exponential", "lam": 3.0},
                "kappa_honor_raw": {"dist": "TruncatedNormal", "sigma": 1.0, "lower": 0.0,
                                    "upper": 3.0},
                "phi_reputation": {"dist": "Uniform", "lower": 0.0, "upper": 1.0},
            },
        ),
        sim=dict(n_units=8, n_members=5, n_alliances=3, n_years=9, n_crises=10),
    ),
    "random_walk, two crisis kinds, crisis covariates, signed kappas": dict(
        spec=dict(crisis_covariates=("gap", "target")),
        sim=dict(n_units=8, n_members=5, n_alliances=2, n_years=10, n_crises=16),
        kinds=True,
    ),
    "static, no signals: crises are the only evidence": dict(
        spec=dict(dynamics="static", signals={}, crisis_covariates=("gap",)),
        sim=dict(n_units=8, n_members=5, n_alliances=2, n_years=8, n_crises=20),
        kinds=True,
    ),
    "random_walk, member-level signals (once per member-year, and per alliance), late joiner":
    dict(
        spec=dict(signals={
            "troops": {"family": "negbinomial"},
            "spending": {"family": "lognormal", "level": "member"},
            "exercises": {"family": "poisson", "level": "member", "direction": -1},
        }),
        sim=dict(n_units=9, n_members=4, n_alliances=3, n_years=10, n_crises=8),
        unobserved=True,
        per_alliance="exercises",  # given once per (member, alliance), read once per year
    ),
    "triad with member-level signals, year effects and a static pillar": dict(
        spec=dict(
            dynamics="static",
            signals={
                "troops": {"family": "negbinomial", "year_effects": True},
                "spending": {"family": "lognormal", "level": "member", "year_effects": True},
                "votes": {"family": "beta", "level": "member"},
            },
            dimensions={
                "capability": {"signals": ["troops", "spending"], "dynamics": "ar1"},
                "commitment": {"signals": ["votes"], "dynamics": "static"},
            },
        ),
        sim=dict(n_units=8, n_members=3, n_alliances=3, n_years=8, n_crises=6),
    ),
    "ar1, one crisis kind, crisis covariate, partial crises": dict(
        spec=dict(dynamics="ar1", crisis_covariates=("gap",)),
        sim=dict(n_units=6, n_members=4, n_alliances=2, n_years=8, n_crises=10),
        partial=True,
    ),
}


def _spec(dynamics="random_walk", signals=None, covariates=(), reputation_noise=False,
          priors=None, crisis_covariates=(), dimensions=None):
    spec = bc.default_spec(dynamics=dynamics, signals=signals, covariates=covariates)
    raw = {
        "name": "kernel-test",
        "signals": {k: {"family": v.family, "direction": v.direction,
                        "year_effects": v.year_effects, "unit_offsets": v.unit_offsets,
                        "level": v.level}
                    for k, v in spec.signals.items()},
        "dimensions": dimensions or {},
        "latent": {"dynamics": dynamics, "covariates": list(covariates)},
        "reputation": {"enabled": True, "noise": reputation_noise},
        "priors": priors or {},
        "follow_through": {"covariates": list(crisis_covariates)},
    }
    return bc.spec_from_dict(raw)


def _case(name):
    case = CASES[name]
    spec = _spec(**case["spec"])
    sim = bc.simulate(spec, missing=0.2, seed=11, **case["sim"])
    units = sim.units
    if spec.latent.covariates:
        units = units.assign(clarity=np.linspace(0.0, 1.0, len(units)))
    crises = sim.crises
    if case.get("partial") and len(crises):
        crises = crises.assign(outcome=crises.outcome.where(crises.index % 3 != 0, "partial"))
    if case.get("kinds"):
        crises = crises.assign(kind=np.where(crises.index % 3 == 0, "war", "dispute"))
    rng = np.random.default_rng(5)
    for col in spec.follow_through.covariates:  # one continuous, one binary
        values = rng.normal(size=len(crises)) if col == "gap" else crises.index % 2
        crises = crises.assign(**{col: values})
    obs = sim.observations
    if case.get("unobserved"):  # the first unit joins in year 5; the second has a gap
        first, second = (units.member[i] + units.alliance[i] for i in (0, 1))
        key = obs.member + obs.alliance
        year = obs.year - obs.year.min()
        obs = obs[~((key == first) & (year < 5)) & ~((key == second) & year.between(3, 6))]
        crises = crises[~(crises.member + crises.alliance).isin([first, second])]
    if case.get("per_alliance"):  # a member-level signal's rows repeated in each alliance
        obs = _per_alliance(obs, units, case["per_alliance"])
    panel = load_panel(obs, crises, units, spec=spec)
    if case.get("unobserved"):
        from bayescred.design import walk_centring

        assert walk_centring(panel)[:2].min() == 0.0  # some coordinates are non-centred
    scales = signal_scales(panel, spec)
    model = build_model(panel, spec, scales)
    return model, kernel_model(model, panel, spec, scales)


def _per_alliance(obs: pd.DataFrame, units: pd.DataFrame, signal: str) -> pd.DataFrame:
    """``signal``'s member-year rows given once per (member, alliance) instead."""
    here = obs.signal == signal
    repeated = obs[here].drop(columns="alliance").merge(units[["member", "alliance"]])
    return pd.concat([obs[~here], repeated], ignore_index=True)


def _point(model: pm.Model, kernel, x: np.ndarray) -> list[np.ndarray]:
    out = []
    for _, block in zip(model.value_vars, kernel.blocks, strict=True):
        values = x[block.offset : block.offset + block.size]
        free_shape = (block.size,) if block.size != np.prod(block.shape) else block.shape
        out.append(values.reshape(free_shape))
    return out


def _reference(model: pm.Model):
    """PyMC's log-density, its gradient and what a draw stores, as one function (Python
    linker, no rewrites: nothing to compile, so the test stays quick)."""
    # a chain of binary adds, not rewritten: PyMC's one many-input add exceeds numpy's
    # 32-operand ufunc limit in the Python implementation
    logp = 0.0
    for term in model.logp(sum=False):
        logp = logp + term.sum()
    grads = pytensor.grad(logp, model.value_vars)
    stored = [*model.free_RVs, *model.deterministics]
    outputs = [logp, *grads, *model.replace_rvs_by_values(stored)]
    mode = pytensor.compile.mode.Mode(linker="py", optimizer=None)
    fn = pytensor.function(model.value_vars, outputs, mode=mode, on_unused_input="ignore")
    return fn, [v.name for v in stored]


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_is_the_pymc_model(name):
    model, kernel = _case(name)
    fn, stored_names = _reference(model)
    n_vars = len(model.value_vars)
    rng = np.random.default_rng(5)
    offsets = []
    for _ in range(4):
        x = rng.uniform(-1.5, 1.5, kernel.n_dim)
        value, grad = kernel.logp_and_grad(x)
        ref = fn(*_point(model, kernel, x))
        offsets.append(value - float(ref[0]))
        ref_grad = np.concatenate([np.ravel(g) for g in ref[1 : 1 + n_vars]])
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-7, atol=1e-7)
        stored = kernel.expand(x)
        assert set(stored) == set(stored_names)
        for var_name, expected in zip(stored_names, ref[1 + n_vars :], strict=True):
            np.testing.assert_allclose(stored[var_name], expected, rtol=1e-9, atol=1e-9,
                                       err_msg=var_name)
    # the kernel drops only parameter-free constants: the offset is the same everywhere
    assert np.ptp(offsets) < 1e-6 * max(1.0, abs(offsets[0]))


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("random_walk")])
def test_sampler_coordinates_keep_the_model(name):
    """nutpie samples (x~, log c, m) (kernel.SAMPLER_ARRAYS), not the model's x.  The map
    back inverts to_sampler, the gradient is the sampler log-density's, and integrating
    log c and m out returns the model's density: the same offset at every model point."""
    from bayescred import kernel as k

    _, kernel = _case(name)
    assert kernel.n_sampler_dim == kernel.n_dim + 2
    rng = np.random.default_rng(7)
    offsets = []
    for _ in range(2):
        x = rng.uniform(-1.0, 1.0, kernel.n_dim)
        xs = kernel.to_sampler(x)
        np.testing.assert_allclose(kernel.to_model(xs), x, atol=1e-12)
        value, grad = kernel.sampler_logp_and_grad(xs)
        for _ in range(3):
            d, h = rng.normal(size=xs.shape), 1e-6
            up = kernel.sampler_logp_and_grad(xs + h * d)[0]
            down = kernel.sampler_logp_and_grad(xs - h * d)[0]
            assert (up - down) / (2 * h) == pytest.approx(grad @ d, rel=1e-5, abs=1e-4)
        offsets.append(_log_integral(kernel, x, k) - kernel.logp_and_grad(x)[0])
    assert offsets[0] == pytest.approx(offsets[1], abs=1e-6)


def _log_integral(kernel, x, k):
    """log of the integral over (log c, m) of the sampler's density at the points that map
    to x, times the Jacobian |dx~/dx| = c^-n (grid of +- 8 sd, where the integrand is
    Gaussian in log c and in m / c)."""
    _, sd_scale, sd_loc = kernel.arrays["sampler_par"]
    kind = kernel.arrays["sampler_kind"]
    n_scaled = int(np.isin(kind, (k.K_SCALE, k.K_LEVEL, k.K_ABS)).sum())
    ell0, m0 = kernel.to_sampler(x)[-2:]
    u = np.linspace(-8.0, 8.0, 65)
    terms = []
    for ell in ell0 + sd_scale * u:
        c = np.exp(ell)
        for m in m0 + c * sd_loc * u:  # dm = c sd_loc du
            value = kernel.sampler_logp_and_grad(kernel.to_sampler(x, ell, m))[0]
            terms.append(value - n_scaled * ell + np.log(c * sd_loc))
    terms = np.array(terms)
    top = terms.max()
    return top + np.log(np.exp(terms - top).sum() * (u[1] - u[0]) ** 2 * sd_scale)


def test_kernel_reads_new_data_without_rebuilding():
    """Same structure, new panel: the arrays change, the compiled functions do not."""
    from bayescred import kernel as k

    spec = _spec()
    fits = []
    for seed in (1, 2):
        sim = bc.simulate(spec, n_units=6, n_members=4, n_alliances=2, n_years=7, n_crises=5,
                          seed=seed)
        panel = load_panel(sim.observations, sim.crises, sim.units, spec=spec)
        scales = signal_scales(panel, spec)
        fits.append(kernel_model(build_model(panel, spec, scales), panel, spec, scales))
    before = k.c_functions()
    fits[0].nutpie_model(), fits[1].nutpie_model()
    assert k.c_functions() is before
    x = np.zeros(fits[0].n_dim)
    assert fits[0].logp_and_grad(x)[0] != fits[1].logp_and_grad(x)[0]
    assert isinstance(fits[0].coords["year"], pd.Index)


@pytest.mark.parametrize("name", list(CASES)[:2])  # random walk (sampler map); every family
def test_kernel_reports_a_degenerate_point_instead_of_raising(name):
    """Far in the tails every scale underflows to 0 and divisions by it give inf or nan:
    nutpie's C entry point must report that (and nutpie reject the point), not raise an
    exception that a C callback can only print before returning "success"."""
    from bayescred import kernel as k
    from bayescred.kernel.model import c_logp_function

    _, km = _case(name)
    call = c_logp_function()
    table = k.pointer_table(km.arrays)
    for fill in (-800.0, 800.0):
        x = np.full(km.n_sampler_dim, fill)
        grad, logp = np.zeros_like(x), np.zeros(1)
        status = call(km.n_sampler_dim, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
                      table.ctypes.data)
        assert status in (3, 4), (fill, status)  # 4: log-density, 3: gradient not finite
        assert not (status == 4 and np.isfinite(logp[0]))


@pytest.mark.parametrize(
    "counts, a",
    [([20.0, 350.0, 17691.0, 20.0], 0.7), ([0.0, 1.0, 3.0, 40.0], 0.5), ([0.0, 2.0], 12.0)],
    ids=["every y + a >= 10: Stirling", "small counts: row by row", "y = 0, large a"],
)
def test_negative_binomial_sums_of_lgamma_and_digamma(counts, a):
    """The negative binomial's sums of lgamma(y + a) and digamma(y + a) over a signal's
    rows take Stirling's series in one vectorised loop when every y + a >= 10, and go row
    by row otherwise: both against scipy, on rows 1 .. n-1 of the vector."""
    from scipy.special import digamma, gammaln

    from bayescred.kernel import scalars

    y = np.array([-1.0, *counts])  # row 0 is not in the range
    rows = (1, len(y))
    lg, dg = scalars.lgamma_digamma_sums(y, rows, a)
    np.testing.assert_allclose(lg, gammaln(y[1:] + a).sum(), rtol=1e-13)
    # below 10 digamma's series starts at x >= 6: good to ~1e-11
    np.testing.assert_allclose(dg, digamma(y[1:] + a).sum(), rtol=1e-13, atol=1e-10)


def test_branch_free_lgamma_and_digamma_match_scipy():
    """The beta rows' lgamma and digamma of mu * precision (any x > 0, no branches, so that
    the loop vectorises), against scipy from 1e-3 to 1e6, across the switch at 10."""
    from scipy.special import digamma, gammaln

    from bayescred.kernel import scalars

    fn = numba.njit(lambda x: scalars.lgamma_digamma_any(x))
    for x in np.concatenate([np.geomspace(1e-3, 1e6, 400), [9.999999, 10.0, 10.000001]]):
        lg, dg = fn(x)
        assert abs(lg - gammaln(x)) <= 1e-13 * max(1.0, abs(gammaln(x))), x
        assert abs(dg - digamma(x)) <= 1e-13 * max(1.0, abs(digamma(x))), x


@pytest.mark.skipif(not VECTOR_MATH,
                    reason="no libmvec (not glibc on x86-64): the loops stay scalar")
def test_likelihood_loops_call_the_vector_maths_library():
    """Where glibc's libmvec loaded, the kernel compiles with it as LLVM's vector library:
    the family loops call its 4-wide exp and log; and the option is LLVM's default again
    afterwards, for other numba code in the process."""
    import re

    def calls(fn):
        return set(re.findall(r"@(_ZGV\w+_(?:exp|log))\(", fn.inspect_llvm(fn.signatures[0])))

    from bayescred.kernel import build, scalars

    source = FAMILIES["poisson"].kernel.rows().py_func
    n = np.ones(3)
    args = (np.array([0, 3]), np.zeros(2), np.zeros(2), np.array([0, 1, 1]), n, n, n, n, 0.1,
            1.0, np.zeros(1), np.zeros(1), np.full(2, -1), 0)  # fmt: skip
    with build._vector_math():
        inside = numba.njit(error_model="numpy", fastmath=scalars.FASTMATH_SUMS)(source)
        inside(*args)
    outside = numba.njit(error_model="numpy", fastmath=scalars.FASTMATH_SUMS)(source)
    outside(*args)
    assert calls(inside) and not calls(outside)


def test_entry_points_without_model_units_report_instead_of_crashing():
    """The entry points call the model units by the addresses c_functions writes; a table
    whose unit row holds none gives a non-finite log-density (status 4) and an expansion
    status of 1, where a call to address 0 would end the process."""
    from bayescred import kernel as k
    from bayescred.kernel.model import c_expand_function, c_logp_function

    _, km = _case(list(CASES)[0])
    logp_c, expand_c = c_logp_function(), c_expand_function()
    no_units = np.zeros(2, dtype=np.int64)
    table = km.table.copy()
    table[k.N_UNITS] = (no_units.ctypes.data, 2, 1)
    x = km.initial_point(1)
    grad, logp, out = np.zeros_like(x), np.zeros(1), np.zeros(km.n_stored)
    assert logp_c(x.size, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
                  table.ctypes.data) == 4
    assert expand_c(x.size, out.size, x.ctypes.data, out.ctypes.data, table.ctypes.data) == 1
    # with the units' addresses, the same calls succeed
    assert logp_c(x.size, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
                  km.table.ctypes.data) == 0
    assert expand_c(x.size, out.size, x.ctypes.data, out.ctypes.data, km.table.ctypes.data) == 0


@pytest.mark.parametrize("name", list(CASES)[:2])  # random walk (paths, sampler map); ar1
def test_preconditioned_entry_point_is_the_same_density(name):
    """With an ADVI preconditioner nutpie samples u, with sampler coordinates
    xs_i = mean_i + exp(-w_i e_s) e_i (kernel.PRECOND_ARRAYS, _unwhiten): the C entry
    point's log-density at u is the sampler's at xs plus the map's log-Jacobian -e_s sum(w),
    its gradient is the chain rule's (checked by finite differences), and a draw stores
    what the sampler's expansion of xs stores."""
    from bayescred import kernel as k
    from bayescred.approx import path_predecessors
    from bayescred.kernel.model import c_expand_function, c_logp_function

    _, km = _case(name)
    n = km.n_sampler_dim
    rng = np.random.default_rng(3)
    prev = path_predecessors(km)
    assert (prev >= 0).any()  # both cases have latent paths
    mean, sd = km.initial_point(1), np.exp(rng.normal(-1.0, 0.3, n))
    coef = np.where(prev >= 0, rng.uniform(0.5, 1.0, n), 0.0)
    # random weights: the walk's coordinates follow the sampler's log scale; in the
    # AR(1) case (no sampler scale), the innovations follow log sigma_innovation
    blocks = {b.name: b for b in km.blocks}
    latent, scale = (("z_walk", km.n_dim) if "z_walk" in blocks
                     else ("z_innovation", blocks["sigma_innovation"].offset))
    scale_at = np.full(n, -1)
    scale_at[blocks[latent].offset : blocks[latent].offset + blocks[latent].size] = scale
    weight = np.where(scale_at >= 0, rng.uniform(0.0, 1.0, n), 0.0)
    # the walk's coordinates seen through the spread map; the AR(1) case has no walk
    spread = km.spread_map(0.6, size=4)
    assert (spread is None) == ("z_walk" not in blocks)
    pre = km.with_preconditioner(mean, sd, coef, prev, (weight, scale_at), spread)
    rounded = pre.arrays["pre_follow"] / k.FOLLOW_STEPS  # to multiples of 1 / 64
    assert np.abs(rounded - weight).max() <= 0.5 / k.FOLLOW_STEPS
    scale_at = pre.arrays["pre_scale_at"]
    table = pre.table
    call, expand = c_logp_function(), c_expand_function()
    n_out = km.n_stored

    def c_logp(u):
        grad, logp = np.empty(n), np.empty(1)
        assert call(n, u.ctypes.data, grad.ctypes.data, logp.ctypes.data, table.ctypes.data) == 0
        return logp[0], grad

    for _ in range(2):
        w = rng.standard_normal(n)  # nutpie's coordinates; u: the spread map's image
        u, log_det = _spread(w, spread)
        e = k.chain_map(u, sd, coef, prev)
        e_scale = np.where(scale_at >= 0, e[np.maximum(scale_at, 0)], 0.0)
        xs = mean + np.exp(-rounded * e_scale) * e
        value, grad = c_logp(w)
        jacobian = -(rounded * e_scale).sum() + log_det
        assert value == pytest.approx(km.sampler_logp_and_grad(xs)[0] + jacobian, rel=1e-12)
        d, h = rng.normal(size=n), 1e-6
        numeric = (c_logp(w + h * d)[0] - c_logp(w - h * d)[0]) / (2 * h)
        assert numeric == pytest.approx(grad @ d, rel=1e-5, abs=1e-4)
        out_w = np.empty(n_out)
        assert expand(n, n_out, w.ctypes.data, out_w.ctypes.data, table.ctypes.data) == 0
        np.testing.assert_allclose(out_w, km.sampler_expand(xs), rtol=1e-12)
        # what nutpie's draws store: the model's point, expanded after sampling
        point = np.empty(km.n_dim)
        assert expand(n, km.n_dim, w.ctypes.data, point.ctypes.data, table.ctypes.data) == 0
        np.testing.assert_allclose(point, km.to_model(xs), rtol=1e-12)
        expanded = np.concatenate([np.ravel(v) for v in km.expand(point).values()])
        np.testing.assert_array_equal(expanded, out_w)


def test_draws_of_the_model_point_expand_to_the_posterior(monkeypatch):
    """nutpie stores the model's point; expand_draws gives each draw's stored variables,
    with the dims and coordinates of the model, whatever the draws' chunking."""
    from bayescred.kernel import model as native

    model, km = _case(list(CASES)[0])
    monkeypatch.setattr(native, "EXPAND_CHUNK", 2)  # a full and a partial chunk per chain
    points = np.random.default_rng(4).uniform(-1.0, 1.0, (2, 3, km.n_dim))
    post = km.expand_draws(points, {"note": "kept"})
    assert list(post.data_vars) == [name for name, _ in km.stored]
    assert post.attrs == {"note": "kept"}
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 3
    for chain, draw in np.ndindex(2, 3):
        for name, values in km.expand(points[chain, draw]).items():
            np.testing.assert_array_equal(post[name].values[chain, draw], values, err_msg=name)
    for name, _ in km.stored:
        dims = tuple(model.named_vars_to_dims.get(name) or ())
        assert post[name].dims[2:] == dims or not dims
    np.testing.assert_array_equal(post["credibility"]["unit"].values, model.coords["unit"])
    np.testing.assert_array_equal(post["credibility"]["year"].values, model.coords["year"])


def _spread(w, spread):
    """u = M w on the spread map's blocks, written out: block k is the coordinates
    first + j * blocks + k, j = 0 .. size - 1 (kernel.spread); and log |det dU/dW|."""
    if spread is None:
        return w, 0.0
    first, n_blocks, m = spread
    u = w.copy()
    for b in range(n_blocks):
        at = first + np.arange(m.shape[0]) * n_blocks + b
        u[at] = m @ w[at]
    return u, n_blocks * np.log(abs(np.linalg.det(m)))


def test_spread_map_spreads_scales_and_chains_start_in_its_coordinates():
    """The spread map (native.KernelModel.spread_map): singular values 1 / s with s spread
    from the scale to 1; every coordinate of u an equal mix of the scales' directions,
    and w's covariance M^-1 M^-T with a flat diagonal (nutpie's diagonal mass matrix
    cannot undo it); and a chain's starting point w maps to a draw u of the
    preconditioner's N(0, I), the start without the map."""
    _, km = _case(list(CASES)[0])
    first, n_blocks, m = km.spread_map(0.6, size=4)
    walk = {b.name: b for b in km.blocks}["z_walk"]
    assert first == walk.offset and n_blocks == walk.size // 4
    left, singular, right = np.linalg.svd(m)
    np.testing.assert_allclose(singular, 1 / np.linspace(0.6, 1.0, 4))
    np.testing.assert_allclose(left**2, 0.25)  # each row: a quarter on each scale
    cov = np.linalg.inv(m) @ np.linalg.inv(m).T
    np.testing.assert_allclose(np.diag(cov), np.mean(np.linspace(0.6, 1.0, 4) ** 2))
    assert np.abs(cov - np.diag(np.diag(cov))).max() > 0.01  # correlated: not diagonal
    assert km.spread_map(1.0) is None
    with pytest.raises(ValueError, match="power of 2"):
        km.spread_map(0.6, size=6)
    n = km.n_sampler_dim
    ok = (np.zeros(n), np.ones(n), np.zeros(n), np.full(n, -1))
    plain = km.with_preconditioner(*ok)
    pre = km.with_preconditioner(*ok, None, (first, n_blocks, m))
    assert pre.arrays["pre_on"][1] == pytest.approx(n_blocks * np.log(abs(np.linalg.det(m))))
    w = pre.initial_point(5)
    np.testing.assert_allclose(_spread(w, (first, n_blocks, m))[0], plain.initial_point(5),
                               atol=1e-12)  # fmt: skip
    with pytest.raises(ValueError, match="outside"):
        km.with_preconditioner(*ok, None, (n - 1, n_blocks, m))
    with pytest.raises(ValueError, match="square"):
        km.with_preconditioner(*ok, None, (first, n_blocks, m[:, :3]))
    with pytest.raises(ValueError, match="not invertible"):
        km.with_preconditioner(*ok, None, (first, n_blocks, np.zeros((4, 4))))


def test_preconditioner_is_checked():
    _, km = _case(list(CASES)[0])
    n = km.n_sampler_dim
    ok = (np.zeros(n), np.ones(n), np.zeros(n), np.full(n, -1))
    with pytest.raises(ValueError, match="shape"):
        km.with_preconditioner(np.zeros(n - 1), *ok[1:])
    with pytest.raises(ValueError, match="sd <= 0"):
        km.with_preconditioner(ok[0], np.zeros(n), *ok[2:])
    with pytest.raises(ValueError, match="before"):
        km.with_preconditioner(*ok[:3], np.arange(n))
    none = np.full(n, -1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        km.with_preconditioner(*ok, (np.full(n, 1.5), none))
    with pytest.raises(ValueError, match="non-finite"):
        km.with_preconditioner(*ok, (np.full(n, np.nan), none))
    with pytest.raises(ValueError, match="out of range"):
        km.with_preconditioner(*ok, (np.ones(n), np.full(n, n)))
    chained = np.arange(n) - 1  # 1 follows 0, 2 follows 1, ...: 1 is a scale that follows
    with pytest.raises(ValueError, match="must not follow"):
        km.with_preconditioner(*ok, (np.ones(n), chained))
    assert not km.preconditioned and km.with_preconditioner(*ok).preconditioned


def test_scale_following_is_the_walks_posterior_to_prior_variance_ratio():
    """The preconditioner's follow (native.KernelModel.scale_following): the random
    walk's coordinates follow the sampler's log scale c with weight (sd / prior sd)^2
    within [0, 1] (a step's prior sd is WALK_STEP / c for a path value, 1 / c for a
    non-centred step); nothing else follows, and nothing in a model without a walk."""
    from bayescred import kernel as k

    _, km = _case(list(CASES)[0])
    n, walk = km.n_sampler_dim, {b.name: b for b in km.blocks}["z_walk"]
    at = np.arange(walk.offset, walk.offset + walk.size)
    mean = np.zeros(n)
    mean[km.n_dim] = np.log(2.0)  # c = 2
    centred = km.arrays["sampler_kind"][at] == k.K_ABS
    assert centred.any() and (~centred).any()  # the case has both kinds of coordinate
    prior = np.where(centred, walk.params[0], 1.0) / 2.0
    sd = np.full(n, 5.0)
    sd[at] = prior * np.where(np.arange(at.size) % 2, 0.5, 3.0)  # a quarter / above prior
    weight, scale_at = km.scale_following(mean, sd)
    np.testing.assert_allclose(weight[at], np.where(np.arange(at.size) % 2, 0.25, 1.0))
    assert (scale_at[at] == km.n_dim).all()
    assert not np.delete(weight, at).any() and (np.delete(scale_at, at) == -1).all()
    _, ar1 = _case(list(CASES)[1])
    weight, scale_at = ar1.scale_following(np.zeros(ar1.n_sampler_dim), np.ones(ar1.n_sampler_dim))
    assert not weight.any() and (scale_at == -1).all()


def test_a_cold_start_compiles_the_kernel_in_other_processes(tmp_path):
    """With numba's cache empty, start_compiling has two processes compile the kernel's
    four C functions side by side (the model units apart from the entry points; the
    command line starts them before its imports); each compiles into a cache of its own
    and puts only its C functions into numba's (callees that another process cached would
    change the code's rounding, and so the draws), and c_functions loads all four from it
    and gives the entry points the units' addresses.  Once they are cached, no process is
    started."""
    code = (
        "import os\n"
        "from bayescred.kernel import build as k, density, latent, geometry\n"
        "functions = [f for _, f in k._C_FUNCTIONS.values()]\n"
        "assert len(functions) == 4 and not any(k._cached(f) for f in functions)\n"
        "k.start_compiling()\n"
        "assert set(k._HELPERS) == set(k._HELPER_GROUPS) == {'logp_model', 'rest'}\n"
        "private = [p for _, p in k._HELPERS.values()]\n"
        "assert [h.wait() for h, _ in k._HELPERS.values()] == [0, 0]\n"
        "assert all(k._cached(f) for f in functions)\n"
        "assert not k._cached(density._measurement.py_func)\n"
        "assert not k._cached(latent._latent.py_func)\n"
        "assert all(k._cached(getattr(geometry, f).py_func) for f in k._CALLED_FROM_PYTHON)\n"
        "logp, expand = k.c_functions()\n"
        "assert all(k.compile_c_function(n).cache_hits == 1 for n in k._C_FUNCTIONS)\n"
        "units = [k.compile_c_function(n).address for n in ('logp_model', 'expand_model')]\n"
        "assert list(k._UNIT_ADDRESSES) == units and all(units)\n"
        "assert not k._HELPERS and not any(os.path.exists(p) for p in private)\n"
        "k.start_compiling()\n"
        "assert not k._HELPERS\n"  # cached: nothing to start
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_python_calls_compile_nothing_but_the_entry_points():
    """A cold start compiles the kernel once, for nutpie's two C entry points and the model
    units they call (~25 s on two cores): Python's calls must go through them, not compile
    the wrappers a second time as Python functions (each such version re-emits the whole
    kernel)."""
    from bayescred.kernel import density, geometry, latent

    _, km = _case(list(CASES)[0])
    x = km.to_model(km.initial_point(2))
    km.logp_and_grad(x), km.expand(x)
    km.sampler_logp_and_grad(km.to_sampler(x)), km.sampler_expand(km.to_sampler(x))
    wrappers = (geometry.logp_grad_sampler, geometry.expand_sampler,
                geometry.logp_grad_whitened, geometry.expand_whitened, density.logp_grad,
                density.expand)  # fmt: skip
    assert [len(f.signatures) for f in wrappers] == [0] * 6  # inlined, never standalone
    # the C functions' callees: compiled once (none loaded when the C functions came from
    # numba's disk cache)
    assert len(density._measurement.signatures) <= 1 and len(latent._latent.signatures) <= 1


def test_ordered_followthrough_with_several_kinds_falls_back():
    """Each kind's cutpoints are ordered row by row, which the kernel's ordered transform
    (one ordered vector per block) does not express: Unsupported, never a wrong density."""
    from bayescred.kernel.model import Unsupported

    spec = _spec()
    sim = bc.simulate(spec, n_units=6, n_members=4, n_alliances=2, n_years=8, n_crises=8,
                      seed=2)
    crises = sim.crises.assign(
        outcome=sim.crises.outcome.where(sim.crises.index % 3 != 0, "partial"),
        kind=np.where(sim.crises.index % 2, "dispute", "war"),
    )
    panel = load_panel(sim.observations, crises, sim.units, spec=spec)
    scales = signal_scales(panel, spec)
    with pytest.raises(Unsupported, match="several crisis kinds"):
        kernel_model(build_model(panel, spec, scales), panel, spec, scales)
