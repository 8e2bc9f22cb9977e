"""What a tab and the server may cost, and the live page's fixed choices (see the package's docstring)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from jjjsim.model.budget import Budget
from jjjsim.model.metrics import MODEL_INDICATORS, REGION_INDICATORS
from jjjsim.model.params import LEVERS, REGISTRY
from jjjsim.viz import theme

if TYPE_CHECKING:
    pass


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
