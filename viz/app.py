"""The jjjsim web app (Dash): a live model with lever controls, and a results explorer.

Every script, stylesheet and font comes from the installed Python packages (``serve_locally``; no CDN), so the
app works on an intranet without internet access. :func:`serve` runs it on one port; the live model of each
browser tab is held server-side (:mod:`jjjsim.viz.app_live`, which also states what one tab and the server may
cost).

Nothing a client sends is trusted: a callback request is refused with 400 unless it names a callback of this app
with the inputs and state that callback declares (:func:`callback_body_problem`), bodies over
:data:`MAX_REQUEST_BYTES` get 413, and each callback checks its values against what the page offered.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
from pathlib import Path
from typing import Any

from dash import Dash, Input, Output, dcc, html
from flask import request
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import REGISTRY
from jjjsim.viz import app_live, app_results

ASSETS = Path(__file__).with_name("assets")
MAX_REQUEST_BYTES = 1 << 20
"""Largest request body accepted (a callback request of the live page is ~10 KiB)."""
MAX_CHANGED = 200
"""Most ``changedPropIds`` one callback request may name."""
__all__ = ["create_app", "serve"]


def create_app(
    results: Path | None = None,
    *,
    scale: float = app_live.DEFAULT_SCALE,
    sessions: app_live.Sessions | None = None,
) -> Dash:
    """The Dash app: the live model at ``/live`` and the results of a sweep folder at ``/results``.

    ``/`` is the live page, or the results page when ``results`` is given. ``scale`` is the agent scale of the
    live models (registry bounds); ``sessions`` the store of live runs (its cap and budgets; the defaults of
    :mod:`~jjjsim.viz.app_live` when None). The scenarios the live page offers are resolved here, once (the
    built-ins and those of the folder's experiment). Raises :class:`ConfigError` for a folder that
    ``load_results`` refuses or a scale out of bounds.

    The app keeps what it serves as ``app.jjjsim_scenarios`` (name -> parameters), ``app.jjjsim_sessions`` and
    ``app.jjjsim_tables`` (the results page's tables, or None).
    """
    scale = REGISTRY["scale"].validate(scale, "app")
    loaded = None
    if results is not None:
        from jjjsim.experiments.results import load_results

        loaded = load_results(results)
    scenarios = app_live.offered_scenarios(loaded)
    app = Dash(
        __name__,
        title="jjjsim",
        update_title="",  # the tab's title stays as it is while a callback runs
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
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.layout = html.Div([dcc.Location(id="url"), nav, html.Main(id="page")])
    app.validation_layout = html.Div(  # type: ignore[assignment]  # Dash declares it None until set
        [app.layout, app_live.layout(scale, scenarios), app_results.layout(loaded)]  # every id a callback names
    )
    app.jjjsim_scenarios = scenarios  # type: ignore[attr-defined]  # what it serves, for the tests
    app.jjjsim_sessions = app_live.register(app, scale=scale, sessions=sessions, scenarios=scenarios)  # type: ignore[attr-defined]
    app.jjjsim_tables = app_results.register(app, loaded)  # type: ignore[attr-defined]

    @app.server.before_request
    def check_callback_request() -> Any:
        if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
            return None
        problem = callback_body_problem(request.get_json(silent=True), app.callback_map)
        if problem:
            return f"Bad callback request: {problem}.", 400, {"Content-Type": "text/plain; charset=utf-8"}
        return None

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def route(path: Any) -> html.Div:
        path = (path if isinstance(path, str) and path else "/").rstrip("/") or "/"
        if path == "/":
            path = home
        if path == "/live":
            return app_live.layout(scale, scenarios)
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


def _declared(output: str) -> list[tuple[str, str]]:
    """The (id, property) pairs of a callback's output string (``a.b`` or ``..a.b...c.d..``)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [tuple(p.rsplit(".", 1)) for p in parts]  # type: ignore[misc]


def _matches(cid: Any, pattern: dict[str, Any]) -> bool:
    """Whether a component id matches a pattern-matching id (same keys; wildcards, ``["ALL"]`` and the like,
    match a string or number, every other value itself), as Dash requires of the outputs it is sent."""
    if not isinstance(cid, dict) or set(cid) != set(pattern):
        return False
    for key, want in pattern.items():
        wild = isinstance(want, list) and len(want) == 1 and want[0] in ("ALL", "MATCH", "ALLSMALLER")
        got = cid[key]
        if wild and not (isinstance(got, str | int | float) and not isinstance(got, bool)):
            return False
        if not wild and got != want:
            return False
    return True


def _entry_problem(entry: Any, cid: str, prop: str, what: str) -> str:
    """Why one input, state or output entry of a request does not match its declaration ("" if it does)."""
    if cid.startswith("{"):  # a pattern-matching id: a list of the components it matches
        if not isinstance(entry, list):
            return f"{what} {cid}.{prop} is not a list"
        pattern = json.loads(cid)
        for item in entry:
            if not isinstance(item, dict) or item.get("property") != prop or not _matches(item.get("id"), pattern):
                return f"{what} {cid}.{prop} holds an entry that does not match it"
        return ""
    if not isinstance(entry, dict) or entry.get("id") != cid or entry.get("property") != prop:
        return f"{what} {cid}.{prop} is not as declared"
    return ""


def callback_body_problem(body: Any, callbacks: dict[str, Any]) -> str:
    """Why a ``/_dash-update-component`` body is not a request for one of ``callbacks`` ("" if it is one): it
    must name a callback's output, and send the outputs, inputs and state that callback declares (ids and
    properties; values are the callbacks' own business), and a list of changed props."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return "no such callback"
    cb = callbacks[output]
    declared = _declared(output)
    outputs = body.get("outputs")
    if not output.startswith(".."):
        outputs = [outputs]
    if not isinstance(outputs, list) or len(outputs) != len(declared):
        return f"expected {len(declared)} outputs"
    for entry, (cid, prop) in zip(outputs, declared, strict=True):
        if problem := _entry_problem(entry, cid, prop, "output"):
            return problem
    for key in ("inputs", "state"):
        sent, spec = body.get(key, [] if key == "state" else None), cb.get(key, [])
        if not isinstance(sent, list) or len(sent) != len(spec):
            return f"expected {len(spec)} {key}"
        for entry, d in zip(sent, spec, strict=True):
            if problem := _entry_problem(entry, d["id"], d["property"], key):
                return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or len(changed) > MAX_CHANGED or not all(isinstance(c, str) for c in changed):
        return f"changedPropIds is not a list of at most {MAX_CHANGED} strings"
    return ""


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
