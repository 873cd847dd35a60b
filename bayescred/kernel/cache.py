"""numba's on-disk cache, keyed on every source file the compiled kernel is made of.

numba keys a cached function on its own source file's time stamp only.  The kernel's C
functions are compiled from code in several files (this package, the families' kernel
code, the prior table), so an edit to a family's rows would leave the cached C functions
stale: the kernel would silently run the old code.  Here a cache locator, put before
numba's own, gives every function defined in those files one stamp instead: a digest of
all of them (and numba's version).  Any edit anywhere recompiles everything, once.

This uses numba's cache locator classes (``numba.core.caching._CacheImpl``), an internal
API: pyproject.toml bounds numba to the versions it was tested with.  Where it is not as
expected, numba's own stamps apply (:data:`INSTALLED` is False) and the kernel falls back
to compiling in-process on import of a changed file only.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parents[1]  # bayescred/
KERNEL_SOURCES = (
    sorted((_PACKAGE / "kernel").glob("*.py"))
    + sorted((_PACKAGE / "families").glob("*.py"))
    + [_PACKAGE / "priors.py"]
)


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """sha256 of every kernel source file's bytes (in a fixed order) and numba's version."""
    h = hashlib.sha256(numba.__version__.encode())
    for path in KERNEL_SOURCES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _is_kernel_source(py_file: str) -> bool:
    try:
        return Path(py_file).resolve() in {p.resolve() for p in KERNEL_SOURCES}
    except OSError:
        return False


def _install() -> bool:
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba without its caching module
        return False
    impl = getattr(caching, "_CacheImpl", None)
    base = getattr(caching, "_CacheLocator", None)
    if (
        impl is None
        or base is None
        or not isinstance(getattr(impl, "_locator_classes", None), list)
    ):
        return False

    class KernelSourceLocator(base):
        """numba's usual locator for the function, with the kernel's digest as stamp."""

        def __init__(self, inner):
            self._inner = inner

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return source_digest()

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _is_kernel_source(py_file):
                return None
            for other in impl._locator_classes:
                if other is cls:
                    continue
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
            return None

    if not any(c.__name__ == "KernelSourceLocator" for c in impl._locator_classes):
        impl._locator_classes.insert(0, KernelSourceLocator)
    return True


INSTALLED = _install()
