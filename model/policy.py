"""The policy timeline in a running model (:mod:`.timeline` gives its form and the values in force each quarter):
at set-up the levers in force in ``start_year`` Q1 (:func:`start`), at the top of every step those of the quarter
with the agents of set-up levers built, changed or retired (:func:`apply`), and the recorded path (:func:`frame`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import setup
from .agents import fund
from .agents.platform import DEMO_BASE, KEY_LAB, SERVICE_PLATFORM
from .regions import FIELDS
from .timeline import NAME, SETUP_LEVERS, STREAM, columns, levers_at, merged, path_frame, path_row, slots

if TYPE_CHECKING:
    import pandas as pd

    from .model import JJJModel
    from .params import Params


@dataclass
class LeverPath:
    """A model's timeline: the scheduled parameters (as given, before any change) and the recorded path."""

    params: Params
    pairs: list[tuple[str, str]]
    rows: list[list[Any]] = field(default_factory=list)

    def record(self, m: JJJModel) -> None:
        self.rows.append(path_row(m.p.values, self.pairs))


def start(m: JJJModel) -> None:
    """At set-up (step 0): keep the schedule and adopt the values in force in ``start_year`` Q1. Does nothing for
    an empty timeline (the model is then exactly the constant run)."""
    if not m.p.values.get(NAME):
        m.lever_path = None
        return
    m.lever_path = LeverPath(m.p, slots(m.p.values))
    new = _in_force(m.p, levers_at(m.p, 0))
    if new.values != m.p.values:
        m.use_params(new)
    m.lever_path.record(m)


def _in_force(p: Params, overrides: dict[str, Any]) -> Params:
    """``p`` with the values of :func:`levers_at` (each a validated entry value or an interpolation of two, so
    in bounds; ``use_params`` checks them again)."""
    return type(p)({**p.values, **merged(p.values, overrides)})


def apply(m: JJJModel) -> None:
    """At the top of ``JJJModel.step`` (step k = ``m.steps``, quarter index k - 1): set the levers in force this
    quarter, with their set-up agents (funds, demo bases, service platforms, shared labs), and record them."""
    lp: LeverPath | None = getattr(m, "lever_path", None)
    if lp is None:
        return
    want = levers_at(lp.params, m.steps - 1)
    old = m.p
    new = _in_force(old, want)
    if new.values != old.values:
        m.use_params(new)
        changed = [k for k in SETUP_LEVERS if new.values[k] != old.values[k]]
        if changed:
            _setup_changes(m, old, new, changed)
    lp.record(m)


def frame(m: JJJModel) -> pd.DataFrame:
    """The recorded lever path of a model (``step``, ``year``, one column per changed lever); only ``step`` and
    ``year`` for a model without a timeline."""
    lp: LeverPath | None = getattr(m, "lever_path", None)
    n = m.recorder.n if hasattr(m, "recorder") else None
    if lp is None:
        return path_frame([[] for _ in range(n or 0)], [], int(m.p.start_year))
    rows = lp.rows[:n] if n is not None else lp.rows
    return path_frame(rows, columns(lp.params.values), int(m.p.start_year))


def _setup_changes(m: JJJModel, old: Params, new: Params, changed: list[str]) -> None:
    """Build, change or retire the agents of set-up levers, with draws from the timeline's own stream."""
    saved = m.rng
    m.rng = np.random.default_rng(m._child_seed(STREAM, m.steps))
    try:
        if "fund_size" in changed or "fund_cross_region_share" in changed:
            _fund(m, old, new)
        if "demo_base_capacity" in changed:
            _demo_bases(m, new)
        if "service_platforms" in changed:
            _service_platforms(m, new)
        if "shared_key_labs" in changed:
            _shared_labs(m, old, new)
    finally:
        m.rng = saved
    g = m.platform.group  # platforms were added: the shared-lab mask covers every row again
    m.shared_lab = np.bincount(g, minlength=len(g))[g] > 1


def _fund(m: JJJModel, old: Params, new: Params) -> None:
    fd = m.fund
    rows = np.flatnonzero(fd.kind == fund.COLLABORATIVE)
    if rows.size == 0:
        if new.fund_size > 0:
            fund.add(m, fund.COLLABORATIVE, 0, new.fund_size, new.fund_cross_region_share)
        return
    k = rows[0]
    fd.mandate[k] = new.fund_cross_region_share
    delta = new.fund_size - old.fund_size
    if delta < 0:
        delta = -min(-delta, fd.capital[k])  # only uninvested capital can be withdrawn
    fd.capital[k] += delta
    fd.inflows[k] += delta
    fd.committed[k] = new.fund_size


def _demo_bases(m: JJJModel, new: Params) -> None:
    pl, scale = m.platform, new.scale
    slots_now = np.array([math.ceil(c * scale) if c > 0 else 0 for c in new.demo_base_capacity])
    for r in range(3):
        bases = np.flatnonzero((pl.kind == DEMO_BASE) & pl.alive & (pl.region == r))
        have = int(pl.capacity[bases].sum())
        want = int(slots_now[r])
        if want > have:
            add = want - have
            n = math.ceil(add / 2)
            cap = np.full(n, add // n) + (np.arange(n) < add % n)
            fields = (bases.size + np.arange(n)) % len(FIELDS)
            setup._add_platforms(
                m, r, np.full(n, DEMO_BASE), fields, cap * setup.DEMO_SLOT_BUDGET / scale, capacity=cap
            )
        elif want < have:
            cut = have - want
            for b in bases[::-1]:  # newest first
                take = min(cut, int(pl.capacity[b]))
                pl.capacity[b] -= take
                pl.budget[b] = pl.capacity[b] * setup.DEMO_SLOT_BUDGET / scale
                cut -= take
                if cut == 0:
                    break
    m.demo_slots = np.r_[slots_now, 0]


def _service_platforms(m: JJJModel, new: Params) -> None:
    pl = m.platform
    want = new.service_platforms.astype(int)
    for f in range(m.n_fields):
        live = np.flatnonzero((pl.kind == SERVICE_PLATFORM) & pl.alive & (pl.field == f))
        if want[f] > live.size:
            n = int(want[f] - live.size)
            total = int(np.count_nonzero((pl.kind == SERVICE_PLATFORM) & pl.alive))
            region = (total + np.arange(n) + 1) % 3  # Tianjin, Hebei, Beijing in turn, as at set-up
            setup._add_platforms(m, region, np.full(n, SERVICE_PLATFORM), np.full(n, f), setup.SERVICE_PLATFORM_BUDGET)
        elif want[f] < live.size:
            gone = live[::-1][: live.size - want[f]]  # the newest
            pl.alive[gone] = False
            m.remove_agents("platform", gone)


def _shared_labs(m: JJJModel, old: Params, new: Params) -> None:
    """Shared key labs added as at set-up (``setup.add_shared_key_labs``), staffed from the key labs that are
    not nodes of a shared lab already."""
    pl, scale = m.platform, new.scale

    def count(x: int) -> int:
        return math.ceil(x * scale) if x else 0

    g = pl.group
    own = np.bincount(g, minlength=len(g))[g] <= 1
    labs = np.flatnonzero(pl.research & pl.alive & (pl.kind == KEY_LAB) & own)
    setup.add_shared_key_labs(m, count(new.shared_key_labs) - count(old.shared_key_labs), labs)
