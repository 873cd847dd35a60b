"""The pointer table the C entry points read their data through, and the calls of the
model units by address.

``user_data`` (nutpie's pointer) points at an int64 table with one row (address, rows,
columns) per array of ``layout.ARRAYS``, ``SAMPLER_ARRAYS`` and ``PRECOND_ARRAYS`` (rows
``layout.A_*``), and one (``N_UNITS``) for the addresses of the model units, the C
functions of the model's own log-density and expansion (see ``build.c_functions``).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

from .layout import ARRAYS, N_TABLE, N_UNITS, PRECOND_ARRAYS, SAMPLER_ARRAYS


@intrinsic
def _void_pointer(typingctx, address):
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@njit(inline="always")
def _i1(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1],), np.int64)


@njit(inline="always")
def _f1(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1],), np.float64)


@njit(inline="always")
def _f2(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1], table[i, 2]), np.float64)


@njit(inline="always")
def _i2(table, i):
    return numba.carray(_void_pointer(table[i, 0]), (table[i, 1], table[i, 2]), np.int64)


# Addresses of the model units (_logp_model_c, _expand_model_c), which the entry points
# call through the table's N_UNITS row: set by c_functions once the units are loaded.
_UNIT_ADDRESSES = np.zeros(2, dtype=np.int64)


@intrinsic
def _logp_model(typingctx, address, x, grad, table):
    """``_logp_model_c(x, grad, len(x), table)`` called through its C address: the entry
    point holds no copy of the model's code (see c_functions)."""
    if _c_arrays(x, grad, table):
        codegen = _unit_call(ir.DoubleType(), n_sizes=1)
        return types.float64(address, x, grad, table), codegen


@intrinsic
def _expand_model(typingctx, address, x, out, table):
    """``_expand_model_c(x, out, len(x), len(out), table)`` called through its C address."""
    if _c_arrays(x, out, table):
        return types.int64(address, x, out, table), _unit_call(ir.IntType(64), n_sizes=2)


def _unit_call(return_type, n_sizes: int):
    """Code generator of a model-unit call: the function at address ``args[0]`` called
    with the data pointers of the two vectors, the lengths of the first ``n_sizes`` of
    them, and the table's data pointer."""

    def codegen(context, builder, signature, args):
        arrays = [
            context.make_array(ty)(context, builder, value)
            for ty, value in zip(signature.args[1:], args[1:])
        ]
        sizes = [builder.extract_value(a.shape, 0) for a in arrays[:n_sizes]]
        call_args = [arrays[0].data, arrays[1].data, *sizes]
        call_args.append(builder.bitcast(arrays[2].data, cgutils.voidptr_t))
        fnty = ir.FunctionType(return_type, [a.type for a in call_args])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), call_args)

    return codegen


def _c_arrays(*arrays) -> bool:
    """Typing check of the model-unit calls: the units read their arrays' data pointers as
    C-contiguous float64 vectors and an int64 table."""
    dtypes = [types.float64] * (len(arrays) - 1) + [types.int64]
    return all(
        isinstance(a, types.Array) and a.layout == "C" and a.dtype == d
        for a, d in zip(arrays, dtypes)
    )


def pointer_table(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The int64 (address, rows, columns) table the C entry points read.  The arrays must
    stay alive (and unmoved) as long as the table is used."""
    table = np.zeros((N_TABLE, 3), dtype=np.int64)
    for i, (name, dtype, ndim) in enumerate(ARRAYS + SAMPLER_ARRAYS + PRECOND_ARRAYS):
        a = arrays[name]
        if a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
            raise TypeError(f"kernel array {name}: expected C-contiguous {dtype} of rank {ndim}")
        table[i] = (a.ctypes.data, a.shape[0], a.shape[1] if ndim == 2 else 1)
    table[N_UNITS] = (_UNIT_ADDRESSES.ctypes.data, _UNIT_ADDRESSES.shape[0], 1)
    return table
