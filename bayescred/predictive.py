"""Re-evaluate a fitted model on its draws: pointwise log-likelihood and predictive draws.

Whichever sampler produced a result (nutpie, PyMC, numpyro), the model is rebuilt from the
result's spec, panel and signal scales (:func:`bayescred.model.build_model`), and PyMC
evaluates it on the stored draws.  Nothing here mutates the result's InferenceData.

Both outputs are on the *data* scale, one row per observed value:

* log-likelihood: continuous signals that the model sees standardised (gaussian) or
  log-standardised (lognormal) get the Jacobian of that transform added, so every
  row is a density or mass of the value the user supplied, and models that differ in a
  signal's family can be compared by LOO;
* posterior predictive draws: back-transformed to the data scale.

Rows come in a canonical order (observations sorted by signal, member, alliance, year;
then crises sorted by crisis), so two results fitted to the same data have the same
rows whatever their families or measurement groups.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.tensor.random.var import RandomGeneratorSharedVariable

from .errors import ResultError
from .families import FAMILIES
from .model import build_model, measurement_groups

if TYPE_CHECKING:
    from .results import CredibilityResult

FOLLOWTHROUGH = "followthrough"  # the signal label of crisis outcomes
SAMPLE_DIMS = ("chain", "draw")

# Compiled evaluation functions, keyed by a hash of the model graph (operations and the
# values of every constant) and by kind; data containers are swapped in by name, so a
# second result of the same model -- same shapes of parameters, any data -- is not
# recompiled.  A pure cache: a miss only costs time.
_COMPILED: OrderedDict[tuple[str, str], object] = OrderedDict()
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Rows:
    """Which observation each row of a pointwise quantity is.

    Attributes
    ----------
    table : DataFrame
        One row per observed value, in canonical order, with columns ``signal, member,
        alliance, year, value`` (crisis rows: ``signal = "followthrough"`` and ``value``
        the outcome code: violated 0, honoured 1; with partial outcomes 0, 1, 2).
    source : list of (str, ndarray)
        For each observed variable of the model, its name and the canonical position of
        each of its rows.
    """

    table: pd.DataFrame
    source: list[tuple[str, np.ndarray]]

    def coords(self) -> dict:
        """Non-index coordinates on the ``obs`` dimension."""
        return {
            col: ("obs", self.table[col].to_numpy())
            for col in ("signal", "member", "alliance", "year", "value")
        }


@contextmanager
def _quiet():
    """No warnings and no PyMC progress logging ("Sampling: [...]") while evaluating."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def rebuild(result: CredibilityResult) -> pm.Model:
    """The PyMC model of a result, rebuilt from its spec, panel and signal scales."""
    return build_model(result.panel, result.spec, result.scales)


def observation_rows(result: CredibilityResult) -> Rows:
    """Canonical rows of every observed variable of the model (see :class:`Rows`)."""
    panel, spec = result.panel, result.spec
    frames, names = [], []
    for group, signals in measurement_groups(spec).items():
        obs = panel.observations[panel.observations.signal.isin(signals)]
        frames.append(obs[["signal", "member", "alliance", "year", "value"]])
        names.append(f"y_{group}")
    if len(panel.crises):
        from .model import outcome_codes

        codes = outcome_codes(panel.crises.outcome)
        value = codes if (codes == 1).any() else (codes == 2).astype(int)
        frames.append(
            panel.crises[["member", "alliance", "year"]].assign(
                signal=FOLLOWTHROUGH, value=value, crisis=panel.crises.crisis.to_numpy()
            )
        )
        names.append(FOLLOWTHROUGH)
    sizes = [len(f) for f in frames]
    table = pd.concat(frames, ignore_index=True)
    table["crisis"] = table.get("crisis", pd.Series(index=table.index, dtype=object)).fillna("")
    table["year"] = table["year"].astype(int)
    table["value"] = table["value"].astype(float)
    order = table.sort_values(
        ["signal", "member", "alliance", "year", "crisis", "value"], kind="stable"
    ).index.to_numpy()
    position = np.empty(len(table), int)
    position[order] = np.arange(len(table))
    bounds = np.cumsum([0, *sizes])
    source = [(n, position[a:b]) for n, a, b in zip(names, bounds[:-1], bounds[1:])]
    canonical = table.loc[order].drop(columns="crisis").reset_index(drop=True)
    return Rows(canonical, source)


