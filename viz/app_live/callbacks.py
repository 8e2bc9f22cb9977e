"""The page's callbacks: every request checked, bounded and applied to its tab's session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import Params

if TYPE_CHECKING:
    pass

from .checks import (
    check_choice,
    check_lever_ids,
    check_levers,
    check_scenario,
    check_session,
    parse_quarters,
    parse_seed,
    timeline_text,
)
from .figures import _status, compare_figure, flows_figure, indicators_figure
from .limits import BUSY_WAIT_S, COMPARE_METRICS, DEFAULT_SCALE, FLOW_KINDS, MAX_BUSY, MAX_QUARTERS
from .sessions import Session, Sessions, builtin_scenarios

# ---- callbacks -----------------------------------------------------------------------------------
PLAY, PAUSE = "▶ Play", "⏸ Pause"


def register(
    app: Dash,
    scale: float = DEFAULT_SCALE,
    sessions: Sessions | None = None,
    scenarios: dict[str, Params] | None = None,
) -> Sessions:
    """Add the live page's callbacks to ``app``; returns the session store they use. ``scenarios`` are the
    offered ones (name -> parameters, resolved before: the built-ins by default); no callback reads a file."""
    store = sessions if sessions is not None else Sessions()
    offered = builtin_scenarios() if scenarios is None else dict(scenarios)
    lever_ids = {"type": "lever", "name": ALL, "key": ALL}

    @app.callback(
        Output(lever_ids, "value"),
        Input("live-scenario", "value"),
        State(lever_ids, "id"),
        prevent_initial_call=True,
    )
    def load_levers(scenario: Any, ids: Any) -> list[Any]:
        try:
            name = check_scenario(scenario, offered)
            pairs = check_lever_ids(ids)
        except ConfigError:
            raise PreventUpdate from None  # the page's other callback says why
        if [o.get("id") if isinstance(o, dict) else None for o in ctx.outputs_list] != ids:
            raise PreventUpdate  # the outputs asked for are not the controls named
        values = offered[name].values
        return [values[n][k] if k else values[n] for n, k in pairs]

    @app.callback(Output("live-timeline", "children"), Input("live-scenario", "value"), prevent_initial_call=True)
    def show_timeline(scenario: Any) -> str:
        try:
            return timeline_text(offered[check_scenario(scenario, offered)])
        except ConfigError:
            raise PreventUpdate from None  # the page's other callback says why

    @app.callback(Output("live-seed-msg", "children"), Input("live-seed", "value"), prevent_initial_call=True)
    def check_seed(seed: Any) -> str:
        try:
            parse_seed(seed)
        except ConfigError as e:
            return f"{e} — the seed is used when you press Reset."
        return ""

    @app.callback(
        Output("live-indicators", "figure"),
        Output("live-flows", "figure"),
        Output("live-compare", "figure"),
        Output("live-status", "children"),
        Output("live-message", "children"),
        Output("live-interval", "disabled"),
        Output("live-play", "children"),
        Input("live-session", "data"),
        Input("live-step", "n_clicks"),
        Input("live-run", "n_clicks"),
        Input("live-play", "n_clicks"),
        Input("live-reset", "n_clicks"),
        Input("live-interval", "n_intervals"),
        Input("live-scenario", "value"),
        Input(lever_ids, "value"),
        Input("live-flow-kind", "value"),
        Input("live-compare-metric", "value"),
        State(lever_ids, "id"),
        State("live-seed", "value"),
        State("live-run-steps", "value"),
    )
    def update(
        sid: Any,
        _step: Any,
        _run: Any,
        _play: Any,
        _reset: Any,
        _tick: Any,
        scenario: Any,
        values: Any,
        flow: Any,
        metric: Any,
        ids: Any,
        seed: Any,
        quarters: Any,
    ) -> tuple[Any, ...]:
        try:
            sid = check_session(sid)
        except ConfigError as e:
            return (no_update,) * 4 + (str(e), True, PLAY)
        if not store.busy.acquire(timeout=BUSY_WAIT_S):
            busy = f"The server is busy with {MAX_BUSY} other runs; try again in a moment."
            return (no_update,) * 4 + (busy, True, PLAY)
        try:
            return _update(sid, scenario, values, flow, metric, ids, seed, quarters)
        finally:
            store.busy.release()

    def _update(
        sid: str, scenario: Any, values: Any, flow: Any, metric: Any, ids: Any, seed: Any, quarters: Any
    ) -> tuple[Any, ...]:
        fired = {k.partition(".")[0] for k in ctx.triggered_prop_ids}
        levers_fired = any(k.startswith("{") for k in fired)
        messages: list[str] = []
        levers: dict[str, Any] | None = None
        try:
            levers = check_levers(ids, values)
        except ConfigError as e:
            messages.append(f"{e}; no lever was changed.")
        shown: dict[str, str | None] = {}
        for what, value, keys in (("flow kind", flow, FLOW_KINDS), ("compare metric", metric, COMPARE_METRICS)):
            try:
                shown[what] = check_choice(value, keys, what)
            except ConfigError as e:
                shown[what] = None
                messages.append(str(e))
        session = store.get(sid)
        lost = ""
        if session is None and fired - {"live-session"}:  # the tab had a run: say what became of it
            lost = store.dropped(sid) or "This tab's run is no longer on the server."
        if (session is None or fired & {"live-reset", "live-scenario"}) and levers is not None:
            try:
                new = Session.build(scenario, levers, parse_seed(seed), scale, offered, store.budget)
            except ConfigError as e:
                messages.append(str(e))
            else:
                lost = f"{lost} A new run has started." if lost else ""
                store.put(sid, new)
                session = new
                fired = set()  # a fresh world: no step, lever or play action left to do
        if lost:
            messages.insert(0, lost)
        if session is None:
            return (no_update,) * 3 + ("", " ".join(messages), True, PLAY)
        n = 0
        stepped = False
        with session.lock:  # the play state is the session's: requests of one tab change it one at a time
            if levers is not None:
                if "live-play" in fired:
                    session.playing = not session.playing
                if "live-step" in fired or ("live-interval" in fired and session.playing):
                    n = 1
                if "live-run" in fired:
                    try:
                        n = parse_quarters(quarters)
                    except ConfigError as e:
                        messages.append(str(e))
            if levers_fired and levers is not None:
                try:
                    session.apply(levers)
                except ConfigError as e:
                    messages.append(str(e))
            room = MAX_QUARTERS - session.run.steps
            if n > room or (session.playing and room == 0):
                messages.append(f"A live run stops at {MAX_QUARTERS} quarters: press Reset to start again.")
                n, session.playing = room, False
            if n == 0 and session.playing and session.stopped:  # play pressed on a run that can step no more
                messages.append(session.stopped)
                session.playing = False
            if n > 0:
                why = session.stopped or session.too_much(n)
                if not why:
                    before = session.run.steps
                    why = session.advance(n, store.per_request)
                    stepped = session.run.steps > before
                if why:
                    messages.append(why)
                    if session.stopped or not stepped:
                        session.playing = False
            redraw = stepped or not fired or bool(fired & {"live-flow-kind", "live-compare-metric", "live-session"})
            flow_kind, metric = shown["flow kind"], shown["compare metric"]
            figs = (
                indicators_figure(session.run, session.baseline) if redraw else no_update,
                flows_figure(session.run, session.baseline, flow_kind) if redraw and flow_kind else no_update,
                compare_figure(session.run, session.baseline, metric) if redraw and metric else no_update,
            )
            status = _status(session, scale)
            playing = session.playing
        return (*figs, status, " ".join(messages), not playing, PAUSE if playing else PLAY)

    return store
