"""A model described to the numba kernel (:class:`KernelModel`), and the nutpie model
that samples it.

``describe.kernel_model`` builds one from a PyMC model of ``model.py`` and its
structure; this module holds what it is: the parameter blocks, the data arrays and their
pointer table, the maps between the model's, the sampler's and the preconditioner's
coordinates, and the expansion of draws into the posterior's variables.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools

import numpy as np
import xarray as xr

from . import build, geometry, layout, table

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
# scales of normals equally well (benchmarks/README.md, Performance history), and a block
# costs 2 x size multiply-adds per coordinate and gradient.
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
    return _LOGP_C(build.c_functions()[0].address)


@functools.lru_cache(maxsize=1)
def c_expand_function():
    """The C entry point that expands a draw: ``f(n, n_out, x, out, table)``."""
    return _EXPAND_C(build.c_functions()[1].address)


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
        return n - 1 if self.transform == layout.T_ZEROSUM else n


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
        return table.pointer_table(self.arrays)

    @functools.cached_property
    def _sampler_table(self) -> np.ndarray:
        """``table`` with the preconditioner off: the entry points see sampler coordinates."""
        table = self.table.copy()
        table[layout.N_PRECOND] = (_SWITCHED_OFF.ctypes.data, 1, 1)
        return table

    @functools.cached_property
    def _model_table(self) -> np.ndarray:
        """``table`` with the sampler's coordinates off too: the model's coordinates."""
        table = self._sampler_table.copy()
        table[layout.N_ARRAYS + 2] = (_SWITCHED_OFF.ctypes.data, 3, 1)
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
        absolute = np.where(kind == layout.K_ABS, x + x[np.maximum(ref, 0)], x)
        absolute[kind == layout.K_ABS] += self._reputation_at_walk(x)
        loc = absolute[(kind == layout.K_LEVEL) | (kind == layout.K_ABS)]
        ell = np.log(loc.std()) if log_scale is None else log_scale
        m = loc.mean() if location is None else location
        c = np.exp(ell)
        xs = np.select(
            [
                kind == layout.K_SCALE,
                kind == layout.K_LOG,
                (kind == layout.K_LEVEL) | (kind == layout.K_ABS),
            ],
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
        geometry._to_model(np.ascontiguousarray(xs, float), x, kind, self.arrays["sampler_ref"])
        return geometry._minus_reputation(x, kind, self.table)[0]

    def _reputation_at_walk(self, x: np.ndarray) -> np.ndarray:
        """Reputation at each centred walk coordinate: what kernel._minus_reputation takes
        off (it reads only the non-walk coordinates, the same in x and the sampler's)."""
        kind = self.arrays["sampler_kind"]
        x = np.ascontiguousarray(x, float)
        less = geometry._minus_reputation(x, kind, self.table)[0]
        return (x - less)[kind == layout.K_ABS]

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
        j = np.rint(pre["pre_follow"] * layout.FOLLOW_STEPS).astype(np.int64)
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
        prior = np.where(self.arrays["sampler_kind"][at] == layout.K_ABS, walk.params[0], 1.0) / c
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

        logp_c, expand_c = build.c_functions()
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


# ----------------------------------------------------------------------------- sampler geometry


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
    kind[level.offset : level.offset + level.size] = layout.K_LEVEL
    n_units, n_steps = level.size, n_years - 1
    unit = np.repeat(np.arange(n_units), n_steps)
    is_centred = centred.reshape(-1) > 0.5
    at = walk.offset + np.arange(walk.size)
    kind[at] = np.where(is_centred, layout.K_ABS, layout.K_SCALE)
    ref[at] = np.where(is_centred, level.offset + unit, -1)
    for name in _RAW_SCALE_BLOCKS:
        b = by_name.get(name)
        if b is None:
            continue
        at = slice(b.offset, b.offset + b.size)
        if b.transform == layout.T_NONE:
            kind[at] = layout.K_SCALE
        elif b.transform == layout.T_LOG or (b.transform == layout.T_LOWER and b.bounds[0] == 0.0):
            kind[at] = layout.K_LOG  # log c shifts log v: v scales by c
    n_loc = int(np.sum((kind == layout.K_LEVEL) | (kind == layout.K_ABS)))
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
