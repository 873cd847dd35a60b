"""What the page does when a control moves, as Dash callbacks.

Four steps, each a callback:

``edit``
    A control changed: the scenario (kept in the browser, ``scenario`` store) becomes the
    edited one if it binds to the result (:meth:`Explorer.check`, the CLI's validation);
    otherwise the message says why and nothing changes.
``quick``
    The scenario changed: the fast engine answers when it can be trusted (``answer``
    store: the key of the answer the server keeps in memory); otherwise the page says so
    and asks for the exact engine (``pending-exact`` store).
``exact``
    The exact engine answers while the progress line shows (Dash's ``running``).
``show``
    The answer or the unit changed: chart, pillars, summary and contrast table.

Downloads (scenario TOML, contrast CSV) are built in memory and sent to the browser.
"""

from __future__ import annotations

import base64
import re

import numpy as np

from ..errors import BayescredError
from ._dash import ALL, Input, Output, PreventUpdate, State, ctx, dcc, html, no_update
from .edits import (
    SignalEdit,
    describe,
    from_state,
    from_upload,
    signal_entry,
    to_state,
    with_crisis,
    with_horizon,
    with_signal,
    without_entry,
)
from .figures import pillar_figure, trajectory_figure, unit_rows
from .session import Explorer

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}


def register(app, explorer: Explorer) -> None:
    """Wire the page's callbacks to ``explorer``."""
    controls = explorer.signal_controls()
    n = len(controls)
    signal_ids = [f"{part}-{i}" for i in range(n) for part in ("mode", "value", "slider", "years")]

    @app.callback(Output("unit", "options"), Output("unit", "value"), Input("alliance", "value"))
    def units_of(alliance):
        units = explorer.units_by_alliance()[alliance]
        return units, units[0]

    signal_outputs = []
    for i in range(n):
        signal_outputs += [
            Output(f"mode-{i}", "value"),
            Output(f"value-{i}", "value"),
            Output(f"slider-{i}", "value"),
            Output(f"slider-{i}", "min"),
            Output(f"slider-{i}", "max"),
            Output(f"slider-{i}", "step"),
            Output(f"years-{i}", "value"),
            Output(f"years-{i}", "max"),
        ]

    @app.callback(
        Output("scenario", "data"),
        Output("message", "children"),
        Output("horizon", "value"),
        *signal_outputs,
        Input("unit", "value"),
        Input("horizon", "value"),
        Input("crisis-add", "n_clicks"),
        Input({"type": "remove", "kind": ALL, "index": ALL}, "n_clicks"),
        Input("reset", "n_clicks"),
        Input("upload", "contents"),
        *[Input(c, "value") for c in signal_ids],
        State("scenario", "data"),
        State("upload", "filename"),
        State("crisis-unit", "value"),
        State("crisis-year", "value"),
        State("crisis-outcome", "value"),
    )
    def edit(unit, horizon, _add, _remove, _reset, upload, *rest):
        values = rest[: 4 * n]
        state, filename, crisis_unit, crisis_year, outcome = rest[4 * n :]
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and not ctx.triggered[0]["value"]:
            raise PreventUpdate  # a remove button appeared (re-drawn list): not a click
        signals = [values[4 * i : 4 * i + 4] for i in range(n)]
        try:
            scenario, moved = _edited(
                explorer,
                from_state(state),
                trigger,
                unit,
                horizon,
                signals,
                upload,
                filename,
                (crisis_unit, crisis_year, outcome),
            )
            explorer.check(scenario)
        except BayescredError as exc:
            return no_update, _error(exc), no_update, *[no_update] * (8 * n)
        sync = _controls(explorer, controls, scenario, unit, trigger, signals, moved)
        return to_state(scenario), "", scenario.horizon, *sync

    @app.callback(Output("entries", "children"), Input("scenario", "data"))
    def entries(state):
        lines = describe(from_state(state))
        if not lines:
            return html.P("no changes yet: the baseline", className="info")
        return [
            html.Div(
                [
                    html.Button(
                        "×",
                        id={"type": "remove", "kind": kind, "index": i},
                        title="remove this entry",
                    ),
                    html.Span(text),
                ],
                className="row entry",
            )
            for kind, i, text in lines
        ]

    @app.callback(
        Output("answer", "data"),
        Output("engine", "children"),
        Output("pending-exact", "data"),
        Input("scenario", "data"),
    )
    def quick(state):
        scenario = from_state(state)
        answer, why = explorer.quick(scenario)
        if answer is None:
            return no_update, f"{why}; re-fitting with the exact engine…", state
        return explorer.key(scenario), _engine_line(answer), None

    @app.callback(
        Output("answer", "data", allow_duplicate=True),
        Output("engine", "children", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Input("pending-exact", "data"),
        running=[(Output("progress", "style"), SHOWN, HIDDEN)],
        prevent_initial_call=True,
    )
    def exact(state):
        if not state:
            raise PreventUpdate
        scenario = from_state(state)
        try:
            answer = explorer.exact(scenario)
        except BayescredError as exc:
            return no_update, "", _error(exc)
        return explorer.key(scenario), _engine_line(answer), no_update

    @app.callback(
        Output("chart", "figure"),
        Output("pillars", "figure"),
        Output("pillars-box", "style"),
        Output("summary", "children"),
        Output("contrast", "children"),
        Input("answer", "data"),
        Input("unit", "value"),
        State("scenario", "data"),
    )
    def show(key, unit, state):
        if not key:
            raise PreventUpdate
        answer = explorer.view(key, unit)
        if answer is None:  # left the cache: the same scenario's answer again
            full, _ = explorer.quick(from_state(state))
            if full is None:
                raise PreventUpdate
            answer = explorer.view(explorer.key(from_state(state)), unit)
        figure = trajectory_figure(answer, explorer.crises(), unit)
        pillars = pillar_figure(explorer.pillars(), unit, answer.hdi_prob)
        return (
            figure,
            pillars or {"data": [], "layout": {}},
            SHOWN if pillars else HIDDEN,
            answer.text(),
            _contrast_table(answer, unit),
        )

    @app.callback(
        Output("download-toml-file", "data"),
        Input("download-toml", "n_clicks"),
        State("scenario", "data"),
        prevent_initial_call=True,
    )
    def download_toml(_clicks, state):
        scenario = from_state(state)
        return dcc.send_string(scenario.to_toml(), f"{_file_stem(scenario.name)}.toml")

    @app.callback(
        Output("download-csv-file", "data"),
        Input("download-csv", "n_clicks"),
        State("answer", "data"),
        State("scenario", "data"),
        prevent_initial_call=True,
    )
    def download_csv(_clicks, key, state):
        answer = explorer.answer_for(key) if key else None
        if answer is None:
            answer, _ = explorer.quick(from_state(state))
        if answer is None:
            raise PreventUpdate
        name = f"{_file_stem(answer.scenario.name)}_contrast.csv"
        return dcc.send_string(answer.contrast().to_csv(index=False), name)


def _edited(explorer, scenario, trigger, unit, horizon, signals, upload, filename, crisis):
    """The scenario after the control ``trigger`` moved, and the signal index moved (or
    None)."""
    if trigger == "reset":
        return from_state(None), None
    if trigger == "upload":
        return from_upload(_decode(upload, filename), filename), None
    if trigger == "horizon":
        return with_horizon(scenario, horizon or 0), None
    if trigger == "crisis-add":
        crisis_unit, year, outcome = crisis
        return with_crisis(scenario, crisis_unit, year, outcome), None
    if isinstance(trigger, dict):
        return without_entry(scenario, trigger["kind"], trigger["index"]), None
    match = re.fullmatch(r"(mode|value|slider|years)-(\d+)", str(trigger))
    if not match:  # the unit changed (or the page opened): only the controls follow
        return scenario, None
    i = int(match[2])
    mode, value, slider, years = signals[i]
    if match[1] == "mode":  # the controls show the new mode; the scenario changes once a
        return scenario, i  # value is given
    if match[1] == "slider":
        value = slider
    first, last = years
    name = explorer.panel.signals[i]
    return with_signal(scenario, unit, name, SignalEdit(mode, value, first, last)), i


def _controls(explorer, controls, scenario, unit, trigger, signals, moved) -> list:
    """The signal controls' values after the edit: those of the signal moved follow the
    user (slider and number box kept in step); the others show the unit's entries."""
    first, last = explorer.years
    end = last + scenario.horizon
    out = []
    for i, control in enumerate(controls):
        if i == moved:
            mode, value, slider, years = signals[i]
            if str(trigger).startswith("mode"):
                value = None
            elif str(trigger).startswith("slider"):
                value = slider
        else:
            entry = signal_entry(scenario, unit, control.name)
            if entry is None:
                mode, value, years = "by", 0.0, [first, end]
            else:
                mode, value, years = entry.mode, entry.value, [entry.first, entry.last]
        low, high, step = control.bounds(mode)
        shown = value
        if value is None:
            start = explorer.last_value(unit, control.name) if mode == "value" else None
            shown = {"by": 0.0, "factor": 1.0}.get(mode, start if start is not None else low)
        slider_value = float(np.clip(shown, low, high))
        years = [max(min(years[0], end), first), max(min(years[1], end), first)]
        out += [mode, value, slider_value, low, high, step, years, end]
    return out


def _decode(contents: str, filename: str | None) -> str:
    """An uploaded file's text (``data:...;base64,...``)."""
    from ..errors import SpecError

    try:
        return base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError):
        raise SpecError(f"{filename}: cannot read the scenario as UTF-8 text") from None


