"""The kernel's C functions: nutpie's two entry points (log-density and gradient, and the
expansion of a draw) and the two model units they call by address.

nutpie calls these through function pointers.  ``user_data`` points at an int64 table
with one row (address, rows, columns) per entry of ARRAYS, SAMPLER_ARRAYS, PRECOND_ARRAYS,
and one (N_UNITS) for the addresses of the model units.  Python calls them too
(kernel.model.KernelModel), so the kernel is compiled once, for them.

Compile time (the first fit on a machine waits for it): numba compiles each function
into a module of its own, then links its callees' code into it and optimises and emits
the whole again, so each level of calls costs seconds.  Hence:
- the model's log-density and expansion (logp_grad, expand) are C functions of their
  own, the *model units*, which the entry points call by address (_logp_model): the
  entry points hold no copy of them, and the units compile in another process, side by
  side with the entry points (c_functions);
- the wrappers between a C function and the code it runs are inlined by numba
  (inline="always"), which saves their level;
- the kernel fills arrays with element loops: a slice assignment (a[i, :] = b) compiles
  numba's broadcasting checks, seconds each.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types

from .density import expand, logp_grad
from .geometry import expand_whitened, logp_grad_whitened
from .layout import N_TABLE


def _logp_c(n, x_, grad_, logp_, user_data):
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    x = numba.carray(x_, (n,))
    grad = numba.carray(grad_, (n,))
    value = logp_grad_whitened(x, grad, table)
    logp_[0] = value
    if not np.isfinite(value):
        return 4
    for i in range(n):
        if not np.isfinite(grad[i]):
            return 3
    return 0


def _expand_c(n, n_out, x_, out_, user_data):
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    x = numba.carray(x_, (n,))
    out = numba.carray(out_, (n_out,))
    return expand_whitened(x, out, table)


def _logp_model_c(x_, grad_, n, user_data):
    """The model's log-density at its own coordinates (logp_grad), as a C function of its
    own: compiled apart from the entry points, which call it by address."""
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    return logp_grad(numba.carray(x_, (n,)), numba.carray(grad_, (n,)), table)


def _expand_model_c(x_, out_, n, n_out, user_data):
    """The model's expansion of its own coordinates (expand), as a C function of its own."""
    table = numba.carray(user_data, (N_TABLE, 3), np.int64)
    expand(numba.carray(x_, (n,)), numba.carray(out_, (n_out,)), table)
    return 0


# Signatures of the two C entry points nutpie calls (see native._LOGP_C / _EXPAND_C)
SIG_LOGP = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)


SIG_EXPAND = types.int64(
    types.uint64,
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)


SIG_LOGP_MODEL = types.float64(
    types.CPointer(types.double), types.CPointer(types.double), types.int64, types.voidptr
)


SIG_EXPAND_MODEL = types.int64(
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.int64,
    types.int64,
    types.voidptr,
)
