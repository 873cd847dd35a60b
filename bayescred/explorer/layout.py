"""The explorer's page: the components and their ids (the callbacks in
:mod:`bayescred.explorer.callbacks` read and write them by these ids).

Left, the controls: units by alliance, one block per signal (mode, value in the signal's
units, slider, years), the horizon, a hypothetical crisis, the scenario's entries with
load/download/reset.  Right, the answer: messages, the exact engine's progress, the engine
line, the chart, the pillars (when the model has them), the summary and the contrast table.
"""

from __future__ import annotations

from ..whatif import MAX_HORIZON
from ._dash import dcc, html
from .edits import MODE_LABELS, MODES, to_state
from .session import Explorer

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 10px 18px; background: #1f3a5f; color: white; }
header h1 { font-size: 19px; margin: 0; } header p { margin: 2px 0 0; font-size: 13px; }
.page { display: flex; gap: 18px; padding: 12px 18px; }
.controls { width: 390px; flex: none; font-size: 13px; }
.answer { flex: 1; min-width: 0; }
.block { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; margin-bottom: 10px; }
.block h3 { font-size: 14px; margin: 0 0 6px; }
.row { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.row input[type=number] { width: 90px; }
.block label { display: inline-block; }
.error { background: #fde8e8; color: #8a1111; border: 1px solid #f3b4b4; padding: 8px;
         border-radius: 5px; margin-bottom: 8px; }
.info { color: #335; padding: 4px 0; }
.engine { font-size: 13px; color: #333; margin: 4px 0 8px; }
.progress { background: #fff7e0; border: 1px solid #f0d48a; padding: 8px; border-radius: 5px; }
table.contrast { border-collapse: collapse; font-size: 12px; }
table.contrast td, table.contrast th { padding: 2px 8px; text-align: right;
                                        border-bottom: 1px solid #eee; }
tr.moved td { font-weight: 600; }
button { margin: 2px 4px 2px 0; }
"""

INDEX = (
    "<!DOCTYPE html><html><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}"
    f"<style>{STYLE}</style></head><body>{{%app_entry%}}<footer>{{%config%}}{{%scripts%}}"
    "{%renderer%}</footer></body></html>"
)


def page(explorer: Explorer) -> html.Div:
    """The whole page for ``explorer``'s result."""
    first, last = explorer.years
    groups = explorer.units_by_alliance()
    alliance = next(iter(groups))
    n_units = sum(len(v) for v in groups.values())
    return html.Div(
        [
            html.Header(
                [
                    html.H1("bayescred what-if explorer"),
                    html.P(
                        f"{explorer.source}: {n_units} commitments in {len(groups)} "
                        f"alliances, {first}-{last}; fast engine, exact when it cannot be "
                        "trusted"
                    ),
                ]
            ),
            html.Div([_controls(explorer, groups, alliance), _answer()], className="page"),
            dcc.Store(id="scenario", data=to_state(_empty())),
            dcc.Store(id="answer"),
            dcc.Store(id="pending-exact"),
            dcc.Download(id="download-toml-file"),
            dcc.Download(id="download-csv-file"),
        ]
    )


def _empty():
    from ..scenario import Scenario

    return Scenario(name="explorer")


def _controls(explorer: Explorer, groups: dict, alliance: str) -> html.Div:
    first, last = explorer.years
    all_units = [u for units in groups.values() for u in units]
    return html.Div(
        [
            _block(
                "Commitment",
                [
                    html.Label("alliance"),
                    dcc.Dropdown(
                        id="alliance",
                        options=list(groups),
                        value=alliance,
                        clearable=False,
                    ),
                    dcc.RadioItems(
                        id="unit",
                        options=groups[alliance],
                        value=groups[alliance][0],
                        inline=True,
                        inputStyle={"marginRight": "3px", "marginLeft": "8px"},
                    ),
                ],
            ),
            *[
                _signal_block(i, control, first, last)
                for i, control in enumerate(explorer.signal_controls())
            ],
            _block(
                "Years beyond the data",
                [
                    html.Div(
                        [
                            html.Label("horizon"),
                            dcc.Input(
                                id="horizon",
                                type="number",
                                min=0,
                                max=MAX_HORIZON,
                                step=1,
                                value=0,
                                debounce=True,
                            ),
                            html.Span(f"(years after {last}; 0: none)"),
                        ],
                        className="row",
                    )
                ],
            ),
            _block(
                "Hypothetical crisis",
                [
                    dcc.Dropdown(
                        id="crisis-unit", options=all_units, value=all_units[0], clearable=False
                    ),
                    html.Div(
                        [
                            html.Label("year"),
                            dcc.Input(id="crisis-year", type="number", step=1, value=last),
                            dcc.RadioItems(
                                id="crisis-outcome",
                                options=["honored", "violated"],
                                value="violated",
                                inline=True,
                            ),
                        ],
                        className="row",
                    ),
                    html.Button("add crisis", id="crisis-add"),
                ],
            ),
            _block(
                "Scenario",
                [
                    html.Div(id="entries"),
                    html.Div(
                        [
                            dcc.Upload(html.Button("load TOML…"), id="upload", accept=".toml"),
                            html.Button("download TOML", id="download-toml"),
                            html.Button("reset", id="reset"),
                        ],
                        className="row",
                    ),
                ],
            ),
        ],
        className="controls",
    )


def _signal_block(i: int, control, first: int, last: int) -> html.Div:
    low, high, step = control.bounds("by")
    title = f"{control.name} ({control.family})"
    if control.description:
        title += f": {control.description}"
    return _block(
        title,
        [
            dcc.RadioItems(
                id=f"mode-{i}",
                options=[{"label": MODE_LABELS[m], "value": m} for m in MODES],
                value="by",
                inline=True,
                inputStyle={"marginRight": "3px", "marginLeft": "8px"},
            ),
            dcc.Input(id=f"value-{i}", type="number", value=0, debounce=True, step="any"),
            dcc.Slider(
                id=f"slider-{i}",
                min=low,
                max=high,
                step=step,
                value=0,
                marks=None,
                allow_direct_input=False,
                tooltip={"placement": "bottom"},
            ),
            dcc.RangeSlider(
                id=f"years-{i}", min=first, max=last, step=1, value=[first, last], marks=None
            ),
        ],
        block_id=f"signal-{i}",
    )


def _answer() -> html.Div:
    return html.Div(
        [
            html.Div(id="message"),
            html.Div(
                [
                    html.Progress(),
                    html.Span(
                        " re-fitting with the exact engine (compiling and sampling: tens of "
                        "seconds)…"
                    ),
                ],
                id="progress",
                className="progress",
                style={"display": "none"},
            ),
            html.Div(id="engine", className="engine"),
            dcc.Graph(id="chart", config={"displaylogo": False}),
            html.Div(
                dcc.Graph(id="pillars", config={"displaylogo": False}),
                id="pillars-box",
                style={"display": "none"},
            ),
            html.P(id="summary"),
            html.Div(
                [
                    html.H3("Contrast (scenario - baseline)", style={"fontSize": "14px"}),
                    html.Button("download contrast CSV", id="download-csv"),
                    html.Div(id="contrast"),
                ]
            ),
        ],
        className="answer",
    )


def _block(title: str, children: list, block_id: str | None = None) -> html.Div:
    kwargs = {"id": block_id} if block_id else {}
    return html.Div([html.H3(title), *children], className="block", **kwargs)
