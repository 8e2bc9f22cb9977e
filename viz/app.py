"""The jjjsim web app (Dash): a live model with lever controls, and a results explorer.

Every script, stylesheet and font comes from the installed Python packages (``serve_locally``; no CDN), so the
app works on an intranet without internet access. :func:`serve` runs it on one port; the live model of each
browser tab is held server-side (:mod:`jjjsim.viz.app_live`).
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path

from dash import Dash, Input, Output, dcc, html
from jjjsim.model.param import ConfigError
from jjjsim.model.params import REGISTRY
from jjjsim.viz import app_live, app_results

ASSETS = Path(__file__).with_name("assets")
__all__ = ["create_app", "serve"]


def create_app(results: Path | None = None, *, scale: float = app_live.DEFAULT_SCALE) -> Dash:
    """The Dash app: the live model at ``/live`` and the results of a sweep folder at ``/results``.

    ``/`` is the live page, or the results page when ``results`` is given. ``scale`` is the agent scale of the
    live models (registry bounds). Raises :class:`ConfigError` for a folder that ``load_results`` refuses or a
    scale out of bounds.
    """
    scale = REGISTRY["scale"].validate(scale, "app")
    loaded = None
    if results is not None:
        from jjjsim.viz.data import load_results

        loaded = load_results(results)
    app = Dash(
        __name__,
        title="jjjsim",
        update_title=None,
        serve_locally=True,
        assets_folder=str(ASSETS),
        external_scripts=[],
        external_stylesheets=[],
        suppress_callback_exceptions=False,
    )
    home = "/results" if loaded is not None else "/live"
    nav = html.Nav(
        [
            html.Span("jjjsim", className="brand"),
            html.Span("Jing-Jin-Ji innovation ecosystem", className="subtitle"),
            dcc.Link("Live model", href="/live", id="nav-live"),
            dcc.Link("Results", href="/results", id="nav-results"),
        ],
        className="nav",
    )
    app.layout = html.Div([dcc.Location(id="url"), nav, html.Main(id="page")])
    app.validation_layout = html.Div(
        [app.layout, app_live.layout(scale), app_results.layout(loaded)]  # every id a callback names
    )
    app_live.register(app, scale=scale)
    app_results.register(app, loaded)

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(path: str | None) -> html.Div:
        path = (path or "/").rstrip("/") or "/"
        if path == "/":
            path = home
        if path == "/live":
            return app_live.layout(scale)
        if path == "/results":
            return app_results.layout(loaded)
        return html.Div(
            [
                html.H2("No such page"),
                html.P([dcc.Link("Live model", href="/live"), " · ", dcc.Link("Results", href="/results")]),
            ],
            className="missing",
        )

    return app


def check_port(host: str, port: int) -> None:
    """Raise :class:`ConfigError` unless ``host:port`` can be listened on (checked as the server binds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as werkzeug chooses
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError("--host", host, "an address of this machine", e.strerror) from None
    addr = infos[0][4]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a closing socket is no clash
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError("--port", str(port), "a free port", "already in use by another program") from None
            if e.errno in (errno.EACCES, errno.EPERM):
                raise ConfigError("--port", str(port), "a port this user may open", "permission denied") from None
            raise ConfigError("--host", host, "an address of this machine", e.strerror) from None


def serve(host: str = "127.0.0.1", port: int = 8050, results: Path | None = None) -> None:
    """Run the app until interrupted (no debug mode, no reloader). Raises :class:`ConfigError` for a port in
    use, a host that is not this machine's, or a results folder that cannot be read."""
    check_port(host, port)
    app = create_app(results)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request (the live page polls)
    app.run(host=host, port=port, debug=False)
