"""The app's live page: lever controls generated from the registry, and a model per browser tab that steps
beside a baseline model (same seed, levers at their defaults) while its charts update.

Each page load makes a session id (a ``dcc.Store``); the models live server-side in :class:`Sessions`, one
entry and one lock per id, so tabs never share a model.

Every value a client sends is checked against what the server offered before anything acts on it (Dash checks
none: any client can POST its own values and pattern-matched ids): the scenario is one of the names offered
(the built-ins and, with a results folder, its experiment's scenarios by label; their parameters are read once,
at start, so no request reads a file), the lever controls are exactly the (name, key) ids of the page, each once,
with values the registry accepts, and the flow kind, compare metric, seed, quarters and session id are each one
of the offered values or in range. Anything else is a one-line message and nothing is applied.

What one tab, and the server, may cost (the constants below):

- a request runs at most :data:`RUN_QUARTERS` (40) quarters and :data:`REQUEST_AGENT_STEPS` (4 M) agent-steps
  (a few seconds); a live run stops at :data:`MAX_QUARTERS` (the registry's bound on ``steps``);
- each of a tab's two models (its run and the baseline) has a :class:`~jjjsim.model.budget.Budget` of
  :data:`MODEL_AGENT_STEPS` (30 M, ~25 s of one core) agent-steps and :data:`MODEL_MEMORY_MB` (64 MiB) of tables,
  so one run of a tab costs at most :data:`TAB_AGENT_STEPS` (60 M agent-steps, ~50 s of CPU) and holds at most
  :data:`TAB_MEMORY_MB` (130 MiB, tables and recorders); a Run whose quarters x what the models hold would pass
  the budget is refused before it steps, and a run that reaches the budget stops with its one-line message
  (Reset starts a new run with a new budget);
- at most :data:`MAX_SESSIONS` (16) live runs are held, so the models hold at most :data:`TOTAL_MEMORY_MB`
  (2,080 MiB); at most :data:`MAX_BUSY` (4) requests build or step models at once (others wait up to
  :data:`BUSY_WAIT_S`, then are told the server is busy).

Runs idle for :data:`IDLE_SECONDS` (30 min) are dropped, and beyond the cap the least recently used; the ids of
the last :data:`DROPPED_RECORD` dropped runs are kept with the reason, so a tab whose run was dropped is told
which (the server's limit reached, or idle) and starts a new run.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from jjjsim.model.budget import Budget, BudgetExceeded
from jjjsim.model.errors import MAX_SEED, ConfigError, check_seed, did_you_mean
from jjjsim.model.indicators import KEY_SERIES, MODEL, SERIES, Indicator
from jjjsim.model.metrics import MODEL_INDICATORS, REGION_INDICATORS
from jjjsim.model.model import JJJModel
from jjjsim.model.params import LEVERS, REGISTRY, Params, validate
from jjjsim.model.regions import JJJ, REGIONS
from jjjsim.model.registry import Param
from jjjsim.model.scenario import builtin_names, load_scenario
from jjjsim.model.timeline import describe as describe_change
from jjjsim.viz import theme
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    from jjjsim.experiments.results import Results

DEFAULT_SCALE = 0.25
"""Agent scale of the live models: about 4,800 agents each; a quarter of the run and its baseline takes ~65 ms over
the first 40 quarters (model v2) and redrawing the three charts ~60 ms (measured on 2 shared cores)."""
SETUP_LEVERS: tuple[str, ...] = (
    "shared_key_labs",
    "service_platforms",
    "demo_base_capacity",
    "fund_size",
    "fund_cross_region_share",
)
"""Levers the model reads only while building its world (labs, demo bases, service platforms, the fund):
they take effect at a reset. Every other lever acts on the running model from the next quarter."""
MAX_QUARTERS = int(cast(tuple[float, float], REGISTRY["steps"].bounds)[1])
"""Longest live run (the registry's bound on ``steps``)."""
RUN_QUARTERS = 40
"""Most quarters one Run request steps (ten years; press Run again to go on)."""
MODEL_AGENT_STEPS = 30_000_000
"""Agent-step budget of each live model (the run and its baseline): ~25 s of one core at ~0.8 µs an agent-step
(model v2, measured on 2 shared cores). A baseline at the default scale uses ~1.7 M in 40 quarters and ~9 M in 100
(the world grows fast after that)."""
MODEL_MEMORY_MB = 64
"""Table memory budget of each live model, MiB (a baseline at the default scale holds ~2.8 MiB at 40 quarters)."""
RECORDER_MB = 1
"""Bound on one model's recorded series, MiB (~0.6 MiB at MAX_QUARTERS); they are not in the model's budget."""
TAB_AGENT_STEPS = 2 * MODEL_AGENT_STEPS
"""What one run of a tab (two models) may cost in agent-steps (~50 s of CPU)."""
TAB_MEMORY_MB = 2 * (MODEL_MEMORY_MB + RECORDER_MB)
"""What one tab's models may hold, MiB (tables and recorders)."""
REQUEST_AGENT_STEPS = 4_000_000
"""Most agent-steps (both models) one request does before it stops and says so (~3 s at ~0.8 µs an agent-step;
model v2 holds some 3 times model v1's records, so 10 M took 7-9 s); at least one quarter."""
PLAY_MS = 600
"""Interval between quarters while playing."""
MAX_SESSIONS = 16
"""Live runs held at once; beyond it the least recently used is dropped (and its tab told why)."""
TOTAL_MEMORY_MB = MAX_SESSIONS * TAB_MEMORY_MB
"""Bound on what the held models take together, MiB."""
MAX_BUSY = 4
"""Requests that may build or step models at the same time."""
BUSY_WAIT_S = 10.0
"""How long a request waits for one of those slots before it is told the server is busy."""
IDLE_SECONDS = 1800.0
"""A run idle this long is dropped."""
DROPPED_RECORD = 1000
"""Dropped runs remembered (id and reason), so their tabs are told which limit dropped them."""
SESSION_ID = re.compile(r"[0-9a-f]{32}")
"""A session id as :func:`layout` makes them (``uuid4().hex``)."""
MODEL_BUDGET = Budget(agent_steps=MODEL_AGENT_STEPS, memory_mb=MODEL_MEMORY_MB)

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
LEVER_IDS: frozenset[tuple[str, str]] = frozenset((n, k) for n, p in LEVERS.items() for k in (p.keys or ("",)))
"""The (name, key) of every lever control the page offers ("" for a scalar lever)."""
RUN_COLOR = theme.SCENARIO_PALETTE[0]
BETTER, WORSE = "#009e73", "#d55e00"
_RI = {k: i for i, k in enumerate(REGION_INDICATORS)}
_MI = {k: i for i, k in enumerate(MODEL_INDICATORS)}


# ---- the scenarios offered ---------------------------------------------------------------------------------
@functools.cache
def _builtin() -> tuple[tuple[str, Params], ...]:
    return tuple((n, load_scenario(n).params) for n in builtin_names())


def builtin_scenarios() -> dict[str, Params]:
    """The built-in scenarios' parameters by name (read once per process)."""
    return dict(_builtin())


def offered_scenarios(res: Results | None = None) -> dict[str, Params]:
    """The scenarios the live page offers, name -> parameters, resolved once at app start: the built-ins and,
    for a results folder of a scenario design, the scenarios its experiment ran (by label; a label that names a
    built-in with other settings is offered as ``label (experiment)``). Requests pick among these names only."""
    out = builtin_scenarios()
    exp = res.experiment if res is not None else None
    if exp is None or exp.design != "scenarios":
        return out
    ignore = {"scale", "steps"}  # the app sets its own scale; steps only sizes the recorder
    seen: set[str] = set()
    for spec in exp.runs:
        if spec.label in seen:
            continue
        seen.add(spec.label)
        name = spec.label
        if name in out:
            mine = {k: v for k, v in spec.params.values.items() if k not in ignore}
            if mine == {k: v for k, v in out[name].values.items() if k not in ignore}:
                continue
            name = f"{spec.label} ({exp.name})"
        out[name] = spec.params
    return out


# ---- server-side sessions ------------------------------------------------------------------------
def model_bytes(m: JJJModel) -> int:
    """Bytes a model holds in its tables (allocated capacity) and recorded series."""
    return m.table_bytes() + m.recorder.region.nbytes + m.recorder.model.nbytes


def _reached(e: ConfigError) -> str:
    """A budget error's line without the command-line hint (the app has no flags to raise it)."""
    return f"{e.where}: {e.key}: expected {e.expected}, found {e.found}"


@dataclass
class Session:
    """One tab's run: the model with the tab's levers and its baseline, stepped in lockstep."""

    run: JJJModel
    baseline: JJJModel
    scenario: str
    seed: int
    pending: dict[str, Any] = field(default_factory=dict)
    """Set-up levers changed since the world was built (they act at the next reset)."""
    stopped: str = ""
    """Why the run can step no more (its budget reached); "" while it can."""
    playing: bool = False
    """Whether the tab plays. Kept here, not in the page: a tick sent before a Pause click cannot undo it."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = field(default_factory=time.monotonic)

    @classmethod
    def build(
        cls,
        scenario: str,
        levers: dict[str, Any],
        seed: int,
        scale: float,
        scenarios: dict[str, Params] | None = None,
        budget: Budget = MODEL_BUDGET,
    ) -> Session:
        """Both models from an offered scenario's set-up (``scenarios``: name -> parameters, the built-ins by
        default), the levers given (validated) and a seed, each model with ``budget``."""
        offered = builtin_scenarios() if scenarios is None else scenarios
        name = check_scenario(scenario, offered)
        base = offered[name].replace({"scale": scale}, where="app scale")
        run_p = base.replace(levers, where="lever controls")
        base_p = base.replace({n: p.default for n, p in LEVERS.items()} | {"timeline": []}, where="baseline levers")
        return cls(
            run=JJJModel(run_p, rng=np.random.SeedSequence(seed), budget=budget),
            baseline=JJJModel(base_p, rng=np.random.SeedSequence(seed), budget=budget),
            scenario=name,
            seed=seed,
        )

    def apply(self, levers: dict[str, Any]) -> None:
        """Validate the levers; give the running ones to the model now, keep the set-up ones for a reset. Levers
        the scenario's timeline changes follow it (the model sets them each quarter): their controls are left out."""
        wanted = self.run.p.replace(levers, where="lever controls")
        dated = scheduled_levers(self.run.p)
        running = {k: v for k, v in wanted.values.items() if k in LEVERS and k not in SETUP_LEVERS and k not in dated}
        self.run.use_params(self.run.p.replace(running, where="lever controls"))
        self.pending = {
            k: wanted.values[k] for k in SETUP_LEVERS if k not in dated and wanted.values[k] != self.run.p.values[k]
        }

    @property
    def models(self) -> tuple[JJJModel, JJJModel]:
        return self.run, self.baseline

    @property
    def nbytes(self) -> int:
        """Bytes both models hold (tables at their capacity, recorded series)."""
        return sum(model_bytes(m) for m in self.models)

    @property
    def recorder_bytes(self) -> int:
        """Bytes of both models' recorded series (outside the models' memory budget)."""
        return sum(m.recorder.region.nbytes + m.recorder.model.nbytes for m in self.models)

    def too_much(self, n: int) -> str:
        """Why ``n`` more quarters cannot be run within the budget ("" if they might): the models hold agents
        and records now that each quarter steps, so ``n`` quarters need at least ``n`` x that."""
        for m in self.models:
            left = m.budget.agent_steps - m.work
            need = n * m.holding()
            if need > left:
                return (
                    f"Running {n} more quarter{'s' * (n != 1)} would need at least {need:,} agent-steps ({n} x the "
                    f"{m.holding():,} agents and records a model holds now), more than the {max(left, 0):,} left "
                    f"of its budget of {m.budget.agent_steps:,}: run fewer quarters, or press Reset."
                )
        return ""

    def advance(self, n: int, max_work: int = REQUEST_AGENT_STEPS) -> str:
        """Advance both models up to ``n`` quarters; returns "" or why it stopped short: the work of this call
        passed ``max_work`` agent-steps (after at least one quarter), or a model reached its budget (then the run
        is stopped for good; see :attr:`stopped`)."""
        if self.stopped:
            return self.stopped
        start = self.run.work + self.baseline.work
        for k in range(n):
            try:
                self.run.step()
                self.baseline.step()
            except BudgetExceeded as e:
                self.stopped = f"This run reached its budget ({_reached(e)}): press Reset to start a new run."
                return self.stopped
            done = self.run.work + self.baseline.work - start
            if done > max_work and k + 1 < n:
                return (
                    f"Ran {k + 1} of {n} quarters: one request does at most {max_work:,} agent-steps, and these "
                    f"took {done:,}; press Run again to go on."
                )
        return ""