def _error(exc: Exception) -> html.Div:
    """The error as ``bayescred whatif`` prints it: one line."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return html.Div(f"error: {text}", className="error", role="alert")


def _engine_line(answer) -> str:
    k = "" if answer.pareto_k is None else f", Pareto k {answer.pareto_k:.2f}"
    # the page asks the fast engine first and applies auto's rule itself (Explorer.quick)
    reason = answer.reason.replace("fast engine requested", "fast engine chosen as auto would")
    return f"engine: {answer.engine}{k} — {reason} ({answer.timings['total_s']:.2f} s)"


def _contrast_table(answer, unit: str) -> html.Table:
    rows = unit_rows(answer.contrast(), unit)
    pct = round(answer.hdi_prob * 100)
    head = ["year", "mean", "sd", f"{pct}% HDI low", f"{pct}% HDI high", "P(up)"]
    body = [
        html.Tr(
            [html.Td(str(int(r.year)))]
            + [html.Td(f"{r.mean:+.3f}"), html.Td(f"{r.sd:.3f}")]
            + [html.Td(f"{v:+.3f}") for v in (r.hdi_low, r.hdi_high)]
            + [html.Td(f"{r.p_up:.3f}")],
            className="moved" if r.hdi_low > 0 or r.hdi_high < 0 else "",
        )
        for r in rows.itertuples()
    ]
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="contrast",
        id="contrast-table",
    )


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "scenario"
