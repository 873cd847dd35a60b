"""How fast ``bayescred serve`` answers: time from a control change to the updated chart.

Fits the ``medium`` problem once (problems.py; nutpie, 4 chains x 1000 draws, tune 600),
saves it, starts ``bayescred serve`` on it in its own process (the real command), opens the
page in headless Chromium (Playwright, the system's ``chromium``), picks a commitment and
types 50 different values into a signal's box (``add`` to spending, 0.01 ... 0.50 over the
last ten years): each one a new scenario, answered by the fast engine.  For each change it
times, in the browser's clock, from just before the value is typed (Playwright's
fill and Enter) to the chart holding new data (the
server's validation and what-if answer, the transfer and plotly's redraw).  The server's
memory is read from /proc (resident now and peak).

Usage::

    python benchmarks/explorer_latency.py [--result RESULT.nc] [--changes 50]

Writes ``benchmarks/results/explorer_latency.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHART = "document.querySelector('#chart .js-plotly-plot')"
MARK = (
    f"() => {{ window.__before = JSON.stringify({CHART}.data); window.__t0 = performance.now(); }}"
)
UPDATED = (
    f"() => JSON.stringify({CHART}.data) !== window.__before && performance.now() - window.__t0"
)


def fit_medium(out: Path) -> tuple[Path, float]:
    from problems import PROBLEMS

    import bayescred as bc

    spec, panel, _ = PROBLEMS["medium"]()
    start = time.perf_counter()
    result = bc.fit(spec, panel, draws=1000, tune=600, chains=4, progress=False)
    seconds = time.perf_counter() - start
    result.save(out)
    return out, seconds


def memory(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}  # MiB


def wait_up(url: str, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer at {url} within {timeout} s")


def drive(url: str, changes: int, chromium: str) -> tuple[list[float], list[str], list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#chart .js-plotly-plot", timeout=120_000)
        page.wait_for_function(f"() => {CHART}.data.length > 0")
        years = page.locator("#years-1 input").first  # spending: the last ten years
        last = int(page.locator("#years-1 input").last.input_value())
        years.fill(str(last - 9))
        years.press("Enter")
        time.sleep(2)
        times, engines, engine_s = [], [], []
        for k in range(1, changes + 1):
            page.evaluate(MARK)  # the browser's clock starts before the keys are typed
            page.fill("#value-1", str(round(0.01 * k, 2)))
            page.press("#value-1", "Enter")
            times.append(page.wait_for_function(UPDATED, timeout=300_000).json_value())
            line = page.inner_text("#engine")  # "engine: fast, ... (0.52 s)"
            engines.append(line.split(" ")[1].rstrip(","))
            engine_s.append(float(line.rsplit("(", 1)[1].split(" ")[0]))
        browser.close()
    return times, engines, engine_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--result", type=Path, help="a saved medium result (else fit one)")
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--port", type=int, default=8061)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "explorer_latency.json")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs the system's Chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        fit_s = None
        path = args.result
        if path is None:
            path, fit_s = fit_medium(Path(tmp) / "medium.nc")
        cmd = [sys.executable, "-m", "bayescred.cli", "serve", str(path), "--port", str(args.port)]
        server = subprocess.Popen(cmd, env=os.environ.copy())
        try:
            url = f"http://127.0.0.1:{args.port}/"
            wait_up(url)
            at_start = memory(server.pid)
            times, engines, engine_s = drive(url, args.changes, chromium)
            at_end = memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    import numpy as np

    report = {
        "problem": "medium",
        "changes": len(times),
        "engines": {e: engines.count(e) for e in sorted(set(engines))},
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "max_ms": float(max(times)),
        "times_ms": [round(t, 1) for t in times],
        "whatif_s_p50": float(np.percentile(engine_s, 50)),  # bc.whatif's own total_s
        "whatif_s_p95": float(np.percentile(engine_s, 95)),
        "server_mib": {"after_load": at_start, "after_changes": at_end},
        "fit_s": fit_s,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{len(times)} changes: p50 {report['p50_ms']:.0f} ms, p95 {report['p95_ms']:.0f} ms, "
        f"max {report['max_ms']:.0f} ms (bc.whatif alone: p50 {report['whatif_s_p50']:.2f} s); "
        f"engines {report['engines']}; server "
        f"{at_start['VmRSS']:.0f} MiB after loading, {at_end['VmRSS']:.0f} MiB resident and "
        f"{at_end['VmHWM']:.0f} MiB peak after the changes"
    )


if __name__ == "__main__":
    main()
