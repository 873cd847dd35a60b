"""Light facts about a run: how long it took, and whether to show progress.

Kept apart from :mod:`bayescred.fit` (which imports PyMC) so that reading a result file
or answering a what-if never pays the samplers' import time.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from dataclasses import dataclass


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


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused for the block (imports of the scientific
    stack).  Importing PyMC, PyTensor and ArviZ creates ~10^6 objects that live as long as
    the process, and the collector walked them ~770 times while they were created:
    ``import bayescred.api`` took 4.8-5.7 s with it, 3.8-4.1 s without."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# The signals that stop a command, and the exit status each gives (128 + its number).
STOP_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


@contextlib.contextmanager
def stop_signals():
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread while the block runs,
    and the list yielded records which arrived.

    SIGTERM's default action kills the process at once: no ``finally`` block, no
    ``atexit`` hook runs, so an interrupted save leaves its ``*.nc.tmp``, the trace's
    temporary folder stays in ``TMPDIR`` and the kernel's compile helpers are orphaned.
    Raised as KeyboardInterrupt, it unwinds like Ctrl-C, and nutpie stops sampling and
    returns the draws it has (which the caller then refuses to save as a result)."""
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave the signals as they are
        pass
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
