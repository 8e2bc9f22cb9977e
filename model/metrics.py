"""Named reporters (model-spec §7): per-step, per-region indicators and model-level indicators.

Values are written into preallocated arrays during the run (no I/O, no pandas in the step loop) and
turned into tidy tables once, at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import costs, rules
from .achievements import LICENSED, MARKET_READY
from .agents import firm, fund
from .regions import REGIONS

if TYPE_CHECKING:
    from .model import JJJModel

TRANSFER_WINDOW = 8
"""Quarters a result has to be licensed in to count as transferred (``transformation_rate``, the summary's
``transformation_rate``): two years (assumption: the horizon of the platforms' transfer targets)."""
SUMMARY_YEAR = 4
"""The summary's levels are means over the last ``SUMMARY_YEAR`` quarters of a run (its last year)."""

REGION_INDICATORS: dict[str, str] = {
    "talent": "talent agents resident (x fte_per_agent = R&D FTE)",
    "talent_fte": "R&D FTE resident",
    "mean_skill": "mean skill of resident talent",
    "results": "new results this quarter (records)",
    "results_quality": "quality-weighted new results this quarter",
    "duplicates": "duplicated results discarded this quarter",
    "transformation_rate": "share of results born 8 quarters ago licensed within 8 quarters (by origin)",
    "contracts_sold": "technology contracts sold this quarter (count of real contracts, by seller region)",
    "contract_value_sold": "technology-contract value sold this quarter, 100m CNY (by seller)",
    "contract_value_bought": "technology-contract value bought this quarter, 100m CNY (by buyer)",
    "firms": "firm agents alive (HQ region)",
    "productivity": "mean firm TFP index",
    "value_added": "firm value added this quarter, 100m CNY",
    "branches": "branches of firms from other regions located here",
    "branches_opened": "branches opened here this quarter by firms from other regions",
    "relocations": "Beijing firms that moved their headquarters here this quarter (agents)",
    "contracts_bought": "technology contracts bought this quarter by firms located here (count, real contracts)",
    "firm_entries": "firm entries this quarter (market entry and spin-offs)",
    "spinoffs": "spin-offs this quarter",
    "firm_exits": "firm exits this quarter",
    "platform_budget": "budget of research platforms, 100m CNY per quarter",
    "evaluation_score": "mean evaluation score of research platforms",
    "quality_effort": "mean quality effort of research platforms",
    "instrument_hours_shared": "instrument capacity offered to outsiders (platform-equivalents)",
    "climate": "entrepreneurial climate",
    "wage": "wage level (relative to Beijing at start)",
    "incentives_paid": "talent incentives paid this quarter, 100m CNY",
    "talent_in": "talents moving in this quarter",
    "talent_out": "talents moving out this quarter",
}
MODEL_INDICATORS: dict[str, str] = {
    "theil_value_added": "Theil index of value added across Beijing, Tianjin, Hebei",
    "theil_results": "Theil index of quality-weighted results across Beijing, Tianjin, Hebei",
    "bj_to_tjhb_contract_value": "contract value Beijing -> Tianjin+Hebei this quarter, 100m CNY",
    "cross_region_contract_value": "contract value between different JJJ regions this quarter",
    "fund_capital": "uninvested capital of all funds, 100m CNY",
    "fund_invested": "cumulative invested by all funds",
    "collab_fund_invested": "cumulative invested by the collaborative fund",
    "collab_fund_proceeds": "cumulative exit proceeds of the collaborative fund",
    "collab_fund_expected_multiple": "expected multiple of the collaborative fund's deals (pi x multiple)",
    "private_crowd_in": "cumulative private co-investment drawn in by funds",
    "fund_exits": "successful exits this quarter",
    "public_cost": "public cost this quarter: the sum of the cost.<measure> outlays, 100m CNY",
    **{f"cost.{k}": f"public outlay this quarter, 100m CNY: {v}" for k, v in costs.OUTLAYS.items()},
    "efficiency_spread": "spread (sd) of log results per unit budget across research platforms at the latest"
    " evaluation (NaN before the first)",
    "market_ready_stock": "market-ready results waiting for a licensee",
}


class Recorder:
    """Collects the indicators of every step into arrays (step 0 = the initial state)."""

    def __init__(self, m: JJJModel, steps: int) -> None:
        self.region = np.zeros((steps + 1, 4, len(REGION_INDICATORS)))
        self.model = np.zeros((steps + 1, len(MODEL_INDICATORS)))
        self.n = 0
        self._last_value = np.zeros((4, 4))
        self._last_count = np.zeros((4, 4))
        self._last_moves = np.zeros((4, 4))
        self._ri = {k: i for i, k in enumerate(REGION_INDICATORS)}
        self._mi = {k: i for i, k in enumerate(MODEL_INDICATORS)}

    def record(self, m: JJJModel) -> None:
        """Record the current step (grows the arrays if the model runs past its planned steps)."""
        if self.n >= len(self.model):
            self.region = np.concatenate([self.region, np.zeros_like(self.region)])
            self.model = np.concatenate([self.model, np.zeros_like(self.model)])
        for k, v in self._region_values(m).items():
            self.region[self.n, :, self._ri[k]] = v
        for k, x in self._model_values(m).items():
            self.model[self.n, self._mi[k]] = x
        self.n += 1

    def _region_values(self, m: JJJModel) -> dict[str, np.ndarray]:
        t, pl, fm, res, tally = m.talent, m.platform, m.firm, m.results, m.tally
        here = t.region[t.alive]
        n_t = np.bincount(here, minlength=4)
        value, count = m.flows.contract_value - self._last_value, m.flows.contract_count - self._last_count
        moves = m.flows.talent_moves - self._last_moves
        self._last_value, self._last_count = m.flows.contract_value.copy(), m.flows.contract_count.copy()
        self._last_moves = m.flows.talent_moves.copy()
        self._step_value = value
        new = res.born == m.steps
        cohort = res.born == m.steps - TRANSFER_WINDOW
        done = cohort & (res.status == LICENSED) & (res.licensed - res.born <= TRANSFER_WINDOW)
        rs = pl.research & pl.alive
        n_rs = np.maximum(np.bincount(pl.region[rs], minlength=4), 1)
        va = firm.value_added(m)
        elsewhere = fm.branches & fm.alive[:, None] & (np.arange(4)[None, :] != fm.region[:, None])
        return {
            "talent": n_t,
            "talent_fte": n_t * m.fte_per_agent,
            "mean_skill": np.bincount(here, t.skill[t.alive], minlength=4) / np.maximum(n_t, 1),
            "results": np.bincount(res.region[new], minlength=4),
            "results_quality": np.bincount(res.region[new], res.quality[new], minlength=4),
            "duplicates": tally.duplicates,
            "transformation_rate": np.bincount(res.region[done], minlength=4)
            / np.maximum(np.bincount(res.region[cohort], minlength=4), 1),
            "contracts_sold": count.sum(axis=1),
            "contract_value_sold": value.sum(axis=1),
            "contract_value_bought": value.sum(axis=0),
            "firms": m.firm_counts(),
            "productivity": m.mean_productivity(),
            "value_added": np.bincount(fm.region, va, minlength=4),
            "branches": elsewhere.sum(axis=0),
            "branches_opened": tally.branches_opened,
            "relocations": tally.relocations,
            "contracts_bought": tally.contracts / m.p.scale,
            "firm_entries": tally.firm_entries,
            "spinoffs": tally.spinoffs,
            "firm_exits": tally.firm_exits,
            "platform_budget": np.bincount(pl.region[rs], pl.budget[rs], minlength=4),
            "evaluation_score": np.bincount(pl.region[rs], pl.score[rs], minlength=4) / n_rs,
            "quality_effort": np.bincount(pl.region[rs], pl.quality_effort[rs], minlength=4) / n_rs,
            "instrument_hours_shared": np.bincount(pl.region[rs], pl.instruments[rs], minlength=4)
            * m.p.instrument_sharing,
            "climate": m.climate,
            "wage": m.wage,
            "incentives_paid": tally.incentives_paid,
            "talent_in": moves.sum(axis=0) - np.diag(moves),
            "talent_out": moves.sum(axis=1) - np.diag(moves),
        }

    def _model_values(self, m: JJJModel) -> dict[str, float]:
        fd, inv = m.fund, m.investments
        rv = self.region[self.n]
        collab = fd.kind == fund.COLLABORATIVE
        c_inv = np.isin(inv.fund, np.flatnonzero(collab))
        outlays = costs.public_outlays(m)
        value = self._step_value
        return {
            "theil_value_added": rules.theil(rv[:3, self._ri["value_added"]]),
            "theil_results": rules.theil(rv[:3, self._ri["results_quality"]]),
            "bj_to_tjhb_contract_value": value[0, 1] + value[0, 2],
            "cross_region_contract_value": value[:3, :3].sum() - np.trace(value[:3, :3]),
            "fund_capital": fd.capital.sum(),
            "fund_invested": fd.invested.sum(),
            "collab_fund_invested": fd.invested[collab].sum(),
            "collab_fund_proceeds": fd.proceeds[collab].sum(),
            "collab_fund_expected_multiple": float(inv.success_p[c_inv].mean() * m.p.exit_multiple)
            if c_inv.any()
            else np.nan,
            "private_crowd_in": fd.crowd_in.sum(),
            "fund_exits": m.tally.exits.sum(),
            "public_cost": sum(outlays.values()),
            **{f"cost.{k}": v for k, v in outlays.items()},
            "efficiency_spread": m.efficiency_spread,
            "market_ready_stock": float((m.results.status == MARKET_READY).sum()),
        }

    def frames(self, start_year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The per-region series (one row per step and region) and the model-level series."""
        steps = np.arange(self.n)
        year = start_year + steps / 4.0
        reg = self.region[: self.n]
        series = pd.DataFrame(reg.reshape(-1, reg.shape[2]), columns=list(REGION_INDICATORS))
        series.insert(0, "region", pd.Categorical(np.tile(REGIONS, self.n), categories=REGIONS))
        series.insert(0, "year", np.repeat(year, 4))
        series.insert(0, "step", np.repeat(steps, 4))
        model = pd.DataFrame(self.model[: self.n], columns=list(MODEL_INDICATORS))
        model.insert(0, "year", year)
        model.insert(0, "step", steps)
        return series, model