def aligned_posterior(result: CredibilityResult, model: pm.Model) -> xr.Dataset:
    """The draws of the model's free variables, with the model's dims and coordinates.

    Labelled dimensions are matched by label, not position (a result file may list
    signals in another order than the rebuilt model); unlabelled ones by position.
    """
    post = result.idata.posterior
    if "pillar_state" not in post and "pillar" in post:
        from .pillars import sampler_coordinates

        missing = [v for v in ("credibility_common", "pillar_mean_raw", "pillar_sd_raw")
                   if v not in post]
        if missing:  # a pillar result of an earlier bayescred: another model of the pillars
            raise ResultError(
                f"posterior has pillars but no {', '.join(map(repr, missing))}: written by an "
                "earlier bayescred whose pillar model differs; re-fit it with this version"
            )
        post = post.assign(sampler_coordinates(post, result.spec))
    out = {}
    for rv in model.free_RVs:
        name = rv.name
        if name not in post:
            raise ResultError(f"posterior has no variable {name!r}: not a draw of this model")
        da = post[name]
        dims = tuple(model.named_vars_to_dims.get(name) or ())
        if not dims:
            dims = tuple(f"{name}_dim_{i}" for i in range(da.ndim - 2))
        else:
            da = _by_label(da, dims, model)
        values = da.transpose(*SAMPLE_DIMS, *da.dims[2:]).values
        out[name] = (SAMPLE_DIMS + dims, values)
    coords = {d: list(model.coords[d]) for d in model.coords if model.coords[d] is not None}
    coords |= {d: post[d].values for d in SAMPLE_DIMS}
    used = {d for _, (dims, _) in out.items() for d in dims}
    return xr.Dataset(out, coords={k: v for k, v in coords.items() if k in used})


def _by_label(da: xr.DataArray, dims: tuple[str, ...], model: pm.Model) -> xr.DataArray:
    """Rename the draw's non-sample dims to the model's and reorder labelled ones."""
    da = da.rename(dict(zip(da.dims[2:], dims)))
    for dim in dims:
        labels = model.coords.get(dim)
        if labels is None or dim not in da.indexes:
            continue
        have = [str(v) for v in da.indexes[dim]]
        want = [str(v) for v in labels]
        if have == want:
            continue
        if sorted(have) != sorted(want):
            raise ResultError(
                f"posterior variable {da.name!r}: labels of {dim!r} ({', '.join(have)}) "
                f"do not match the data ({', '.join(want)})"
            )
        da = da.isel({dim: [have.index(w) for w in want]})
    return da.drop_vars([c for c in da.coords if c not in SAMPLE_DIMS])


def thin(posterior: xr.Dataset, max_draws: int | None) -> xr.Dataset:
    """Every k-th draw of each chain, so that at most ``max_draws`` draws remain in all."""
    n = posterior.sizes["chain"] * posterior.sizes["draw"]
    if not max_draws or n <= max_draws:
        return posterior
    step = int(np.ceil(n / max_draws))
    return posterior.isel(draw=slice(None, None, step))


