"""The lever controls generated from the registry, and the page's layout."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
from dash import dcc, html
from jjjsim.model.params import REGISTRY, Params
from jjjsim.model.registry import Param
from jjjsim.viz import theme

if TYPE_CHECKING:
    pass

from .checks import timeline_text
from .figures import _series_title
from .limits import COMPARE_METRICS, FIELD_LABELS, FLOW_KINDS, PLAY_MS, RUN_QUARTERS, SETUP_LEVERS
from .sessions import builtin_scenarios


# ---- controls ------------------------------------------------------------------------------------
def slider_step(p: Param) -> float:
    """A round slider step: 1 for whole numbers, else the power of ten nearest below 1/100 of the range."""
    if p.kind == "int":
        return 1
    lo, hi = p.bounds or (0.0, 1.0)
    return float(10.0 ** np.floor(np.log10((hi - lo) / 100)))


def _sub_label(p: Param, key: str) -> str:
    return FIELD_LABELS.get(key, key) if p.per == "field" else key.replace("-", " – ")


def lever_control(name: str, key: str, value: Any) -> Any:
    """The control of one lever (or one region, pair or field of it): a slider, or a dropdown for a choice."""
    p = REGISTRY[name]
    cid = {"type": "lever", "name": name, "key": key}
    if p.kind == "choice":
        options = [{"label": c.replace("_", " "), "value": c} for c in p.choices]
        return dcc.Dropdown(id=cid, options=options, value=value, clearable=False, className="lever-choice")
    lo, hi = p.bounds or (0.0, 1.0)
    return dcc.Slider(
        id=cid,
        min=lo,
        max=hi,
        step=slider_step(p),
        value=value,
        marks={lo: f"{lo:g}", hi: f"{hi:g}"},
        updatemode="mouseup",
        className="lever-slider",
    )


def lever_panel(values: dict[str, Any]) -> list[Any]:
    """One collapsible section per group of the brief, one labelled control per lever (per region, pair or
    field where the lever has one value each)."""
    sections = []
    for group, names in theme.levers_by_group().items():
        items = []
        for name in names:
            p = REGISTRY[name]
            badge = [html.Span("at reset", className="badge", title="Acts when the world is built")] * (
                name in SETUP_LEVERS
            )
            head = html.Div([html.Span(theme.lever_title(name)), *badge], className="lever-label")
            if p.per:
                rows = [
                    html.Div(
                        [html.Span(_sub_label(p, k), className="sub-label"), lever_control(name, k, values[name][k])],
                        className="sub-lever",
                    )
                    for k in p.keys
                ]
            else:
                rows = [lever_control(name, "", values[name])]
            items.append(html.Div([head, *rows], className="lever", title=f"{p.measure}: {p.causal_path}"))
        sections.append(html.Details([html.Summary(group), *items], open=True, className="lever-group"))
    return sections


def layout(scale: float, scenarios: dict[str, Params] | None = None) -> html.Div:
    """The live page (a new session id each time it is rendered); ``scenarios`` are the offered ones (name ->
    parameters; the built-ins by default)."""
    offered = builtin_scenarios() if scenarios is None else scenarios
    base = offered["baseline"].values
    names = list(offered)
    n_agents = f"about {int(round(19000 * scale, -2)):,} agents"
    return html.Div(
        [
            dcc.Store(id="live-session", data=uuid.uuid4().hex, storage_type="memory"),
            dcc.Interval(id="live-interval", interval=PLAY_MS, disabled=True),
            html.Aside(
                [
                    html.Label("Scenario", htmlFor="live-scenario"),
                    dcc.Dropdown(
                        id="live-scenario",
                        options=[{"label": n, "value": n} for n in names],
                        value="baseline",
                        clearable=False,
                    ),
                    html.Div(
                        [
                            html.Label("Seed", htmlFor="live-seed"),
                            dcc.Input(id="live-seed", type="text", value="0", debounce=True, className="seed"),
                        ],
                        className="row",
                    ),
                    html.Div(id="live-seed-msg", className="field-msg", role="alert"),
                    html.Div(
                        [
                            html.Button("Step", id="live-step", title="One quarter"),
                            html.Button("▶ Play", id="live-play", title="A quarter every 0.6 s"),
                            html.Button("Reset", id="live-reset", title="Rebuild both worlds (seed, set-up levers)"),
                        ],
                        className="buttons",
                    ),
                    html.Div(
                        [
                            html.Button("Run", id="live-run"),
                            dcc.Input(
                                id="live-run-steps",
                                type="number",
                                min=1,
                                max=RUN_QUARTERS,
                                step=1,
                                value=20,
                                className="quarters",
                            ),
                            html.Span("quarters"),
                        ],
                        className="buttons",
                    ),
                    html.Div(id="live-status", className="status", **{"aria-live": "polite"}),  # type: ignore[arg-type]
                    html.Div(id="live-message", className="message", role="alert"),
                    html.P(
                        [
                            "Lever changes are checked against the registry and act on the running model from the "
                            "next quarter. Levers marked ",
                            html.Span("at reset", className="badge"),
                            " build labs, demo bases, service platforms or the fund when the world is made: they "
                            f"take effect on Reset. Picking a scenario loads its levers and starts a new run. A Run "
                            f"goes at most {RUN_QUARTERS} quarters, and each run has a work budget. "
                            f"Scale {scale:g} ({n_agents}); the dashed lines are a baseline run with the same seed "
                            "and every lever at its default.",
                        ],
                        className="note",
                    ),
                    *lever_panel(base),
                    html.P(timeline_text(offered["baseline"]), id="live-timeline", className="note"),
                ],
                className="controls",
            ),
            html.Section(
                [
                    dcc.Graph(id="live-indicators", config={"displaylogo": False}, className="graph-wide"),
                    html.Div(
                        [
                            html.Div(
                                [
                                    dcc.RadioItems(
                                        id="live-flow-kind",
                                        options=[{"label": v, "value": k} for k, v in FLOW_KINDS.items()],
                                        value="contract_value",
                                        inline=True,
                                    ),
                                    dcc.Graph(id="live-flows", config={"displaylogo": False}),
                                ],
                                className="panel",
                            ),
                            html.Div(
                                [
                                    dcc.Dropdown(
                                        id="live-compare-metric",
                                        options=[{"label": _series_title(k), "value": k} for k in COMPARE_METRICS],
                                        value="results",
                                        clearable=False,
                                    ),
                                    dcc.Graph(id="live-compare", config={"displaylogo": False}),
                                ],
                                className="panel",
                            ),
                        ],
                        className="two",
                    ),
                ],
                className="charts",
            ),
        ],
        className="live",
    )
