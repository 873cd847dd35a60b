"""``fit_many``: many fits on a Dask cluster, results as files plus a tidy table.

>>> import bayescred as bc
>>> jobs = [bc.Job(spec, panel, seed=s) for s in range(20)]        # doctest: +SKIP
>>> fits = bc.fit_many(jobs, out="fits")                           # doctest: +SKIP
>>> fits.table[["name", "status", "max_rhat", "path"]]              # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import OutputError
from .cluster import connected, warm_workers
from .jobs import Job, checked_jobs, run_job

COLUMNS = ["name", "seed", "status", "path", "error", "max_rhat", "min_ess_bulk",
           "divergences", "sample_s", "wall_s"]


@dataclass(frozen=True)
class ManyFits:
    """The outcome of :func:`fit_many`: one row per job in ``table`` (``status`` ok or
    failed, with the failure's message in ``error``) and the folder of result files."""

    table: pd.DataFrame
    folder: Path
    warm_s: dict

    @property
    def paths(self) -> list[Path]:
        """Result files of the jobs that succeeded, in job order."""
        return [Path(p) for p in self.table.loc[self.ok, "path"]]

    @property
    def ok(self) -> pd.Series:
        return self.table.status == "ok"

    def load(self, name: str):
        """The :class:`~bayescred.CredibilityResult` of job ``name``."""
        from ..results import CredibilityResult

        row = self.table.set_index("name").loc[name]
        if row.status != "ok":
            raise OutputError(f"job {name!r} failed: {row.error}")
        return CredibilityResult.load(row.path)

    def stack(self, var: str):
        """Posterior ``var`` of every successful fit, stacked along a ``fit`` dimension
        (labelled by job name); only where the fits share ``var``'s shape."""
        import xarray as xr

        names = list(self.table.loc[self.ok, "name"])
        arrays = [self.load(n).idata.posterior[var] for n in names]
        return xr.concat(arrays, dim=pd.Index(names, name="fit"))

    def __repr__(self) -> str:
        n_ok = int(self.ok.sum())
        return f"ManyFits({n_ok} of {len(self.table)} fits ok, in {self.folder})"


def fit_many(
    jobs,
    client=None,
    *,
    out: str | Path | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> ManyFits:
    """Run many fits on a Dask cluster; each writes one result file.

    Parameters
    ----------
    jobs : iterable of Job
        Each a (spec, panel, seed, overrides) fit, checked before any work is sent: a
        job with an invalid spec or data fails the call with a one-line error naming it.
    client : distributed.Client, str or None
        None (default): a ``LocalCluster`` sized to this machine (its cores over the
        chains of a fit, since each fit runs its chains in parallel), started for the
        batch and closed afterwards.  A scheduler address or a Client: that cluster
        (its workers must be able to write ``out`` and this process to read it).
    out : path, optional
        Folder for the result files ``<job name>.nc``; a new temporary folder by
        default.  An existing result file is never overwritten.
    n_workers : int, optional
        Workers of the default LocalCluster.
    progress : bool
        Show Dask's progress bar.

    Returns
    -------
    ManyFits
        ``table``: one row per job (name, seed, status, path, error, max_rhat,
        min_ess_bulk, divergences, sample_s, wall_s).  A job that fails -- even a worker
        that dies -- is a row with status ``failed`` and its message; the others go on.
    """
    jobs = checked_jobs(jobs)
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="bayescred-fits-"))
    paths = _result_paths(jobs, folder)
    chains = max(_chains(job) for job in jobs)
    with connected(client, n_workers=n_workers, chains=chains) as dask_client:
        warm = warm_workers(dask_client) if any(_uses_kernel(j) for j in jobs) else {}
        rows = _run(dask_client, jobs, paths, progress)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    return ManyFits(table, folder, warm)


def _result_paths(jobs: list[Job], folder: Path) -> list[Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the results folder ({exc.strerror})") from None
    paths = [folder / f"{job.name}.nc" for job in jobs]
    taken = [p for p in paths if p.exists()]
    if taken:
        raise OutputError(f"{taken[0]}: exists; fit_many never overwrites a result "
                          "(choose another folder or remove it)")
    return paths


def _chains(job: Job) -> int:
    return int(job.overrides.get("chains") or job.spec.sampler.chains)


def _uses_kernel(job: Job) -> bool:
    backend = job.overrides.get("sampler")
    spec = job.spec.with_sampler(backend=backend) if backend else job.spec
    return spec.sampler.uses_kernel


def _run(client, jobs: list[Job], paths: list[Path], progress: bool) -> list[dict]:
    from distributed import progress as progress_bar
    from distributed import wait

    futures = [client.submit(run_job, job, str(path), pure=False)
               for job, path in zip(jobs, paths)]
    if progress:
        progress_bar(futures)
    wait(futures)
    rows = []
    for job, future in zip(jobs, futures):
        try:
            rows.append(future.result())
        except Exception as exc:  # the worker died (out of memory, killed): the job's row
            message = " ".join(str(exc).split()) or type(exc).__name__
            rows.append({"name": job.name, "seed": job.seed, "status": "failed",
                         "error": f"{type(exc).__name__}: {message}"})
    return rows