def log_likelihood(
    result: CredibilityResult,
    model: pm.Model | None = None,
    max_draws: int | None = None,
) -> xr.DataArray:
    """Pointwise log-likelihood on the data scale, dims ``(chain, draw, obs)``.

    ``model`` is the result's rebuilt model (:func:`rebuild`; rebuilt here by default);
    at most ``max_draws`` draws are used (thinned evenly; default: all).

    The ``obs`` dimension carries ``signal``, ``member``, ``alliance`` and ``year``
    coordinates; crisis outcomes have ``signal == "followthrough"``.

    Examples
    --------
    >>> ll = log_likelihood(result)                                    # doctest: +SKIP
    >>> ll.groupby("signal").sum("obs").mean(("chain", "draw"))         # doctest: +SKIP
    """
    model = model or rebuild(result)
    rows = observation_rows(result)
    posterior = thin(aligned_posterior(result, model), max_draws)
    fn, names = _compiled(model, "loglik", _compile_loglik)
    positions = [dict(rows.source)[name] for name in names]
    out = np.empty((posterior.sizes["chain"], posterior.sizes["draw"], len(rows.table)))
    for c, d, point in _points(posterior, fn):
        for pos, values in zip(positions, fn(**point)):
            out[c, d, pos] = values
    out += _jacobian(result, rows)
    return xr.DataArray(
        out,
        dims=(*SAMPLE_DIMS, "obs"),
        coords={**{d: posterior[d].values for d in SAMPLE_DIMS}, **rows.coords()},
        name="log_likelihood",
    )


def _jacobian(result: CredibilityResult, rows: Rows) -> np.ndarray:
    """log |dz/dy| of each row's transform (0 for families modelled on the raw values)."""
    table = rows.table
    jac = np.zeros(len(table))
    for name, sig in result.spec.signals.items():
        here = (table.signal == name).to_numpy()
        transform = FAMILIES[sig.family].transform
        scale = result.scales[name].scale
        if transform == "standardise":
            jac[here] = -np.log(scale)
        elif transform == "log_standardise":
            jac[here] = -np.log(scale) - np.log(table.value.to_numpy()[here])
    return jac


def posterior_predictive(
    result: CredibilityResult,
    model: pm.Model | None = None,
    max_draws: int | None = 500,
    seed: int = 0,
) -> xr.DataArray:
    """Posterior predictive draws of every observed value, on the data scale.

    Dims ``(chain, draw, obs)``, rows as in :func:`log_likelihood`; at most
    ``max_draws`` draws (thinned evenly), reproducible with ``seed``.
    """
    model = model or rebuild(result)
    rows = observation_rows(result)
    posterior = thin(aligned_posterior(result, model), max_draws)
    fn, names = _compiled(model, "predict", _compile_forward)
    pm.pytensorf.reseed_rngs(
        [v for v in fn.get_shared() if isinstance(v, RandomGeneratorSharedVariable)], seed
    )
    positions = [dict(rows.source)[name] for name in names]
    out = np.empty((posterior.sizes["chain"], posterior.sizes["draw"], len(rows.table)))
    for c, d, point in _points(posterior, fn):
        for pos, draw in zip(positions, fn(**point)):
            out[c, d, pos] = draw
    out = _to_data_scale(result, rows, out)
    return xr.DataArray(
        out,
        dims=(*SAMPLE_DIMS, "obs"),
        coords={**{d: posterior[d].values for d in SAMPLE_DIMS}, **rows.coords()},
        name="posterior_predictive",
    )


def _points(posterior: xr.Dataset, fn):
    """(chain, draw, {input of fn: value}) for every draw."""
    inputs = {v.name for v in fn.maker.fgraph.inputs if not isinstance(v, SharedVariable)}
    arrays = {k: v.values for k, v in posterior.data_vars.items() if k in inputs}
    for c in range(posterior.sizes["chain"]):
        for d in range(posterior.sizes["draw"]):
            yield c, d, {k: v[c, d] for k, v in arrays.items()}


# ---------------------------------------------------------------------------- compiled functions


