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
        "group_region", "Region of the group the firm keeps a channel to (a subsidiary's parent, a relocated firm's"
        " former home), or -1."
    )
    staffing = column("staffing", "R&D staff skill per unit of size relative to the region's start-year norm.")

    @property
    def branches(self) -> np.ndarray:
        """Whether the firm has a branch in each region."""
        return self.table._cols["branches"][self.row].copy()


def adopt(m: JJJModel) -> None:
    """Transfer: the technology market of one quarter (§7.3).

    Each living firm examines ``search_candidates`` offers: a JJJ result still on offer (non-exclusive
    licensing: a result can be licensed to many buyers until it expires) or, with chance
    ``outside_supply_share``, an offer from the rest of China. It signs a contract by logit (§4.3), within its
    technology budget, one contract per offer; funds back deals it cannot afford alone (§4.4). Each contract's
    value is drawn from the observed size distribution (:func:`contract_values`). Then the rest of China buys
    JJJ results (:func:`license_outside`).
    """
    rng = m.stream("transfer")
    res, fm, p = m.results, m.firm, m.p
    m.ties.decay(p.partner_decay)
    network_ties(m, rng)
    firms = np.flatnonzero(fm.alive)
    pool = on_offer(m)
    if firms.size:
        offers = _search(m, rng, firms, pool)
        f, j, origin, draw = offers["firm"], offers["result"], offers["origin"], offers["draw"]
        loc = fm.region[f].astype(np.int64)
        cross = (origin != loc) & (origin < OUTSIDE)
        logit = _adoption_logit(m, offers, loc, cross)
        value = offers["value"]
        cost = value * (1.0 + p.recertification_cost * (1.0 - p.standards_recognition) * cross)
        own = _affordable(f, cost, draw < rules.logistic(logit), fm.tech_budget)
        jjj = origin < OUTSIDE
        backed, backer = _fund_deals(m, rng, f, j, loc, cross, draw, logit, cost, own, jjj)
        ok = np.r_[own, backed]
        f, j, origin, loc, cross, backer = f[ok], j[ok], origin[ok], loc[ok], cross[ok], backer[ok]
        value, cost, quality, fit = value[ok], cost[ok], offers["quality"][ok], offers["fit"][ok]
        fund_rules.invest(m, backer, f, j, loc, cross, cost)
        new = np.flatnonzero((j >= 0) & (res.status[np.maximum(j, 0)] == MARKET_READY))
        new = new[np.unique(j[new], return_index=True)[1]]  # a result's first licence (one per result)
        res.status[j[new]], res.buyer[j[new]], res.licensed[j[new]] = LICENSED, loc[new], m.steps
        m.book(origin, loc, value, seller=j, payer=f, cost=cost)
        sold = j >= 0
        m.ties.add(f[sold], res.origin[j[sold]], 1.0)  # every contract with a JJJ platform forms or renews a tie
        # technology bought raises TFP in proportion to its value relative to the firm's output (diminishing
        # in the dose: log1p), times quality, absorptive capacity and chain fit
        dose = np.bincount(f, cost * quality * (1.0 + fit), minlength=len(fm)) / np.maximum(value_added(m), 1e-12)
        fm.productivity *= 1.0 + p.productivity_gain * fm.absorptive * np.log1p(dose)
        m.tally.adoptions += np.bincount(loc[new], minlength=4)  # results taken up for the first time
        m.tally.contracts += np.bincount(loc, minlength=4)
    license_outside(m, pool)


def network_ties(m: JJJModel, rng: np.random.Generator) -> None:
    """The talent network brings firms in touch with other regions' platforms: a firm whose R&D staff have
    collaborators in another JJJ region forms Poisson(``partner_network_rate`` x those ties) new ties of
    strength 1/2 with research platforms there (drawn at random), per quarter."""
    t, fm, pl, p = m.talent, m.firm, m.platform, m.p
    u = rng.random((len(fm), 3))  # per firm row and region: common random numbers
    emp = np.flatnonzero(t.alive & (t.employer_kind == 2))
    if emp.size == 0 or p.partner_network_rate <= 0:
        return
    ties = np.zeros((len(fm), 3))
    np.add.at(ties, t.employer[emp], t.ties[emp, :3])
    ties[np.arange(len(fm)), np.minimum(fm.region, 2)] = 0.0  # collaborators at home bring no new region
    n = rules.poisson(u.ravel(), p.partner_network_rate * ties.ravel() * np.repeat(fm.alive, 3))
    if n.sum() == 0:
        return
    firm_rows = np.repeat(np.repeat(np.arange(len(fm)), 3), n)
    region = np.repeat(np.tile(np.arange(3), len(fm)), n)
    research = np.flatnonzero(pl.alive & pl.research)
    by_region = research[np.argsort(pl.region[research], kind="stable")]
    start = np.searchsorted(pl.region[by_region], region, "left")
    end = np.searchsorted(pl.region[by_region], region, "right")
    ok = end > start
    pos = start + np.minimum((rng.random(region.size) * (end - start)).astype(np.int64), np.maximum(end - start - 1, 0))
    m.ties.add(firm_rows[ok], by_region[pos[ok]], 0.5)


