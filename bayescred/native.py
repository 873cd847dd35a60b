"""A PyMC model of ``model.py`` -> the arrays of the numba kernel -> a nutpie model.

The PyMC model stays the definition: blocks follow its value variables (names, order,
transforms), data come from its ``pm.Data`` containers, and priors from the spec it was
built from.  :func:`supports` says whether the kernel covers a model (everything
``model.py`` builds today); other models take the PyMC-compiled path in ``fit.py``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from pymc.distributions import transforms as tr

from . import kernel as k
from .model import WALK_STEP, aux_positions, covariate_matrix, measurement_groups
from .panel import Panel
from .signals import FAMILIES
from .spec import ModelSpec

# Prior parameters in kernel order, with PyMC's defaults (None: required by PyMC).
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
    "TruncatedNormal": (("mu", 0.0), ("sigma", 1.0), ("lower", -np.inf), ("upper", np.inf)),
}
DIST_CODES = {name: i for i, name in enumerate(PRIOR_PARAMS)}
FAMILY_CODES = {
    "gaussian": k.F_NORMAL,
    "lognormal": k.F_NORMAL,
    "binomial": k.F_BINOMIAL,
    "bernoulli": k.F_BINOMIAL,
    "poisson": k.F_POISSON,
    "negbinomial": k.F_NEGBIN,
    "beta": k.F_BETA,
    "ordinal": k.F_ORDINAL,
}
STANDARD_NORMAL = {"dist": "Normal", "mu": 0.0, "sigma": 1.0}
# Unit-scale latent coordinates: fixed N(0, 1), not spec priors.
LATENT_COORDINATES = ("level", "z_innovation", "z_reputation")


# nutpie's log-density callback, (n, x, grad, logp, user_data) -> status (kernel._logp_c)
_LOGP_C = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_void_p,
)
# and its expansion of a draw, (n, n_out, x, out, user_data) -> 0 (kernel._expand_c)
_EXPAND_C = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p,
    ctypes.c_void_p,
)
# What a pointer table's ``sampler_par`` / ``pre_on`` rows point at to switch the sampler's
# coordinates / the preconditioner off (both read element 0 only).
_SWITCHED_OFF = np.zeros(3)
# The spread map's block size (KernelModel.spread_map): blocks of 8 and of 16 spread the
# scales of normals equally well (README, Performance), and a block costs 2 x size
# multiply-adds per coordinate and gradient.
SPREAD_BLOCK = 8
# What nutpie's draws store: the model's point, expanded after sampling (nutpie_model)
MODEL_POINT = "model_point"
EXPAND_CHUNK = 100  # draws expanded at a time (KernelModel.expand_draws)


@functools.lru_cache(maxsize=1)
def c_logp_function():
    """The C entry point nutpie calls, callable from Python (tests, benchmarks):
    ``f(n, x.ctypes.data, grad.ctypes.data, logp.ctypes.data, table.ctypes.data)`` with
    ``table = kernel.pointer_table(arrays)``; returns 0, or 4 / 3 when the log-density /
    gradient is not finite."""
    return _LOGP_C(k.c_functions()[0].address)


@functools.lru_cache(maxsize=1)
def c_expand_function():
    """The C entry point that expands a draw: ``f(n, n_out, x, out, table)``."""
    return _EXPAND_C(k.c_functions()[1].address)


class Unsupported(Exception):
    """The kernel does not cover this model (fit.py then compiles it with PyTensor)."""


@dataclasses.dataclass(frozen=True)
class Block:
    name: str  # the PyMC free variable (constrained name)
    offset: int
    shape: tuple[int, ...]  # constrained
    transform: int
    bounds: tuple[float, float]
    dist: int
    params: tuple[float, ...]

    @property
    def size(self) -> int:
        """Unconstrained size (a zero-sum vector has one free coordinate less)."""
        n = int(np.prod(self.shape, dtype=int))
        return n - 1 if self.transform == k.T_ZEROSUM else n


@dataclasses.dataclass(frozen=True)
class KernelModel:
    """Everything nutpie needs: blocks, the data arrays and the names of what draws store."""

    blocks: tuple[Block, ...]
    arrays: dict[str, np.ndarray]
    stored: tuple[tuple[str, tuple[int, ...]], ...]  # (name, shape) in expand order
    dims: dict[str, tuple[str, ...]]
    coords: dict

    @property
    def n_dim(self) -> int:
        return sum(b.size for b in self.blocks)

    @property
    def n_sampler_dim(self) -> int:
        """nutpie's dimension: the model's, plus log scale and location where the sampler
        has coordinates of its own (kernel.SAMPLER_ARRAYS)."""
        return self.n_dim + (2 if self.arrays["sampler_par"][0] else 0)

    @functools.cached_property
    def table(self) -> np.ndarray:
        """The pointer table the kernel's C entry points read (kernel.pointer_table): built
        once per model; the arrays it points at are this model's and never change."""
        return k.pointer_table(self.arrays)

    @functools.cached_property
    def _sampler_table(self) -> np.ndarray:
        """``table`` with the preconditioner off: the entry points see sampler coordinates."""
        table = self.table.copy()
        table[k.N_PRECOND] = (_SWITCHED_OFF.ctypes.data, 1, 1)
        return table

    @functools.cached_property
    def _model_table(self) -> np.ndarray:
        """``table`` with the sampler's coordinates off too: the model's coordinates."""
        table = self._sampler_table.copy()
        table[k.N_ARRAYS + 2] = (_SWITCHED_OFF.ctypes.data, 3, 1)
        return table

    @property
    def n_stored(self) -> int:
        """Length of one expanded draw (every stored variable, flattened)."""
        return sum(int(np.prod(shape, dtype=int)) for _, shape in self.stored)

    # From Python the kernel is called through the C entry points that nutpie calls: they
    # are compiled (or loaded from numba's cache) once, and nothing else is.
    def logp_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The log-density at the model's unconstrained point x and its gradient."""
        return _logp_and_grad(self._model_table, x)

    def sampler_logp_and_grad(self, xs: np.ndarray) -> tuple[float, np.ndarray]:
        """What nutpie sees without a preconditioner: the log-density in sampler
        coordinates and its gradient."""
        return _logp_and_grad(self._sampler_table, xs)

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The stored variables at the model's point x, by name."""
        return self.unflatten(_expand(self._model_table, x, self.n_stored))

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Flattened expansions (along the last axis of ``flat``) as the stored variables,
        by name (views of ``flat`` where NumPy can)."""
        return dict(zip([n for n, _ in self.stored], _split(flat, self.stored)))

    def sampler_expand(self, xs: np.ndarray) -> np.ndarray:
        """The stored variables at sampler point xs, flattened in ``stored`` order."""
        return _expand(self._sampler_table, xs, self.n_stored)

    def to_sampler(self, x: np.ndarray, log_scale=None, location=None) -> np.ndarray:
        """Sampler coordinates of model point x (the inverse of :meth:`to_model`); by
        default with x~'s location 0 and scale 1."""
        if not self.arrays["sampler_par"][0]:
            return np.array(x, float)
        kind, ref = self.arrays["sampler_kind"], self.arrays["sampler_ref"]
        absolute = np.where(kind == k.K_ABS, x + x[np.maximum(ref, 0)], x)
        absolute[kind == k.K_ABS] += self._reputation_at_walk(x)
        loc = absolute[(kind == k.K_LEVEL) | (kind == k.K_ABS)]
        ell = np.log(loc.std()) if log_scale is None else log_scale
        m = loc.mean() if location is None else location
        c = np.exp(ell)
        xs = np.select(
            [kind == k.K_SCALE, kind == k.K_LOG, (kind == k.K_LEVEL) | (kind == k.K_ABS)],
            [x / c, x - ell, (absolute - m) / c],
            x,
        )
        return np.concatenate([xs, [ell, m]])

    def to_model(self, xs: np.ndarray) -> np.ndarray:
        """Model coordinates of sampler point xs (kernel._to_model, _minus_reputation)."""
        if not self.arrays["sampler_par"][0]:
            return np.array(xs, float)
        kind = self.arrays["sampler_kind"]
        x = np.empty(self.n_dim)
        k._to_model(np.ascontiguousarray(xs, float), x, kind, self.arrays["sampler_ref"])
        return k._minus_reputation(x, kind, self.table)[0]

    def _reputation_at_walk(self, x: np.ndarray) -> np.ndarray:
        """Reputation at each centred walk coordinate: what kernel._minus_reputation takes
        off (it reads only the non-walk coordinates, the same in x and the sampler's)."""
        kind = self.arrays["sampler_kind"]
        x = np.ascontiguousarray(x, float)
        less = k._minus_reputation(x, kind, self.table)[0]
        return (x - less)[kind == k.K_ABS]

    def initial_point(self, seed) -> np.ndarray:
        """Uniform(-1, 1) in unconstrained space (PyMC's jitter around a neutral point), in
        sampler coordinates; with a preconditioner, a draw of its Gaussian (u ~ N(0, 1))
        in nutpie's coordinates w (through the spread map's inverse)."""
        rng = np.random.default_rng(seed)
        if self.preconditioned:
            return self._unspread(rng.standard_normal(self.n_sampler_dim))
        return self.to_sampler(rng.uniform(-1.0, 1.0, self.n_dim))

    def _unspread(self, u: np.ndarray) -> np.ndarray:
        """w with u = M w on the spread map's blocks (kernel.spread), w = u elsewhere."""
        first, n_blocks = (int(v) for v in self.arrays["pre_spread_at"])
        m = self.arrays["pre_spread"]
        if n_blocks == 0:
            return u
        at = slice(first, first + n_blocks * m.shape[0])
        w = u.copy()
        # block k is column k of the (size, blocks) matrix of coordinates (kernel.spread)
        w[at] = np.linalg.solve(m, u[at].reshape(m.shape[0], n_blocks)).ravel()
        return w

    @property
    def preconditioned(self) -> bool:
        return bool(self.arrays["pre_on"][0])

    def with_preconditioner(self, mean, sd, coef, prev, follow=None, spread=None):
        """The same model, which nutpie samples through the preconditioner: sampler
        coordinates xs_i = mean_i + exp(-w_i e_s(i)) e_i, e_i = sd_i u_i + coef_i e_prev(i)
        (kernel.PRECOND_ARRAYS, kernel._unwhiten), where u is nutpie's point but on the
        spread map's blocks.

        ``follow`` is ``(w, s)``, each coordinate's weight in [0, 1] (rounded to multiples
        of 1 / kernel.FOLLOW_STEPS) and the log-scale coordinate it follows (-1: none), as
        :meth:`scale_following` gives them; None: no coordinate follows.  ``spread`` is
        ``(first, blocks, M)``: u = M v for each block v of nutpie's point, of M's size,
        from coordinate ``first`` (kernel.spread), as :meth:`spread_map` gives it; None:
        u is nutpie's point."""
        n = self.n_sampler_dim
        weight, scale_at = (np.zeros(n), np.full(n, -1)) if follow is None else follow
        spread_at, matrices, log_det = _spread_arrays(n, spread)
        pre = {
            "pre_on": np.array([1.0, log_det]),
            "pre_mean": np.asarray(mean, np.float64),
            "pre_sd": np.asarray(sd, np.float64),
            "pre_coef": np.asarray(coef, np.float64),
            "pre_prev": np.asarray(prev, np.int64),
            "pre_follow": np.asarray(weight, np.float64),  # to multiples of 1/64 below
            "pre_scale_at": np.asarray(scale_at, np.int64),
        }
        for name, value in pre.items():
            if name != "pre_on" and value.shape != (n,):
                raise ValueError(f"preconditioner {name}: expected shape ({n},), got {value.shape}")
        if not all(np.isfinite(v).all() for v in pre.values()) or np.any(pre["pre_sd"] <= 0):
            raise ValueError("preconditioner: non-finite values or sd <= 0")
        if np.any(pre["pre_prev"] >= np.arange(n)):
            raise ValueError("preconditioner: every predecessor must come before its coordinate")
        _check_following(pre["pre_follow"], pre["pre_scale_at"])
        j = np.rint(pre["pre_follow"] * k.FOLLOW_STEPS).astype(np.int64)
        pre["pre_follow"] = np.where(pre["pre_scale_at"] >= 0, j, 0)
        pre["pre_scale_at"] = np.where(pre["pre_follow"] > 0, pre["pre_scale_at"], -1)
        pre["pre_spread_at"], pre["pre_spread"] = spread_at, matrices
        arrays = {**self.arrays, **{k: np.ascontiguousarray(v) for k, v in pre.items()}}
        return dataclasses.replace(self, arrays=arrays)

    def scale_following(self, mean, sd) -> tuple[np.ndarray, np.ndarray]:
        """The preconditioner's ``follow`` for a fit with this ``mean`` and conditional
        ``sd``: the random walk's coordinates follow the sampler's log scale c, by the
        share of their prior in their posterior, (sd / prior sd)^2, ~0.55 on ``medium``
        (the partially non-centred weight of Papaspiliopoulos, Roberts and Skold 2007,
        Statistical Science 22(1)); nothing else follows.

        Why: the walk's steps are WALK_STEP / c in the sampler's units, so where its
        coordinates do not follow (w = 0), log c and the roughness of every path move
        only together, one small step at a time: the slowest direction on ``medium``
        (sigma_innovation's ESS 220-440 at 4 x 1000; 650-1100 following).  Fully
        non-centred (w = 1), c would move path values that the data pin down.

        Measured and left out: the alliance baselines following tau (w = 1 - sd^2) made
        divergences in tau's long left tail (3-7 per 4,000 draws instead of 0-1).
        """
        n = self.n_sampler_dim
        mean, sd = np.asarray(mean, float), np.asarray(sd, float)
        weight, scale_at = np.zeros(n), np.full(n, -1)
        walk = {b.name: b for b in self.blocks}.get("z_walk")
        if walk is None or not self.arrays["sampler_par"][0]:
            return weight, scale_at
        at = slice(walk.offset, walk.offset + walk.size)
        c = np.exp(mean[self.n_dim])  # the raw scale at the preconditioner's mean
        # a centred coordinate is a path value (a step's prior sd: WALK_STEP / c), a
        # non-centred one a step in units of WALK_STEP (prior sd 1 / c)
        prior = np.where(self.arrays["sampler_kind"][at] == k.K_ABS, walk.params[0], 1.0) / c
        weight[at], scale_at[at] = np.clip((sd[at] / prior) ** 2, 0.0, 1.0), self.n_dim
        return weight, scale_at

    def spread_map(self, scale: float, size: int = SPREAD_BLOCK):
        """The preconditioner's ``spread`` for the random walk's coordinates: blocks of
        ``size`` (a power of 2), each seen through M = H diag(1 / s) H^T, with H the
        orthonormal Hadamard matrix and s spread evenly from ``scale`` to 1; None without
        a walk, or with ``scale`` 1.

        Why: the ADVI preconditioner leaves NUTS a nearly isotropic posterior, where every
        direction turns at one rate, so a trajectory ends each credibility value near the
        mirror image of its start.  Its draws are antithetic (bulk ESS ~7,500 of 4,000
        draws) and their distances from the median correlated (folded ESS ~1,600), so
        credibility's largest folded R-hat sits at 1.01 at 4 x 1000 draws, as it does for
        independent normals (benchmarks/rhat_floor.py).  Seen at scales s, directions
        turn at different rates, and a value that combines them lands at no particular
        angle from its start (benchmarks/spread_scales.py).  H, all of whose entries are
        +-1 / sqrt(size), gives every coordinate an equal share of every scale: a unit's
        coordinates sit in one row of their blocks (kernel.spread), and with a random
        rotation some rows would lean on one scale.  On the other side it leaves the
        diagonal of w's covariance flat, so nutpie's diagonal mass matrix cannot undo s."""
        walk = {b.name: b for b in self.blocks}.get("z_walk")
        if walk is None or scale == 1.0 or walk.size < size:
            return None
        h = _hadamard(size) / np.sqrt(size)
        # the last walk.size % size coordinates stay as they are (w = u)
        return walk.offset, walk.size // size, (h / np.linspace(scale, 1.0, size)) @ h.T

    def nutpie_model(self):
        """A nutpie compiled model calling the kernel through C function pointers.

        Its draws store the model's point (MODEL_POINT), which :meth:`expand_draws` expands
        after sampling: half the values of the expansion, whose credibility is as large as
        the walk's coordinates, for nutpie to buffer (and on ``large`` write and compress)
        on every draw, warm-up included."""
        from nutpie.compile_pymc import CompiledPyMCModel

        logp_c, expand_c = k.c_functions()
        if self.n_stored == self.n_dim:  # the kernel tells the two apart by their length
            raise AssertionError("an expansion must be longer than the model's point")
        return CompiledPyMCModel(
            _n_dim=self.n_sampler_dim,
            dims={},
            _coords=self.coords,
            _shapes={MODEL_POINT: (self.n_dim,)},
            compiled_logp_func=logp_c,
            compiled_expand_func=expand_c,
            initial_point_func=self.initial_point,
            shared_data=dict(self.arrays),  # keeps the arrays behind ``table`` alive
            user_data=self.table,
            n_expanded=self.n_dim,
            shape_info=([MODEL_POINT], [slice(0, self.n_dim)], [(self.n_dim,)]),
            logp_func=None,
            expand_func=None,
        )

    def expand_draws(
        self, points: np.ndarray, attrs: dict | None = None, sampler_coordinates: bool = False
    ) -> xr.Dataset:
        """The posterior of the stored variables from draws (chain, draw, coordinate) of
        the model's point, or of the sampler's with ``sampler_coordinates``, with ``attrs``."""
        table = self._sampler_table if sampler_coordinates else self._model_table
        n_chains, n_draws = points.shape[:2]
        values = {name: np.empty((n_chains, n_draws, *shape)) for name, shape in self.stored}
        flat = np.empty((min(n_draws, EXPAND_CHUNK), self.n_stored))
        for chain in range(n_chains):  # a chunk of draws at a time: NumPy copies per variable
            for first in range(0, n_draws, EXPAND_CHUNK):
                chunk = flat[: min(EXPAND_CHUNK, n_draws - first)]
                for i, point in enumerate(points[chain, first : first + len(chunk)]):
                    _expand_into(table, np.ascontiguousarray(point, np.float64), chunk[i])
                for name, part in self.unflatten(chunk).items():
                    values[name][chain, first : first + len(chunk)] = part
        return self._dataset(values, attrs)

    def _dataset(self, values: dict[str, np.ndarray], attrs: dict | None = None) -> xr.Dataset:
        """A posterior dataset of stored variables ``values`` (chain, draw, *shape)."""
        variables, coords = {}, {}
        for name, shape in self.stored:
            array = values[name]
            dims = self.dims.get(name) or tuple(f"{name}_dim_{j}" for j in range(len(shape)))
            variables[name] = (("chain", "draw", *dims), array)
            coords |= {d: np.asarray(self.coords[d]) for d in dims if d in self.coords}
        chains, draws = values[self.stored[0][0]].shape[:2]
        coords |= {"chain": np.arange(chains), "draw": np.arange(draws)}
        return xr.Dataset(variables, coords=coords, attrs=attrs or {})


