"""The app's live page: lever controls generated from the registry, and a model per browser tab that steps
beside a baseline model (same seed, levers at their defaults) while its charts update.

Each page load makes a session id (a ``dcc.Store``); the models live server-side in :class:`Sessions`, one
entry and one lock per id, so tabs never share a model. Sessions idle for half an hour, or beyond the cap
(least recently used first), are dropped; a tab whose run was dropped starts a new one and says so.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from jjjsim.model.indicators import MODEL, SERIES, Indicator
from jjjsim.model.metrics import MODEL_INDICATORS, REGION_INDICATORS
from jjjsim.model.model import JJJModel
from jjjsim.model.param import ConfigError, Param
from jjjsim.model.params import LEVERS, REGISTRY
from jjjsim.model.regions import JJJ, REGIONS
from jjjsim.model.scenario import builtin_names, load_scenario
from jjjsim.viz import theme
from plotly.subplots import make_subplots

DEFAULT_SCALE = 0.25
"""Agent scale of the live models: about 4,800 agents each; a quarter of the run and its baseline takes ~16 ms and
redrawing the three charts ~60 ms (measured on 2 shared cores)."""
SETUP_LEVERS: tuple[str, ...] = (
    "shared_key_labs",
    "service_platforms",
    "demo_base_capacity",
    "fund_size",
    "fund_cross_region_share",
)
"""Levers the model reads only while building its world (labs, demo bases, service platforms, the fund):
they take effect at a reset. Every other lever acts on the running model from the next quarter."""
MAX_QUARTERS = int(REGISTRY["steps"].bounds[1])
"""Longest live run (the registry's bound on ``steps``)."""
PLAY_MS = 600
"""Interval between quarters while playing."""
MAX_SESSIONS = 16
IDLE_SECONDS = 1800.0
MAX_SEED = 2**63 - 1

KEY_INDICATORS = ("talent_fte", "results", "contract_value_sold", "value_added")
FLOW_KINDS = {
    "contract_value": "Contract value (亿元)",
    "talent_moves": "Talent moves (FTE)",
    "contract_count": "Contracts (records)",
}
COMPARE_METRICS = (
    "results",
    "results_quality",
    "contract_value_sold",
    "value_added",
    "talent_fte",
    "firms",
    "branches",
    "spinoffs",
    "cross_region_contract_value",
    "bj_to_tjhb_contract_value",
    "theil_value_added",
    "theil_results",
    "public_cost",
    "collab_fund_invested",
    "market_ready_stock",
)
"""Jing-Jin-Ji totals (region series summed over Beijing, Tianjin, Hebei) or model-level series."""
TOTALS = {  # name: (short label, summed over the run so far (True) or level now (False))
    "results": ("Results", True),
    "contract_value_sold": ("Contract value", True),
    "cross_region_contract_value": ("Cross-region contracts", True),
    "value_added": ("Value added", True),
    "talent_fte": ("R&D personnel", False),
    "firms": ("Firms", False),
    "public_cost": ("Public cost", True),
}
FIELD_LABELS = {
    "nev": "New-energy vehicles",
    "biomed": "Biomedicine",
    "ict_ai": "ICT and AI",
    "equipment": "Advanced equipment",
    "materials": "New materials",
    "energy_env": "Energy and environment",
    "aerospace": "Aerospace",
    "other": "Other",
}
RUN_COLOR = theme.SCENARIO_PALETTE[0]
BETTER, WORSE = "#009e73", "#d55e00"
_RI = {k: i for i, k in enumerate(REGION_INDICATORS)}
_MI = {k: i for i, k in enumerate(MODEL_INDICATORS)}


# ---- server-side sessions ------------------------------------------------------------------------
@dataclass
class Session:
    """One tab's run: the model with the tab's levers and its baseline, stepped in lockstep."""

    run: JJJModel
    baseline: JJJModel
    scenario: str
    seed: int
    pending: dict[str, Any] = field(default_factory=dict)
    """Set-up levers changed since the world was built (they act at the next reset)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, scenario: str, levers: dict[str, Any], seed: int, scale: float) -> Session:
        """Both models from a scenario's set-up, the levers given (validated) and a seed."""
        base = load_scenario(scenario).params.replace({"scale": scale}, where="app scale")
        run_p = base.replace(levers, where="lever controls")
        base_p = base.replace({n: p.default for n, p in LEVERS.items()}, where="baseline levers")
        return cls(
            run=JJJModel(run_p, rng=np.random.SeedSequence(seed)),
            baseline=JJJModel(base_p, rng=np.random.SeedSequence(seed)),
            scenario=scenario,
            seed=seed,
        )

    def apply(self, levers: dict[str, Any]) -> None:
        """Validate the levers; give the running ones to the model now, keep the set-up ones for a reset."""
        wanted = self.run.p.replace(levers, where="lever controls")
        running = {k: v for k, v in wanted.values.items() if k in LEVERS and k not in SETUP_LEVERS}
        self.run.use_params(self.run.p.replace(running, where="lever controls"))
        self.pending = {k: wanted.values[k] for k in SETUP_LEVERS if wanted.values[k] != self.run.p.values[k]}

    def step(self, n: int) -> None:
        """Advance both models ``n`` quarters."""
        for _ in range(n):
            self.run.step()
            self.baseline.step()


class Sessions:
    """The live models, one :class:`Session` per session id, dropped when idle or over the cap."""

    def __init__(self, cap: int = MAX_SESSIONS, idle: float = IDLE_SECONDS) -> None:
        self.cap, self.idle = cap, idle
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str | None) -> Session | None:
        """The session of ``sid`` (marked as used), or None if there is none (new, or dropped)."""
        with self._lock:
            s = self._items.get(sid or "")
            if s is not None:
                s.used = time.monotonic()
                self._items.move_to_end(sid or "")
            return s

    def put(self, sid: str, session: Session) -> None:
        """Hold ``session`` under ``sid``, dropping idle sessions and the least recently used beyond the cap."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, s in self._items.items() if now - s.used > self.idle]:
                del self._items[key]
            self._items[sid] = session
            self._items.move_to_end(sid)
            while len(self._items) > self.cap:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


# ---- input checks --------------------------------------------------------------------------------
def parse_seed(text: Any) -> int:
    """A seed typed by the user: a whole number from 0 to 2**63 - 1 (ConfigError otherwise)."""
    s = "" if text is None else str(text).strip()
    if not re.fullmatch(r"[0-9]{1,19}", s) or int(s) > MAX_SEED:
        raise ConfigError("app", "seed", f"a whole number from 0 to {MAX_SEED}", s)
    return int(s)


def parse_quarters(value: Any) -> int:
    """The number of quarters to run: a whole number in [1, MAX_QUARTERS]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if not ok or not 1 <= value <= MAX_QUARTERS:
        raise ConfigError("app", "quarters to run", f"a whole number in [1, {MAX_QUARTERS}]", value)
    return int(value)


