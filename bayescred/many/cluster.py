"""The Dask cluster a batch of fits runs on, and the kernel warmed once per worker.

With no client, a ``dask.distributed.LocalCluster`` sized to the machine is started for
the batch and closed after it (the embedded default); a ``Client`` or a scheduler address
runs the same code on that cluster, which is left running.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tempfile
from pathlib import Path

from ..errors import ClusterError, SpecError

CONNECT_TIMEOUT_S = 10  # how long a scheduler address may take to answer


def machine_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_workers(chains: int) -> int:
    """Workers of the default LocalCluster: each fit runs its chains on ``chains`` cores,
    so the machine holds ``cores // chains`` fits at once (at least one)."""
    return max(1, machine_cores() // max(1, chains))


@contextlib.contextmanager
def connected(client=None, *, n_workers: int | None = None, chains: int = 4):
    """A ``distributed.Client`` for the batch.

    Parameters
    ----------
    client : Client, str or None
        None: start a LocalCluster of ``n_workers`` (default :func:`local_workers`) one-
        thread worker processes, closed on exit.  A scheduler address
        (``"tcp://host:8786"``): connect to it, and disconnect on exit.  A Client: use it.
    """
    from distributed import Client

    if client is None:
        with _local_cluster(n_workers or local_workers(chains)) as local:
            yield local
    elif isinstance(client, str | os.PathLike):
        remote = _connect(str(client))
        try:
            yield remote
        finally:
            remote.close()
    elif isinstance(client, Client):
        if client.status != "running":
            raise ClusterError(f"the Dask client given is {client.status}, not running")
        yield client
    else:
        raise SpecError(
            f"client must be a distributed.Client, a scheduler address or None, "
            f"got {type(client).__name__}"
        )


@contextlib.contextmanager
def _local_cluster(n_workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,  # one fit per worker at a time; the fit's chains are threads
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _connect(address: str):
    """A client of the scheduler at ``address``, or a one-line ClusterError naming it."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except Exception as exc:  # OSError, TimeoutError, ValueError (a malformed address)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(
            f"Dask scheduler {address!r} cannot be reached ({reason}); start one with "
            "`dask scheduler` or leave out the address to run on this machine"
        ) from None


def warm_workers(client) -> dict[str, float]:
    """Load (compiling first where it is not cached) the kernel on every worker before
    its first fit; seconds it took per worker.  Workers of one machine take turns (a
    file lock), so the first compiles into numba's cache and the others load it: no
    compile storm."""
    from distributed import wait

    workers = list(client.scheduler_info(n_workers=-1)["workers"])
    futures = {
        w: client.submit(warm_kernel, workers=[w], allow_other_workers=False, pure=False)
        for w in workers
    }
    wait(list(futures.values()))
    return {w: f.result() for w, f in futures.items() if f.status == "finished"}


@functools.lru_cache(maxsize=1)
def warm_kernel() -> float:
    """Build or load the numba kernel in this process, once (and import what a fit
    needs); the seconds it took."""
    import time

    from .. import api, results  # noqa: F401 - PyMC and ArviZ imported once, here
    from ..kernel.build import c_functions, start_compiling

    start = time.perf_counter()
    with _machine_lock("bayescred-kernel-warm.lock"):
        start_compiling()
        c_functions()
    return time.perf_counter() - start


@contextlib.contextmanager
def _machine_lock(name: str):
    """Held by one process of this machine at a time (where the OS has flock)."""
    if sys.platform == "win32":
        yield
        return
    import fcntl

    with open(Path(tempfile.gettempdir()) / name, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