class Sessions:
    """The live models, one :class:`Session` per session id, dropped when idle or over the cap; the last
    ``record`` dropped ids are remembered with the reason. ``budget`` is each model's, ``per_request`` the
    agent-steps one request may do, and ``busy`` requests may build or step models at once."""

    def __init__(
        self,
        cap: int = MAX_SESSIONS,
        idle: float = IDLE_SECONDS,
        budget: Budget = MODEL_BUDGET,
        per_request: int = REQUEST_AGENT_STEPS,
        busy: int = MAX_BUSY,
        record: int = DROPPED_RECORD,
    ) -> None:
        self.cap, self.idle, self.budget, self.per_request, self.record = cap, idle, budget, per_request, record
        self.busy = threading.BoundedSemaphore(busy)
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._dropped: OrderedDict[str, str] = OrderedDict()
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
                self._forget(key, "idle")
            self._items[sid] = session
            self._items.move_to_end(sid)
            self._dropped.pop(sid, None)
            while len(self._items) > self.cap:
                key, _ = self._items.popitem(last=False)
                self._forget(key, "cap")

    def _forget(self, sid: str, reason: str) -> None:
        self._dropped[sid] = reason
        self._dropped.move_to_end(sid)
        while len(self._dropped) > self.record:
            self._dropped.popitem(last=False)

    def dropped(self, sid: str | None) -> str | None:
        """Why the run of ``sid`` was dropped, as the tab is told; None if it is not remembered."""
        with self._lock:
            reason = self._dropped.get(sid or "")
        if reason == "cap":
            runs = f"{self.cap} live run{'s' * (self.cap != 1)}"
            return (
                f"This tab's run was dropped: the server's limit of {runs} was reached and your run was the least "
                "recently used."
            )
        if reason == "idle":
            return f"This tab's run was closed after {self.idle / 60:g} min idle."
        return None

    def nbytes(self) -> int:
        """Bytes the held sessions' models take (tables and recorders)."""
        with self._lock:
            held = list(self._items.values())
        return sum(s.nbytes for s in held)

    def __len__(self) -> int:
        return len(self._items)


