"""One fit as a job: what a worker receives, checks made before any work is sent, and
the function a worker runs.

A job is a pure function of (spec, panel, seed, overrides) that writes one result file:
the worker fits, saves, and returns a small summary; a failure comes back as the job's
message, never as an exception that would take the batch down.
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import BayescredError, SpecError

# fit()'s keyword arguments a job may override (seed is a job field of its own)
OVERRIDES = ("draws", "tune", "chains", "sampler", "precondition", "scales")
# overrides that are sampler settings (checked by the spec): override -> SamplerSpec name
_SAMPLER_KEYS = {"draws": "draws", "tune": "tune", "chains": "chains", "sampler": "backend",
                 "precondition": "precondition"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Job:
    """One fit to run: a spec, its data, a seed and fit() overrides.

    Parameters
    ----------
    spec : ModelSpec or path
        The model spec (a TOML path is read with :func:`bayescred.load_spec`).
    panel : Panel, optional
        The data; read from the spec's [data] files when omitted.
    seed : int, optional
        The sampler's seed (the spec's when omitted).
    overrides : dict
        fit() keyword arguments: ``draws``, ``tune``, ``chains``, ``sampler``,
        ``precondition``, ``scales``.
    name : str, optional
        Names the job in the summary table and its result file (``<name>.nc``);
        ``fit-<i>`` by default.
    """

    spec: object
    panel: object = None
    seed: int | None = None
    overrides: dict = field(default_factory=dict)
    name: str | None = None


def checked_jobs(jobs) -> list[Job]:
    """The jobs with their specs and panels read and every field checked, before anything
    is sent to a worker; a :class:`SpecError` or :class:`DataError` naming the job
    otherwise."""
    from ..panel import read_panel
    from ..spec import ModelSpec, load_spec

    jobs = list(jobs)
    if not jobs:
        raise SpecError("fit_many: no jobs given")
    out, names = [], set()
    for i, job in enumerate(jobs):
        if not isinstance(job, Job):
            raise SpecError(f"job {i}: expected a bayescred Job, got {type(job).__name__}")
        label = f"job {i}" + (f" ({job.name!r})" if job.name else "")
        name = job.name or f"fit-{i}"
        if not _SAFE_NAME.match(name):
            raise SpecError(f"{label}: name must be letters, digits, '.', '_' or '-'")
        if name in names:
            raise SpecError(f"{label}: name {name!r} is used by another job")
        names.add(name)
        try:
            spec = job.spec if isinstance(job.spec, ModelSpec) else load_spec(job.spec)
            _check_overrides(job)
            sampler = {k: v for k, v in job.overrides.items() if k in _SAMPLER_KEYS}
            spec.with_sampler(**{_SAMPLER_KEYS[k]: v for k, v in sampler.items()})
            panel = job.panel if job.panel is not None else read_panel(spec)
        except BayescredError as exc:
            raise type(exc)(f"{label}: {exc}") from None
        out.append(replace(job, spec=spec, panel=panel, name=name))
    return out


def _check_overrides(job: Job) -> None:
    unknown = sorted(set(job.overrides) - set(OVERRIDES))
    if unknown:
        raise SpecError(
            f"overrides: unknown key(s) {', '.join(unknown)}; valid keys are "
            f"{', '.join(OVERRIDES)}"
        )
    seed = job.seed
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise SpecError(f"seed must be a non-negative integer, got {seed!r}")


def run_job(job: Job, path: str) -> dict:
    """Fit ``job`` and save its result at ``path`` (on the worker); a summary row.

    Never raises: a failure is returned with its one-line message, so one bad fit does
    not take the batch down."""
    from ..api import fit

    start = time.perf_counter()
    row = {"name": job.name, "seed": job.seed, "path": None, "status": "ok", "error": ""}
    try:
        if job.spec.with_sampler(backend=job.overrides.get("sampler")).sampler.uses_kernel:
            from .cluster import warm_kernel

            warm_kernel()  # once per process (a worker that joined after the warm-up)
        result = fit(job.spec, job.panel, seed=job.seed, progress=False, **job.overrides)
        result.save(path)
        row.update(fit_summary(result), path=str(path))
    except BaseException as exc:  # noqa: BLE001 - a job's failure is its row, not a crash
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        row.update(status="failed", error=_one_line(exc))
    row["wall_s"] = time.perf_counter() - start
    return row


def fit_summary(result) -> dict:
    """Convergence (of the structural parameters and credibility) and cost of one fit,
    for the batch's summary table."""
    import arviz as az
    import numpy as np

    from .calibrate import structural_variables

    # the structural parameters and credibility: the sampler's own coordinates (z_*,
    # levels) would double the cost and say nothing a user reads
    post = result.idata.posterior
    post = post[[*structural_variables(post), "credibility"]]
    rhat = az.rhat(post)
    ess = az.ess(post, method="bulk")
    finite = [float(np.nanmax(v.values)) for v in rhat.data_vars.values() if v.size]
    stats = result.idata.get("sample_stats")
    diverging = int(stats["diverging"].sum()) if stats is not None and "diverging" in stats else 0
    return {
        "max_rhat": max(finite) if finite else float("nan"),
        "min_ess_bulk": min(float(np.nanmin(v.values)) for v in ess.data_vars.values()),
        "divergences": diverging,
        "sample_s": float(result.timing.sample_s),
    }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, BayescredError):
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        text = f"{type(exc).__name__}: {text}{at}"
    return text
