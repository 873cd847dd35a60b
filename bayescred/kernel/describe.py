"""A PyMC model of ``model.py`` and its structure -> the arrays of the numba kernel.

The PyMC model stays the definition: blocks follow its value variables (names, order,
transforms), data come from its ``pm.Data`` containers, and priors from the spec it was
built from; what the model contains (dynamics, follow-through, reputation, which family
each signal has) comes from its :class:`~bayescred.structure.ModelStructure`.  A model the
kernel does not cover raises :class:`Unsupported`; ``fit`` then samples the
PyTensor-compiled model instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
from pymc.distributions import transforms as tr

from ..design import WALK_STEP, covariate_matrix
from ..families import FAMILY_CODES, PARAMS
from ..families.pointwise import MAX_PARAMS
from ..panel import Panel
from ..priors import PRIOR_PARAMS
from ..spec import ModelSpec
from ..structure import ModelStructure, model_structure
from . import layout
from .model import (
    LATENT_COORDINATES,
    STANDARD_NORMAL,
    Block,
    KernelModel,
    Unsupported,
    _no_preconditioner,
    _sampler_map,
)

DYNAMICS_CODES = {"static": layout.DYN_STATIC, "random_walk": layout.DYN_RW, "ar1": layout.DYN_AR1}
FOLLOWTHROUGH_CODES = {
    "none": layout.FT_NONE,
    "binary": layout.FT_BINARY,
    "ordered": layout.FT_ORDINAL,
}
def _vector_prior_name(block: str) -> str:
    """The prior of a vector parameter's variable ({name}_{signal}, e.g. cutpoints_troops)
    is the parameter's; other blocks have priors of their own name."""
    for name, p in PARAMS.items():
        if p.vector and block.startswith(f"{name}_") and block != f"{name}_followthrough":
            return name
    return block


def kernel_model(
    model: pm.Model,
    panel: Panel,
    spec: ModelSpec,
    scales,
    structure: ModelStructure | None = None,
) -> KernelModel:
    """Describe ``model`` (built by ``model.build_model(panel, spec, scales, structure)``)
    to the kernel.

    Raises
    ------
    Unsupported
        When the model uses something the kernel does not implement (a family without
        kernel code, a prior or transform it does not know).
    """
    structure = structure or model_structure(spec, panel)
    if structure.missing_kernel:
        raise Unsupported(f"family {', '.join(structure.missing_kernel)} has no kernel code")
    if structure.followthrough == "ordered" and len(structure.crisis_kinds) > 1:
        raise Unsupported("ordered follow-through (partial outcomes) with several crisis kinds")
    blocks = _blocks(model, spec)
    offset = {b.name: b.offset for b in blocks}
    n_units, n_years = len(panel.units), len(panel.years)
    arrays = {
        "dims": np.array(
            [
                n_units,
                n_years,
                len(panel.members),
                len(panel.alliances),
                len(spec.latent.covariates),
                DYNAMICS_CODES[structure.dynamics],
                FOLLOWTHROUGH_CODES[structure.followthrough],
                int(structure.signal_latent),
            ],
            dtype=np.int64,
        ),
        "roles": np.array([offset.get(role, -1) for role in layout.ROLES], dtype=np.int64),
        "blk_off": np.array([b.offset for b in blocks], dtype=np.int64),
        "blk_size": np.array([b.size for b in blocks], dtype=np.int64),
        "blk_transform": np.array([b.transform for b in blocks], dtype=np.int64),
        "blk_dist": np.array([b.dist for b in blocks], dtype=np.int64),
        "blk_par": np.array([_pad(b.params, 4) for b in blocks], dtype=np.float64),
        "blk_bounds": np.array([b.bounds for b in blocks], dtype=np.float64),
        "alliance_of_unit": panel.alliance_of_unit.astype(np.int64),
        "member_of_unit": panel.member_of_unit.astype(np.int64),
        "active_weight": _active_weight(panel),
        "covariates": _covariates(panel, spec),
        **_reputation_counts(model, panel, structure),
        **_observations(model, structure),
        **_signal_latent(structure),
        **_signals(panel, spec, scales, offset, structure),
        **_crises(model, structure),
        "walk_centred": (
            _data(model, "walk_centred")
            if structure.random_walk
            else np.zeros((n_units, max(n_years - 1, 1)))
        ),
    }
    arrays.update(_sampler_map(blocks, arrays["walk_centred"], n_years))
    arrays.update(_no_preconditioner(sum(b.size for b in blocks)))
    arrays = {
        name: np.ascontiguousarray(arrays[name], dtype=dt)
        for name, dt, _ in layout.ARRAYS + layout.SAMPLER_ARRAYS + layout.PRECOND_ARRAYS
    }
    stored = _stored(model, blocks)
    dims = {name: tuple(model.named_vars_to_dims.get(name, ())) for name, _ in stored}
    coords = {name: pd.Index(list(values)) for name, values in model.coords.items()}
    return KernelModel(tuple(blocks), arrays, tuple(stored), dims, coords)


