"""N small fits one after another against bc.fit_many on a LocalCluster: the engine's
overhead, the speed-up, and the memory per worker.

    python benchmarks/many_fits.py                 # N = 20, 2 workers (and 1 for scale)
    python benchmarks/many_fits.py --fits 8 --draws 200

Each fit is what a worker does: fit and save the result file.  Sequential fits run in this
process after one warm-up fit (the kernel loaded, PyMC imported), so both sides are warm;
fit_many's time includes starting the cluster, warming each worker and collecting the
table, i.e. what a user waits for.  Writes benchmarks/results/many_fits.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import bayescred as bc
from bayescred.panel import load_panel


def panels(n: int, n_units: int, n_years: int):
    """n small panels of one structure (different seeds)."""
    out = []
    for seed in range(n):
        sim = bc.simulate(n_units=n_units, n_years=n_years, n_crises=10, seed=seed)
        out.append(load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec))
    return sim.spec, out


def sequential(spec, data, sampler: dict, folder: Path) -> dict:
    bc.fit(spec, data[0], seed=0, progress=False, **sampler)  # warm-up: not timed
    start = time.perf_counter()
    for i, panel in enumerate(data):
        bc.fit(spec, panel, seed=i, progress=False, **sampler).save(folder / f"seq-{i}.nc")
    wall = time.perf_counter() - start
    return {"wall_s": wall, "per_fit_s": wall / len(data),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def many(spec, data, sampler: dict, folder: Path, workers: int) -> dict:
    from distributed import Client, LocalCluster

    jobs = [bc.Job(spec, p, seed=i, overrides=sampler, name=f"w{workers}-{i}")
            for i, p in enumerate(data)]
    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as lc, \
            Client(lc) as client:
        started = time.perf_counter() - start
        fits = bc.fit_many(jobs, client, out=folder, progress=False)
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        now = client.run(_rss_mb)
    wall = time.perf_counter() - start
    ok = fits.table.status == "ok"
    return {"workers": workers, "wall_s": wall, "cluster_start_s": started,
            "warm_s_per_worker": sorted(fits.warm_s.values()),
            "fits_ok": int(ok.sum()), "sum_fit_wall_s": float(fits.table.wall_s.sum()),
            "worker_peak_rss_mb": sorted(rss.values()), "worker_rss_after_mb": sorted(now.values())}


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=20)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--workers", default="2,1")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    sampler = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    spec, data = panels(args.fits, args.units, args.years)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        seq = sequential(spec, data, sampler, Path(tmp))
        rows = [many(spec, data, sampler, Path(tmp) / f"w{w}", int(w))
                for w in args.workers.split(",")]
    record = {
        "settings": {**vars(args), "cores": os.cpu_count(), "python": sys.version.split()[0],
                     "machine": platform.machine(), "load_before": load_before,
                     "load_after": os.getloadavg()},
        "sequential": seq, "fit_many": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "many_fits.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"sequential: {seq['wall_s']:.1f} s ({seq['per_fit_s']:.2f} s/fit), "
          f"peak RSS {seq['peak_rss_mb']:.0f} MB")
    for r in rows:
        print(f"fit_many, {r['workers']} worker(s): {r['wall_s']:.1f} s (cluster start "
              f"{r['cluster_start_s']:.1f} s, warm-up {max(r['warm_s_per_worker']):.1f} s), "
              f"speed-up {seq['wall_s'] / r['wall_s']:.2f}x, worker peak RSS "
              f"{', '.join(f'{m:.0f}' for m in r['worker_peak_rss_mb'])} MB")


if __name__ == "__main__":
    main()
