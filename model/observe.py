"""Named observers of a running model: what a run reports besides its per-step recorder (:mod:`.metrics`).

``run(..., observers=[...])`` (:func:`.runner.run`, the one run loop) calls each observer's ``start`` once the
model is built and ``step`` after every quarter, and puts ``result`` in ``RunResult.observed[name]``. The
calibration and the validation compare the model with the statistics through :class:`YearlyStatistics`: the
model's counterpart of every series of ``scenarios/data/jjj_statistics.csv`` it can be compared with, in the
CSV's units, one value per ``(indicator, region, year)``.

Timing convention (an assumption): the set-up reads a year's statistics into step 0, so the model state at step
``4 (Y - start_year)`` is year Y's *stock* (R&D FTE, firms, branches), and the four quarters after it, steps
``4 (Y - start_year) + 1 ... + 4``, make up year Y's *flows* (contracts, patents, value added).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from .regions import BEIJING, HEBEI, JJJ, TIANJIN
from .setup import FIRM_VA_SHARE, propensity_to_patent

if TYPE_CHECKING:
    from .model import JJJModel

BJ_TJHB = "Beijing->Tianjin+Hebei"
"""The region label of the CSV's Beijing -> Tianjin + Hebei rows."""
QUARTERS = 4
"""Steps in a year."""


class Observer(Protocol):
    """What ``run(observers=...)`` calls: ``start`` after the set-up, ``step`` after each quarter, then ``result``."""

    name: str

    def start(self, m: JJJModel) -> None: ...

    def step(self, m: JJJModel) -> None: ...

    def result(self, m: JJJModel) -> Any: ...


def enterprises(m: JJJModel) -> np.ndarray:
    """Living firm agents that are not subsidiaries, by JJJ region: the set-up's high-tech enterprises (a
    Beijing firm's branch is a legal entity of its region but not, as a rule, a recognised high-tech enterprise)."""
    fm = m.firm
    return np.bincount(fm.region[fm.alive & (fm.parent < 0)], minlength=4)[:3].astype(float)


def zgc_branches(m: JJJModel) -> float:
    """Sites in Tianjin and Hebei of living Beijing firms, and firms relocated there from Beijing (agents)."""
    fm = m.firm
    bj = fm.alive & (fm.region == BEIJING)
    moved = fm.alive & (fm.parent < 0) & (fm.group_region == BEIJING) & (fm.region > BEIJING)
    return float(fm.branches[bj][:, TIANJIN : HEBEI + 1].sum() + moved.sum())


_SERIES = ("talent_fte", "results", "value_added", "platform_budget")
"""The recorder's per-region series the yearly table is made from."""


class YearlyStatistics:
    """The model's yearly table in the statistics' units (see the module's timing convention): stocks at the
    start of each year, the last one included, and each year's flows."""

    name = "yearly_statistics"

    def __init__(self) -> None:
        self._contract_value: list[np.ndarray] = []
        self._contract_count: list[np.ndarray] = []
        self._branches: list[float] = []
        self._enterprises: list[np.ndarray] = []

    def start(self, m: JJJModel) -> None:
        self._snapshot(m)

    def step(self, m: JJJModel) -> None:
        if m.steps % QUARTERS == 0:
            self._snapshot(m)

    def _snapshot(self, m: JJJModel) -> None:
        firm_real = m.p.firm_unit / m.p.scale
        self._contract_value.append(m.flows.contract_value.copy())
        self._contract_count.append(m.flows.contract_count.copy())
        self._branches.append(zgc_branches(m) * firm_real)
        self._enterprises.append(enterprises(m) * firm_real)

    def result(self, m: JJJModel) -> pd.Series:
        """The yearly table: a value per ``(indicator, region, year)``."""
        p, start = m.p, int(m.p.start_year)
        series, _ = m.recorder.frames(start)
        wide = {c: series.pivot(index="step", columns="region", values=c)[list(JJJ)].to_numpy() for c in _SERIES}
        od, counts = self._contract_value, self._contract_count
        n_years = int(m.steps) // QUARTERS
        rows: dict[tuple[str, str, int], float] = {}
        for k in range(n_years + 1):  # stocks at the start of each year (step 4k), the last one included
            y = start + k
            for i, r in enumerate(JJJ):
                rows[("rd_personnel_fte_total", r, y)] = wide["talent_fte"][QUARTERS * k, i]
                rows[("high_tech_enterprises_stock", r, y)] = self._enterprises[k][i]
            rows[("zgc_branches_in_tj_hb_stock", BJ_TJHB, y)] = self._branches[k]
        for k in range(n_years):  # flows over steps 4k+1 ... 4k+4
            y, q = start + k, slice(QUARTERS * k + 1, QUARTERS * k + QUARTERS + 1)
            # patents per result record: result_unit at this scale x the propensity to patent (1 in 2014, the
            # base year the set-up counts results in)
            per_record = p.result_unit / p.scale * propensity_to_patent(p, y)
            year_od, year_n = od[k + 1] - od[k], counts[k + 1] - counts[k]
            for i, r in enumerate(JJJ):
                rows[("tech_contract_count_output", r, y)] = year_n[i].sum()
                rows[("tech_contract_turnover_output", r, y)] = year_od[i].sum()
                rows[("tech_contract_turnover_absorbed", r, y)] = year_od[:, i].sum()
                rows[("patents_granted_invention", r, y)] = wide["results"][q, i].sum() * per_record
                rows[("gdp_implied_by_rd_bulletin", r, y)] = wide["value_added"][q, i].sum() / FIRM_VA_SHARE
                budget = wide["platform_budget"][QUARTERS * k : QUARTERS * (k + 1), i].sum()  # in force then
                rows[("rd_expenditure", r, y)] = budget / p.platform_budget_share
            rows[("bj_to_tj_hb_tech_contract_value", BJ_TJHB, y)] = year_od[BEIJING, TIANJIN] + year_od[BEIJING, HEBEI]
            rows[("bj_tech_contract_outflow", "Beijing", y)] = year_od[BEIJING].sum() - year_od[BEIJING, BEIJING]
        index = pd.MultiIndex.from_tuples(list(rows), names=["indicator", "region", "year"])
        return pd.Series(np.fromiter(rows.values(), float, len(rows)), index=index)