def _pad(values, n):
    return tuple(values) + (0.0,) * (n - len(values))


def _blocks(model: pm.Model, spec: ModelSpec) -> list[Block]:
    blocks, offset = [], 0
    for value_var in model.value_vars:
        rv = model.values_to_rvs[value_var]
        transform, bounds = _transform(model.rvs_to_transforms.get(rv), rv)
        dist, params = _prior(rv.name, spec)
        shape = _shape(model, rv)
        blocks.append(Block(rv.name, offset, shape, transform, bounds, dist, params))
        offset += blocks[-1].size
    return blocks


def _shape(model, rv) -> tuple[int, ...]:
    dims = model.named_vars_to_dims.get(rv.name)
    if dims:
        return tuple(len(model.coords[d]) for d in dims)
    if all(isinstance(n, int) for n in rv.type.shape):
        return tuple(rv.type.shape)
    return tuple(int(n) for n in rv.shape.eval())


def _transform(transform, rv) -> tuple[int, tuple[float, float]]:
    if transform is None:
        return layout.T_NONE, (0.0, 0.0)
    if isinstance(transform, tr.LogTransform):
        return layout.T_LOG, (0.0, 0.0)
    if isinstance(transform, tr.LogOddsTransform):
        return layout.T_LOGODDS, (0.0, 1.0)
    if isinstance(transform, tr.Ordered):
        return layout.T_ORDERED, (0.0, 0.0)
    if isinstance(transform, tr.ZeroSumTransform) and rv.name == "z_alliance":
        return layout.T_ZEROSUM, (0.0, 0.0)
    if isinstance(transform, tr.Interval):
        a, b, has_a, has_b = transform.get_a_and_b(rv.owner.inputs)
        lo = _scalar_bound(a, rv) if has_a else -np.inf
        hi = _scalar_bound(b, rv) if has_b else np.inf
        if has_a and has_b:
            return layout.T_INTERVAL, (lo, hi)
        if has_a:
            return layout.T_LOWER, (lo, hi)
        if has_b:
            return layout.T_UPPER, (lo, hi)
        return layout.T_NONE, (lo, hi)
    raise Unsupported(f"transform {type(transform).__name__} of {rv.name}")


def _scalar_bound(bound, rv) -> float:
    values = np.unique(np.asarray(bound.eval(), dtype=float))
    if values.size != 1:
        raise Unsupported(f"{rv.name}: bounds differ between elements")
    return float(values[0])


def _prior(name: str, spec: ModelSpec) -> tuple[int, tuple[float, ...]]:
    """The kernel's code and parameters of the prior of block ``name``."""
    # hierarchical: written out in the kernel (latent._level_prior, pillars.extras_prior)
    if name in ("level", "z_alliance", "year_effect", "unit_offset", "pillar_state",
                "pillar_log_scale", "pillar_location"):
        return layout.D_FLAT, ()
    if name == "z_walk":  # written out in the kernel, which reads the step from here
        return layout.D_FLAT, (WALK_STEP,)
    if name in LATENT_COORDINATES:
        p = STANDARD_NORMAL
    else:
        p = spec.prior(_vector_prior_name(name))
    params = []
    for key, default in PRIOR_PARAMS[p["dist"]]:
        value = p.get(key, default)
        if value is None:
            raise Unsupported(f"prior of {name}: {p['dist']} needs {key}")
        params.append(float(value))
    return layout.PRIOR_CODES[p["dist"]], tuple(params)


def _active_weight(panel: Panel) -> np.ndarray:
    active = panel.active_mask().astype(float).ravel()
    return active / active.sum()


def _covariates(panel: Panel, spec: ModelSpec) -> np.ndarray:
    if not spec.latent.covariates:
        return np.zeros((len(panel.units), 1))
    return covariate_matrix(panel, spec)


def _data(model, name):
    return np.asarray(model[name].get_value())


def _reputation_counts(model, panel: Panel, structure: ModelStructure) -> dict:
    """(kind * member, year) counts: one block of members per crisis kind."""
    shape = (len(panel.members), len(panel.years))
    if not structure.reputation:
        return {"honored": np.zeros(shape), "violated": np.zeros(shape)}
    out = {}
    for key in ("honored", "violated"):
        counts = _data(model, f"{key}_count")  # (kind, member, year)
        out[key] = counts.reshape(-1, counts.shape[-1])
    return out


