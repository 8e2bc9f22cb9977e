"""The technology market of one quarter (§7.3): firms examine offers (:mod:`.offers`) and sign contracts, funds back
the deals they cannot afford, partnerships form, technology bought raises TFP, and the rest of China buys JJJ
results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import rules
from ..achievements import LICENSED, MARKET_READY
from ..regions import OUTSIDE
from . import fund as fund_rules

if TYPE_CHECKING:
    from ..model import JJJModel
from .firm import value_added
from .offers import NO_KEYS, Deals, chain_fit, contract_mean, contract_noise, examine


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
    m.ties.decay_add(p.partner_decay, *network_ties(m, rng))
    firms = np.flatnonzero(fm.alive)
    pool = on_offer(m)
    if firms.size:
        k = p.search_candidates
        va = value_added(m)  # unchanged by the market until the TFP gain below
        own, cand, per_slot = examine(m, rng, firms, pool, va)
        backed, funds = _fund_deals(m, rng, firms, cand, per_slot)
        deals = Deals.concat([own, cand.take(backed)])
        backer = np.r_[np.full(own.idx.size, -1, dtype=np.int64), funds]
        f = firms[deals.idx // k]
        j, origin = per_slot["result"][deals.slot], per_slot["origin"][deals.slot]
        loc = fm.region[f].astype(np.int64)
        cross = (origin != loc) & (origin < OUTSIDE)
        value, cost, quality = deals.value, deals.cost, deals.quality
        fit = chain_fit(m).ravel()[deals.sector_field]
        fund_rules.invest(m, backer, f, j, loc, cross, cost)
        new = np.flatnonzero((j >= 0) & (res.status[np.maximum(j, 0)] == MARKET_READY))
        new = new[np.unique(j[new], return_index=True)[1]]  # a result's first licence (one per result)
        res.status[j[new]], res.buyer[j[new]], res.licensed[j[new]] = LICENSED, loc[new], m.steps
        m.book(origin, loc, value, seller=j, payer=f, cost=cost)
        sold = j >= 0
        m.ties.add(f[sold], res.origin[j[sold]], 1.0)  # every contract with a JJJ platform forms or renews a tie
        # technology bought raises TFP in proportion to its value relative to the firm's output (diminishing
        # in the dose: log1p), times quality, absorptive capacity and chain fit, and by the firm's distance to the
        # frontier (catch-up: no gain at or above it, so TFP cannot compound without bound)
        dose = np.bincount(f, cost * quality * (1.0 + fit), minlength=len(fm)) / np.maximum(va, 1e-12)
        room = np.maximum(1.0 - fm.productivity / m.tfp_frontier(), 0.0)
        fm.productivity *= 1.0 + p.productivity_gain * fm.absorptive * np.log1p(dose) * room
        m.tally.adoptions += np.bincount(loc[new], minlength=4)  # results taken up for the first time
        m.tally.contracts += np.bincount(loc, minlength=4)
    license_outside(m, pool)


def network_ties(m: JJJModel, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """The talent network brings firms in touch with other regions' platforms: a firm whose R&D staff have
    collaborators in another JJJ region forms Poisson(``partner_network_rate`` x those ties) new ties of
    strength 1/2 with research platforms there (drawn at random), per quarter. Returns the ties to add (firm rows,
    platform rows, strength), for :meth:`.Ties.decay_add`."""
    t, fm, pl, p = m.talent, m.firm, m.platform, m.p
    u = rng.random((len(fm), 3))  # per firm row and region: common random numbers
    emp = np.flatnonzero(t.alive & (t.employer_kind == 2))
    none = (NO_KEYS[:0], NO_KEYS[:0], 0.5)
    if emp.size == 0 or p.partner_network_rate <= 0:
        return none
    ties = np.zeros((len(fm), 3))
    employer, collaborators = t.employer[emp], t.ties[emp, :3]
    for r in range(3):  # the staff's ties summed by employer (bincount: the sums of np.add.at, in the same order)
        ties[:, r] = np.bincount(employer, collaborators[:, r], minlength=len(fm))
    ties[np.arange(len(fm)), np.minimum(fm.region, 2)] = 0.0  # collaborators at home bring no new region
    lam = p.partner_network_rate * ties.ravel() * np.repeat(fm.alive, 3)
    n = np.zeros(lam.size, dtype=np.int64)
    some = np.flatnonzero(lam > 0)  # a mean of 0 draws 0: only firm rows and regions with collaborators draw
    n[some] = rules.poisson(u.ravel()[some], lam[some])
    if n.sum() == 0:
        return none
    firm_rows = np.repeat(np.repeat(np.arange(len(fm)), 3), n)
    region = np.repeat(np.tile(np.arange(3), len(fm)), n)
    research = np.flatnonzero(pl.alive & pl.research)
    by_region = research[np.argsort(pl.region[research], kind="stable")]
    start = np.searchsorted(pl.region[by_region], region, "left")
    end = np.searchsorted(pl.region[by_region], region, "right")
    ok = end > start
    pos = start + np.minimum((rng.random(region.size) * (end - start)).astype(np.int64), np.maximum(end - start - 1, 0))
    return firm_rows[ok], by_region[pos[ok]], 0.5


def on_offer(m: JJJModel) -> np.ndarray:
    """Rows of JJJ results on the market: market-ready or already licensed, younger than ``result_life``."""
    res = m.results
    live = (res.status == MARKET_READY) | (res.status == LICENSED)
    return np.flatnonzero(live & (m.steps - res.born < m.p.result_life))


def _fund_deals(
    m: JJJModel, rng: np.random.Generator, firms: np.ndarray, cand: Deals, per_slot: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Deals on JJJ results that go ahead only with a fund's money (§4.4, §7.4): the candidates ``cand`` of
    :func:`_block_decide`. First the firm's active technology-transfer projects pay for such offers from their
    seller region (:func:`fund.project_deals`); then funds back new projects among the rest that are ``fresh``
    (affordable with a ticket and the private money it draws in, for firms not buying this quarter otherwise), one
    per firm and result (:func:`fund.back_deals`).

    Returns the positions in ``cand`` of the project-paid and the newly backed deals, and their backing fund rows
    (-1 for a project-paid deal: no new project)."""
    f = firms[cand.idx // m.p.search_candidates]
    j, origin = per_slot["result"][cand.slot], per_slot["origin"][cand.slot]
    follow = fund_rules.project_deals(m, f, origin, cand.cost, ~cand.mandate, cand.mandate)
    fresh = cand.fresh.copy()
    fresh[follow] = False
    fresh &= ~np.isin(f, f[follow])
    pick = _one_per_result_and_firm(rng, f, j, np.flatnonzero(fresh))
    loc = m.firm.region[f[pick]].astype(np.int64)
    cross = (origin[pick] != loc) & (origin[pick] < OUTSIDE)
    funds = fund_rules.back_deals(m, f[pick], j[pick], loc, cross, cand.mandate[pick])
    backed = funds >= 0
    return np.r_[follow, pick[backed]], np.r_[np.full(follow.size, -1, dtype=np.int64), funds[backed]]


def _one_per_result_and_firm(rng: np.random.Generator, f: np.ndarray, j: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A random subset of candidate deals ``idx`` with one deal per result and one per firm."""
    idx = idx[rng.permutation(idx.size)]
    idx = idx[_first_of_each(j[idx])]
    return idx[_first_of_each(f[idx])]


def _first_of_each(values: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each distinct value, in increasing order of the value: what
    ``np.unique(values, return_index=True)[1]`` returns, for non-negative integers without a sort."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.full(int(values.max()) + 1, values.size, dtype=np.int64)
    np.minimum.at(first, values, np.arange(values.size))
    return first[first < values.size]


def license_outside(m: JJJModel, pool: np.ndarray) -> None:
    """The rest of China buys JJJ results on offer (§7.3): its demand for JJJ technology is a market that deepens
    with M(t), shared among the results on offer. Result j gets Poisson-many contracts a quarter, mean
    ``outside_demand`` x M(t)^(1 - s) x w_j x W_0 / W(t), w_j = min(quality, 1) x the reach of its region's
    technology market (:meth:`JJJModel.seller_access`), W(t) = the sum of w over the results on offer and W_0 its
    first non-empty value in the run: ``outside_demand`` contracts per result of weight 1 at the start, a total
    that grows with the market, not with JJJ's output of results. Each contract is of a drawn size
    (:func:`contract_values`, which carries the M(t)^s)."""
    rng = m.stream("outside")
    res = m.results
    u = rng.random(len(res))  # a draw per result row: common random numbers
    lam = outside_means(m, pool)
    n = rules.poisson(u[pool], lam)
    rows = np.repeat(pool, n)
    if rows.size == 0:
        return
    # contract_values, its mean computed once per result and repeated for the result's contracts
    seller = res.region[pool].astype(np.int64)
    mean = np.repeat(contract_mean(m, res.quality[pool], res.trl[pool] - m.p.market_ready_trl, seller), n)
    value = mean * contract_noise(m, rng.standard_normal(rows.size))
    first = pool[(n > 0) & (res.status[pool] == MARKET_READY)]
    res.status[first], res.buyer[first], res.licensed[first] = LICENSED, OUTSIDE, m.steps
    m.book(np.repeat(seller, n), np.full(rows.size, OUTSIDE), value, seller=rows)


def outside_means(m: JJJModel, pool: np.ndarray) -> np.ndarray:
    """The Poisson means of :func:`license_outside` for the results on offer ``pool``; they sum to
    ``outside_demand`` x M(t)^(1 - s) x W_0 whatever the number of results. W_0 (``JJJModel.outside_reach_ref``)
    is the first non-empty pool's weight times ``JJJModel.outside_rate``, JJJ's contracts per invention patent in
    the start year relative to 2014 (1 for a 2014 start; 0.62 for 2023: the market per result had thinned)."""
    res = m.results
    deepening = m.market_index() ** (1.0 - m.p.contract_size_market_share)
    weight = np.minimum(res.quality[pool], 1.0) * m.seller_access()[res.region[pool]]
    total = float(weight.sum())
    if m.outside_reach_ref <= 0.0:
        m.outside_reach_ref = total * m.outside_rate
    share = m.outside_reach_ref / total if total > 0 else 0.0
    return m.p.outside_demand * deepening * share * weight
