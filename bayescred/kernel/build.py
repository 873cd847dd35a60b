"""Compiling the kernel: once per machine, in helper processes, into numba's cache.

Cold, the first fit waits for numba to compile the kernel's four C functions
(``cinterface``); they are then loaded from numba's cache, keyed on every kernel source
file (``cache``).  This module starts that compile early, in other processes side by side
(:func:`start_compiling`), waits for it and loads the result (:func:`c_functions`), and
sets LLVM's vector-maths library while it compiles (:data:`VECTOR_MATH`).  It reads
numba's cache index (``numba.core.caching.FunctionCache``), an internal API: pyproject.toml
bounds numba to the versions tested.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes.util
import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import llvmlite.binding as llvm
import numba

from . import geometry
from .cinterface import (
    SIG_EXPAND,
    SIG_EXPAND_MODEL,
    SIG_LOGP,
    SIG_LOGP_MODEL,
    _expand_c,
    _expand_model_c,
    _logp_c,
    _logp_model_c,
)
from .table import _UNIT_ADDRESSES


def _load_vector_math() -> bool:
    """Load glibc's vector maths library (libmvec: exp, log, ... four values per call
    with AVX2) where there is one (Linux on x86-64), so that compiled kernel code can call
    it; whether it loaded."""
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        return False
    try:
        llvm.load_library_permanently("libmvec.so.1")
        return True
    except Exception:  # not under that name: ask ldconfig (slower: a subprocess)
        found = ctypes.util.find_library("mvec")
    try:
        llvm.load_library_permanently(found)
        return True
    except Exception:  # no libmvec (musl, old glibc): the loops stay scalar
        return False


# With libmvec, LLVM's loop vectoriser calls it for the exp and log of the likelihood
# loops (a loop of 1,432 rows, alone: 43 -> 17 us), where the scalar libm calls were a
# third of the gradient's time.  The option is LLVM's, for the whole process, so it is
# set only while the kernel compiles (compile_c_function); the code it compiles needs
# libmvec loaded in every process that runs it, hence the load at import.
VECTOR_MATH = _load_vector_math()


@contextlib.contextmanager
def _vector_math():
    """LLVM's vector library is libmvec while the block runs (where VECTOR_MATH, and numba
    has not chosen Intel's SVML), then LLVM's default again."""
    if not VECTOR_MATH or numba.config.USING_SVML:
        yield
        return
    llvm.set_option("bayescred", "-vector-library=LIBMVEC-X86")
    try:
        yield
    finally:
        llvm.set_option("bayescred", "-vector-library=none")


HELPER_TIMEOUT_S = 900  # seconds c_functions waits for a helper's compile


# What each helper process compiles, in this order; one helper per group, side by side.
# The log-density's model unit is ~60% of the work (its own core); the other group
# shares the callees of the expansion and the entry points.
_HELPER_GROUPS = {"logp_model": ("logp_model",), "rest": ("expand_model", "logp", "expand")}


# group -> (process compiling it, the private numba cache it compiles into)
_HELPERS: dict[str, tuple[subprocess.Popen, str]] = {}


def start_compiling() -> bool:
    """Start compiling the kernel (~25 s cold) in other processes, and return at once;
    nothing to do when it is cached.  A caller with seconds of work before its first fit
    (the command line: imports, reading the data, building the model) overlaps the two;
    c_functions waits for them.  Returns whether the kernel must be compiled (it is not
    in numba's cache), so that a caller can say so."""
    must = not all(_cached(_C_FUNCTIONS[name][1]) for name in _C_FUNCTIONS)
    running = len(_HELPERS)
    for group in _HELPER_GROUPS:
        _compile_elsewhere(group)
    if must and not running:
        from ..runtime import stage

        stage("compiling the kernel (one time, ~30 s)")
    return must


def _reap_helpers(stop: bool = False) -> None:
    """Wait for the helpers (stop them first if ``stop``; a helper past HELPER_TIMEOUT_S is
    stopped) and remove their private caches."""
    for helper, private in _HELPERS.values():
        if stop:
            helper.kill()
        try:
            helper.wait(timeout=HELPER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        shutil.rmtree(private, ignore_errors=True)
    _HELPERS.clear()


# helpers still running at exit (a run that ended before its fit, an interrupted wait)
atexit.register(_reap_helpers, stop=True)


@functools.lru_cache(maxsize=1)
def c_functions():
    """The C entry points nutpie calls (log-density, expansion): compiled on first use,
    then loaded from numba's cache.

    The compiled code is four C functions: the model's log-density and expansion at the
    model's coordinates (``_logp_model_c``, ``_expand_model_c``: logp_grad and expand) and
    the two entry points, which map nutpie's coordinates to the model's and call the
    model's functions by address (the table's N_UNITS row).  numba compiles in one thread,
    and links a copy of every callee into its caller, re-optimising it: as one function
    the log-density took ~44 s; split, its model unit compiles on one core while the rest
    compile on the other (~28 s on two cores).

    Cold, each group of _HELPER_GROUPS is compiled in a process of its own, into an empty
    numba cache of its own, and only the four functions are put into numba's cache, from
    which this process loads them.  The code must not depend on what was cached before:
    a function linked from callees that numba had cached (by another process, or a Python
    call of a callee) rounds differently (~1e-14 in the gradient), and NUTS then gives
    other draws for the same seed.  Should a helper fail, this process compiles what it
    did not."""
    start_compiling()
    _reap_helpers()
    units = compile_c_function("logp_model"), compile_c_function("expand_model")
    _UNIT_ADDRESSES[:] = [unit.address for unit in units]
    return compile_c_function("logp"), compile_c_function("expand")


@functools.cache
def compile_c_function(name: str):
    """C function ``name`` (an entry point or a model unit, see _C_FUNCTIONS), from numba's
    cache or compiled into it."""
    signature, py_func = _C_FUNCTIONS[name]
    with _vector_math():
        return numba.cfunc(signature, cache=True, error_model="numpy")(py_func)


# The kernel's C functions: nutpie's two entry points and the two model units they call.
_C_FUNCTIONS = {
    "logp": (SIG_LOGP, _logp_c),
    "expand": (SIG_EXPAND, _expand_c),
    "logp_model": (SIG_LOGP_MODEL, _logp_model_c),
    "expand_model": (SIG_EXPAND_MODEL, _expand_model_c),
}


# Kernel functions Python calls directly (native.KernelModel, approx): the log-density's
# helper compiles them as callees and puts them into numba's cache too, so that the first
# fit loads them instead of compiling them (~4 s).
_CALLED_FROM_PYTHON = ("_to_model", "_minus_reputation", "chain_map", "chain_adjoint")


def compile_and_publish(group: str, folder: str) -> None:
    """What a helper process runs: compile the C functions of ``group`` (into this
    process's own numba cache), then copy their cache files (and, with the log-density's
    entry point, those of _CALLED_FROM_PYTHON) into ``folder``, numba's cache folder of the
    process that started this one; data before index, each by an atomic rename, so that a
    reader finds a whole entry or none."""
    from numba.core.caching import FunctionCache

    names = _HELPER_GROUPS[group]
    for name in names:
        compile_c_function(name)
    py_funcs = [_C_FUNCTIONS[name][1] for name in names]
    if "logp" in names:
        py_funcs += [getattr(geometry, f).py_func for f in _CALLED_FROM_PYTHON]
    os.makedirs(folder, exist_ok=True)
    for py_func in py_funcs:
        cache = FunctionCache(py_func)
        index = cache._cache_file._index_name
        source = Path(cache._cache_path)
        files = [f for f in os.listdir(source) if f.startswith(index[: -len("nbi")])]
        for file in sorted(files, key=lambda f: f == index):
            partial = Path(folder) / f"{file}.{os.getpid()}.tmp"
            shutil.copyfile(source / file, partial)
            os.replace(partial, Path(folder) / file)


def _compile_elsewhere(group: str) -> None:
    """Start a process that compiles the C functions of ``group`` and puts them into
    numba's cache (in _HELPERS); nothing when they are cached or being compiled, or when
    numba's cache internals are not as expected (c_functions then compiles them in this
    process)."""
    py_funcs = [_C_FUNCTIONS[name][1] for name in _HELPER_GROUPS[group]]
    if group in _HELPERS or all(_cached(f) for f in py_funcs):
        return
    try:
        from numba.core.caching import FunctionCache

        folder = str(FunctionCache(py_funcs[0])._cache_path)
    except Exception:
        return
    private = tempfile.mkdtemp(prefix="bayescred-numba-")
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    code = (
        "from bayescred.kernel.build import compile_and_publish; "
        f"compile_and_publish({group!r}, {folder!r})"
    )
    try:
        helper = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": path, "NUMBA_CACHE_DIR": private},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:  # no process to be had: c_functions compiles it here
        shutil.rmtree(private, ignore_errors=True)
        return
    _HELPERS[group] = (helper, private)


def _cached(py_func) -> bool:
    """Whether numba's cache holds a compiled version of ``py_func`` for this source file
    (numba's cache index; where that internal API is not there, say yes: no helper)."""
    try:
        from numba.core.caching import FunctionCache

        return bool(FunctionCache(py_func)._cache_file._load_index())
    except Exception:
        return True
