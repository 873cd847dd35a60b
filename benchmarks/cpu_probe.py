"""How much of its nominal speed this machine delivers while the benchmark runs.

A shared virtual machine can stall a running thread for hundreds of milliseconds at a
time (the host runs someone else), and the stalls count as the thread's own CPU time,
so neither load average nor CPU time shows them.  The probe times many copies of one
fixed pure-Python unit of work: the median copy is the machine's real speed, and the
time above ``median x copies`` is what the stalls took (or other processes on the same
cores: run the probe on an otherwise idle machine to see the host's share alone).  Wall
times measured under a 70% loss are about 3x what a quiet machine of the same kind would
give, for every engine alike (ESS per second comparisons across engines stay fair;
absolute seconds do not transfer).
"""

from __future__ import annotations

import time

import numpy as np


def _unit() -> float:
    total = 0.0
    for j in range(5000):
        total += j * 0.5
    return total


def cpu_availability(seconds: float = 5.0) -> dict:
    """Time copies of a fixed unit of work for ``seconds``: ``lost`` is the share of the
    wall time the stalls took; ``max_stall_ms`` the longest single copy."""
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        _unit()
        times.append(time.perf_counter() - start)
    t = np.asarray(times)
    median = float(np.median(t))
    return {
        "seconds": seconds,
        "unit_us": median * 1e6,
        "lost": max(0.0, 1.0 - median * t.size / float(t.sum())),
        "max_stall_ms": float(t.max()) * 1e3,
    }


def describe(probe: dict | None) -> str:
    if not probe:
        return "not measured"
    return (
        f"{probe['lost']:.0%} of a thread's wall time lost to stalls or other work (longest "
        f"{probe['max_stall_ms']:.0f} ms) over a {probe['seconds']:.0f} s probe"
    )


if __name__ == "__main__":
    print(describe(cpu_availability()))
