"""``bayescred serve``: the explorer's scenario edits and figures, and a real session in
headless Chromium against a tiny fitted result, its numbers checked against ``bc.whatif``.

The browser tests need the ``serve`` extra (Dash), Playwright (both in ``[dev]``) and a
Chromium binary from the system (Debian: ``apt-get install chromium``; or set
``BAYESCRED_CHROMIUM``); nothing is downloaded.  Without Chromium they skip and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayescred as bc
from bayescred.errors import BayescredError, DataError, SpecError
from bayescred.explorer import edits
from bayescred.explorer.figures import pillar_figure, trajectory_figure
from bayescred.explorer.session import Explorer, for_unit
from bayescred.scenario import Scenario, bind, load_scenario

UNIT = "M01/A1"


# ---------------------------------------------------------------------------- the fit


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    """A tiny fitted result (6 commitments of 4 members, 12 years), saved once."""
    sim = bc.simulate(
        bc.default_spec(),
        n_units=6,
        n_members=4,
        n_years=12,
        n_crises=10,
        missing=0.1,
        seed=5,
    )
    panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)
    result = bc.fit(sim.spec, panel, draws=150, tune=200, chains=2, seed=3, progress=False)
    path = tmp_path_factory.mktemp("explorer") / "result.nc"
    result.save(path)
    return path


@pytest.fixture(scope="module")
def result(result_file):
    return bc.load(result_file)


@pytest.fixture(scope="module")
def explorer(result_file):
    return Explorer.open(result_file)


# ---------------------------------------------------------------------------- without a browser


def test_signal_edits_replace_one_entry_per_unit_and_signal():
    sc = Scenario("s").shift("M01", "A1", "spending", "1985-1988", by=2.0)
    sc = sc.set("M01", "A1", "spending", 1990, 3.0).shift("M00", "A0", "troops", 1985, factor=2)
    edit = edits.SignalEdit("factor", 1.5, 1982, 1984)
    out = edits.with_signal(sc, UNIT, "spending", edit)
    assert [e.signal for e in out.sets] == []
    assert [(e.member, e.signal, e.factor) for e in out.shifts] == [
        ("M00", "troops", 2.0),
        ("M01", "spending", 1.5),
    ]
    assert edits.signal_entry(out, UNIT, "spending") == edit
    neutral = edits.with_signal(out, UNIT, "spending", edits.SignalEdit("by", 0.0, 1982, 1984))
    assert edits.signal_entry(neutral, UNIT, "spending") is None
    assert neutral == edits.from_state(edits.to_state(neutral))  # the page's store round trip


def test_edits_are_checked_as_the_toml_is():
    with pytest.raises(SpecError, match="'outcome' must be one of honored, violated"):
        edits.with_crisis(Scenario("s"), UNIT, 1985, "forgotten")
    with pytest.raises(SpecError, match="not valid TOML"):
        edits.from_upload("horizon = = 3", "mine.toml")
    sc = edits.with_crisis(Scenario("s"), UNIT, 1985, "violated")
    assert edits.without_entry(sc, "crisis", 0).is_empty


@pytest.mark.sampling
def test_the_page_checks_with_the_clis_validation(explorer, result):
    bad = [
        Scenario("s").set("M01", "A1", "spending", 1985, -5.0),  # lognormal: > 0
        Scenario("s").crisis("M01", "A1", 1900, "violated"),  # before the data
        Scenario("s").crisis("Atlantis", "A1", 1985, "violated"),  # unknown member
    ]
    for scenario in bad:
        with pytest.raises(DataError) as page:
            explorer.check(scenario)
        with pytest.raises(DataError) as cli:
            bind(scenario, result.panel, result.spec, result.scales)
        assert str(page.value) == str(cli.value)


@pytest.mark.sampling
def test_figure_holds_whatifs_numbers_and_the_crises(explorer, result):
    sc = Scenario("s", horizon=2).crisis("M01", "A1", 1992, "violated")
    answer, why = explorer.quick(sc)
    assert answer is not None, why
    fig = trajectory_figure(answer, explorer.crises(), UNIT)
    traces = {t["name"]: t for t in fig["data"]}
    expected = bc.whatif(result, sc).trajectories()
    mine = expected[(expected.member == "M01") & (expected.alliance == "A1")]
    for case in ("baseline", "scenario"):
        rows = mine[mine.case == case]
        np.testing.assert_allclose(traces[case]["y"], rows["mean"], rtol=0, atol=1e-12)
        assert traces[case]["x"] == rows.year.tolist()
    data_crises = result.panel.crises[result.panel.crises.member == "M01"]
    assert traces["crises"]["x"] == data_crises.year.tolist()
    assert traces["hypothetical crises"]["x"] == [1992]
    assert traces["hypothetical crises"]["marker"]["symbol"] == ["triangle-down"]
    assert fig["layout"]["shapes"][0]["x0"] == 1991.5  # data | forecast


@pytest.mark.sampling
def test_one_units_tables_are_the_full_tables_rows(explorer):
    sc = Scenario("s").shift("M01", "A1", "spending", "1989-1991", by=0.2)  # unpaired draws
    answer, why = explorer.quick(sc)
    assert answer is not None and not answer.paired, why
    view = for_unit(answer, UNIT)
    for table in ("contrast", "trajectories"):
        full = getattr(answer, table)()
        mine = full[(full.member == "M01") & (full.alliance == "A1")].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(view, table)(), mine)


@pytest.mark.sampling
def test_pillars_are_drawn_when_the_posterior_has_them(explorer, result):
    assert pillar_figure(explorer.pillars(), UNIT, 0.9) is None  # one-factor model
    cred = result.posterior["credibility"]
    pillars = xr.concat(
        [cred, cred * 0.5 + 0.1], dim=xr.DataArray(["commitment", "capability"], dims="dimension")
    ).transpose("chain", "draw", "unit", "year", "dimension")
    fig = pillar_figure(pillars, UNIT, 0.9)
    lines = [t for t in fig["data"] if not t["name"].endswith("interval")]
    assert [t["name"] for t in lines] == ["commitment", "capability"]
    mean = cred.sel(unit=UNIT).mean(("chain", "draw")).values
    np.testing.assert_allclose(lines[0]["y"], mean)
    np.testing.assert_allclose(lines[1]["y"], mean * 0.5 + 0.1)


def test_serve_without_dash_says_what_to_install(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from bayescred.cli import app
    from bayescred.explorer import _dash

    monkeypatch.setattr(_dash, "dash", None)
    run = CliRunner().invoke(app, ["serve", str(tmp_path / "result.nc")])
    assert run.exit_code == 2
    assert run.output.strip() == (
        "error: bayescred serve needs Dash, which is not installed: pip install 'bayescred[serve]'"
    )


def test_serve_refuses_a_missing_result_in_one_line(tmp_path):
    pytest.importorskip("dash", reason="the explorer needs the 'serve' extra (Dash)")
    from typer.testing import CliRunner

    from bayescred.cli import app

    run = CliRunner().invoke(app, ["serve", str(tmp_path / "none.nc"), "--port", "0"])
    assert run.exit_code == 2
    assert run.output.strip() == f"error: {tmp_path / 'none.nc'}: result file not found"


# ---------------------------------------------------------------------------- in a browser


def chromium() -> str | None:
    """The system's Chromium (Playwright drives it; it downloads no browser)."""
    given = os.environ.get("BAYESCRED_CHROMIUM")
    if given:
        return given
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((p for p in map(shutil.which, names) if p), None)