def _compiled(model: pm.Model, kind: str, compile_fn):
    """``(function, names of its outputs)`` of ``kind`` for ``model``, from the cache when
    the graph is the same, with the model's data loaded into its data containers."""
    key = (graph_key(model.observed_RVs), kind)
    entry = _COMPILED.get(key)
    if entry is None:
        with _quiet():
            entry = compile_fn(model)
        _COMPILED[key] = entry
        if len(_COMPILED) > _CACHE_SIZE:
            _COMPILED.popitem(last=False)
    data = {v.name: v.get_value() for v in model.data_vars}
    for shared in entry[0].get_shared():
        if shared.name in data:
            shared.set_value(data[shared.name])
    return entry


def _compile_loglik(model: pm.Model):
    """Elementwise log-likelihood of the observed variables, from untransformed values."""
    from pymc.model.transform.conditioning import remove_value_transforms

    # PyMC cannot copy a model whose variables have initial values (the ordered cutpoints
    # of follow-through with partial outcomes); they play no part in the log-likelihood
    saved = model.rvs_to_initial_values
    model.rvs_to_initial_values = dict.fromkeys(saved)
    try:
        umodel = remove_value_transforms(model)
    finally:
        model.rvs_to_initial_values = saved
    fn = umodel.compile_fn(
        inputs=umodel.value_vars,
        outs=umodel.logp(vars=umodel.observed_RVs, sum=False),
        on_unused_input="ignore",
        point_fn=False,
    )
    return fn, [rv.name for rv in umodel.observed_RVs]


def _compile_forward(model: pm.Model):
    """Draws of the observed variables given the free ones (nothing else is redrawn)."""
    from pymc.sampling.forward import compile_forward_sampling_function

    data = {v.name: v.get_value() for v in model.data_vars}
    fn, redrawn = compile_forward_sampling_function(
        outputs=model.observed_RVs,
        vars_in_trace=model.free_RVs,
        basic_rvs=model.basic_RVs,
        givens_dict=None,
        random_seed=0,
        constant_data=data,
        constant_coords=set(model.coords),
        allow_input_downcast=True,
        accept_inplace=True,
    )
    if set(redrawn) != set(model.observed_RVs):  # a parameter would be drawn from its prior
        raise AssertionError(f"posterior predictive would redraw {sorted(map(str, redrawn))}")
    return fn, [rv.name for rv in model.observed_RVs]


def graph_key(outputs) -> str:
    """Hash of the graph of ``outputs``: its operations and the values of its constants.

    Data-derived constants (signal offsets, the active-cell mask, index arrays) differ
    between panels of the same shape, so they are part of the key; data containers
    (shared variables) enter by name and type only, since their values are swapped in.
    """
    digest = hashlib.sha256()
    ids: dict = {}
    for node in _toposort(outputs):
        for var in node.inputs:
            if var not in ids:
                ids[var] = len(ids)
                digest.update(_leaf(var))
        props = getattr(node.op, "_props_dict", dict)()
        digest.update(f"{node.op}|{props}|{[ids[v] for v in node.inputs]}".encode())
        for var in node.outputs:
            ids[var] = len(ids)
    return digest.hexdigest()


def _toposort(outputs):
    try:
        from pytensor.graph.traversal import toposort
    except ImportError:  # pytensor < 2.31
        from pytensor.graph.basic import io_toposort

        return io_toposort([], list(outputs))
    return toposort(outputs)


def _leaf(var) -> bytes:
    if isinstance(var, Constant):
        return b"C" + str(var.type).encode() + np.ascontiguousarray(var.data).tobytes()
    if isinstance(var, SharedVariable):
        return f"S{var.name}:{var.type}".encode()
    return f"V{var.name}:{var.type}".encode()


def _to_data_scale(result: CredibilityResult, rows: Rows, draws: np.ndarray) -> np.ndarray:
    table = rows.table
    for name, sig in result.spec.signals.items():
        here = (table.signal == name).to_numpy()
        transform = FAMILIES[sig.family].transform
        s = result.scales[name]
        if transform == "standardise":
            draws[..., here] = draws[..., here] * s.scale + s.center
        elif transform == "log_standardise":
            draws[..., here] = np.exp(draws[..., here] * s.scale + s.center)
    return draws
