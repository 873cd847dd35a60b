"""bayescred's numba kernel: the model's log-density and gradient that nutpie samples.

The same density as the PyMC model of ``model.py``, written by hand for speed (tests
check it against PyMC's for every registered family, dynamics and prior).  Modules:

``layout``       codes, roles and the data arrays the kernel reads, by name
``scalars``      scalar maths shared with the families' kernel code
``transforms``   parameter transforms and priors
``latent``       the latent path: dynamics, baselines, reputation, standardisation
``density``      the log-density and gradient, and the expansion of a draw
``geometry``     the sampler map and the preconditioner nutpie samples through
``table``        the pointer table and the calls of the model units by address
``cinterface``   the C functions nutpie calls
``build``        compiling once per machine into numba's cache (``cache`` keys it)
``model``        :class:`KernelModel`: a model described to the kernel
``describe``     a PyMC model and its structure -> a KernelModel

Importing this package imports none of them (the what-if fast engine and result loading
never need numba); names below are loaded on first use.
"""

from __future__ import annotations

import importlib

from . import cache  # noqa: F401  (keys numba's cache on every kernel source, before any compile)

_EXPORTS = {
    "c_functions": "build",
    "start_compiling": "build",
    "compile_c_function": "build",
    "VECTOR_MATH": "build",
    "KernelModel": "model",
    "Unsupported": "model",
    "MODEL_POINT": "model",
    "c_logp_function": "model",
    "c_expand_function": "model",
    "kernel_model": "describe",
    "pointer_table": "table",
    "chain_map": "geometry",
    "chain_adjoint": "geometry",
    "spread": "geometry",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    layout = importlib.import_module(f"{__name__}.layout")
    if hasattr(layout, name):
        return getattr(layout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