def levers_from_controls(ids: list[dict[str, str]], values: list[Any]) -> dict[str, Any]:
    """Lever overrides from the controls' ids (``name``, ``key``) and values."""
    out: dict[str, Any] = {}
    for i, v in zip(ids, values, strict=True):
        if i["key"]:
            out.setdefault(i["name"], {})[i["key"]] = v
        else:
            out[i["name"]] = v
    return out


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


def layout(scale: float) -> html.Div:
    """The live page (a new session id each time it is rendered)."""
    base = load_scenario("baseline").params.values
    names = builtin_names()
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
                                max=MAX_QUARTERS,
                                step=1,
                                value=20,
                                className="quarters",
                            ),
                            html.Span("quarters"),
                        ],
                        className="buttons",
                    ),
                    html.Div(id="live-status", className="status", **{"aria-live": "polite"}),
                    html.Div(id="live-message", className="message", role="alert"),
                    html.P(
                        [
                            "Lever changes are checked against the registry and act on the running model from the "
                            "next quarter. Levers marked ",
                            html.Span("at reset", className="badge"),
                            " build labs, demo bases, service platforms or the fund when the world is made: they "
                            "take effect on Reset. Picking a scenario loads its levers and starts a new run. "
                            f"Scale {scale:g} ({n_agents}); the dashed lines are a baseline run with the same seed "
                            "and every lever at its default.",
                        ],
                        className="note",
                    ),
                    *lever_panel(base),
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


# ---- figures -------------------------------------------------------------------------------------
def _series_indicator(name: str) -> Indicator:
    return SERIES.get(name) or MODEL[name]


def _series_title(name: str, unit: bool = True) -> str:
    ind = _series_indicator(name)
    label = f"{ind.label}, Jing-Jin-Ji" if name in SERIES else ind.label
    return f"{label} ({ind.unit})" if unit and ind.unit else label


def quarter_dates(m: JJJModel) -> list[str]:
    """The first day of each recorded quarter (step 0 = 1 January of the start year), for a date axis."""
    start = int(m.p.start_year)
    return [f"{start + k // 4}-{3 * (k % 4) + 1:02d}-01" for k in range(m.recorder.n)]


