"""The scenarios offered, and the server-side sessions: a run and its baseline per browser tab, with their budgets."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jjjsim.model.budget import Budget, BudgetExceeded
from jjjsim.model.errors import ConfigError
from jjjsim.model.model import JJJModel
from jjjsim.model.params import LEVERS, Params
from jjjsim.model.scenario import builtin_names, load_scenario

if TYPE_CHECKING:
    from jjjsim.experiments.results import Results

from .checks import check_scenario, scheduled_levers
from .limits import (
    DROPPED_RECORD,
    IDLE_SECONDS,
    MAX_BUSY,
    MAX_SESSIONS,
    MODEL_BUDGET,
    REQUEST_AGENT_STEPS,
    SETUP_LEVERS,
)


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