def _observations(model, structure: ModelStructure) -> dict:
    parts: dict[str, list] = {key: [] for key in ("cell", "signal", "y", "trials", "c1", "c2")}
    for group, signals in structure.groups.items():
        family = structure.families[signals[0]]
        y = _data(model, f"{group}_y").astype(float)
        trials = _data(model, f"{group}_trials").astype(float) if family.needs_trials else None
        columns = family.kernel.columns
        c1, c2 = columns(y) if columns is not None else (np.zeros(len(y)), np.zeros(len(y)))
        parts["cell"].append(_data(model, f"{group}_cell"))
        parts["signal"].append(_data(model, f"{group}_signal"))
        parts["y"].append(y)
        parts["trials"].append(trials if trials is not None else np.ones(len(y)))
        parts["c1"].append(c1)
        parts["c2"].append(c2)
    out = {f"obs_{key}": np.concatenate(v) if v else np.zeros(0) for key, v in parts.items()}
    if structure.signal_latent:  # each signal reads its own latent value (kernel.pillars)
        n_cells = structure.n_units * structure.n_years
        out["obs_cell"] = out["obs_cell"] + out["obs_signal"] * n_cells
    # the kernel loops over each signal's rows in turn: sort them by signal
    order = np.argsort(out["obs_signal"], kind="stable")
    return {key: values[order] for key, values in out.items()}


def _signals(panel: Panel, spec: ModelSpec, scales, offset: dict, structure) -> dict:
    names = list(structure.signals)  # the model's ``signal`` coordinate
    par = np.full((len(names), MAX_PARAMS), -1, dtype=np.int64)
    n_vec = np.zeros(len(names), dtype=np.int64)
    for s, name in enumerate(names):
        family = structure.families[name]
        if len(family.params) > MAX_PARAMS:
            raise Unsupported(f"family {family.name}: more than {MAX_PARAMS} parameters")
        for j, p in enumerate(family.params):
            if p.vector:
                par[s, j] = offset[f"{p.name}_{name}"]
                n_vec[s] = max(scales[name].categories - 1, 0)
            else:
                par[s, j] = offset[p.name] + structure.param_position(p.name, name)
    return {
        "sig_offset": np.array([scales[s].offset for s in names]),
        "sig_direction": np.array([spec.signals[s].direction for s in names], float),
        "sig_family": np.array([FAMILY_CODES[structure.families[s].name] for s in names]),
        "sig_par": par,
        "sig_nvec": n_vec,
    }


def _signal_latent(structure: ModelStructure) -> dict:
    """kernel.pillars' arrays: each signal's pillar, year-effect row and offset row (-1:
    none), each pillar's dynamics and element of phi_pillar, and the member-level signals'."""
    signals = structure.signals
    return {
        "sig_pillar": np.array([structure.signal_pillar[s] for s in signals], np.int64),
        "sig_year": np.array([_position(structure.year_signals, s) for s in signals], np.int64),
        "sig_unit": np.array([_position(structure.offset_signals, s) for s in signals], np.int64),
        "pillar_kind": np.array(
            [DYNAMICS_CODES[d] for d in structure.pillar_dynamics], np.int64
        ),
        "pillar_phi": np.array(
            [_position(structure.ar1_pillars, d) for d in structure.dimensions], np.int64
        ),
        "pillar_sigma": np.array(
            [0 if structure.shared_pillar_scale else k for k in range(len(structure.dimensions))],
            np.int64,
        ),
        **_member_signals(structure),
        "pillar_weight": (
            structure.pillar_weight.reshape(len(structure.dimensions), -1)
            if structure.pillar_weight is not None
            else np.zeros((1, structure.n_units * structure.n_years))
        ),
    }


def _member_signals(structure: ModelStructure) -> dict:
    """kernel.pillars' member-mean arrays: which signals are member-level, and the
    member-year averaging weights (flat unit-year; zeros when no signal is)."""
    weight = structure.member_weight
    if weight is None:
        weight = np.zeros(structure.n_units * structure.n_years)
    return {
        "sig_member": np.array(
            [s in structure.member_signals for s in structure.signals], np.int64
        ),
        "member_weight": np.asarray(weight, float).ravel(),
    }


def _position(values: tuple, value) -> int:
    return values.index(value) if value in values else -1


def _crises(model, structure: ModelStructure) -> dict:
    if structure.followthrough == "none":
        return {"crisis_cell": np.zeros(0), "crisis_outcome": np.zeros(0),
                "crisis_kind": np.zeros(0), "crisis_covariates": np.zeros((0, 1))}
    cell = _data(model, "crisis_cell")
    covariates = (
        _data(model, "crisis_covariates")
        if structure.crisis_covariates
        else np.zeros((len(cell), 1))
    )
    return {
        "crisis_cell": cell,
        "crisis_outcome": _data(model, "crisis_outcome"),
        "crisis_kind": _data(model, "crisis_kind_idx"),
        "crisis_covariates": covariates,
    }


def _stored(model, blocks) -> list[tuple[str, tuple[int, ...]]]:
    stored = [(b.name, b.shape) for b in blocks]
    deterministics = {d.name for d in model.deterministics}
    # the order kernel.expand writes them in
    for det in (
        "mu_alliance",
        "credibility",
        "sigma_innovation",
        "sigma_level",
        "kappa_honor",
        "kappa_violate",
        "pillar",
        "credibility_common",
        "pillar_mean_raw",
        "pillar_sd_raw",
    ):
        if det in deterministics:
            dims = model.named_vars_to_dims.get(det) or ()
            stored.append((det, tuple(len(model.coords[d]) for d in dims)))
    return stored
