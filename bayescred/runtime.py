"""Light facts about a run: how long it took, and whether to show progress.

Kept apart from :mod:`bayescred.fit` (which imports PyMC) so that reading a result file
or answering a what-if never pays the samplers' import time.
"""

from __future__ import annotations

import os
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
