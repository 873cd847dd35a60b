"""Cost of one log-density + gradient evaluation, as nutpie calls it.

    python benchmarks/gradient_cost.py [medium large ...]

Calls the kernel's C entry point (the function pointer nutpie calls) in batches at a
jittered starting point and prints the best and the median batch per call.  The best
batch is the machine's undisturbed speed (a shared virtual machine stalls threads: see
``cpu_probe.py``); multiplied by the number of gradient evaluations of a fit (nutpie's
``n_steps``) and divided by the cores, it gives the arithmetic a fit needs, whatever
the machine's stalls.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from problems import PROBLEMS  # noqa: E402

from bayescred.kernel.describe import kernel_model  # noqa: E402
from bayescred.kernel.model import c_logp_function  # noqa: E402
from bayescred.model import build_model, signal_scales  # noqa: E402


def gradient_cost(name: str, batch: int = 50, batches: int = 40) -> dict:
    spec, panel, _ = PROBLEMS[name]()
    scales = signal_scales(panel, spec)
    km = kernel_model(build_model(panel, spec, scales), panel, spec, scales)
    table = km.table
    call = c_logp_function()
    x = km.initial_point(1)
    grad, logp = np.empty_like(x), np.empty(1)
    args = (km.n_sampler_dim, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
            table.ctypes.data)
    if call(*args) != 0:
        raise RuntimeError(f"{name}: the kernel failed at the starting point")
    per_call = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(batch):
            call(*args)
        per_call.append((time.perf_counter() - start) / batch)
    return {
        "problem": name,
        "dimensions": km.n_sampler_dim,
        "observations": int(km.arrays["obs_y"].size),
        "best_ms": min(per_call) * 1e3,
        "median_ms": float(np.median(per_call)) * 1e3,
    }


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in PROBLEMS]
    if unknown:
        sys.exit(f"unknown problem(s) {', '.join(unknown)}; known: {', '.join(PROBLEMS)}")
    for name in names or ["medium"]:
        r = gradient_cost(name)
        print(
            f"{r['problem']}: {r['dimensions']} dimensions, {r['observations']} observations; "
            f"per gradient best {r['best_ms']:.3f} ms, median {r['median_ms']:.3f} ms"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