@pytest.fixture(scope="module")
def server(explorer):
    pytest.importorskip("dash", reason="the explorer needs the 'serve' extra (Dash)")
    from bayescred.explorer import make_server

    srv = make_server(explorer, port=0)  # the default host: this machine only
    assert srv.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        pytest.skip(
            "no Chromium binary found (looked for BAYESCRED_CHROMIUM, chromium, "
            "chromium-browser, google-chrome): install Debian's 'chromium' package to run "
            "the explorer's browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in [dev]")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


CHART = "() => document.querySelector('#chart .js-plotly-plot')?.data?.map(t => [t.name, t.x, t.y])"


def chart(page) -> dict:
    return {name: (x, y) for name, x, y in page.evaluate(CHART) or []}


def changed(page, before: dict, timeout: float = 30_000) -> dict:
    """Wait until the chart differs from ``before``; return it."""
    page.wait_for_function(
        f"(before) => JSON.stringify(({CHART})()) !== before",
        arg=json.dumps([[n, x, y] for n, (x, y) in before.items()]),
        timeout=timeout,
    )
    return chart(page)


def assert_matches(page, figure: dict, answer) -> None:
    """Chart and contrast table on the page hold ``answer``'s numbers for UNIT."""
    traj = answer.trajectories()
    traj = traj[(traj.member == "M01") & (traj.alliance == "A1")]
    for case in ("baseline", "scenario"):
        rows = traj[traj.case == case]
        x, y = figure[case]
        assert x == rows.year.tolist()
        np.testing.assert_allclose(y, rows["mean"], rtol=0, atol=1e-12)
    contrast = answer.contrast()
    contrast = contrast[(contrast.member == "M01") & (contrast.alliance == "A1")]
    cells = page.locator("#contrast-table tbody tr").all_inner_texts()
    assert len(cells) == len(contrast)
    for text, row in zip(cells, contrast.itertuples()):
        year, mean, sd, low, high, p_up = text.split("\t")
        assert int(year) == row.year
        assert float(mean) == pytest.approx(row.mean, abs=5e-4)
        assert float(low) == pytest.approx(row.hdi_low, abs=5e-4)
        assert float(p_up) == pytest.approx(row.p_up, abs=5e-4)


