"""Firms: adopt results, produce, open branches, enter and exit (model-spec §4.3 and §4.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import rules
from ..achievements import LICENSED, MARKET_READY
from ..regions import DISTANCE_KM, OUTSIDE
from . import fund as fund_rules
from .base import RowAgent, column

if TYPE_CHECKING:
    from ..model import JJJModel

COLUMNS = {
    "region": (np.int8, ()),
    "field": (np.int8, ()),
    "size": (np.float64, ()),
    "productivity": (np.float64, ()),
    "absorptive": (np.float64, ()),
    "cash": (np.float64, ()),
    "tech_budget": (np.float64, ()),
    "fixed_cost": (np.float64, ()),
    "branches": (np.bool_, (4,)),
    "alive": (np.bool_, ()),
    "born": (np.int32, ()),
}


TECH_BUDGET_CAP = 24.0
"""A technology budget holds at most 24 quarters of accrual (assumption: unspent money is released)."""


class Firm(RowAgent):
    """A group of ``firm_unit / scale`` high-tech enterprises of one sector in one region."""

    TABLE = "firm"
    region = column("region", "Headquarters region index.")
    field = column("field", "Sector (technology field index).")
    size = column("size", "Size (output units; value added = productivity x size).")
    productivity = column("productivity", "TFP index.")
    absorptive = column("absorptive", "Absorptive capacity (0-1) from R&D staff skill.")
    cash = column("cash", "Operating cash, 100m CNY; the firm exits when it turns negative.")
    tech_budget = column("tech_budget", "Money set aside for technology purchases, 100m CNY.")

    @property
    def branches(self) -> np.ndarray:
        """Whether the firm has a branch in each region."""
        return self.table._cols["branches"][self.row].copy()


def adopt(m: JJJModel) -> None:
    """Transfer: firms examine market-ready results and adopt by logit (§4.3); funds back deals (§4.4)."""
    rng = m.stream("transfer")
    res, fm, p = m.results, m.firm, m.p
    firms, pool = np.flatnonzero(fm.alive), np.flatnonzero(res.status == MARKET_READY)
    if firms.size == 0 or pool.size == 0:
        return
    f, j, draw = _search(m, rng, firms, pool)
    origin = res.region[j].astype(np.int64)
    loc = _buyer_location(m, f, j, origin)
    cross = origin != loc
    logit = _adoption_logit(m, f, j, origin, loc, cross)
    value = m.contract_value(j)
    cost = value * (1.0 + p.recertification_cost * (1.0 - p.standards_recognition) * cross)
    own = _one_per_result_and_firm(
        rng, f, j, np.flatnonzero((draw < rules.logistic(logit)) & (fm.tech_budget[f] >= cost))
    )
    backed, backer = _fund_deals(m, rng, f, j, loc, cross, draw, logit, cost, own)
    ok = np.r_[own, backed]
    f, j, loc, cross, backer, value, cost = f[ok], j[ok], loc[ok], cross[ok], backer[ok], value[ok], cost[ok]
    fund_rules.invest(m, backer, f, j, loc, cross)
    res.status[j], res.buyer[j], res.licensed[j] = LICENSED, loc, m.steps
    m.book_contracts(j, loc, value, payer=f, cost=cost)
    fit = p.chain_integration * (fm.field[f] == res.field[j])  # a result that fits the chain pays more
    fm.productivity[f] *= 1.0 + p.productivity_gain * res.quality[j] * fm.absorptive[f] * (1.0 + fit)
    m.tally.adoptions += np.bincount(loc, minlength=4)
    license_outside(m)


def _search(
    m: JJJModel, rng: np.random.Generator, firms: np.ndarray, pool: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each living firm examines ``search_candidates`` results at random: (firm, result, uniform) per pair.

    Draws are made per firm row (not per living firm), so that each firm meets the same random numbers in
    every scenario run with the same seed (common random numbers).
    """
    k = m.p.search_candidates
    pick, draw = rng.random((2, len(m.firm), k))
    return np.repeat(firms, k), pool[(pick[firms].ravel() * pool.size).astype(np.int64)], draw[firms].ravel()


