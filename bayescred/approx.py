"""Fast approximate posterior for exploring a model: ADVI on the numba kernel.

A Gaussian q is fitted in the sampler's coordinates (the same density nutpie samples, see
``kernel.SAMPLER_ARRAYS``) by maximising the evidence lower bound with Adam (Kucukelbir
et al. 2017, "Automatic differentiation variational inference", JMLR 18(14)).

q is mean-field except along each unit's latent path (its level, then one value per
year), where it is a first-order Markov chain: z = mu + e, e_i = sd_i eps_i + a_i
e_prev(i).  A fully factorised q cannot see that adjacent path values move together, so
it charges every year's step its full variance, inflates the random walk's innovation
scale and roughens the paths (measured on the benchmark's ``medium``: innovation sd 10
posterior sds too high, credibility means 0.25 posterior sd off on average; with the
chain, 0.03).  The chain costs one coefficient per year, and the map eps -> z stays
triangular, so q's entropy is still the sum of log sd.

Each step draws an antithetic pair z = mu +/- e, which makes the mean's gradient exact
for a Gaussian posterior and nearly so close to one.  When the ELBO (averaged over
windows of iterations) stops improving, the step size decays and the iterates are
averaged (Polyak-Ruppert), which removes most of the optimiser's noise from the means.
Draws from q are expanded through the kernel like NUTS draws, so every table, plot and
report works on the result unchanged.

How close q is, is measured, not assumed: the Pareto k of the importance ratios p(z) /
q(z) over the draws (Yao, Vehtari, Simpson and Gelman 2018, "Yes, but did it work?").
In a thousand dimensions a Gaussian q is rarely close in the far tails (k above 0.7),
so the result is for exploring a model, not for estimates to report.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import xarray as xr
from numba import njit

from .kernel import geometry as k
from .kernel.layout import DYN_STATIC
from .kernel.model import KernelModel
from .psis import psislw

ALGORITHM = "advi"
LOG_2PI = math.log(2 * math.pi)


@dataclasses.dataclass(frozen=True)
class AdviSettings:
    """The optimiser; the defaults are what the benchmark's ``medium`` problem needs.

    ``averaging``: on ``medium`` (seed 1, 4000 draws) the largest credibility error against
    three NUTS runs was 0.087-0.111 posterior sd with 2,000 averaged iterations and
    0.083-0.098 with 5,000 (1.3 s more); two NUTS runs differ by up to 0.069 sd.
    """

    learning_rate: float = 0.05
    window: int = 200  # iterations per ELBO average (the stopping rule compares windows)
    tolerance: float = 0.5  # nats per window below which the ELBO counts as flat
    max_iterations: int = 20_000
    averaging: int = 5_000  # decayed-step iterations averaged at the end (see above)
    initial_sd: float = 0.1


@dataclasses.dataclass(frozen=True)
class AdviFit:
    """The fitted q (sampler coordinates) and how the optimisation went."""

    mean: np.ndarray
    sd: np.ndarray
    coef: np.ndarray  # a_i: regression of e_i on e_prev(i) (0 where i has no predecessor)
    prev: np.ndarray  # index of the predecessor along a path, -1 for none
    iterations: int
    converged: bool  # the ELBO went flat before max_iterations
    elbo: np.ndarray  # mean per window
    pareto_k: float = math.nan

    def attrs(self) -> dict:
        """Summary for the posterior group's attributes (netCDF-safe scalars)."""
        return {
            "approximation": ALGORITHM,
            "approx_iterations": int(self.iterations),
            "approx_converged": int(self.converged),
            "approx_elbo": float(self.elbo[-1]) if len(self.elbo) else math.nan,
            "approx_pareto_k": float(self.pareto_k),
        }

    def sd_marginal(self) -> np.ndarray:
        """Marginal sd of each coordinate under q (along a path, var_i = sd_i^2 +
        a_i^2 var_prev(i)); ``sd`` is the conditional one."""
        var = _chain_variance(self.sd, self.coef, self.prev)
        return np.sqrt(var)

    def points(self, eps: np.ndarray) -> np.ndarray:
        """Points of q for standard normal ``eps`` (draws, dim)."""
        return self.mean + np.stack([k.chain_map(e, self.sd, self.coef, self.prev) for e in eps])

    def log_q(self, eps: np.ndarray) -> np.ndarray:
        """log q at the points made from ``eps`` (the map is triangular: det = prod sd)."""
        n = eps.shape[1]
        return -0.5 * (eps**2).sum(axis=1) - np.log(self.sd).sum() - 0.5 * n * LOG_2PI