def on_offer(m: JJJModel) -> np.ndarray:
    """Rows of JJJ results on the market: market-ready or already licensed, younger than ``result_life``."""
    res = m.results
    live = (res.status == MARKET_READY) | (res.status == LICENSED)
    return np.flatnonzero(live & (m.steps - res.born < m.p.result_life))


def contract_values(m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Value of one contract, 100m CNY per deal at this scale: unit x M(t)^s x quality x (1 + 0.25 per TRL above
    market-ready) x a mean-one log-normal draw (``noise``: standard normals) of log sd ``contract_size_sd``;
    s = ``contract_size_market_share``, the part of the market's deepening that comes as larger contracts."""
    p = m.p
    sd, grown = p.contract_size_sd, m.market_index() ** p.contract_size_market_share
    noise = np.exp(sd * noise - sd * sd / 2)
    return p.contract_value_unit / p.scale * grown * quality * (1.0 + 0.25 * trl_above) * noise


def _search(m: JJJModel, rng: np.random.Generator, firms: np.ndarray, pool: np.ndarray) -> dict[str, np.ndarray]:
    """The offers each living firm examines this quarter, ``search_candidates`` per firm, firm-major.

    An offer comes from the rest of China with chance ``outside_supply_share`` (a result of mean quality one,
    market-ready, of a random field), else from the JJJ results on offer. Draws are made per firm row (not per
    living firm), so that each firm meets the same random numbers in every scenario run with the same seed
    (common random numbers).
    """
    p, res = m.p, m.results
    k, n = p.search_candidates, len(m.firm)
    u = rng.random((n, 6, k))[firms].transpose(1, 0, 2).reshape(6, -1)  # one gather for the six uniforms
    pick, draw, src, up, via, which = u
    z_q, z_v = rng.standard_normal((n, 2, k))[firms].transpose(1, 0, 2).reshape(2, -1)
    fld = rng.integers(0, m.n_fields, (n, k))[firms].ravel()
    f = np.repeat(firms, k)
    outside = (src < p.outside_supply_share) | (pool.size == 0)
    j = np.full(f.size, -1, dtype=np.int64)
    if pool.size:
        j = np.where(outside, -1, pool[np.minimum((pick * pool.size).astype(np.int64), pool.size - 1)])
        _partner_offers(m, f, j, pool, ~outside & (via < p.partner_search_share), which, pick)
    jj = np.maximum(j, 0)
    sd = p.quality_sd
    quality = np.where(outside, np.exp(sd * z_q - sd * sd / 2), res.quality[jj] if len(res) else 1.0)
    trl_above = np.where(outside, (up < 0.5).astype(float), res.trl[jj] - p.market_ready_trl if len(res) else 0.0)
    field = np.where(outside, fld, res.field[jj] if len(res) else fld).astype(np.int64)
    origin = np.where(outside, OUTSIDE, res.region[jj] if len(res) else OUTSIDE).astype(np.int64)
    anchor = np.where(outside, -1, res.anchor[jj] if len(res) else -1).astype(np.int64)
    fit = p.chain_integration * (m.firm.field[f] == field)
    return dict(
        firm=f, result=j, origin=origin, draw=draw, quality=quality, trl_above=trl_above, field=field,
        anchor=anchor, fit=fit, value=contract_values(m, quality, trl_above, z_v),
    )


def _partner_offers(
    m: JJJModel, f: np.ndarray, j: np.ndarray, pool: np.ndarray, use: np.ndarray, which: np.ndarray, pick: np.ndarray
) -> None:
    """Replace the offers ``use`` of ``j`` (in place) by a result of a partner platform (drawn in proportion to
    tie strength with ``which``, the result with ``pick``) where the firm has a partner with results on offer."""
    idx = np.flatnonzero(use)
    if idx.size == 0 or len(m.ties) == 0:
        return
    partner = m.ties.pick_partner(f[idx], which[idx])
    by_origin = pool[np.argsort(m.results.origin[pool], kind="stable")]
    origins = m.results.origin[by_origin]
    start, end = np.searchsorted(origins, partner, "left"), np.searchsorted(origins, partner, "right")
    ok = (partner >= 0) & (end > start)
    pos = start + np.minimum((pick[idx] * (end - start)).astype(np.int64), np.maximum(end - start - 1, 0))
    j[idx[ok]] = by_origin[pos[ok]]


def _adoption_logit(m: JJJModel, offers: dict[str, np.ndarray], loc: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """The adoption logit of each offer without fund backing (rules.adoption_logit). A subsidiary buying from
    its parent's region, or a relocated firm from its former home, faces ``1 - subsidiary_barrier_cut`` of the
    barrier (the group's own channel)."""
    fm, p = m.firm, m.p
    f, origin = offers["firm"], offers["origin"]
    group = fm.group_region[f] == origin
    j = offers["result"]
    tie = np.where(j >= 0, m.ties.get(f, m.results.origin[np.maximum(j, 0)]), 0.0) if len(m.results) else 0.0
    return p.partner_trust * np.log1p(tie) + rules.adoption_logit(
        quality=offers["quality"],
        trl_above=offers["trl_above"],
        absorptive=fm.absorptive[f],
        cognitive_distance=1.0 - m.similarity[fm.field[f], offers["field"]],
        fit=offers["fit"],
        distance_km=DISTANCE_KM[origin, loc],
        barrier=m.barrier[origin, loc] * (1.0 - p.subsidiary_barrier_cut * group),
        service_boost=rules.service_boost(m.service_platforms_by_field()[offers["field"]], p.service_platform_half)
        * cross,
        anchored=(offers["anchor"] == loc),
        backed=np.zeros(f.size),
        w=m.adoption_weights,
    )


def _affordable(f: np.ndarray, cost: np.ndarray, accept: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Indices of the accepted offers each firm can pay for, in the order it examined them (offers are laid
    out firm-major): an offer goes ahead while the firm's spending so far plus its cost stays within budget."""
    spend = np.where(accept, cost, 0.0)
    start = np.r_[0, np.flatnonzero(np.diff(f)) + 1]
    cum = np.cumsum(spend)
    before = cum - spend - np.repeat(cum[start] - spend[start], np.diff(np.r_[start, f.size]))
    return np.flatnonzero(accept & (before + cost <= budget[f]))


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
    jjj: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Deals on JJJ results that go ahead only with a fund's money (logit + funding_boost; under the collaborative
    fund's mandate a cross-region deal also has its barrier friction offset). First the firm's active
    technology-transfer projects pay for such offers from their seller region (``fund.project_deals``); then
    funds back new projects among the rest, affordable with a ticket and the private money it draws in, for firms
    not buying this quarter otherwise, one per firm and result (``fund.back_deals``).

    Returns the indices of the project-paid and newly backed deals and the backing fund row of every offer (-1 if
    none: no new project).
    """
    p = m.p
    origin = np.where(jjj, m.results.region[np.maximum(j, 0)], OUTSIDE).astype(np.int64)
    barrier = m.barrier[origin, loc]
    tipped = draw < rules.logistic(logit + p.funding_boost)
    mandate_only = ~tipped & cross & (draw < rules.logistic(logit + p.funding_boost + p.adopt_barrier * barrier))
    ok = jjj & (tipped | mandate_only)
    ok[own] = False
    follow = fund_rules.project_deals(m, f, origin, cost, ok & tipped, ok & mandate_only)
    ok[follow] = False
    ok &= (m.firm.tech_budget[f] + m.ticket * (1.0 + m.crowd_in[loc]) >= cost) & ~np.isin(f, np.r_[f[own], f[follow]])
    cand = _one_per_result_and_firm(rng, f, j, np.flatnonzero(ok))
    backer = np.full(f.size, -1, dtype=np.int64)
    backer[cand] = fund_rules.back_deals(m, f[cand], j[cand], loc[cand], cross[cand], mandate_only[cand])
    return np.r_[follow, cand[backer[cand] >= 0]], backer


def _one_per_result_and_firm(rng: np.random.Generator, f: np.ndarray, j: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A random subset of candidate deals ``idx`` with one deal per result and one per firm."""
    idx = idx[rng.permutation(idx.size)]
    idx = idx[np.unique(j[idx], return_index=True)[1]]
    return idx[np.unique(f[idx], return_index=True)[1]]


def license_outside(m: JJJModel, pool: np.ndarray) -> None:
    """The rest of China buys JJJ results on offer: Poisson-many contracts per result per quarter, mean
    ``outside_demand`` x min(quality, 1) x M(t)^(1 - s), each of a drawn size (:func:`contract_values`, which
    carries the M(t)^s): the rest of China's demand deepens with the technology market as JJJ's does."""
    rng = m.stream("outside")
    res = m.results
    u = rng.random(len(res))  # a draw per result row: common random numbers
    deepening = m.market_index() ** (1.0 - m.p.contract_size_market_share)
    lam = m.p.outside_demand * np.minimum(res.quality[pool], 1.0) * deepening
    n = rules.poisson(u[pool], lam)
    rows = np.repeat(pool, n)
    if rows.size == 0:
        return
    value = contract_values(m, res.quality[rows], res.trl[rows] - m.p.market_ready_trl, rng.standard_normal(rows.size))
    first = pool[(n > 0) & (res.status[pool] == MARKET_READY)]
    res.status[first], res.buyer[first], res.licensed[first] = LICENSED, OUTSIDE, m.steps
    m.book(res.region[rows].astype(np.int64), np.full(rows.size, OUTSIDE), value, seller=rows)


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
    """Technology budget set aside per unit of value added, by firm row: theta_r x M(t) x (AC / AC_0)^epsilon.

    theta_r is the start year's absorbed contract turnover over the region's firm value added; M(t) the
    technology-market index (:meth:`JJJModel.market_index`); AC the firm's absorptive capacity, AC_0 = 1/2 its
    value at the start-year staffing norm, epsilon ``demand_absorptive_elasticity`` (Cohen & Levinthal 1990:
    firms that can absorb more buy more external technology). Bounded: AC < 1.
    """
    fm, p = m.firm, m.p
    return m.tech_share[fm.region] * m.market_index() * (fm.absorptive / 0.5) ** p.demand_absorptive_elasticity


def update_absorptive(m: JJJModel) -> None:
    """Staffing x = staff skill / (size x the region's start-year skill per size) and absorptive capacity
    AC = 1 - 2^(-x): 1/2 at the norm, rising with R&D staff towards 1 (Cohen & Levinthal 1990; functional form
    assumption)."""
    t, fm = m.talent, m.firm
    emp = t.alive & (t.employer_kind == 2)
    skill = np.bincount(t.employer[emp], t.skill[emp], minlength=len(fm))
    fm.staffing[:] = skill / np.maximum(fm.size * m.skill_per_size[fm.region], 1e-12)
    fm.absorptive[:] = 1.0 - np.exp2(-fm.staffing)


def enter_exit(m: JJJModel) -> None:
    """Firms with negative cash exit; market entrants and spin-offs (raised by climate) enter (§4.5)."""
    rng = m.stream("entry")
    fm, p = m.firm, m.p
    gone = np.flatnonzero(fm.alive & (fm.cash < 0))
    fm.alive[gone] = False
    m.ties.drop_firms(gone)
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
    m: JJJModel,
    rng: np.random.Generator,
    region: np.ndarray,
    field: np.ndarray,
    size_factor: float = 1.0,
    parent: np.ndarray | None = None,
) -> np.ndarray:
    """Create firms at the regional reference productivity and size with half a quarter's value added
    in cash; firms present at the start hold a technology budget of up to a quarter's accrual, entrants none.
    Subsidiaries (``parent``: the parent rows) take their parent's field and productivity and
    ``subsidiary_size`` of its size."""
    if parent is None:
        prod = m.ref_productivity[region] * rng.lognormal(-0.045, 0.3, region.size)
        size = m.ref_size[region] * size_factor * rng.lognormal(-0.125, 0.5, region.size)
    else:
        fm = m.firm
        field, prod, size = fm.field[parent], fm.productivity[parent], m.p.subsidiary_size * fm.size[parent]
    va = prod * size
    saved = rng.random(region.size) if m.steps == 0 else 0.0  # up to a quarter's accrual
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
    staff = t.alive & (t.employer_kind == 2) & np.isin(t.employer, movers)
    rows = np.flatnonzero(staff)
    where = np.zeros(len(fm), dtype=np.int8)
    where[movers] = dest
    np.add.at(m.flows.talent_moves, (t.region[rows], where[t.employer[rows]]), 1)
    t.region[rows] = where[t.employer[rows]]
    fm.region[movers], fm.group_region[movers] = dest, 0
    fm.branches[movers, 0], fm.branches[movers, dest] = False, True
    m.tally.relocations += np.bincount(dest, minlength=4)