# ---- input checks --------------------------------------------------------------------------------
def parse_seed(text: Any) -> int:
    """A seed typed by the user: a whole number from 0 to 2**63 - 1 (ConfigError otherwise)."""
    s = "" if text is None else str(text).strip()
    if not re.fullmatch(r"[0-9]{1,19}", s):
        raise ConfigError("app", "seed", f"a whole number from 0 to {MAX_SEED}", s)
    return check_seed(int(s), "app")


def parse_quarters(value: Any) -> int:
    """The number of quarters one Run request steps: a whole number in [1, RUN_QUARTERS]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if not ok or not 1 <= value <= RUN_QUARTERS:
        raise ConfigError("app", "quarters to run", f"a whole number in [1, {RUN_QUARTERS}] a request", value)
    return int(value)


def check_session(sid: Any) -> str:
    """A session id as the page makes them (32 hex digits)."""
    if not isinstance(sid, str) or not SESSION_ID.fullmatch(sid):
        raise ConfigError("app", "session", "the id this page was given (reload the page)", sid)
    return sid


def check_scenario(value: Any, offered: Iterable[str]) -> str:
    """One of the offered scenario names (never a path: nothing is looked up from the value)."""
    names = list(offered)
    if not isinstance(value, str) or value not in names:
        hint = did_you_mean(value, names) if isinstance(value, str) and len(value) < 100 else ""
        raise ConfigError("app", "scenario", f"one of the offered scenarios ({', '.join(names)})", value, hint)
    return value


def scheduled_levers(p: Params) -> set[str]:
    """The levers a parameter set's timeline changes during the run."""
    return {e["lever"] for e in p.values.get("timeline", ())}


