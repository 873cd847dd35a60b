"""Experiment: bayescred's preconditioned posterior seen by nutpie through a map that
spreads the scales of the random walk's coordinates on purpose.

    python benchmarks/spread_scales.py [--problem medium] [--seeds=-,1001,1002,1003]
                                       [--scales 1,0.6,0.4] [--block 8]

Why (README, Performance, "R-hat: the floor of the criterion"): through the ADVI
preconditioner nutpie sees a nearly isotropic posterior, where every direction turns at
the same rate, so a trajectory brings each credibility value near the mirror image of
its start: the draws are antithetic and their distances from the median correlated
(folded ESS ~0.4 of the draws), and credibility's largest folded R-hat sits near 1.01.
Directions of different scales turn at different rates, and a value that combines them
lands at no particular angle from its start.

The map, between nutpie's coordinates w and the preconditioner's u: the walk's
coordinates, in consecutive blocks of ``--block``, are u = Q diag(1/s) P^T w with Q and
P random rotations and s spread evenly from ``--scale`` to 1 (the rest: u = w), so u's
posterior, nearly N(0, I), is N(0, P diag(s^2) P^T) in w: scales s that nutpie's
diagonal mass matrix cannot undo.  Its log-Jacobian is a constant.  The map is applied
in Python around the kernel's C entry point (nutpie.from_pyfunc), so wall times are the
GIL's, not the kernel's: compare leapfrog steps per draw.  Scale 1 with block 1 is the
default sampler through the same Python path: the control.

Per fit it prints steps per draw, credibility's bulk and folded ESS (median, lowest) and
largest folded R-hat, and the lowest bulk ESS and largest R-hat of the hyperparameters.
Not in bayescred's kernel yet: a prototype to decide whether to build it there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from problems import PROBLEMS, numbers  # noqa: E402
from rhat_floor import mixing_figures  # noqa: E402

from bayescred import mixing, native  # noqa: E402
from bayescred.api import native_kernel  # noqa: E402
from bayescred.diagnostics import reported_names  # noqa: E402
from bayescred.fit import _preconditioned  # noqa: E402
from bayescred.model import build_model, signal_scales  # noqa: E402


class BlockMap:
    """u = Ainv w on the walk's coordinates (blocks of ``block``), u = w elsewhere."""

    def __init__(self, n: int, start: int, size: int, block: int, scale: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.nb, self.b = size // block, block
        self.at = slice(start, start + self.nb * block)
        s = np.linspace(scale, 1.0, block)
        self.inv = np.empty((self.nb, block, block))  # w -> u
        self.fwd = np.empty((self.nb, block, block))  # u -> w
        for i in range(self.nb):
            q, p = _rotation(rng, block), _rotation(rng, block)
            self.inv[i] = q @ np.diag(1 / s) @ p.T
            self.fwd[i] = p @ np.diag(s) @ q.T

    def _apply(self, mats, v, transpose=False):
        out = v.copy()
        spec = "kji,kj->ki" if transpose else "kij,kj->ki"
        out[self.at] = np.einsum(spec, mats, v[self.at].reshape(self.nb, self.b)).ravel()
        return out

    def to_u(self, w):
        return self._apply(self.inv, w)

    def to_w(self, u):
        return self._apply(self.fwd, u)

    def grad_w(self, grad_u):
        return self._apply(self.inv, grad_u, transpose=True)


def _rotation(rng, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def preconditioned_kernel(problem: str, seed: int | None):
    spec, panel, _ = PROBLEMS[problem](seed)
    scales = signal_scales(panel, spec)
    model = build_model(panel, spec, scales)
    kernel, _ = _preconditioned(native_kernel(model, panel, spec, scales), spec.sampler)
    return kernel, spec


def nutpie_model(kernel, bmap: BlockMap):
    from nutpie.compiled_pyfunc import from_pyfunc

    names = [n for n, _ in kernel.stored]
    shapes = [tuple(s) for _, s in kernel.stored]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]

    def make_logp():
        def logp(w):
            value, grad = native._logp_and_grad(kernel.table, bmap.to_u(w))
            return value, bmap.grad_w(grad)

        return logp

    def make_expand(*_):
        def expand(w):
            flat = native._expand(kernel.table, bmap.to_u(w), kernel.n_stored)
            parts = np.split(flat, np.cumsum(sizes)[:-1])
            return {n: v.reshape(s) for n, v, s in zip(names, parts, shapes)}

        return expand

    return from_pyfunc(
        kernel.n_sampler_dim, make_logp, make_expand, [np.dtype("float64")] * len(names),
        shapes, names, make_initial_point_fn=lambda s: bmap.to_w(kernel.initial_point(s)),
    )  # fmt: skip


def fit_once(problem: str, seed: int | None, scale: float, block: int) -> str:
    import nutpie

    kernel, spec = preconditioned_kernel(problem, seed)
    walk = {b.name: b for b in kernel.blocks}["z_walk"]
    bmap = BlockMap(kernel.n_sampler_dim, walk.offset, walk.size, block, scale)
    sampler = spec.sampler
    start = time.perf_counter()
    trace = nutpie.sample(
        nutpie_model(kernel, bmap), draws=sampler.draws, tune=sampler.warmup,
        chains=sampler.chains, seed=sampler.seed, target_accept=sampler.target_accept,
        step_size_jitter=sampler.step_size_jitter, progress_bar=False, save_warmup=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    cred = trace.posterior["credibility"].values
    figures = mixing_figures(np.moveaxis(cred.reshape(*cred.shape[:2], -1), 2, 0))
    names = [v for v in reported_names(trace.posterior) if v != "credibility"]
    rhat, bulk, _ = mixing.rhat_ess(trace, var_names=names)
    low = min(names, key=lambda v: float(np.nanmin(bulk[v].values)))
    return (
        f"{problem} seed {seed} scale {scale} block {block}: "
        f"{float(trace.sample_stats.n_steps.mean()):.1f} steps/draw, {wall:.0f} s, "
        f"{int(trace.sample_stats.diverging.sum())} div. | credibility: bulk ESS "
        f"{figures['ess_bulk_median']:.0f}, folded ESS {figures['ess_folded_median']:.0f} "
        f"(lowest {figures['ess_folded_min']:.0f}), max folded R-hat "
        f"{figures['max_rhat_folded']:.4f} | hyperparameters: min bulk ESS "
        f"{float(np.nanmin(bulk[low].values)):.0f} ({low}), max R-hat "
        f"{max(float(np.nanmax(rhat[v].values)) for v in names):.4f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="medium", choices=sorted(PROBLEMS))
    parser.add_argument(
        "--seeds", type=numbers(int, blank="-"), default="-,1001,1002,1003",
        help="'-': the problem's own seed (write --seeds=-,1001: argparse reads a value "
        "that starts with '-' as an option)",
    )  # fmt: skip
    parser.add_argument("--scales", type=numbers(float), default="1,0.6,0.4")
    parser.add_argument("--block", type=int, default=8)
    args = parser.parse_args(argv)
    if not all(0 < s <= 1 for s in args.scales) or args.block < 1:
        parser.error(f"--scales must lie in (0, 1] and --block be >= 1: got "
                     f"{args.scales}, {args.block}")  # fmt: skip
    for seed in args.seeds:
        for scale in args.scales:
            block = 1 if scale == 1 else args.block  # scale 1: the control
            print(fit_once(args.problem, seed, scale, block), flush=True)


if __name__ == "__main__":
    main()
