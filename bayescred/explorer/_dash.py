"""The web framework, Dash, imported where it is installed (the optional ``serve`` extra:
``pip install 'bayescred[serve]'``).  :func:`bayescred.explorer.serve` says so in one line
where it is not; the explorer's page modules import it from here."""

try:
    import dash
    from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
    from dash.exceptions import PreventUpdate
    from werkzeug.serving import make_server
except ImportError:  # the [serve] extra is not installed
    dash = None

__all__ = [
    "ALL",
    "Dash",
    "Input",
    "Output",
    "PreventUpdate",
    "State",
    "ctx",
    "dash",
    "dcc",
    "html",
    "make_server",
    "no_update",
]