def jjj_series(m: JJJModel, name: str) -> np.ndarray:
    """A series so far: a region indicator summed over Beijing, Tianjin and Hebei, or a model indicator."""
    rec = m.recorder
    if name in _RI:
        return rec.region[: rec.n, : len(JJJ), _RI[name]].sum(axis=1)
    return rec.model[: rec.n, _MI[name]]


def indicators_figure(run: JJJModel, base: JJJModel, lang: theme.Lang = "en") -> go.Figure:
    """Key indicators by region over time: this run (solid) and the baseline (dotted), region colours."""
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[f"{SERIES[k].label} ({SERIES[k].unit})" for k in KEY_INDICATORS],
        vertical_spacing=0.16,
        horizontal_spacing=0.09,
    )
    x = quarter_dates(run)
    mode = "lines" if len(x) > 1 else "markers"
    for i, name in enumerate(KEY_INDICATORS):
        row, col = divmod(i, 2)
        for r_i, region in enumerate(JJJ):
            color = theme.region_color(region)
            label = theme.region_name(region, lang)
            for m, suffix, dash, width in ((base, ", baseline", "dot", 1.5), (run, "", "solid", 2.2)):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=m.recorder.region[: m.recorder.n, r_i, _RI[name]],
                        name=label + suffix,
                        legendgroup=label + suffix,
                        showlegend=i == 0,
                        mode=mode,
                        line=dict(color=color, dash=dash, width=width),
                        meta=[name, region, "baseline" if suffix else "run"],
                    ),
                    row=row + 1,
                    col=col + 1,
                )
    fig.update_layout(uirevision="live", legend=dict(orientation="h", y=-0.12), margin=dict(t=50, b=40))
    fig.update_annotations(font_size=13)
    return theme.apply(fig, height=520)


def flows_figure(run: JJJModel, base: JJJModel, kind: str, lang: theme.Lang = "en") -> go.Figure:
    """Cumulative flows between regions (origin rows, destination columns) of this run; hover adds the
    baseline's value."""
    mult = run.fte_per_agent if kind == "talent_moves" else 1.0
    z = getattr(run.flows, kind) * mult
    zb = getattr(base.flows, kind) * (base.fte_per_agent if kind == "talent_moves" else 1.0)
    names = [theme.region_name(r, lang) for r in REGIONS]
    fmt = ",.0f" if kind != "contract_value" else ",.1f"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            customdata=zb,
            colorscale="Blues",
            zmin=0,
            texttemplate=f"%{{z:{fmt}}}",
            hovertemplate=f"%{{y}} → %{{x}}<br>this run %{{z:{fmt}}}<br>baseline %{{customdata:{fmt}}}<extra></extra>",
            colorbar=dict(thickness=12),
        )
    )
    fig.update_yaxes(autorange="reversed", title="from", showgrid=False)
    fig.update_xaxes(title="to", showgrid=False)
    fig.update_layout(uirevision="flows", margin=dict(l=90, r=20, t=60, b=60))
    return theme.apply(fig, title=f"{FLOW_KINDS[kind]} between regions since the start", height=560)


def compare_figure(run: JJJModel, base: JJJModel, metric: str) -> go.Figure:
    """This run against the baseline: one series over time (top), and key totals so far as % differences."""
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.58, 0.42],
        vertical_spacing=0.16,
        subplot_titles=[_series_title(metric), "This run against the baseline so far (% difference)"],
    )
    x = quarter_dates(run)
    mode = "lines" if len(x) > 1 else "markers"
    for m, name, color, dash in ((run, "This run", RUN_COLOR, None), (base, "Baseline", theme.BASELINE_COLOR, "dot")):
        fig.add_trace(
            go.Scatter(x=x, y=jjj_series(m, metric), name=name, mode=mode, line=dict(color=color, dash=dash)), 1, 1
        )
    labels, pct, colors = [], [], []
    for name, (label, summed) in TOTALS.items():
        a, b = jjj_series(run, name), jjj_series(base, name)
        a, b = (a[1:].sum(), b[1:].sum()) if summed else (a[-1], b[-1])
        d = 100.0 * (a / b - 1.0) if b else 0.0
        labels.append(label)
        pct.append(d)
        good = d * _series_indicator(name).better
        colors.append(BETTER if good > 0 else WORSE if good < 0 else theme.BASELINE_COLOR)
    fig.add_trace(
        go.Bar(
            x=pct,
            y=labels,
            orientation="h",
            marker_color=colors,
            showlegend=False,
            name="difference",
            texttemplate="%{x:+.1f}%",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:+.1f}%<extra></extra>",
        ),
        2,
        1,
    )
    span = max(1.0, *(abs(v) for v in pct)) * 1.35
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_xaxes(range=[-span, span], zeroline=True, zerolinecolor="#999", ticksuffix="%", row=2, col=1)
    fig.update_layout(
        uirevision=metric,
        legend=dict(x=0.01, xanchor="left", y=1.0, yanchor="top", orientation="h"),
        margin=dict(l=150, t=60, b=30),
    )
    fig.update_annotations(font_size=13)
    return theme.apply(fig, height=560)


