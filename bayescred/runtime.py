"""Light facts about a run: how long it took, whether to show progress, and its stages.

Kept apart from :mod:`bayescred.fit` (which imports PyMC) so that reading a result file
or answering a what-if never pays the samplers' import time.
"""

from __future__ import annotations

import contextlib
import gc
import logging
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


STAGES = logging.getLogger("bayescred")


def stage(message: str) -> None:
    """Say what a long step is doing (compiling the kernel, ADVI, the checks, the plots):
    one line on the ``bayescred`` logger at INFO.  The command line shows these lines on
    stderr (:func:`show_stages`); in Python they stay quiet unless asked for, e.g.
    ``logging.basicConfig(level=logging.INFO)`` or ``show_stages()``."""
    STAGES.info(message)


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is written (as logging's own
    last-resort handler), so that a redirected stderr gets the lines."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def show_stages(stream=None) -> None:
    """Print :func:`stage` lines on ``stream`` (stderr by default) as ``bayescred: ...``."""
    if any(getattr(h, "_bayescred_stages", False) for h in STAGES.handlers):
        return
    handler = _Stderr() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("bayescred: %(message)s"))
    handler._bayescred_stages = True
    STAGES.addHandler(handler)
    STAGES.setLevel(logging.INFO)


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


# A trace larger than this (tuning draws included) is written to a temporary zarr store on
# disk while nutpie samples.  In memory, nutpie keeps every draw, tuning included, in Arrow
# buffers that grow by doubling.  On ``large``, when draws stored the whole expansion
# (4 x 2000 draws of 30,000 values, 1.9 GB), the process passed 4 GB before the trace was
# even converted, 6-7 GB after; through the store it peaked at 1.5 GB but sampled ~20%
# slower.  Draws now store the model's point (KernelModel.nutpie_model: 15,000 values, 4 x
# 1600 draws, 0.77 GB): in memory the process peaked at 3.5 GB and sampled no faster
# (314 s against 311 s through the store), so the limit stays.  With memory to spare,
# BAYESCRED_TRACE_IN_MEMORY_MB raises it.
TRACE_IN_MEMORY_BYTES = 512 * 2**20


def trace_in_memory_limit() -> float:
    """The trace size (bytes) above which nutpie writes to disk while it samples."""
    value = os.environ.get("BAYESCRED_TRACE_IN_MEMORY_MB")
    if value is None:
        return TRACE_IN_MEMORY_BYTES
    try:
        limit = float(value)
    except ValueError:
        limit = -1.0
    if not limit >= 0:  # also catches nan
        from .errors import SettingError

        raise SettingError(
            f"environment variable BAYESCRED_TRACE_IN_MEMORY_MB={value!r}: expected a number "
            "of megabytes >= 0 (a trace larger than that goes through a temporary folder on "
            "disk while nutpie samples)"
        )
    return limit * 2**20


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
