"""Samplers behind one call: nutpie (default), PyMC's NUTS and numpyro.

Seeds reproduce draws exactly, compile and sampling time are measured separately, and a
progress display appears only on an interactive terminal.  Compiled nutpie models are
cached in-process by model structure, so a second fit of the same structure with new data
swaps the data containers instead of recompiling.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pymc as pm

from .spec import SamplerSpec

_COMPILED: dict[str, object] = {}  # structure hash -> nutpie compiled model (a pure cache)
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds spent compiling and sampling, and whether the cache answered."""

    compile_s: float
    sample_s: float
    cached: bool = False

    def to_dict(self) -> dict:
        return {"compile_s": self.compile_s, "sample_s": self.sample_s, "cached": self.cached}


def interactive() -> bool:
    """Show progress only on a terminal (not in CI logs or when piped)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def sample(
    model: pm.Model, sampler: SamplerSpec, progress: bool | None = None
) -> tuple[az.InferenceData, Timing]:
    """Draw from the posterior of ``model`` with the engine named in ``sampler.backend``."""
    progress = interactive() if progress is None else progress
    engines = {"nutpie": _nutpie, "pymc": _pymc, "numpyro": _numpyro}
    return engines[sampler.backend](model, sampler, progress)


def structure_key(model: pm.Model) -> str:
    """Hash of everything that makes a compiled model reusable: the graph, not the data."""
    sizes = {name: len(values) for name, values in model.coords.items()}
    parts = [str(model.named_vars_to_dims), repr(sorted(model.named_vars)), repr(sizes)]
    parts += [f"{v.name}:{v.type}" for v in model.basic_RVs]
    parts += [f"{k}:{v.get_value().dtype}:{v.get_value().ndim}" for k, v in _data(model).items()]
    from pytensor.printing import debugprint

    graph = debugprint(model.logp(), file="str", print_type=False)
    return hashlib.sha256("\n".join([*parts, graph]).encode()).hexdigest()


def _data(model: pm.Model) -> dict:
    return {var.name: var for var in model.data_vars}


def _compiled_nutpie(model: pm.Model):
    """nutpie model for ``model``, from the in-process cache when the structure matches."""
    key = structure_key(model)
    data = {name: var.get_value() for name, var in _data(model).items()}
    coords = {name: list(values) for name, values in model.coords.items()}
    if key in _COMPILED:
        return _COMPILED[key].with_data(data, coords), True
    compiled = _NutpieModel.compile(model)
    if len(_COMPILED) >= _CACHE_SIZE:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = compiled
    return compiled, False


@dataclasses.dataclass(frozen=True)
class _NutpieModel:
    """A PyMC model compiled for nutpie through PyTensor's NUMBA mode.

    nutpie's own numba path (one C callback, LLVM-optimised as a whole) took minutes to
    compile these models and was slower per gradient than PyTensor's own NUMBA function
    (measured: 200+ s and 1-3 ms against 30 s and 0.2 ms on a 20 x 40 panel), so the
    log-density and its gradient are compiled by PyTensor and handed to nutpie as Python
    callables.  Data live in the functions' shared variables; ``with_data`` swaps them.
    """

    logp_fn: object
    expand_fn: object
    initial_point_fn: object
    shape_info: tuple
    n_dim: int
    dims: dict
    coords: dict
    data: dict

    @classmethod
    def compile(cls, model: pm.Model) -> _NutpieModel:
        from nutpie.compile_pymc import _make_functions, _prepare_dims_and_coords
        from pymc.initial_point import make_initial_point_fn

        init = make_initial_point_fn(
            model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
        )
        n_dim, _, logp_fn, expand_fn, initial_point_fn, shape_info = _make_functions(
            model,
            mode="NUMBA",
            compute_grad=True,
            join_expanded=False,
            pymc_initial_point_fn=init,
        )
        dims, coords = _prepare_dims_and_coords(model, shape_info)
        data = {name: var.get_value() for name, var in _data(model).items()}
        return cls(logp_fn, expand_fn, initial_point_fn, shape_info, n_dim, dims, coords, data)

    def with_data(self, data: dict, coords: dict) -> _NutpieModel:
        return dataclasses.replace(self, data=data, coords={**self.coords, **coords})

    def _load_data(self, fn) -> None:
        for var in fn.get_shared():
            if var.name in self.data:
                var.set_value(self.data[var.name])

    def nutpie_model(self):
        from nutpie.compiled_pyfunc import from_pyfunc

        self._load_data(self.logp_fn)
        self._load_data(self.expand_fn)
        names, _, shapes = self.shape_info
        dtypes = [np.dtype("float64")] * len(names)

        def make_logp_fn():
            fn = self.logp_fn.copy(share_memory=False)  # own work buffers per chain

            def logp(x, **_):
                value, grad = fn(x)
                return float(value), grad

            return logp

        def make_expand_fn(seed1, seed2, chain):
            fn = self.expand_fn.copy(share_memory=False)

            def expand(x, **_):
                values = fn(x)
                return {
                    n: np.asarray(v, dtype="float64", order="C").reshape(s)
                    for n, v, s in zip(names, values, shapes)
                }

            return expand

        return from_pyfunc(
            ndim=self.n_dim,
            make_logp_fn=make_logp_fn,
            make_expand_fn=make_expand_fn,
            make_initial_point_fn=self.initial_point_fn,
            expanded_dtypes=dtypes,
            expanded_shapes=shapes,
            expanded_names=names,
            dims=self.dims,
            coords=self.coords,
        )


def _nutpie(model, sampler: SamplerSpec, progress: bool):
    import nutpie

    start = time.perf_counter()
    compiled, cached = _compiled_nutpie(model)
    compiled_at = time.perf_counter()
    idata = nutpie.sample(
        compiled.nutpie_model(),
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=min(sampler.chains, os.cpu_count() or 1),
        seed=sampler.seed,
        target_accept=sampler.target_accept,
        progress_bar=progress,
        save_warmup=False,
    )
    done = time.perf_counter()
    return idata, Timing(compiled_at - start, done - compiled_at, cached)


def _pymc(model, sampler: SamplerSpec, progress: bool):
    start = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=min(sampler.chains, os.cpu_count() or 1),
            random_seed=sampler.seed,
            target_accept=sampler.target_accept,
            progressbar=progress,
            compute_convergence_checks=False,
        )
    # PyMC compiles inside pm.sample; it does not report the split, so all counts as sampling
    return idata, Timing(0.0, time.perf_counter() - start)


def _numpyro(model, sampler: SamplerSpec, progress: bool):
    try:
        import jax
    except ImportError:
        from .errors import SpecError

        raise SpecError(
            "sampler backend 'numpyro' needs JAX: pip install 'bayescred[jax]'"
        ) from None
    chain_method = "parallel" if jax.local_device_count() >= sampler.chains else "sequential"
    start = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            random_seed=sampler.seed,
            target_accept=sampler.target_accept,
            progressbar=progress,
            nuts_sampler="numpyro",
            nuts_sampler_kwargs={"chain_method": chain_method},
            compute_convergence_checks=False,
        )
    return idata, Timing(0.0, time.perf_counter() - start)


def seeded_rng(seed: int) -> np.random.Generator:
    """The package's one way to turn a seed into a generator."""
    return np.random.default_rng(seed)
