"""``bayescred serve``: the what-if engine with a face, a local web page on one result.

The page is a `Dash <https://dash.plotly.com>`_ app (docs/explorer.md says why Dash):
:mod:`~bayescred.explorer.session` holds the result and the answers (no web framework),
:mod:`~bayescred.explorer.edits` turns control changes into scenarios,
:mod:`~bayescred.explorer.figures` draws, :mod:`~bayescred.explorer.layout` and
:mod:`~bayescred.explorer.callbacks` are the page.

>>> from bayescred.explorer import build_app, Explorer            # doctest: +SKIP
>>> app = build_app(Explorer.open("result.nc"))                   # a dash.Dash  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import BayescredError, SettingError
from . import _dash
from .session import Explorer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
MISSING = "bayescred serve needs Dash, which is not installed: pip install 'bayescred[serve]'"

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Explorer", "build_app", "make_server", "serve"]


def build_app(explorer: Explorer):
    """The Dash app of ``explorer``'s result (a ``dash.Dash``; its ``.server`` is the WSGI
    application).  Everything it serves comes from the installed packages: no network."""
    _require_dash()
    from .callbacks import register
    from .layout import INDEX, page

    app = _dash.Dash(
        __name__,
        title="bayescred explorer",
        update_title=None,
        serve_locally=True,
        assets_folder=str(Path(__file__).parent / "_no_assets"),  # none: nothing to read
    )
    app.index_string = INDEX
    app.layout = page(explorer)
    register(app, explorer)
    return app


def make_server(explorer: Explorer, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """A threaded WSGI server of the page (``serve_forever()``, ``shutdown()``); port 0
    picks a free one (``server.server_port``)."""
    app = build_app(explorer)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    try:
        return _dash.make_server(host, port, app.server, threaded=True)
    except OSError as exc:
        raise SettingError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def serve(path: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, say=print):
    """Read the result at ``path`` and serve its explorer until interrupted."""
    _require_dash()
    explorer = Explorer.open(path)
    server = make_server(explorer, host, port)
    if host not in (DEFAULT_HOST, "localhost", "::1"):
        say(f"note: serving on {host}: anyone who can reach this machine can open the page")
    say(f"bayescred explorer on http://{host}:{server.server_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _require_dash() -> None:
    if _dash.dash is None:
        raise BayescredError(MISSING)
