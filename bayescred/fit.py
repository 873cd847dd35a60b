"""Samplers behind one call: nutpie (default), PyMC's NUTS and numpyro; and ADVI, a fast
approximation for exploring a model (:mod:`bayescred.approx`).

Seeds reproduce draws exactly, compile and sampling time are measured separately, and a
progress display appears only on an interactive terminal.  Compiled nutpie models are
cached in-process by model structure, so a second fit of the same structure with new data
swaps the data containers instead of recompiling.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import warnings

import arviz as az
import numpy as np
import pymc as pm

from .kernel.model import MODEL_POINT, KernelModel
from .runtime import (  # Timing, interactive re-exported: they lived here
    Timing,
    interactive,
    stage,
    trace_in_memory_limit,
)
from .spec import SamplerSpec

_COMPILED: dict[str, object] = {}  # structure hash -> nutpie compiled model (a pure cache)
_CACHE_SIZE = 8


def sample(
    model: pm.Model,
    sampler: SamplerSpec,
    progress: bool | None = None,
    kernel: KernelModel | None = None,
) -> tuple[az.InferenceData, Timing]:
    """Draw from the posterior of ``model`` with the engine named in ``sampler.backend``.

    With nutpie, ``kernel`` (the same model described to the numba kernel, see
    :func:`bayescred.kernel.describe.kernel_model`) is what gets sampled; without it, the PyMC
    model is compiled by PyTensor (slower to compile and to run).
    """
    progress = interactive() if progress is None else progress
    if sampler.backend == "nutpie":
        trace_in_memory_limit()  # a bad setting fails now, not after compiling and sampling
    s = sampler
    stage(f"sampling {s.chains} x {s.draws} draws with advi" if s.backend == "advi" else
          f"sampling {s.chains} chains x ({s.warmup} tuning + {s.draws}) draws with {s.backend}")
    if sampler.backend == "advi":
        return _advi(kernel, sampler)
    if sampler.backend == "nutpie" and kernel is not None:
        return _nutpie_native(kernel, sampler, progress)
    engines = {"nutpie": _nutpie, "pymc": _pymc, "numpyro": _numpyro}
    return engines[sampler.backend](model, sampler, progress)


def _nutpie_native(kernel: KernelModel, sampler: SamplerSpec, progress: bool):
    import nutpie

    from .kernel.build import c_functions

    start = time.perf_counter()
    cached = c_functions.cache_info().currsize > 0
    c_functions()  # compiles the C entry points, or loads them from numba's cache
    compiled_at = time.perf_counter()
    kernel, attrs = _preconditioned(kernel, sampler) if sampler.precondition else (kernel, {})
    idata = _nutpie_sample(nutpie, kernel.nutpie_model(), sampler, progress)
    groups = {group: idata[group] for group in idata.groups()}
    points = groups["posterior"][MODEL_POINT].values
    groups["posterior"] = kernel.expand_draws(points, {**idata.posterior.attrs, **attrs})
    timing = Timing(compiled_at - start, time.perf_counter() - compiled_at, cached)
    return az.InferenceData(**groups), timing


def _preconditioned(kernel: KernelModel, sampler: SamplerSpec):
    """``kernel`` with an ADVI fit as NUTS's preconditioner (kernel.PRECOND_ARRAYS), and
    what to record about it; ``kernel`` unchanged where the fit failed.

    Why: in the sampler's coordinates each unit's path values are strongly dependent
    from year to year, and nutpie's diagonal mass matrix cannot take that out: ~66
    leapfrog steps per draw on ``medium``.  Seen through the ADVI fit's Markov-chain
    Gaussian (bayescred.approx) the posterior is close to isotropic: ~15 steps per draw,
    and chains start at draws of it, already in the bulk.  The random walk's coordinates
    also follow the sampler's scale (KernelModel.scale_following), so the walk's scale
    and the roughness of its paths move together; and the walk's coordinates are shown
    to NUTS at spread scales (KernelModel.spread_map), so credibility's draws are not
    antithetic.  The map has a known Jacobian, so the posterior is exactly the model's.
    Measured on ``medium`` (4 x (1000 + 1000), before the spread): 145k gradients
    instead of 513k, 20 s instead of 58 s (ADVI included); min bulk ESS
    (sigma_innovation) 220-440 with a linear map, 650-1100 with the scale followed
    (six data sets), against 485-564 for plain nutpie's long trajectories.
    """
    from .approx import AdviSettings, fit_advi

    start = time.perf_counter()
    # the means need not be exact for a preconditioner: a shorter averaging phase
    fit = fit_advi(kernel, sampler.seed, AdviSettings(averaging=500))
    seconds = time.perf_counter() - start
    attrs = {"preconditioner": "advi", "precondition_s": seconds,
             "precondition_iterations": fit.iterations,
             "precondition_spread_scale": sampler.spread_scale}
    try:
        follow = kernel.scale_following(fit.mean, fit.sd)  # partially non-centred
        spread = kernel.spread_map(sampler.spread_scale)
        pre = kernel.with_preconditioner(fit.mean, fit.sd, fit.coef, fit.prev, follow, spread)
        return pre, attrs
    except ValueError as err:  # non-finite fit: sample without it (slower, same posterior)
        warnings.warn(f"ADVI preconditioner not used ({err}); sampling without it", stacklevel=3)
        return kernel, {"preconditioner": f"none ({err})", "precondition_s": seconds}


def _advi(kernel: KernelModel | None, sampler: SamplerSpec):
    """``chains x draws`` independent draws of the approximation, as one chain (they are
    not a Markov chain: R-hat across splits would mean nothing).  What the optimisation
    did goes in the posterior's attributes (``approx_*``): diagnostics and reports read it.
    As many draws as NUTS would give, so a posterior mean's Monte Carlo error is
    comparable (measured on ``medium``: with 1000 draws a few credibility means
    were 0.1 posterior sd off NUTS's on draw noise alone, with 4000 none)."""
    from .approx import sample_advi

    if kernel is None:
        from .errors import SpecError

        raise SpecError(
            "sampler backend 'advi' needs a model the numba kernel covers; this one is not "
            "covered: use backend 'nutpie'"
        )
    from .kernel.build import c_functions

    start = time.perf_counter()
    cached = c_functions.cache_info().currsize > 0
    c_functions()  # compiles the C entry points, or loads them from numba's cache
    compiled_at = time.perf_counter()
    posterior, fitted = sample_advi(kernel, sampler.draws * sampler.chains, sampler.seed)
    posterior.attrs.update(fitted.attrs())
    timing = Timing(compiled_at - start, time.perf_counter() - compiled_at, cached)
    return az.InferenceData(posterior=posterior), timing


# what nutpie's zarr store holds besides what its in-memory trace returns (sample_stats)
_ZARR_ONLY_STATS = (
    "gradient",
    "unconstrained_draw",
    "mass_matrix_inv",
    "mass_matrix_eigvals",
    "mass_matrix_stds",
    "divergence_start",
    "divergence_end",
    "divergence_momentum",
    "divergence_start_gradient",
)


def _nutpie_sample(nutpie, compiled, sampler: SamplerSpec, progress: bool):
    kwargs = dict(
        draws=sampler.draws,
        tune=sampler.warmup,
        chains=sampler.chains,
        cores=min(sampler.chains, os.cpu_count() or 1),
        seed=sampler.seed,
        target_accept=sampler.target_accept,
        step_size_jitter=sampler.step_size_jitter,
        progress_bar=progress,
        save_warmup=False,
    )
    per_draw = sum(int(np.prod(shape, dtype=int)) for shape in compiled.shapes.values())
    trace_bytes = 8 * per_draw * (sampler.draws + sampler.warmup) * sampler.chains
    if trace_bytes <= trace_in_memory_limit():
        return nutpie.sample(compiled, **kwargs)
    return _sample_to_disk(nutpie, compiled, kwargs)


def _sample_to_disk(nutpie, compiled, kwargs: dict) -> az.InferenceData:
    """nutpie.sample through a zarr store in a temporary folder (``TMPDIR``), then the
    posterior and the usual sample statistics read into memory and the folder removed."""
    import tempfile

    from arviz.data.base import make_attrs
    from nutpie import zarr_store

    try:
        temporary = tempfile.TemporaryDirectory(prefix="bayescred-trace-")
    except OSError as err:  # no writable TMPDIR: slower to fail later than to use memory
        warnings.warn(
            f"no temporary folder for the trace ({err}); keeping it in memory", stacklevel=4
        )
        return nutpie.sample(compiled, **kwargs)
    with temporary as folder:
        store = zarr_store.LocalStore(folder)
        idata = _wait(nutpie.sample(compiled, zarr_store=store, blocking=False, **kwargs))
        stats = idata.sample_stats
        stats = stats.drop_vars([v for v in _ZARR_ONLY_STATS if v in stats.data_vars])
        posterior = idata.posterior
        order = [n for n in compiled.shapes if n in posterior.data_vars]  # as in memory
        posterior = posterior[order + [n for n in posterior.data_vars if n not in order]]
        groups = {"posterior": posterior, "sample_stats": stats}
        for group in groups.values():
            group.load()
            group.attrs.update(make_attrs())
        return az.InferenceData(**groups)


def _wait(sampler, poll_s: float = 0.25):
    """The trace of a non-blocking nutpie sampler, waited for in short steps.

    Through a zarr store, nutpie's own blocking wait did not let Python see SIGINT or
    SIGTERM: an interrupted fit kept sampling for minutes.  Between short waits the signal
    handlers run, and an interrupt stops the sampler and is raised on: the draws so far
    are discarded (reading them back from the store took minutes; ``--save-partial``
    keeps partial draws of fits whose trace stays in memory)."""
    try:
        while True:
            try:
                sampler._sampler.wait(poll_s)  # nutpie's private handle
                break
            except TimeoutError:  # not finished within poll_s: signals get their turn
                continue
        return sampler.wait()
    except KeyboardInterrupt:
        sampler.cancel()
        raise


def structure_key(model: pm.Model) -> str:
    """Hash of everything that makes a compiled model reusable: the graph, not the data.

    The graph is a function of the variables, their dims and sizes, the data containers'
    names, ranks and dtypes, and the priors (distribution and parameters of every RV).
    """
    sizes = {name: len(values) for name, values in model.coords.items()}
    parts = [str(model.named_vars_to_dims), repr(sorted(model.named_vars)), repr(sizes)]
    for rv in model.basic_RVs:
        params = [
            str(p.data.tolist()) if hasattr(p, "data") else str(p.type)
            for p in rv.owner.inputs[2:]
        ]
        parts.append(f"{rv.name}:{rv.type}:{rv.owner.op}:{params}")
    parts += [f"{k}:{v.get_value().dtype}:{v.get_value().ndim}" for k, v in _data(model).items()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _data(model: pm.Model) -> dict:
    return {var.name: var for var in model.data_vars}


def _compiled_nutpie(model: pm.Model):
    """nutpie model for ``model``, from the in-process cache when the structure matches."""
    key = structure_key(model)
    data = {name: var.get_value() for name, var in _data(model).items()}
    coords = _native_coords(model.coords)
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
    compile these models and was slower per gradient than PyMC's own NUMBA-mode
    ``logp_dlogp_function`` (measured: 200+ s and 1-3 ms against 25 s and 0.2 ms on a
    20 x 40 panel), so the log-density, its gradient and the trace expansion are compiled
    by PyTensor and handed to nutpie as Python callables.  Data live in the functions'
    shared variables; ``with_data`` swaps them.
    """

    logp_fn: object
    expand_fn: object
    value_vars: tuple
    names: tuple
    shapes: tuple
    init_fn: object
    dims: dict
    coords: dict
    data: dict

    @classmethod
    def compile(cls, model: pm.Model) -> _NutpieModel:
        import pytensor
        from pymc.initial_point import make_initial_point_fn
        from pymc.pytensorf import join_nonshared_inputs

        logp_fn = model.logp_dlogp_function(mode="NUMBA", ravel_inputs=True)
        logp_fn.set_extra_values({})
        value_vars = tuple(logp_fn._grad_vars)
        point = model.initial_point(0)
        stored = [*model.free_RVs, *model.deterministics]
        as_values = model.replace_rvs_by_values(stored)  # constrained values, from value vars
        outputs, joined = join_nonshared_inputs(point, as_values, list(value_vars))
        expand_fn = pytensor.function([joined], outputs, mode="NUMBA", on_unused_input="ignore")
        shapes = tuple(tuple(np.shape(v)) for v in expand_fn(_ravel(point, value_vars)))
        init = make_initial_point_fn(
            model=model, jitter_rvs=set(model.free_RVs), return_transformed=True
        )
        names = tuple(v.name for v in stored)
        dims = {n: tuple(model.named_vars_to_dims.get(n, ())) for n in names}
        coords = _native_coords(model.coords)
        data = {name: var.get_value() for name, var in _data(model).items()}
        return cls(logp_fn, expand_fn, value_vars, names, shapes, init, dims, coords, data)

    def with_data(self, data: dict, coords: dict) -> _NutpieModel:
        return dataclasses.replace(self, data=data, coords={**self.coords, **coords})

    def _load_data(self) -> None:
        shared = {v.name: v for v in self.logp_fn._pytensor_function.get_shared()}
        shared |= {v.name: v for v in self.expand_fn.get_shared()}
        for name, value in self.data.items():
            if name in shared:
                shared[name].set_value(value)

    def nutpie_model(self):
        from nutpie.compiled_pyfunc import from_pyfunc

        self._load_data()
        names, shapes = self.names, self.shapes

        def make_logp_fn():
            lock = _LOCK

            def logp(x, **_):
                with lock:  # one PyTensor function, several chain threads
                    value, grad = self.logp_fn(x)
                return float(value), np.asarray(grad, dtype="float64")

            return logp

        def make_expand_fn(seed1, seed2, chain):
            def expand(x, **_):
                with _LOCK:
                    values = self.expand_fn(x)
                return {
                    n: np.asarray(v, dtype="float64", order="C").reshape(s)
                    for n, v, s in zip(names, values, shapes)
                }

            return expand

        def initial_point(seed):
            with _LOCK:  # PyTensor functions are not thread-safe; chains start in threads
                return _ravel(self.init_fn(seed), self.value_vars)

        return from_pyfunc(
            ndim=int(sum(np.prod(s, dtype=int) for s in self._value_shapes())),
            make_logp_fn=make_logp_fn,
            make_expand_fn=make_expand_fn,
            make_initial_point_fn=initial_point,
            expanded_dtypes=[np.dtype("float64")] * len(names),
            expanded_shapes=list(shapes),
            expanded_names=list(names),
            dims={n: d for n, d in self.dims.items() if d},
            coords=self.coords,
        )

    def _value_shapes(self):
        point = self.init_fn(0)
        return [np.shape(point[v.name]) for v in self.value_vars]


_LOCK = __import__("threading").Lock()


def _native_coords(coords: dict) -> dict:
    """Coordinates as pandas indexes (the form nutpie accepts)."""
    import pandas as pd

    return {k: pd.Index(list(v)) for k, v in coords.items()}


def _ravel(point: dict, value_vars) -> np.ndarray:
    return np.concatenate([np.ravel(point[v.name]) for v in value_vars]).astype("float64")


def _nutpie(model, sampler: SamplerSpec, progress: bool):
    import nutpie

    start = time.perf_counter()
    compiled, cached = _compiled_nutpie(model)
    compiled_at = time.perf_counter()
    idata = _nutpie_sample(nutpie, compiled.nutpie_model(), sampler, progress)
    done = time.perf_counter()
    return idata, Timing(compiled_at - start, done - compiled_at, cached)


def _pymc(model, sampler: SamplerSpec, progress: bool, **engine):
    start = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = pm.sample(
            draws=sampler.draws,
            tune=sampler.warmup,
            chains=sampler.chains,
            cores=min(sampler.chains, os.cpu_count() or 1),
            random_seed=sampler.seed,
            target_accept=sampler.target_accept,
            progressbar=progress,
            compute_convergence_checks=False,
            **engine,
        )
    # PyMC compiles inside pm.sample and does not report the split: all counts as sampling
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
    return _pymc(
        model,
        sampler,
        progress,
        nuts_sampler="numpyro",
        nuts_sampler_kwargs={"chain_method": chain_method},
    )