def sample_advi(kernel: KernelModel, draws: int, seed: int) -> tuple[xr.Dataset, AdviFit]:
    """ADVI, then ``draws`` draws: (posterior Dataset, AdviFit)."""
    return draw(kernel, fit_advi(kernel, seed), draws, seed)


def fit_advi(
    kernel: KernelModel, seed: int, settings: AdviSettings = AdviSettings()
) -> AdviFit:
    """Fit q to ``kernel``'s posterior (sampler coordinates), from its jittered start."""
    from .runtime import stage

    rng = np.random.default_rng(seed)
    start = kernel.initial_point(int(rng.integers(2**31)))
    stage(f"ADVI: fitting a Gaussian approximation ({start.size} coordinates)")
    began = time.perf_counter()
    fit = optimise(kernel.sampler_logp_and_grad, start, path_predecessors(kernel), rng, settings)
    stage(f"ADVI: {'converged' if fit.converged else 'stopped at the limit'} after "
          f"{fit.iterations} iterations ({time.perf_counter() - began:.1f} s)")
    return fit


def optimise(
    gradient, start: np.ndarray, prev: np.ndarray, rng, settings: AdviSettings = AdviSettings()
) -> AdviFit:
    """Maximise the ELBO of q (mean ``start``, sd ``settings.initial_sd``, no path
    correlation at first) for a log-density given by ``gradient(z) -> (logp, dlogp/dz)``;
    ``prev`` lists each coordinate's predecessor (see :func:`path_predecessors`)."""
    n = start.size
    params = np.concatenate([start, np.full(n, math.log(settings.initial_sd)), np.zeros(n)])
    adam = _Adam(params.size, settings.learning_rate)
    windows, current = [], []
    it, flat = 0, False
    while it < settings.max_iterations and not flat:
        elbo, grad = _elbo_gradient(params, prev, gradient, rng)
        params += adam.step(grad)
        current.append(elbo)
        it += 1
        if len(current) == settings.window:
            windows.append(float(np.mean(current)))
            current = []
            flat = len(windows) >= 3 and _flat(windows, settings.tolerance)
    params, tail = _averaged(params, prev, gradient, rng, adam, settings)
    return AdviFit(
        mean=params[:n],
        sd=np.exp(params[n : 2 * n]),
        coef=np.where(prev >= 0, params[2 * n :], 0.0),
        prev=prev,
        iterations=it + settings.averaging,
        converged=flat,
        elbo=np.array([*windows, tail]),
    )


def path_predecessors(kernel: KernelModel) -> np.ndarray:
    """For each coordinate, the one before it on its unit's latent path (-1 for none): a
    unit's level, then its walk (or AR innovation) values year by year."""
    prev = np.full(kernel.n_sampler_dim, -1, np.int64)
    blocks = {b.name: b for b in kernel.blocks}
    # centred yearly paths: each year after the one before (pillars, year effects)
    for name in ("pillar_state", "year_effect"):
        b = blocks.get(name)
        if b is not None and b.shape[-1] > 1:
            at = b.offset + np.arange(b.size).reshape(-1, b.shape[-1])
            prev[at[:, 1:]] = at[:, :-1]
    _pillar_scale_links(kernel, blocks, prev)
    level = blocks.get("level")
    path = blocks.get("z_walk") or blocks.get("z_innovation")
    if level is None or path is None or len(path.shape) != 2:
        return prev  # (pillar and year-effect chains stay)
    units, steps = path.shape
    at = path.offset + np.arange(units * steps).reshape(units, steps)
    prev[at[:, 0]] = level.offset + np.arange(units)
    prev[at[:, 1:]] = at[:, :-1]
    return prev