def _status(s: Session, scale: float) -> list[Any]:
    n = s.run.steps
    year, q = int(s.run.p.start_year) + n // 4, n % 4 + 1
    out: list[Any] = [
        html.Span("Quarter "),
        html.Strong(str(n), id="live-step-count"),
        f" · {year} Q{q} · {s.scenario} · seed {s.seed} · scale {scale:g}",
    ]
    changed = [k for k in LEVERS if s.run.p.values[k] != s.baseline.p.values[k]]
    out.append(
        html.Div(
            f"Levers off the baseline: {', '.join(REGISTRY[k].label for k in changed)}."
            if changed
            else "Every lever at the baseline.",
            id="live-levers-changed",
            className="changed",
        )
    )
    if s.pending:
        names = ", ".join(REGISTRY[k].label for k in s.pending)
        out.append(
            html.Div(f"Set-up levers moved ({names}): press Reset to build the world with them.", className="pending")
        )
    return out


# ---- callbacks -----------------------------------------------------------------------------------
def register(app: Dash, scale: float = DEFAULT_SCALE, sessions: Sessions | None = None) -> Sessions:
    """Add the live page's callbacks to ``app``; returns the session store they use."""
    store = sessions if sessions is not None else Sessions()
    lever_ids = {"type": "lever", "name": ALL, "key": ALL}

    @app.callback(
        Output(lever_ids, "value"),
        Input("live-scenario", "value"),
        State(lever_ids, "id"),
        prevent_initial_call=True,
    )
    def load_levers(scenario: str, ids: list[dict[str, str]]) -> list[Any]:
        values = load_scenario(scenario).params.values
        return [values[i["name"]][i["key"]] if i["key"] else values[i["name"]] for i in ids]

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
        State("live-interval", "disabled"),
    )
    def update(
        sid: str,
        _step: Any,
        _run: Any,
        _play: Any,
        _reset: Any,
        _tick: Any,
        scenario: str,
        values: list[Any],
        flow: str,
        metric: str,
        ids: list[dict[str, str]],
        seed: Any,
        quarters: Any,
        paused: bool,
    ) -> tuple[Any, ...]:
        fired = {k.partition(".")[0] for k in ctx.triggered_prop_ids}
        levers_fired = any(k.startswith("{") for k in fired)
        levers = levers_from_controls(ids, values)
        messages: list[str] = []
        session = store.get(sid)
        if session is None and fired - {"live-session"}:
            messages.append("This tab's run had been closed after a long idle time; a new run has started.")
        if session is None or fired & {"live-reset", "live-scenario"}:
            try:
                new = Session.build(scenario, levers, parse_seed(seed), scale)
            except ConfigError as e:
                messages.append(str(e))
                if session is None:
                    return (no_update,) * 3 + ("", " ".join(messages), True, "▶ Play")
            else:
                store.put(sid, new)
                session, paused = new, True
                fired = set()  # a fresh world: no step, lever or play action left to do
        n = 0
        if "live-play" in fired:
            paused = not paused
        if "live-step" in fired or ("live-interval" in fired and not paused):
            n = 1
        if "live-run" in fired:
            try:
                n = parse_quarters(quarters)
            except ConfigError as e:
                messages.append(str(e))
        with session.lock:
            if levers_fired:
                try:
                    session.apply(levers)
                except ConfigError as e:
                    messages.append(str(e))
            room = MAX_QUARTERS - session.run.steps
            if n > room or (not paused and room == 0):
                messages.append(f"A live run stops at {MAX_QUARTERS} quarters: press Reset to start again.")
                n, paused = room, True
            session.step(n)
            redraw = n > 0 or not fired or bool(fired & {"live-flow-kind", "live-compare-metric", "live-session"})
            figs = (
                (
                    indicators_figure(session.run, session.baseline),
                    flows_figure(session.run, session.baseline, flow),
                    compare_figure(session.run, session.baseline, metric),
                )
                if redraw
                else (no_update,) * 3
            )
            status = _status(session, scale)
        return (*figs, status, " ".join(messages), paused, "▶ Play" if paused else "⏸ Pause")

    return store
