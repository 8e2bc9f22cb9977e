"""Firms: the agent, production, technology budgets and absorptive capacity, entry and exit, branches and
relocation (model-spec §4.5); their technology market is :mod:`.market`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import rules
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
    "parent": (np.int64, ()),
    "staffing": (np.float64, ()),
    "group_region": (np.int8, ()),
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
    parent = column("parent", "Row of the parent firm of a subsidiary (a branch in another region), or -1.")
    group_region = column(
        "group_region",
        "Region of the group the firm keeps a channel to (a subsidiary's parent, a relocated firm's"
        " former home), or -1.",
    )
    staffing = column("staffing", "R&D staff skill per unit of size relative to the region's start-year norm.")

    @property
    def branches(self) -> np.ndarray:
        """Whether the firm has a branch in each region."""
        return self.table.cell("branches", self.row).copy()


def produce(m: JJJModel) -> None:
    """Firms produce value added with their R&D staff, spend on R&D, set money aside for technology by the
    demand rule (:func:`technology_demand`) and take a TFP shock."""
    rng = m.stream("production")
    fm, p = m.firm, m.p
    update_absorptive(m)
    va = value_added(m)
    fm.cash += (p.firm_margin - p.firm_rd_share) * va - fm.fixed_cost * fm.alive
    accrual = technology_demand(m) * va
    # accrual stops at the cap; money above it (a fund's ticket) is kept
    fm.tech_budget[:] = np.maximum(fm.tech_budget, np.minimum(fm.tech_budget + accrual, TECH_BUDGET_CAP * accrual))
    m.tally.value_added += np.bincount(fm.region, va, minlength=4)
    sd = p.firm_shock_sd
    fm.productivity *= rng.lognormal(-sd * sd / 2, sd, len(fm))


def value_added(m: JJJModel) -> np.ndarray:
    """Value added of each firm row (0 if gone): A x S x ((1 + x) / 2)^gamma, x the firm's R&D staffing (staff
    skill per unit of size relative to its region's start-year norm; 1 at the norm). R&D staff augment output
    with elasticity ``labour_elasticity`` at the norm (gamma x / (1 + x)); other labour is part of the size S."""
    fm = m.firm
    return fm.productivity * fm.size * ((1.0 + fm.staffing) / 2.0) ** m.p.labour_elasticity * fm.alive


def technology_demand(m: JJJModel) -> np.ndarray:
    """Technology budget set aside per unit of value added, by firm row: theta_r(t) x M(t) x (AC / AC_0)^epsilon.

    theta_r(t) (:meth:`JJJModel.tech_intensity`) is the start year's absorbed contract turnover over the region's
    firm value added, its log gap to Beijing's closing at ``demand_convergence`` (per region) a year; r the firm's own
    region (a subsidiary's too: theta_r is measured over all of r's entities, branches included; a branch buys
    more through its group's absorptive capacity) or, for a relocated firm, its former home; M(t) the
    technology-market index (:meth:`JJJModel.market_index`); AC the firm's absorptive capacity, AC_0 = 1/2 its
    value at the start-year staffing norm, epsilon ``demand_absorptive_elasticity`` (Cohen & Levinthal 1990:
    firms that can absorb more buy more external technology). Bounded: AC < 1.
    """
    fm, p = m.firm, m.p
    home = np.where((fm.group_region >= 0) & (fm.parent < 0), fm.group_region, fm.region)
    return m.tech_intensity()[home] * m.market_index() * (fm.absorptive / 0.5) ** p.demand_absorptive_elasticity


def update_absorptive(m: JJJModel) -> None:
    """Staffing x = staff skill / (size x the region's start-year skill per size) and absorptive capacity
    AC = 1 - 2^(-x): 1/2 at the norm, rising with R&D staff towards 1 (Cohen & Levinthal 1990; functional form
    assumption)."""
    t, fm = m.talent, m.firm
    emp = t.alive & (t.employer_kind == 2)
    skill = np.bincount(t.employer[emp], t.skill[emp], minlength=len(fm))
    fm.staffing[:] = skill / np.maximum(fm.size * m.skill_per_size[fm.region], 1e-12)
    fm.absorptive[:] = 1.0 - np.exp2(-fm.staffing)
    # a subsidiary absorbs with its group's R&D: the larger of its own and its living parent's capacity
    sub = np.flatnonzero(fm.parent >= 0)
    parent = fm.parent[sub]
    ok = fm.alive[parent]
    fm.absorptive[sub[ok]] = np.maximum(fm.absorptive[sub[ok]], fm.absorptive[parent[ok]])


def capacity(m: JJJModel) -> np.ndarray:
    """Carrying capacity of each JJJ region for its own firm agents (not subsidiaries of groups based elsewhere):
    K_r(t) = kappa x N_r(0) x M(t)^epsilon x (1 + c_r(t)), kappa = ``firm_capacity``, N_r(0) the region's own firms
    at the start, M(t) the technology-market index, epsilon ``firm_capacity_elasticity`` and c_r the region's
    ``firm_cultivation`` lever: the niche grows as the market for technology deepens, and a drive that cultivates
    and certifies high-tech firms (Hebei's doubling plan of 2017-2020) widens it."""
    p = m.p
    grown = p.firm_capacity * m.start_firms * m.market_index() ** p.firm_capacity_elasticity
    return grown * (1.0 + np.asarray(p.firm_cultivation, dtype=float))


def enter_exit(m: JJJModel) -> None:
    """Firms with negative cash exit; market entrants (seeded by every firm in the region) and spin-offs (raised
    by climate) enter, both crowded out as the region's own firms approach its carrying capacity (§7.5:
    rules.founding, rules.crowding), and together at most the room left below it. Subsidiaries are founded by
    the branch decision (:func:`open_branches`)."""
    rng = m.stream("entry")
    fm, p = m.firm, m.p
    gone = np.flatnonzero(fm.alive & (fm.cash < 0))
    fm.alive[gone] = False
    m.ties.drop_firms(gone)
    m.tally.firm_exits += np.bincount(fm.region[gone], minlength=4)
    lost = np.isin(m.talent.employer, gone) & (m.talent.employer_kind == 2)
    m.talent.employer_kind[lost], m.talent.employer[lost] = 0, -1
    m.remove_agents("firm", gone)
    n = np.bincount(fm.region[fm.alive], minlength=4)[:3]  # every firm located in the region seeds founders
    own = np.bincount(fm.region[fm.alive & (fm.parent < 0)], minlength=4)[:3]  # its own firms crowd its niche
    k = capacity(m)
    u_entry, u_spin = rng.random((2, 3))
    entrants = rules.poisson(u_entry, rules.founding(n, own, k, p.firm_entry_rate))
    spin = p.spinoff_rate * (1.0 + m.climate[:3]) * m.tally.adoptions[:3] * rules.crowding(own, k)
    spinoffs = rules.poisson(u_spin, spin)
    # entry fills at most the room left in the niche: where every incumbent has just exited (a negative net margin),
    # crowding is nil and spin-offs per adoption would otherwise refill a region past its capacity each quarter
    room = np.floor(np.maximum(k - own, 0.0)).astype(np.int64)
    entrants = np.minimum(entrants, room)
    spinoffs = np.minimum(spinoffs, room - entrants)
    m.tally.spinoffs += np.r_[spinoffs, 0]
    m.tally.firm_entries += np.r_[entrants + spinoffs, 0]
    region = np.repeat(np.arange(3), entrants + spinoffs)
    if region.size:
        add(m, rng, region, rng.integers(0, m.n_fields, region.size), size_factor=0.5)


def add(
    m: JJJModel,
    rng: np.random.Generator,
    region: np.ndarray,
    field: np.ndarray,
    size_factor: float = 1.0,
    parent: np.ndarray | None = None,
) -> np.ndarray:
    """Create firms at the regional reference productivity and size with half a quarter's value added
    in cash; firms present at the start hold a technology budget of U(0, 2 ``initial_budget_quarters``) quarters of
    accrual (the stock the market settles at), entrants none.
    Subsidiaries (``parent``: the parent rows) take their parent's field and productivity and
    ``subsidiary_size`` of its size."""
    if parent is None:
        prod = m.ref_productivity[region] * rng.lognormal(-0.045, 0.3, region.size)
        size = m.ref_size[region] * size_factor * rng.lognormal(-0.125, 0.5, region.size)
    else:
        fm = m.firm
        field, prod, size = fm.field[parent], fm.productivity[parent], m.p.subsidiary_size * fm.size[parent]
    va = prod * size
    saved = 2.0 * m.p.initial_budget_quarters * rng.random(region.size) if m.steps == 0 else 0.0
    rows = m.firm.append(
        region.size,
        region=region,
        field=field,
        size=size,
        productivity=prod,
        absorptive=0.0,
        cash=0.5 * va,
        tech_budget=saved * m.tech_intensity()[region] * va,
        fixed_cost=m.p.firm_fixed_cost * va,
        alive=True,
        born=m.steps,
        parent=-1 if parent is None else parent,
        staffing=0.0,
        group_region=-1 if parent is None else m.firm.region[parent],
    )
    m.firm.branches[rows, region] = True
    m.add_agents(Firm, rows)
    return rows


def open_branches(m: JJJModel) -> None:
    """Firms open branches in other JJJ regions: logit on cost gap, demo-base access and barrier. A branch is
    a subsidiary firm of its own in that region (:func:`add_subsidiaries`): it produces, hires and buys
    technology there, as the statistics count legal entities."""
    rng = m.stream("branches")
    fm, p = m.firm, m.p
    firms = np.flatnonzero(fm.alive & (fm.parent < 0))  # subsidiaries open no branches of their own
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
        add_subsidiaries(m, rng, firms[new], dest[new])
        m.tally.branches_opened += np.bincount(dest[new], minlength=4)


def add_subsidiaries(m: JJJModel, rng: np.random.Generator, parent: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Mark the parents' branches and create the subsidiary firms (rows returned)."""
    m.firm.branches[parent, region] = True
    if parent.size == 0:
        return parent
    return add(m, rng, region.astype(np.int8), m.firm.field[parent], parent=parent)


def relocate(m: JJJModel) -> None:
    """Non-capital-function relocation: Beijing firms (headquarters, not subsidiaries) move to Tianjin or Hebei
    with hazard ``relocation_rate`` x the ``capital_function_relocation`` lever, to the region the branch logit
    prefers (cost gap and barrier, §7.5). A firm moves with its staff; it keeps a channel to Beijing's sellers
    (``group_region``), as a subsidiary keeps one to its parent's region."""
    rng = m.stream("firm_relocation")
    fm, t, p = m.firm, m.talent, m.p
    u, pick = rng.random((2, len(fm)))  # per firm row: common random numbers
    hazard = p.relocation_rate * p.capital_function_relocation
    movers = np.flatnonzero(fm.alive & (fm.region == 0) & (fm.parent < 0) & (u < hazard))
    if movers.size == 0:
        return
    cost = p.cost_of_living
    pull = np.array(
        [p.branch_cost_gap * (cost[0] - cost[d]) / cost[0] - p.branch_barrier * m.barrier[0, d] for d in (1, 2)]
    )
    to_tianjin = np.exp(pull[0]) / np.exp(pull).sum()
    dest = np.where(pick[movers] < to_tianjin, 1, 2).astype(np.int8)
    moving = np.zeros(len(fm) + 1, dtype=bool)  # by employer row (the extra last entry: no employer, -1)
    moving[movers] = True
    staff = t.alive & (t.employer_kind == 2) & moving[t.employer]
    rows = np.flatnonzero(staff)
    where = np.zeros(len(fm), dtype=np.int8)
    where[movers] = dest
    np.add.at(m.flows.talent_moves, (t.region[rows], where[t.employer[rows]]), 1)
    t.region[rows] = where[t.employer[rows]]
    fm.region[movers], fm.group_region[movers] = dest, 0
    fm.branches[movers, 0], fm.branches[movers, dest] = False, True
    m.tally.relocations += np.bincount(dest, minlength=4)