def _logp_and_grad(table: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    x = np.ascontiguousarray(x, np.float64)
    grad, logp = np.empty_like(x), np.empty(1)
    c_logp_function()(x.size, x.ctypes.data, grad.ctypes.data, logp.ctypes.data, table.ctypes.data)
    return float(logp[0]), grad


def _expand(table: np.ndarray, x: np.ndarray, n_out: int) -> np.ndarray:
    return _expand_into(table, np.ascontiguousarray(x, np.float64), np.empty(n_out))


def _expand_into(table: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The expansion at x (contiguous float64) written into ``out``."""
    c_expand_function()(x.size, out.size, x.ctypes.data, out.ctypes.data, table.ctypes.data)
    return out


def _split(flat: np.ndarray, stored) -> list[np.ndarray]:
    out, i = [], 0
    for _, shape in stored:
        n = int(np.prod(shape, dtype=int))
        out.append(flat[..., i : i + n].reshape((*flat.shape[:-1], *shape)))
        i += n
    return out


# ----------------------------------------------------------------------------- building


def kernel_model(model: pm.Model, panel: Panel, spec: ModelSpec, scales) -> KernelModel:
    """Describe ``model`` (built by ``model.build_model(panel, spec, scales)``) to the kernel.

    Raises
    ------
    Unsupported
        When the model uses something the kernel does not implement.
    """
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
                _dynamics(model, spec),
                _followthrough_mode(model),
            ],
            dtype=np.int64,
        ),
        "roles": np.array([offset.get(role, -1) for role in k.ROLES], dtype=np.int64),
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
        **_reputation_counts(model, panel),
        **_observations(model, spec),
        **_signals(panel, spec, scales, offset),
        **_crises(model),
        "walk_centred": (
            _data(model, "walk_centred")
            if "walk_centred" in model.named_vars
            else np.zeros((n_units, max(n_years - 1, 1)))
        ),
    }
    arrays.update(_sampler_map(blocks, arrays["walk_centred"], n_years))
    arrays.update(_no_preconditioner(sum(b.size for b in blocks)))
    arrays = {
        name: np.ascontiguousarray(arrays[name], dtype=dt)
        for name, dt, _ in k.ARRAYS + k.SAMPLER_ARRAYS + k.PRECOND_ARRAYS
    }
    stored = _stored(model, blocks)
    dims = {name: tuple(model.named_vars_to_dims.get(name, ())) for name, _ in stored}
    coords = {name: pd.Index(list(values)) for name, values in model.coords.items()}
    return KernelModel(tuple(blocks), arrays, tuple(stored), dims, coords)


# Blocks on the raw path's scale (besides level and z_walk), by how kernel._to_model scales them
_RAW_SCALE_BLOCKS = (
    "sigma_level_raw",
    "tau",
    "kappa_honor_raw",
    "kappa_violate_raw",
    "sigma_reputation",
    "gamma",
)
# Sampler's auxiliary spread of x~'s log scale and location, times 1 / sqrt(number of
# path values): narrow enough that x~'s own scale is no slow direction, wide enough that
# it sets no small step size.
_AUX_SD = 0.3


def _sampler_map(blocks, centred: np.ndarray, n_years: int) -> dict:
    """kernel.SAMPLER_ARRAYS: sampler coordinates of their own for the random walk (the
    form where the raw scale was the slow direction); the model's otherwise."""
    n = sum(b.size for b in blocks)
    kind, ref = np.zeros(n, np.int64), np.full(n, -1, np.int64)
    by_name = {b.name: b for b in blocks}
    if "z_walk" not in by_name or "level" not in by_name:
        return {"sampler_kind": kind, "sampler_ref": ref, "sampler_par": np.zeros(3)}
    level, walk = by_name["level"], by_name["z_walk"]
    kind[level.offset : level.offset + level.size] = k.K_LEVEL
    n_units, n_steps = level.size, n_years - 1
    unit = np.repeat(np.arange(n_units), n_steps)
    is_centred = centred.reshape(-1) > 0.5
    at = walk.offset + np.arange(walk.size)
    kind[at] = np.where(is_centred, k.K_ABS, k.K_SCALE)
    ref[at] = np.where(is_centred, level.offset + unit, -1)
    for name in _RAW_SCALE_BLOCKS:
        b = by_name.get(name)
        if b is None:
            continue
        at = slice(b.offset, b.offset + b.size)
        if b.transform == k.T_NONE:
            kind[at] = k.K_SCALE
        elif b.transform == k.T_LOG or (b.transform == k.T_LOWER and b.bounds[0] == 0.0):
            kind[at] = k.K_LOG  # log c shifts log v: v scales by c
    n_loc = int(np.sum((kind == k.K_LEVEL) | (kind == k.K_ABS)))
    aux = _AUX_SD / np.sqrt(n_loc)
    return {"sampler_kind": kind, "sampler_ref": ref, "sampler_par": np.array([1.0, aux, aux])}


def _check_following(weight: np.ndarray, scale_at: np.ndarray) -> None:
    if np.any(weight < 0) or np.any(weight > 1):
        raise ValueError("preconditioner: follow weights must lie in [0, 1]")
    if np.any(scale_at < -1) or np.any(scale_at >= scale_at.size):
        raise ValueError("preconditioner: a follow scale index is out of range")
    scales = np.unique(scale_at[(scale_at >= 0) & (weight > 0)])
    if np.any(scale_at[scales] >= 0):
        raise ValueError("preconditioner: a scale that others follow must not follow")


def _hadamard(size: int) -> np.ndarray:
    """Sylvester's Hadamard matrix of order ``size`` (a power of 2): entries +-1, rows
    orthogonal."""
    if size < 1 or size & (size - 1):
        raise ValueError(f"spread map: the block size must be a power of 2, got {size}")
    h = np.ones((1, 1))
    while h.shape[0] < size:
        h = np.block([[h, h], [h, -h]])
    return h


def _spread_arrays(n: int, spread) -> tuple[np.ndarray, np.ndarray, float]:
    """kernel.PRECOND_ARRAYS's pre_spread_at and pre_spread for ``spread`` (see
    KernelModel.with_preconditioner), and the map's log-Jacobian log |det dU/dW|."""
    if spread is None:
        return np.array([0, 0], np.int64), np.eye(1), 0.0
    first, n_blocks, m = int(spread[0]), int(spread[1]), np.asarray(spread[2], np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or n_blocks < 1:
        raise ValueError(f"preconditioner spread: expected a square matrix and >= 1 block, "
                         f"got {m.shape} and {n_blocks}")  # fmt: skip
    if first < 0 or first + n_blocks * m.shape[0] > n:
        raise ValueError(f"preconditioner spread: coordinates {first}.."
                         f"{first + n_blocks * m.shape[0]} outside the {n}")  # fmt: skip
    sign, log_det = np.linalg.slogdet(m) if np.isfinite(m).all() else (0.0, 0.0)
    if sign == 0:
        raise ValueError("preconditioner spread: the matrix is not finite or not invertible")
    return np.array([first, n_blocks], np.int64), m, float(n_blocks * log_det)


def _no_preconditioner(n_dim: int) -> dict:
    """kernel.PRECOND_ARRAYS switched off (nutpie samples the sampler coordinates)."""
    n = n_dim + 2  # room for the sampler's scale and location; unused when off
    return {
        "pre_on": np.zeros(2),
        "pre_mean": np.zeros(n),
        "pre_sd": np.ones(n),
        "pre_coef": np.zeros(n),
        "pre_prev": np.full(n, -1, np.int64),
        "pre_follow": np.zeros(n, np.int64),
        "pre_scale_at": np.full(n, -1, np.int64),
        "pre_spread_at": np.array([0, 0], np.int64),
        "pre_spread": np.eye(1),
    }


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
        return k.T_NONE, (0.0, 0.0)
    if isinstance(transform, tr.LogTransform):
        return k.T_LOG, (0.0, 0.0)
    if isinstance(transform, tr.LogOddsTransform):
        return k.T_LOGODDS, (0.0, 1.0)
    if isinstance(transform, tr.Ordered):
        return k.T_ORDERED, (0.0, 0.0)
    if isinstance(transform, tr.ZeroSumTransform) and rv.name == "z_alliance":
        return k.T_ZEROSUM, (0.0, 0.0)
    if isinstance(transform, tr.Interval):
        a, b, has_a, has_b = transform.get_a_and_b(rv.owner.inputs)
        lo = _scalar_bound(a, rv) if has_a else -np.inf
        hi = _scalar_bound(b, rv) if has_b else np.inf
        if has_a and has_b:
            return k.T_INTERVAL, (lo, hi)
        if has_a:
            return k.T_LOWER, (lo, hi)
        if has_b:
            return k.T_UPPER, (lo, hi)
        return k.T_NONE, (lo, hi)
    raise Unsupported(f"transform {type(transform).__name__} of {rv.name}")


def _scalar_bound(bound, rv) -> float:
    values = np.unique(np.asarray(bound.eval(), dtype=float))
    if values.size != 1:
        raise Unsupported(f"{rv.name}: bounds differ between elements")
    return float(values[0])


def _prior(name: str, spec: ModelSpec) -> tuple[int, tuple[float, ...]]:
    if name in ("level", "z_alliance"):  # hierarchical: written out in the kernel
        return k.D_FLAT, ()
    if name == "z_walk":  # written out in the kernel, which reads the step from here
        return k.D_FLAT, (WALK_STEP,)
    if name in LATENT_COORDINATES:
        p = STANDARD_NORMAL
    elif name.startswith("cutpoints_") and name != "cutpoints_followthrough":
        p = spec.prior("cutpoints")
    else:
        p = spec.prior(name)
    params = []
    for key, default in PRIOR_PARAMS[p["dist"]]:
        value = p.get(key, default)
        if value is None:
            raise Unsupported(f"prior of {name}: {p['dist']} needs {key}")
        params.append(float(value))
    return DIST_CODES[p["dist"]], tuple(params)


def _dynamics(model, spec) -> int:
    if "z_walk" in model.named_vars:
        return k.DYN_RW
    return k.DYN_AR1 if "z_innovation" in model.named_vars else k.DYN_STATIC


def _followthrough_mode(model) -> int:
    if "followthrough" not in model.named_vars:
        return k.FT_NONE
    return k.FT_ORDINAL if "cutpoints_followthrough" in model.named_vars else k.FT_BINARY


def _active_weight(panel: Panel) -> np.ndarray:
    active = panel.active_mask().astype(float).ravel()
    return active / active.sum()


def _covariates(panel: Panel, spec: ModelSpec) -> np.ndarray:
    if not spec.latent.covariates:
        return np.zeros((len(panel.units), 1))
    return covariate_matrix(panel, spec)


def _data(model, name):
    return np.asarray(model[name].get_value())


def _reputation_counts(model, panel: Panel) -> dict:
    shape = (len(panel.members), len(panel.years))
    if "honored_count" not in model.named_vars:
        return {"honored": np.zeros(shape), "violated": np.zeros(shape)}
    return {"honored": _data(model, "honored_count"), "violated": _data(model, "violated_count")}


def _observations(model, spec: ModelSpec) -> dict:
    parts: dict[str, list] = {key: [] for key in ("cell", "signal", "family", "y", "trials")}
    for group, signals in measurement_groups(spec).items():
        family = spec.signals[signals[0]].family
        y = _data(model, f"{group}_y").astype(float)
        trials = (
            _data(model, f"{group}_trials").astype(float)
            if FAMILIES[family].needs_trials
            else np.ones(len(y))
        )
        parts["cell"].append(_data(model, f"{group}_cell"))
        parts["signal"].append(_data(model, f"{group}_signal"))
        parts["family"].append(np.full(len(y), FAMILY_CODES[family]))
        parts["y"].append(y)
        parts["trials"].append(trials)
    out = {f"obs_{key}": np.concatenate(v) if v else np.zeros(0) for key, v in parts.items()}
    # the kernel loops over each signal's rows in turn: sort them by signal
    order = np.argsort(out["obs_signal"], kind="stable")
    out = {key: values[order] for key, values in out.items()}
    is_beta = out["obs_family"] == k.F_BETA
    y = np.where(is_beta, out["obs_y"], 0.5)
    out["obs_c1"] = np.where(is_beta, np.log(y), 0.0)
    out["obs_c2"] = np.where(is_beta, np.log1p(-y), 0.0)
    return out


def _signals(panel: Panel, spec: ModelSpec, scales, offset: dict) -> dict:
    names = list(panel.signals)  # the model's ``signal`` coordinate
    families = [spec.signals[s].family for s in names]
    return {
        "sig_offset": np.array([scales[s].offset for s in names]),
        "sig_direction": np.array([spec.signals[s].direction for s in names], float),
        "sig_family": np.array([FAMILY_CODES[f] for f in families]),
        "sig_aux": np.array([_aux_offset(spec, s, offset) for s in names]),
        "sig_ncut": np.array([max(scales[s].categories - 1, 0) for s in names]),
    }


def _aux_offset(spec: ModelSpec, signal: str, offset: dict) -> int:
    """Where the signal's own parameter sits in the constrained vector (-1: none)."""
    aux = FAMILIES[spec.signals[signal].family].aux
    if not aux:
        return -1
    if aux[0] == "cutpoints":
        return offset[f"cutpoints_{signal}"]
    return offset[aux[0]] + int(aux_positions(spec, aux[0], [signal])[0])


def _crises(model) -> dict:
    if "followthrough" not in model.named_vars:
        return {"crisis_cell": np.zeros(0), "crisis_outcome": np.zeros(0)}
    return {
        "crisis_cell": _data(model, "crisis_cell"),
        "crisis_outcome": _data(model, "crisis_outcome"),
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
    ):
        if det in deterministics:
            dims = model.named_vars_to_dims.get(det) or ()
            stored.append((det, tuple(len(model.coords[d]) for d in dims)))
    return stored