def _buyer_location(m: JJJModel, f: np.ndarray, j: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Where the firm buys: a branch in the result's region, else a branch where a demo base piloted it
    (the anchor), else its headquarters."""
    fm = m.firm
    anchor = m.results.anchor[j].astype(np.int64)
    at_anchor = (anchor >= 0) & fm.branches[f, np.maximum(anchor, 0)]
    return np.where(fm.branches[f, origin], origin, np.where(at_anchor, anchor, fm.region[f])).astype(np.int64)


def _adoption_logit(
    m: JJJModel, f: np.ndarray, j: np.ndarray, origin: np.ndarray, loc: np.ndarray, cross: np.ndarray
) -> np.ndarray:
    """The adoption logit of each (firm, result) pair without fund backing (rules.adoption_logit)."""
    res, fm, p = m.results, m.firm, m.p
    return rules.adoption_logit(
        quality=res.quality[j],
        trl_above=res.trl[j] - p.market_ready_trl,
        absorptive=fm.absorptive[f],
        cognitive_distance=1.0 - m.similarity[fm.field[f], res.field[j]],
        fit=p.chain_integration * (fm.field[f] == res.field[j]),
        distance_km=DISTANCE_KM[origin, loc],
        barrier=m.barrier[origin, loc],
        service_boost=rules.service_boost(m.service_platforms_by_field()[res.field[j]], p.service_platform_half)
        * cross,
        anchored=(res.anchor[j] == loc),
        backed=np.zeros(f.size),
        w=m.adoption_weights,
    )


def _fund_deals(
    m: JJJModel,
    rng: np.random.Generator,
    f: np.ndarray,
    j: np.ndarray,
    loc: np.ndarray,
    cross: np.ndarray,
    draw: np.ndarray,
    logit: np.ndarray,
    cost: np.ndarray,
    own: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Deals that go ahead only with a fund: likely enough with its backing (logit + funding_boost),
    affordable with its ticket and the private money it draws in, firm and result not taken by an own deal.
    Under the collaborative fund's mandate a cross-region deal also has its barrier friction offset.

    Returns the indices of the backed deals and the backing fund row of every candidate (-1 if none).
    """
    p, barrier = m.p, m.barrier[m.results.region[j].astype(np.int64), loc]
    tipped = draw < rules.logistic(logit + p.funding_boost)
    mandate_only = ~tipped & cross & (draw < rules.logistic(logit + p.funding_boost + p.adopt_barrier * barrier))
    ok = (tipped | mandate_only) & (m.firm.tech_budget[f] + m.ticket * (1.0 + m.crowd_in[loc]) >= cost)
    ok &= ~np.isin(j, j[own]) & ~np.isin(f, f[own])
    cand = _one_per_result_and_firm(rng, f, j, np.flatnonzero(ok))
    backer = np.full(f.size, -1, dtype=np.int64)
    backer[cand] = fund_rules.back_deals(m, f[cand], j[cand], loc[cand], cross[cand], mandate_only[cand])
    return cand[backer[cand] >= 0], backer


def _one_per_result_and_firm(rng: np.random.Generator, f: np.ndarray, j: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A random subset of candidate deals ``idx`` with one licensee per result and one deal per firm."""
    idx = idx[rng.permutation(idx.size)]
    idx = idx[np.unique(j[idx], return_index=True)[1]]
    return idx[np.unique(f[idx], return_index=True)[1]]


def license_outside(m: JJJModel) -> None:
    """The rest of China licenses market-ready results still on offer: hazard outside_demand x min(q, 1)."""
    rng = m.stream("outside")
    res = m.results
    pool = np.flatnonzero(res.status == MARKET_READY)
    out = pool[rng.random(pool.size) < m.p.outside_demand * np.minimum(res.quality[pool], 1.0)]
    if out.size:
        res.status[out], res.buyer[out], res.licensed[out] = LICENSED, OUTSIDE, m.steps
        m.book_contracts(out, np.full(out.size, OUTSIDE), m.contract_value(out), payer=None)


def produce(m: JJJModel) -> None:
    """Firms produce value added, spend on R&D, update absorptive capacity and take a TFP shock."""
    rng = m.stream("production")
    fm, p = m.firm, m.p
    va = fm.productivity * fm.size * fm.alive
    fm.cash += (p.firm_margin - p.firm_rd_share) * va - fm.fixed_cost * fm.alive
    accrual = m.tech_share[fm.region] * va
    # accrual stops at the cap; money above it (a fund's ticket) is kept
    fm.tech_budget[:] = np.maximum(fm.tech_budget, np.minimum(fm.tech_budget + accrual, TECH_BUDGET_CAP * accrual))
    m.tally.value_added += np.bincount(fm.region, va, minlength=4)
    update_absorptive(m)
    sd = p.firm_shock_sd
    fm.productivity *= rng.lognormal(-sd * sd / 2, sd, len(fm))


def update_absorptive(m: JJJModel) -> None:
    """Absorptive capacity AC = 1 - exp(-staff skill): R&D staff make a firm able to absorb results
    (Cohen & Levinthal 1990; functional form assumption)."""
    emp = m.talent.alive & (m.talent.employer_kind == 2)
    skill = np.bincount(m.talent.employer[emp], m.talent.skill[emp], minlength=len(m.firm))
    m.firm.absorptive[:] = 1.0 - np.exp(-skill)


def enter_exit(m: JJJModel) -> None:
    """Firms with negative cash exit; market entrants and spin-offs (raised by climate) enter (§4.5)."""
    rng = m.stream("entry")
    fm, p = m.firm, m.p
    gone = np.flatnonzero(fm.alive & (fm.cash < 0))
    fm.alive[gone] = False
    m.tally.firm_exits += np.bincount(fm.region[gone], minlength=4)
    lost = np.isin(m.talent.employer, gone) & (m.talent.employer_kind == 2)
    m.talent.employer_kind[lost], m.talent.employer[lost] = 0, -1
    m.remove_agents("firm", gone)
    n = np.bincount(fm.region[fm.alive], minlength=4)[:3]
    u_entry, u_spin = rng.random((2, 3))
    entrants = rules.poisson(u_entry, p.firm_entry_rate * n)
    spinoffs = rules.poisson(u_spin, p.spinoff_rate * (1.0 + m.climate[:3]) * m.tally.adoptions[:3])
    m.tally.spinoffs += np.r_[spinoffs, 0]
    m.tally.firm_entries += np.r_[entrants + spinoffs, 0]
    region = np.repeat(np.arange(3), entrants + spinoffs)
    if region.size:
        add(m, rng, region, rng.integers(0, m.n_fields, region.size), size_factor=0.5)


def add(
    m: JJJModel, rng: np.random.Generator, region: np.ndarray, field: np.ndarray, size_factor: float = 1.0
) -> np.ndarray:
    """Create firms at the regional reference productivity and size with half a quarter's value added
    in cash; firms present at the start hold a technology budget from 0 to its cap, entrants none."""
    prod = m.ref_productivity[region] * rng.lognormal(-0.045, 0.3, region.size)
    size = m.ref_size[region] * size_factor * rng.lognormal(-0.125, 0.5, region.size)
    va = prod * size
    saved = rng.random(region.size) * TECH_BUDGET_CAP if m.steps == 0 else 0.0
    rows = m.firm.append(
        region.size,
        region=region,
        field=field,
        size=size,
        productivity=prod,
        absorptive=0.0,
        cash=0.5 * va,
        tech_budget=saved * m.tech_share[region] * va,
        fixed_cost=m.p.firm_fixed_cost * va,
        alive=True,
        born=m.steps,
    )
    m.firm.branches[rows, region] = True
    m.add_agents(Firm, rows)
    return rows


def open_branches(m: JJJModel) -> None:
    """Firms open branches in other JJJ regions: logit on cost gap, demo-base access and barrier."""
    rng = m.stream("branches")
    fm, p = m.firm, m.p
    firms = np.flatnonzero(fm.alive)
    home = fm.region[firms].astype(np.int64)
    draws = rng.random((2, len(fm)))  # per firm row: common random numbers
    for shift in (1, 2):
        dest = (home + shift) % 3
        todo = ~fm.branches[firms, dest]
        cost = p.cost_of_living
        demo = m.demo_slots[dest] / np.maximum(m.firm_counts()[dest], 1)  # pilot slots per local firm
        logit = (
            p.branch_intercept
            + p.branch_cost_gap * (cost[home] - cost[dest]) / cost[home]
            + p.branch_demo_access * demo
            - p.branch_barrier * m.barrier[home, dest]
        )
        new = todo & (draws[shift - 1, firms] < rules.logistic(logit))
        fm.branches[firms[new], dest[new]] = True
        m.tally.branches_opened += np.bincount(dest[new], minlength=4)
