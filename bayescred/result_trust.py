"""A result file is data, never trusted code or trusted shape.

What :meth:`CredibilityResult.load <bayescred.results.CredibilityResult.load>` checks
before it believes a file: the HDF5 layout (no links to other files, no virtual or
externally stored datasets, no array declaring more bytes than the file could hold,
checked before anything is allocated), every ``bayescred_*`` attribute (type, shape and
range, each failure a one-line :class:`~bayescred.errors.ResultError` naming the
attribute), and that the stored spec describes the stored posterior (a spec edited
inside the file, a family swapped, is refused rather than used).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .design import SignalScale
from .errors import ResultError
from .families import FAMILIES
from .runtime import Timing

# A stored array may declare at most this many times the file's size, plus a margin:
# bayescred writes uncompressed, and zlib (ArviZ's default) shrinks draws a few times,
# never ~64x; a 1 MB file declaring a 298 GiB array is refused before it is allocated.
MAX_EXPANSION = 64
EXPANSION_MARGIN_BYTES = 64 * 2**20


def check_layout(path: Path) -> None:
    """Refuse an HDF5 file that would make a reader open another file (external links,
    virtual datasets, external raw storage), hold soft links, or allocate more than the
    file can hold.  Read with h5py, without following any link."""
    import h5py

    with open(path, "rb") as head:
        if head.read(8) != b"\x89HDF\r\n\x1a\n":
            return  # not HDF5 (netCDF3, anything else): the netCDF reader refuses it
    limit = MAX_EXPANSION * path.stat().st_size + EXPANSION_MARGIN_BYTES
    try:
        handle = h5py.File(path, "r")
    except Exception as exc:
        raise ResultError(
            f"{path}: not a readable netCDF result file ({type(exc).__name__})"
        ) from None
    with handle:
        _check_group(path, handle, "", limit)


def _check_group(path: Path, group, prefix: str, limit: int) -> None:
    import h5py

    for name in group:
        where = f"{prefix}/{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise ResultError(
                f"{path}: {where} is a link to another file ({link.filename}); a result "
                "file must hold its own data"
            )
        if not isinstance(link, h5py.HardLink):
            raise ResultError(f"{path}: {where} is a link ({type(link).__name__}); refused")
        item = group[name]
        if isinstance(item, h5py.Group):
            _check_group(path, item, where, limit)
        elif isinstance(item, h5py.Dataset):
            if item.is_virtual or item.external:
                raise ResultError(
                    f"{path}: {where} takes its values from another file; refused"
                )
            declared = math.prod(item.shape or ()) * item.dtype.itemsize
            if declared > limit:
                raise ResultError(
                    f"{path}: {where} declares {declared / 2**30:.1f} GiB in a file of "
                    f"{path.stat().st_size / 2**20:.1f} MB; refused (corrupt or crafted)"
                )


class Attributes:
    """The posterior's ``bayescred_*`` attributes of the file at ``path``, each read
    through a check that names it on failure."""

    def __init__(self, path: Path, attrs: dict, written_by: str = "?"):
        self.path, self.attrs, self.written_by = path, attrs, written_by

    def read(self, name: str, parse, default: Any = ...) -> Any:
        if name not in self.attrs:
            if default is not ...:
                return default
            raise ResultError(f"{self.path}: attribute {name} is missing")
        value = self.attrs[name]
        try:
            return parse(value)
        except Exception as exc:  # any failure: the attribute is not what bayescred wrote
            why = (str(exc) or type(exc).__name__).replace("\n", " ")[:300]
            raise ResultError(
                f"{self.path}: attribute {name} cannot be read ({why}); the file was "
                f"edited or damaged: refit it with `bayescred fit SPEC --out {self.path}`"
            ) from None


def json_text(value) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected JSON text, got {type(value).__name__}")
    return json.loads(value)


def json_object(value) -> dict:
    out = json_text(value)
    if not isinstance(out, dict):
        raise ValueError(f"expected a JSON object, got {type(out).__name__}")
    return out


def format_number(value) -> int:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | np.integer | str):
        raise ValueError(f"expected an integer, got {value!r}"[:120])
    return int(value)


def versions(value) -> dict[str, str]:
    out = json_object(value)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in out.items()):
        raise ValueError("expected package names and version strings")
    return out


def notes(value) -> list[str]:
    out = json_text(value)
    if not isinstance(out, list) or not all(isinstance(n, str) for n in out):
        raise ValueError("expected a list of strings")
    return out


def timing(value) -> Timing:
    out = json_object(value)
    if set(out) - {"compile_s", "sample_s", "cached"} or not {"compile_s", "sample_s"} <= set(
        out
    ):
        raise ValueError("expected the keys compile_s, sample_s and cached")
    for key in ("compile_s", "sample_s"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf:
            raise ValueError(f"{key} must be seconds >= 0, got {v!r}"[:120])
    if not isinstance(out.get("cached", False), bool):
        raise ValueError("cached must be true or false")
    return Timing(float(out["compile_s"]), float(out["sample_s"]), out.get("cached", False))


def scales(value) -> dict[str, SignalScale]:
    out = {}
    for signal, fields in json_object(value).items():
        if not isinstance(fields, dict) or set(fields) - {
            "center", "scale", "offset", "categories"
        }:
            raise ValueError(f"signal {signal!r}: expected center, scale, offset, categories")
        for key, v in fields.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"signal {signal!r}: {key} must be a finite number")
        if fields.get("scale", 1.0) <= 0 or fields.get("categories", 0) < 0:
            raise ValueError(f"signal {signal!r}: scale must be > 0, categories >= 0")
        out[signal] = SignalScale(**fields)
    return out


def partial(value):
    from .results import Partial

    out = json_object(value)
    drawn, requested = out.get("drawn"), out.get("requested")
    if set(out) != {"drawn", "requested"} or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (drawn, requested)
    ):
        raise ValueError("expected {\"drawn\": N, \"requested\": M}")
    return Partial(drawn, requested)


def check_spec_matches(path: Path, spec, panel, scales_: dict, posterior) -> None:
    """The stored spec must describe the stored posterior: the model of this spec on this
    panel has the posterior's family parameters (per signal), signals, grid, covariates
    and reputation effects.  A spec edited inside the file (a family swapped) fails here,
    rather than being used with draws of another model."""
    from .structure import model_structure

    structure = model_structure(spec, panel)

    def refuse(what: str) -> None:
        raise ResultError(
            f"{path}: attribute bayescred_spec does not match the posterior: {what}; the "
            f"file was edited or damaged: refit it with `bayescred fit SPEC --out {path}`"
        )

    if set(scales_) != set(spec.signals):
        refuse(f"scales for {sorted(scales_)}, signals {sorted(spec.signals)}")
    cred = posterior.get("credibility")
    if cred is None or tuple(cred.dims[2:]) != ("unit", "year"):
        refuse("no credibility (chain, draw, unit, year) in the posterior")
    if (cred.sizes["unit"], cred.sizes["year"]) != (structure.n_units, structure.n_years):
        refuse(
            f"credibility is {cred.sizes['unit']} units x {cred.sizes['year']} years, the "
            f"data {structure.n_units} x {structure.n_years}"
        )
    if ("kappa_honor" in posterior) != structure.reputation:
        refuse("reputation effects (kappa_honor) do not match [reputation] and the crises")
    if "signal" not in posterior.coords:  # no measurement model (a made-up posterior)
        return
    if sorted(map(str, posterior.signal.values)) != sorted(structure.signals):
        refuse("the posterior's signals are not the spec's")
    if ("gamma" in posterior) != bool(structure.covariates):
        refuse("covariate effects (gamma) do not match [latent] covariates")
    expected = {name: sorted(signals) for name, signals in structure.param_signals.items()}
    every = {p.name for fam in FAMILIES.values() for p in fam.params if not p.vector}
    for name in sorted(every):
        dim = f"{name}_signal"
        have = (
            sorted(str(s) for s in posterior[dim].values)
            if name in posterior and dim in posterior.coords
            else None
        )
        want = expected.get(name)
        if have != want:
            refuse(
                f"its families imply {name} for {want or 'no signal'}, the posterior has it "
                f"for {have or 'no signal'}"
            )
    for name, signal in structure.vector_params():
        if f"{name}_{signal}" not in posterior:
            refuse(f"no posterior variable {name}_{signal} for signal {signal!r}")