def settle(page) -> None:
    """Wait until no component waits for a callback (as a user waits to see the page).
    Right after an input its callback's request may not have started, and then nothing is
    marked loading yet (a race that lost a typed value to a later redraw, about one run in
    three under load): give it a moment to start first."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def type_number(page, selector: str, value) -> None:
    page.fill(selector, str(value))
    page.press(selector, "Enter")
    settle(page)


def check(page, label: str, nth: int = 0) -> None:
    page.get_by_label(label, exact=True).nth(nth).check()
    settle(page)


def shows(page, answer, timeout: float = 30_000) -> dict:
    """Wait until the chart shows ``answer``'s trajectories of UNIT; return the chart."""
    traj = answer.trajectories()
    rows = traj[(traj.member == "M01") & (traj.alliance == "A1") & (traj.case == "scenario")]
    page.wait_for_function(
        """(want) => {
            const gd = document.querySelector('#chart .js-plotly-plot');
            const t = gd && gd.data && gd.data.find(t => t.name === 'scenario');
            return !!t && t.y.length === want.length
                && t.y.every((v, i) => Math.abs(v - want[i]) < 1e-9);
        }""",
        arg=rows["mean"].tolist(),
        timeout=timeout,
    )
    return chart(page)


@pytest.mark.sampling
def test_a_session_in_the_browser(browser, server, result, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.wait_for_selector("#chart .js-plotly-plot")

    # pick a unit: alliance A1, then its commitment
    page.click("#alliance")
    page.get_by_role("dialog").get_by_role("option", name="A1", exact=True).click()
    check(page, UNIT)
    page.wait_for_function(
        "(u) => document.querySelector('#chart .gtitle')?.textContent === u + ': credibility'",
        arg=UNIT,
    )

    # move a signal: spending +0.2 in 1989-1991 (first year typed into the range's box)
    i = result.panel.signals.index("spending")
    type_number(page, f"#years-{i} input >> nth=0", 1989)
    type_number(page, f"#value-{i}", 0.2)
    expected = Scenario("explorer").shift("M01", "A1", "spending", "1989-1991", by=0.2)
    moved = shows(page, bc.whatif(result, expected))
    assert_matches(page, moved, bc.whatif(result, expected))
    assert "engine: fast" in page.inner_text("#engine")

    # add a crisis beyond the data: M01/A1 reneges in 1992 (horizon 2)
    type_number(page, "#horizon", 2)
    page.click("#crisis-unit")
    page.get_by_role("dialog").get_by_role("option", name=UNIT, exact=True).click()
    type_number(page, "#crisis-year", 1992)
    check(page, "violated")
    page.click("#crisis-add")
    expected = expected.with_horizon(2).crisis("M01", "A1", 1992, "violated")
    answer = bc.whatif(result, expected)
    with_crisis = shows(page, answer)
    assert_matches(page, with_crisis, answer)
    assert with_crisis["hypothetical crises"][0] == [1992]
    assert f"engine: fast, Pareto k {answer.pareto_k:.2f}" in page.inner_text("#engine")

    # bad values: the CLI's message on the page, and nothing changes
    entries = page.inner_text("#entries")
    check(page, "set to", i)
    type_number(page, f"#value-{i}", -5)
    message = page.wait_for_selector("#message .error").inner_text()
    with pytest.raises(DataError) as cli:
        bad = Scenario("explorer", horizon=2).set("M01", "A1", "spending", "1989-1991", -5.0)
        bind(bad, result.panel, result.spec, result.scales)
    assert message == f"error: {cli.value}"
    type_number(page, "#crisis-year", 1900)
    page.click("#crisis-add")
    page.wait_for_function("() => document.querySelector('#message').innerText.includes('1900')")
    assert page.inner_text("#entries") == entries
    assert chart(page) == with_crisis

    # download the scenario and the contrast; load the scenario back after a reset
    with page.expect_download() as download:
        page.click("#download-toml")
    saved = tmp_path / "scenario.toml"
    download.value.save_as(saved)
    assert load_scenario(saved).to_dict() == expected.to_dict()
    with page.expect_download() as download:
        page.click("#download-csv")
    csv = tmp_path / "contrast.csv"
    download.value.save_as(csv)
    assert len(csv.read_text().splitlines()) == len(answer.contrast()) + 1
    page.click("#reset")
    page.wait_for_function(
        "() => document.querySelector('#entries').innerText.includes('no changes')"
    )
    page.set_input_files("#upload input[type=file]", str(saved))
    page.wait_for_function("(e) => document.querySelector('#entries').innerText === e", arg=entries)
    assert shows(page, answer) == with_crisis

    # an unknown unit in a loaded file: the message, nothing changes
    bad = tmp_path / "bad.toml"
    bad.write_text(saved.read_text().replace('member = "M01"', 'member = "Atlantis"', 1))
    page.set_input_files("#upload input[type=file]", str(bad))
    message = page.wait_for_selector("#message .error").inner_text()
    with pytest.raises(BayescredError) as cli:
        bind(load_scenario(bad), result.panel, result.spec, result.scales)
    assert message == f"error: {cli.value}".replace(str(bad), "bad.toml")
    assert page.inner_text("#entries") == entries

    # a scenario the fast engine cannot be trusted with: progress, then the exact engine
    check(page, "add", i)
    type_number(page, f"#years-{i} input >> nth=0", 1980)
    page.fill(f"#value-{i}", "2")  # not settled: the progress shows while it computes
    page.press(f"#value-{i}", "Enter")
    page.wait_for_selector("#progress", state="visible")
    assert "cannot be trusted" in page.inner_text("#engine")
    page.wait_for_function(
        "() => document.querySelector('#engine').innerText.startsWith('engine: exact')",
        timeout=180_000,
    )
    assert not page.is_visible("#progress")
    page.close()