def timeline_text(p: Params) -> str:
    """The dated lever changes of a parameter set, one line ("" without a timeline)."""
    entries = p.values.get("timeline", ())
    if not entries:
        return ""
    changes = "; ".join(describe_change(e) for e in entries)
    return (
        f"Policy timeline: {changes}. These levers follow the timeline each quarter while the run steps (their "
        "controls are not used)."
    )


def check_choice(value: Any, offered: Iterable[str], what: str) -> str:
    """One of the ``offered`` keys (the options of a radio or dropdown the page offered)."""
    keys = list(offered)
    if not isinstance(value, str) or value not in keys:
        raise ConfigError("app", what, f"one of {', '.join(keys)}", value)
    return value


def check_lever_ids(ids: Any) -> list[tuple[str, str]]:
    """The lever controls' ids as the page made them: ``{"type": "lever", "name", "key"}`` with (name, key) a
    lever and key the page offers, each once, all of them. Returns the (name, key) pairs in order."""
    where = "lever controls"
    if not isinstance(ids, list):
        raise ConfigError(where, "ids", "a list of this page's lever controls", type(ids).__name__)
    pairs: list[tuple[str, str]] = []
    for cid in ids:
        ok = isinstance(cid, dict) and set(cid) == {"type", "name", "key"} and cid["type"] == "lever"
        if not ok or not isinstance(cid["name"], str) or not isinstance(cid["key"], str):
            raise ConfigError(where, "id", 'a lever control of this page ({"type": "lever", "name", "key"})', cid)
        pair = (cid["name"], cid["key"])
        label = ".".join(filter(None, pair))
        if pair not in LEVER_IDS:
            hint = did_you_mean(pair[0], LEVERS) if len(pair[0]) < 100 and pair[0] not in LEVERS else ""
            raise ConfigError(where, "id", "a lever (and region, pair or field) this page offers", label, hint)
        if pair in pairs:
            raise ConfigError(where, label, "each lever control once", "a duplicate")
        pairs.append(pair)
    if len(pairs) != len(LEVER_IDS):
        missing = sorted(".".join(filter(None, p)) for p in LEVER_IDS - set(pairs))
        raise ConfigError(
            where, "ids", f"all {len(LEVER_IDS)} lever controls of this page", f"{len(pairs)}, missing {missing[:3]}"
        )
    return pairs


def check_levers(ids: Any, values: Any) -> dict[str, Any]:
    """Lever overrides from the controls' ids and values: the ids as :func:`check_lever_ids` accepts them, one
    value each, every value one the registry accepts (in bounds, the right type). ConfigError otherwise."""
    pairs = check_lever_ids(ids)
    if not isinstance(values, list) or len(values) != len(pairs):
        found = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise ConfigError("lever controls", "values", f"one value for each of the {len(pairs)} controls", found)
    out: dict[str, Any] = {}
    for (name, key), v in zip(pairs, values, strict=True):
        if key:
            out.setdefault(name, {})[key] = v
        else:
            out[name] = v
    return validate(out, "lever controls")


def levers_from_controls(ids: list[dict[str, str]], values: list[Any]) -> dict[str, Any]:
    """Lever overrides from the controls' ids and values, checked (:func:`check_levers`)."""
    return check_levers(ids, values)


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
        subplot_titles=[f"{SERIES[k].label} ({SERIES[k].unit})" for k in KEY_SERIES],
        vertical_spacing=0.16,
        horizontal_spacing=0.09,
    )
    x = quarter_dates(run)
    mode = "lines" if len(x) > 1 else "markers"
    for i, name in enumerate(KEY_SERIES):
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