def _pillar_scale_links(kernel: KernelModel, blocks: dict, prev: np.ndarray) -> None:
    """A dynamic pillar's own log scale after ``sigma_pillar`` (``model._pillars``): scaling
    a pillar up on the common level's scale scales its deviations' spread up, so the
    preconditioner learns that slope and NUTS no longer walks the ridge.  (The signals read
    the pillar on its own standard scale, so their loadings and intercepts do not follow
    its scale and location.)"""
    scale = blocks.get("pillar_log_scale")
    sigma = blocks.get("sigma_pillar")
    if scale is None or sigma is None:
        return
    dynamic = np.flatnonzero(kernel.arrays["pillar_kind"] != DYN_STATIC)
    prev[scale.offset + dynamic] = sigma.offset + (dynamic if sigma.size > 1 else 0)


def _flat(windows: list[float], tolerance: float) -> bool:
    """No window improved on the best of the two before it by more than ``tolerance``."""
    return windows[-1] - max(windows[-3], windows[-2]) < tolerance


def _averaged(params, prev, gradient, rng, adam, settings: AdviSettings):
    """Polyak-Ruppert average of the iterates under a decaying step."""
    total = np.zeros_like(params)
    elbos = []
    base = adam.learning_rate
    for i in range(settings.averaging):
        adam.learning_rate = base / math.sqrt(1.0 + i / 100.0)
        elbo, grad = _elbo_gradient(params, prev, gradient, rng)
        params = params + adam.step(grad)
        total += params
        elbos.append(elbo)
    adam.learning_rate = base
    return total / settings.averaging, float(np.mean(elbos))


def _elbo_gradient(params, prev, gradient, rng):
    """ELBO estimate and its gradient in (mu, omega, a), from an antithetic pair of draws
    z = mu +/- e (e is linear in eps, so the pair shares one forward pass)."""
    n = prev.size
    mu, omega, coef = params[:n], params[n : 2 * n], params[2 * n :]
    sd = np.exp(omega)
    eps = rng.standard_normal(n)
    e = k.chain_map(eps, sd, coef, prev)
    lp_plus, g_plus = gradient(mu + e)
    lp_minus, g_minus = gradient(mu - e)
    # d/de of the pair's mean: the antithetic half-difference, carried back along paths
    g_e = k.chain_adjoint(0.5 * (g_plus - g_minus), coef, prev)
    g_mu = 0.5 * (g_plus + g_minus)
    g_omega = g_e * eps * sd + 1.0  # + 1: the entropy's gradient
    g_coef = np.where(prev >= 0, g_e * e[np.maximum(prev, 0)], 0.0)
    elbo = 0.5 * (lp_plus + lp_minus) + omega.sum()
    grad = np.concatenate([g_mu, g_omega, g_coef])
    if not (np.isfinite(elbo) and np.all(np.isfinite(grad))):
        return -np.inf, np.zeros_like(params)  # a draw far in the tails: skip the step
    return elbo, grad


@njit(cache=True)
def _chain_variance(sd, coef, prev):
    var = sd * sd
    for i in range(var.size):
        if prev[i] >= 0:
            var[i] += coef[i] * coef[i] * var[prev[i]]
    return var


class _Adam:
    """Adam (Kingma and Ba 2015) ascending the ELBO."""

    def __init__(self, n: int, learning_rate: float, b1: float = 0.9, b2: float = 0.999):
        self.learning_rate, self.b1, self.b2 = learning_rate, b1, b2
        self.m, self.v, self.t = np.zeros(n), np.zeros(n), 0

    def step(self, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        return self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)


# ------------------------------------------------------------------------------- draws


def draw(kernel: KernelModel, fit: AdviFit, draws: int, seed: int) -> tuple[xr.Dataset, AdviFit]:
    """``draws`` draws from q, expanded to the model's stored variables (one chain), and
    ``fit`` with the Pareto k-hat of the draws' importance ratios p / q."""
    eps = np.random.default_rng([seed, 1]).standard_normal((draws, fit.mean.size))
    z = fit.points(eps)
    log_p = np.array([kernel.sampler_logp_and_grad(point)[0] for point in z])
    _, pareto_k = psislw(log_p - fit.log_q(eps))
    posterior = kernel.expand_draws(z[None], sampler_coordinates=True)  # one chain
    return posterior, dataclasses.replace(fit, pareto_k=float(pareto_k))
