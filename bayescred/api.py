"""The Python entry points: spec + data -> fitted result.

>>> import bayescred as bc
>>> spec = bc.load_spec("models/us_alliances.toml")      # doctest: +SKIP
>>> result = bc.fit(spec, draws=500)                      # doctest: +SKIP
>>> result.credibility().head()                           # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from . import pillars
from .design import SignalScale
from .fit import sample
from .kernel.build import start_compiling
from .kernel.describe import kernel_model
from .kernel.model import Unsupported
from .model import build_model, signal_scales
from .panel import Panel, read_panel
from .results import CredibilityResult, Partial
from .spec import ModelSpec, SamplerSpec, load_spec
from .structure import ModelStructure, model_structure


def fit(
    spec: ModelSpec | str | Path,
    panel: Panel | None = None,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    precondition: bool | None = None,
    progress: bool | None = None,
    scales: dict[str, SignalScale] | None = None,
) -> CredibilityResult:
    """Fit a credibility model.

    Parameters
    ----------
    spec : ModelSpec or path
        The model spec (a TOML path is read with :func:`load_spec`).
    panel : Panel, optional
        The data; read from the files in the spec's [data] table when omitted.
    draws, tune, chains, seed, sampler : optional
        Override the spec's [sampler] settings (``sampler`` names the backend:
        ``"nutpie"``, ``"pymc"`` or ``"numpyro"`` for NUTS; ``"advi"`` for a fast
        approximation to explore with, see :mod:`bayescred.approx`: ``chains x draws``
        independent draws from it, stored as one chain; ``tune`` is unused).
    precondition : bool, optional
        nutpie only: sample through an ADVI fit of the posterior (on by default; the
        posterior is the same, NUTS needs ~4x fewer gradients; see ``fit._preconditioned``).
    progress : bool, optional
        Show a progress bar; by default only on an interactive terminal.
    scales : dict, optional
        The signals' scales (centre, spread, offset: :func:`bayescred.model.signal_scales`)
        to measure the data on; computed from ``panel`` when omitted.  A scenario is fitted
        on its baseline's scales, so that both are one model on one scale.

    Returns
    -------
    CredibilityResult

    Notes
    -----
    With nutpie, a trace of more than 512 MB (every stored value of every draw, tuning
    included) is written to a temporary folder while it is sampled (``TMPDIR``; removed
    afterwards) and read back without the tuning draws, so memory holds the posterior
    once rather than nutpie's in-memory buffers of every draw (~3.5x the trace).  The
    same draws either way; the folder costs ~20% of sampling time.  The environment
    variable ``BAYESCRED_TRACE_IN_MEMORY_MB`` moves the limit.
    """
    if not isinstance(spec, ModelSpec):
        spec = load_spec(spec)
    spec = spec.with_sampler(
        draws=draws, tune=tune, chains=chains, seed=seed, backend=sampler,
        precondition=precondition,
    )
    if spec.sampler.uses_kernel:
        start_compiling()  # cold, the kernel compiles while the data are read and modelled
    panel = panel if panel is not None else read_panel(spec)
    scales = scales or signal_scales(panel, spec)
    structure = model_structure(spec, panel)
    start = time.perf_counter()
    model = build_model(panel, spec, scales, structure)
    kernel = native_kernel(model, panel, spec, scales, structure)
    built = time.perf_counter() - start
    idata, timing = sample(model, spec.sampler, progress=progress, kernel=kernel)
    timing = dataclasses.replace(timing, compile_s=timing.compile_s + built)
    idata, partial = complete_draws(idata, spec.sampler)
    idata = pillars.derive(label_units(idata, panel), panel.active_mask())
    return CredibilityResult(idata, spec, panel, scales, timing, partial=partial)


def complete_draws(idata, sampler: SamplerSpec):
    """``idata`` cut to the draws every chain completed, and a :class:`Partial` saying how
    many of the requested draws there were where that is fewer (else None).

    Interrupted (Ctrl-C, SIGTERM), nutpie returns what it has: chains of unequal length
    padded with NaN, or no draws at all when it was still tuning.  Such a result is
    not the posterior the spec asked for, and :meth:`CredibilityResult.save` refuses it
    unless asked to keep it marked as partial."""
    import numpy as np

    chains, draws = sampler.chains, sampler.draws
    if sampler.backend == "advi":  # chains x draws independent draws, as one chain
        chains, draws = 1, sampler.chains * sampler.draws
    requested = chains * draws
    post = idata.posterior
    n_chain, n_draw = post.sizes.get("chain", 0), post.sizes.get("draw", 0)
    ok = np.ones((n_chain, n_draw), bool)
    for values in post.data_vars.values():
        if values.dtype.kind == "f" and values.size:
            extra = tuple(range(2, values.ndim))
            ok &= np.isfinite(values.transpose("chain", "draw", ...).values).all(axis=extra)
    per_chain = np.cumprod(ok, axis=1).sum(axis=1) if n_draw else np.zeros(n_chain, int)
    drawn = int(per_chain.sum())
    if n_chain == chains and drawn == requested:
        return idata, None
    keep = int(per_chain.min()) if n_chain else 0
    for group in idata.groups():
        ds = idata[group]
        if "draw" in ds.dims:
            setattr(idata, group, ds.isel(draw=slice(0, keep)))
    return idata, Partial(drawn, requested)


def native_kernel(model, panel: Panel, spec: ModelSpec, scales, structure: ModelStructure):
    """The model described to the numba kernel, or None where it is not covered: then the
    PyMC model is compiled by PyTensor instead, and a one-line notice says why."""
    if not spec.sampler.uses_kernel:
        return None
    try:
        return kernel_model(model, panel, spec, scales, structure)
    except Unsupported as exc:
        print(
            f"bayescred: {exc}; nutpie samples the PyTensor-compiled model instead (slower)",
            file=sys.stderr,
        )
        return None


def label_units(idata, panel: Panel):
    """Attach ``unit_member``/``unit_alliance`` coordinates to the ``unit`` dimension, and
    make the ``year`` coordinate integer, in every group that has those dimensions.

    The per-unit coordinates are not called ``member``/``alliance``: those name
    dimensions (of ``mu_alliance``, reputation), whose labels a coordinate of the same
    name on ``unit`` would hide."""
    for group in idata.groups():
        ds = idata[group]
        if "unit" in ds.dims:
            ds = ds.assign_coords(
                unit=panel.unit_labels,
                unit_member=("unit", panel.units.member.to_numpy(str)),
                unit_alliance=("unit", panel.units.alliance.to_numpy(str)),
            )
        if "year" in ds.dims:
            ds = ds.assign_coords(year=panel.years.astype(int))
        setattr(idata, group, ds)
    return idata
