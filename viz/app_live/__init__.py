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

from .callbacks import register  # noqa: F401
from .checks import (  # noqa: F401
    check_choice,
    check_lever_ids,
    check_levers,
    check_scenario,
    check_session,
    levers_from_controls,
    parse_quarters,
    parse_seed,
    scheduled_levers,
    timeline_text,
)
from .controls import _sub_label, layout, lever_control, lever_panel, slider_step  # noqa: F401
from .figures import (  # noqa: F401
    _series_indicator,
    _series_title,
    _status,
    compare_figure,
    flows_figure,
    indicators_figure,
    jjj_series,
    quarter_dates,
)
from .limits import (  # noqa: F401
    _MI,
    _RI,
    BETTER,
    BUSY_WAIT_S,
    COMPARE_METRICS,
    DEFAULT_SCALE,
    DROPPED_RECORD,
    FIELD_LABELS,
    FLOW_KINDS,
    IDLE_SECONDS,
    LEVER_IDS,
    MAX_BUSY,
    MAX_QUARTERS,
    MAX_SESSIONS,
    MODEL_AGENT_STEPS,
    MODEL_BUDGET,
    MODEL_MEMORY_MB,
    PLAY_MS,
    RECORDER_MB,
    REQUEST_AGENT_STEPS,
    RUN_COLOR,
    RUN_QUARTERS,
    SESSION_ID,
    SETUP_LEVERS,
    TAB_AGENT_STEPS,
    TAB_MEMORY_MB,
    TOTAL_MEMORY_MB,
    TOTALS,
    WORSE,
)
from .sessions import Session, Sessions, _builtin, _reached, builtin_scenarios, model_bytes, offered_scenarios  # noqa: F401
