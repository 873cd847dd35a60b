"""The screenshots of ``bayescred serve`` in docs/explorer/ (shown in the README and in
docs/explorer.md), taken in headless Chromium (the system's ``chromium``, Playwright).

Usage::

    python scripts/explorer_screenshots.py [RESULT.nc] [--out docs/explorer]

Without RESULT it fits the simulated demo panel (12 commitments x 30 years, as
``bayescred demo``; about a minute).  States: the baseline of a commitment; a scenario
(spending +20% from the last five years on, a reneged crisis beyond the data) against the
baseline; a refused value, with the CLI's message; the exact engine's progress line.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def demo_result(folder: Path) -> Path:
    import bayescred as bc
    from bayescred.simulate import default_spec, simulate

    spec = default_spec(draws=500, tune=500, chains=2, seed=2026)
    sim = simulate(spec, n_units=12, n_members=9, n_years=30, n_crises=40, missing=0.1, seed=2026)
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)
    path = folder / "demo.nc"
    bc.fit(spec, panel, progress=False).save(path)
    return path


def settle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def enter(page, selector: str, value) -> None:
    page.fill(selector, str(value))
    page.press(selector, "Enter")
    settle(page)


def snap(page, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)


def shoot(url: str, out: Path, explorer) -> None:
    from playwright.sync_api import sync_playwright

    first, last = explorer.years
    units = explorer.units_by_alliance()
    alliance = max(units, key=lambda a: len(units[a]))
    unit = units[alliance][0]
    spending = explorer.panel.signals.index("spending")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1050})
        page.goto(url)
        page.wait_for_selector("#chart .js-plotly-plot")
        page.click("#alliance")
        page.get_by_role("dialog").get_by_role("option", name=alliance, exact=True).click()
        settle(page)
        page.get_by_role("radio", name=unit, exact=True).check()
        settle(page)
        snap(page, out / "baseline.png")

        page.get_by_label("multiply", exact=True).nth(spending).check()
        settle(page)
        enter(page, f"#years-{spending} input >> nth=0", last - 4)
        enter(page, f"#value-{spending}", 1.2)
        enter(page, "#horizon", 3)
        page.click("#crisis-unit")
        page.get_by_role("dialog").get_by_role("option", name=unit, exact=True).click()
        enter(page, "#crisis-year", last + 1)
        page.get_by_label("violated", exact=True).check()
        page.click("#crisis-add")
        settle(page)
        page.wait_for_function(
            "() => document.querySelector('#chart .js-plotly-plot').data"
            ".some(t => t.name === 'hypothetical crises')"
        )
        settle(page)
        snap(page, out / "scenario.png")

        page.get_by_label("set to", exact=True).nth(spending).check()
        settle(page)
        enter(page, f"#value-{spending}", -1)
        page.wait_for_selector("#message .error")
        snap(page, out / "refused.png")

        page.get_by_label("add", exact=True).nth(spending).check()
        settle(page)
        enter(page, f"#years-{spending} input >> nth=0", first)
        page.fill(f"#value-{spending}", "10")
        page.press(f"#value-{spending}", "Enter")
        page.wait_for_selector("#progress", state="visible", timeout=60_000)
        snap(page, out / "exact.png")
        page.wait_for_selector("#progress", state="hidden", timeout=600_000)
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("result", nargs="?", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "explorer")
    args = ap.parse_args()
    if shutil.which("chromium") is None:
        sys.exit("needs the system's Chromium (Debian: apt-get install chromium)")
    from bayescred.explorer import Explorer, make_server

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.result or demo_result(Path(tmp))
        print(f"result: {path}", flush=True)
        explorer = Explorer.open(path)
        server = make_server(explorer, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}/", args.out, explorer)
        finally:
            server.shutdown()
    print(f"wrote {args.out}/baseline.png, scenario.png, refused.png, exact.png")


if __name__ == "__main__":
    main()
