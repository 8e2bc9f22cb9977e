"""Firms: adopt results, produce, open branches, enter and exit (model-spec §4.3 and §4.5)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import compiled, rules
from ..achievements import LICENSED, MARKET_READY
from ..regions import DISTANCE_KM, OUTSIDE
from . import fund as fund_rules
from . import market_kernel
from .base import RowAgent, column

if TYPE_CHECKING:
    from ..model import JJJModel
    from ..params import Params

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


_NO_KEYS = np.zeros(1, dtype=np.int64)
_NO_FLOATS = np.zeros(1)
"""Stand-ins for the tie tables when there are no ties (the kernels then never read them)."""

OFFER_BLOCK = 16384
"""Offers decided together (:func:`_market`): about 128 kB per array of the block, so that the block's arrays stay
in the CPU cache instead of streaming the whole market's arrays through memory for every operation."""


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
        own, cand, per_slot = _market(m, rng, firms, pool, va)
        backed, funds = _fund_deals(m, rng, firms, cand, per_slot)
        deals = _Deals.concat([own, cand.take(backed)])
        backer = np.r_[np.full(own.idx.size, -1, dtype=np.int64), funds]
        f = firms[deals.idx // k]
        j, origin = per_slot["result"][deals.slot], per_slot["origin"][deals.slot]
        loc = fm.region[f].astype(np.int64)
        cross = (origin != loc) & (origin < OUTSIDE)
        value, cost, quality = deals.value, deals.cost, deals.quality
        fit = _chain_fit(m).ravel()[deals.sector_field]
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
    none = (_NO_KEYS[:0], _NO_KEYS[:0], 0.5)
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


def contract_values(
    m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, noise: np.ndarray, seller: np.ndarray | int
) -> np.ndarray:
    """Value of one contract, 100m CNY per deal at this scale: unit x M(t)^s x the seller region's size factor
    (:meth:`JJJModel.seller_size`) x quality x (1 + 0.25 per TRL above market-ready) x a mean-one log-normal draw
    (``noise``: standard normals) of log sd ``contract_size_sd``; s = ``contract_size_market_share``, the part of
    the market's deepening that comes as larger contracts."""
    return _contract_mean(m, quality, trl_above, seller) * _contract_noise(m, noise)


def _contract_mean(m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, seller: np.ndarray | int) -> np.ndarray:
    """The part of :func:`contract_values` before the draw (:meth:`JJJModel.contract_mean`)."""
    return m.contract_mean(quality, trl_above, seller)


def _contract_noise(m: JJJModel, z: np.ndarray) -> np.ndarray:
    """The mean-one log-normal factor of :func:`contract_values` from standard normals ``z``."""
    sd = m.p.contract_size_sd
    noise = sd * z
    noise -= sd * sd / 2
    return np.exp(noise, out=noise)


def _with_sentinel(values: np.ndarray, sentinel: float, dtype: type) -> np.ndarray:
    """``values`` followed by one ``sentinel`` (the entry of an offer from the rest of China)."""
    out: np.ndarray = np.empty(values.size + 1, dtype=dtype)
    out[:-1], out[-1] = values, sentinel
    return out


def _chain_fit(m: JJJModel) -> np.ndarray:
    """Chain fit of a buyer's sector (row) with a result's field (column): ``chain_integration`` where equal."""
    return m.p.chain_integration * np.eye(m.n_fields, dtype=bool)


@dataclass
class _Deals:
    """Offers that may become contracts, by offer index (firm-major, ``k`` per living firm): the ``slot`` of the
    result (its position in the results on offer; their count for an offer from the rest of China), the contract
    ``value``, its ``cost`` to the buyer, the result's ``quality``, ``sector_field`` (buyer sector x the number of
    fields + the result's field) and, for a fund candidate, whether only the collaborative fund's ``mandate``
    allows it and whether it is ``fresh``: the firm signing nothing on its own this quarter and the deal affordable
    with a fund's ticket (a new project may start with it; a project already running may pay for any candidate)."""

    idx: np.ndarray
    slot: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    sector_field: np.ndarray
    mandate: np.ndarray
    fresh: np.ndarray

    def take(self, i: np.ndarray) -> _Deals:
        """The deals at positions ``i``."""
        return _Deals(*(getattr(self, f.name)[i] for f in fields(self)))

    @staticmethod
    def concat(parts: list[_Deals]) -> _Deals:
        """The deals of ``parts``, in order."""
        return _Deals(*(np.concatenate([getattr(d, f.name) for d in parts]) for f in fields(_Deals)))


def _market(
    m: JJJModel, rng: np.random.Generator, firms: np.ndarray, pool: np.ndarray, va: np.ndarray
) -> tuple[_Deals, _Deals, dict[str, np.ndarray]]:
    """The offers each living firm examines this quarter, ``search_candidates`` per firm, and what becomes of them.

    An offer comes from the rest of China with chance ``outside_supply_share`` (a result of mean quality one,
    market-ready, of a random field), else from the JJJ results on offer, from a partner platform's with chance
    ``partner_search_share`` (:func:`_block_slots`). Draws are made per firm row (not per living firm), so that
    each firm meets the same random numbers in every scenario run with the same seed (common random numbers).

    What depends on the result alone (the first terms of the adoption logit, the contract's mean value) is computed
    once per result on offer and gathered; the offers are then decided in blocks of about ``OFFER_BLOCK`` (whole
    firms): adoption logit, signing, affordability, fund candidates (:func:`_block_decide`).

    Returns the deals firms sign on their own, the fund candidates and the per-slot arrays (``result``: row,
    ``origin``: region).
    """
    p, res = m.p, m.results
    k, n, size = p.search_candidates, len(m.firm), pool.size
    uniforms = _RowUniforms(rng, n, 6 * k)  # per firm row: pick, draw, src, up, via, which (made block by block)
    normals = rng.standard_normal((n, 2, k))  # per firm row: quality, value
    sectors = rng.integers(0, m.n_fields, (n, k))  # the field of an offer from the rest of China
    q_pool = res.quality[pool]
    trl_pool = (res.trl[pool] - p.market_ready_trl).astype(float)
    w = m.adoption_weights
    per_slot = dict(
        result=_with_sentinel(pool, -1, np.int64),
        quality=_with_sentinel(q_pool, 1.0, np.float64),
        head=_with_sentinel(w["intercept"] + w["quality"] * np.log(q_pool) + w["trl"] * trl_pool, 0.0, np.float64),
        mean=_with_sentinel(_contract_mean(m, q_pool, trl_pool, res.region[pool]), 0.0, np.float64),
        field=_with_sentinel(res.field[pool], 0, np.int64),
        origin=_with_sentinel(res.region[pool], OUTSIDE, np.int64),
        anchor=_with_sentinel(res.anchor[pool], -1, np.int64),
        platform=_with_sentinel(res.origin[pool], -1, np.int64),
    )
    # gathered together, a row per slot (one take of 32-byte rows instead of a gather per array)
    per_slot["floats"] = np.column_stack([per_slot[x] for x in ("quality", "head", "mean", "quality")])
    per_slot["ints"] = np.column_stack([per_slot[x] for x in ("field", "origin", "anchor", "platform")])
    count = np.bincount(res.origin[pool], minlength=len(m.platform))
    ties = m.ties.picker_tables() if len(m.ties) else None
    partners = dict(
        local=local_search(m, pool),
        by_origin=np.argsort(res.origin[pool], kind="stable"),  # positions in pool, by platform
        count=count,
        first=np.cumsum(count) - count,
        pick=m.ties.picker(ties) if ties is not None else None,
        ties=ties,
    )
    tables: dict[str, Any] = _logit_tables(m)
    tables["buyer_scale"] = buyer_scale(m, va)
    tables["ties"] = ties
    own, cand = [], []
    spent = 0.0  # the running sum of spending over the offers (the affordability rule's cumulative sum)
    step = max(OFFER_BLOCK // k, 1)
    for a in range(0, firms.size, step):
        block = firms[a : a + step]
        u = uniforms.rows(block).reshape(block.size, 6, k)
        slot, inside = _block_slots(m, block, u, size, partners)
        z, sector = np.take(normals, block, axis=0), np.take(sectors, block, axis=0).ravel()
        spent, own_b, cand_b = _block_decide(m, block, slot, inside, u, z, sector, per_slot, tables, spent)
        own_b.idx += a * k
        cand_b.idx += a * k
        own.append(own_b)
        cand.append(cand_b)
    return _Deals.concat(own), _Deals.concat(cand), per_slot


class _RowUniforms:
    """``rng.random((n, width))`` made a few rows at a time: the rows asked for are drawn from a copy of the
    generator moved ahead to their place in the stream (a double is one 64-bit output of PCG64, so row i starts at
    output i x width), and ``rng`` itself is moved past all n rows at once, as the one call would leave it. Same
    numbers, without holding n x width doubles (334 MB a quarter at agent scale 50)."""

    def __init__(self, rng: np.random.Generator, n: int, width: int) -> None:
        bits = rng.bit_generator
        if not isinstance(bits, np.random.PCG64):
            raise TypeError(f"_RowUniforms needs a PCG64 generator, got {type(bits).__name__}")
        self.start, self.width = bits.state, width
        ahead = np.random.PCG64(0)
        ahead.state = self.start
        ahead.advance(n * width)
        state = ahead.state  # advance() clears the spare 32-bit half that integer draws keep; random() leaves it
        state["has_uint32"], state["uinteger"] = self.start["has_uint32"], self.start["uinteger"]
        bits.state = state
        self.bits = np.random.PCG64(0)  # reused for every block (a fresh PCG64() would gather OS entropy: ~50 us)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (increasing) of the n x width uniforms."""
        if rows.size == 0:
            return np.zeros((0, self.width))
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        bits = self.bits
        bits.state = self.start
        bits.advance(lo * self.width)
        span = np.random.Generator(bits).random((hi - lo, self.width))
        return span if hi - lo == rows.size else np.take(span, rows - lo, axis=0)


def buyer_scale(m: JJJModel, va: np.ndarray | None = None) -> np.ndarray:
    """The buyer's factor in a contract's value, by firm row: (VA / VA_r)^eta over its mean among the living firms
    of the buyer's region r, VA_r their mean value added, eta ``contract_buyer_elasticity`` (royalty pricing: a
    licence is paid as a share of the licensee's sales, so larger buyers sign larger contracts). Mean one over each
    region's firms, so the region's mean contract is the observed one (:meth:`JJJModel.contract_mean`); 0 for a
    firm that is gone. ``va``: the firms' value added (:func:`value_added`) if already computed."""
    fm, eta = m.firm, m.p.contract_buyer_elasticity
    va, region = value_added(m) if va is None else va, fm.region.astype(np.int64)
    alive = fm.alive.astype(float)
    n = np.maximum(np.bincount(region, alive, minlength=4), 1.0)
    rel = va / np.maximum(np.bincount(region, va, minlength=4) / n, 1e-300)[region]
    rel **= eta
    rel *= alive
    return rel / np.maximum(np.bincount(region, rel, minlength=4) / n, 1e-300)[region]


def local_search(m: JJJModel, pool: np.ndarray) -> dict[str, np.ndarray]:
    """Tables of the local search of :func:`local_slots`: the results on offer (``pool``) by seller region
    (``by_region``: positions in pool; ``first``, ``count``) and, per buyer region (row), the cumulative chance
    that a JJJ offer comes from each seller region (column): n_s x a_s x exp(-km_rs / ``search_decay_km``),
    normalised, a_s the reach of s's technology market (:meth:`JJJModel.seller_access`)."""
    region = m.results.region[pool].astype(np.int64)
    count = np.bincount(region, minlength=OUTSIDE)[:OUTSIDE]
    decay = np.exp(-DISTANCE_KM[:OUTSIDE, :OUTSIDE] / m.p.search_decay_km)
    weight = (count * m.seller_access()[:OUTSIDE])[None, :] * decay
    total = weight.sum(axis=1, keepdims=True)
    return dict(
        by_region=np.argsort(region, kind="stable"),
        count=count,
        first=np.cumsum(count) - count,
        cum=np.cumsum(weight, axis=1) / np.where(total > 0, total, 1.0),
    )


def local_slots(t: dict[str, np.ndarray], pick: np.ndarray, buyer: np.ndarray) -> np.ndarray:
    """Positions in the results on offer of JJJ offers examined by firms in regions ``buyer``, by the uniforms
    ``pick``: the seller region s by the buyer's row of ``t["cum"]`` (search is local: a region's results are met in
    proportion to their number times exp(-km / ``search_decay_km``); Jaffe, Trajtenberg & Henderson 1993), then a
    result uniformly among s's, by the same uniform rescaled within s's interval."""
    cum = t["cum"][buyer]
    s = np.minimum((pick[:, None] >= cum[:, : OUTSIDE - 1]).sum(axis=1), OUTSIDE - 1)
    rows = np.arange(pick.size)
    lo = np.where(s > 0, cum[rows, np.maximum(s - 1, 0)], 0.0)
    width = cum[rows, s] - lo
    n = t["count"][s]
    within = np.floor((pick - lo) / np.where(width > 0, width, 1.0) * n).astype(np.int64)
    pos = t["first"][s] + np.clip(within, 0, np.maximum(n - 1, 0))
    return t["by_region"][np.minimum(pos, t["by_region"].size - 1)]


def _block_slots(
    m: JJJModel, block: np.ndarray, u: np.ndarray, size: int, partners: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Slots of one block's offers (``u``: the block's uniforms, firm x kind x offer) and the offers of JJJ
    results. A share ``partner_search_share`` of these is replaced by a result of a partner platform (drawn in
    proportion to tie strength), where the firm has a partner with results on offer."""
    p, k = m.p, u.shape[2]
    if compiled.ENABLED:
        loc, ties = partners["local"], partners["ties"]
        key, cum, first = ties if ties is not None else (_NO_KEYS, _NO_FLOATS, _NO_KEYS)
        return market_kernel.block_slots(
            u, block, m.firm.region[block].astype(np.int64), size, p.outside_supply_share, p.partner_search_share,
            loc["cum"], loc["count"], loc["first"], loc["by_region"], ties is not None, key, cum, first,
            partners["count"], partners["first"], partners["by_origin"],
        )  # fmt: skip
    slot = np.full(block.size * k, size, dtype=np.int64)
    if size == 0:
        return slot, np.zeros(0, dtype=np.int64)
    inside = np.flatnonzero(u[:, 2] >= p.outside_supply_share)
    pick = u[:, 0].ravel()
    slot[inside] = local_slots(partners["local"], pick[inside], m.firm.region[block[inside // k]])
    idx = inside[u[:, 4].ravel()[inside] < p.partner_search_share]
    if idx.size and partners["pick"] is not None:
        partner = partners["pick"](block[idx // k], u[:, 5].ravel()[idx])
        count = partners["count"]
        has = np.flatnonzero(partner >= 0)
        has = has[count[partner[has]] > 0]
        start, n = partners["first"][partner[has]], count[partner[has]]
        slot[idx[has]] = partners["by_origin"][start + np.minimum((pick[idx[has]] * n).astype(np.int64), n - 1)]
    return slot, inside


def _logit_tables(m: JJJModel) -> dict[str, np.ndarray | float]:
    """The terms of :func:`rules.adoption_logit` that depend on a pair of fields, regions or flags, as tables (the
    same products of the same numbers, so that gathering them gives the logit to the bit)."""
    p, w = m.p, m.adoption_weights
    flag = np.array([[False], [True]])
    service = rules.service_boost(m.service_platforms_by_field(), p.service_platform_half)
    return dict(
        # [buyer sector x field]: the novelty and the chain-fit terms
        novelty_fit=np.column_stack(
            [(w["novelty"] * rules.learning_value(1.0 - m.similarity)).ravel(), (w["fit"] * _chain_fit(m)).ravel()]
        ),
        distance=(w["distance"] * np.log1p(DISTANCE_KM)).ravel(),  # [origin, buyer region]
        # [in the group's region, origin, buyer region]: a subsidiary or relocated firm faces part of the barrier
        barrier=(w["barrier"] * (m.barrier.ravel() * (1.0 - p.subsidiary_barrier_cut * flag))).ravel(),
        service=(w["service"] * (service * flag)).ravel(),  # [cross-region, field]
        anchored=np.array([w["anchor"] * False, w["anchor"] * True]),
        backed=w["funding"] * 0.0,
        tie0=p.partner_trust * np.log1p(0.0),
        ticket=m.ticket * (1.0 + m.crowd_in),  # [buyer region]: a fund's ticket with the private money it draws in
    )


def _block_decide(
    m: JJJModel,
    block: np.ndarray,
    slot: np.ndarray,
    inside: np.ndarray,
    u: np.ndarray,
    z: np.ndarray,
    sector: np.ndarray,
    per_slot: dict[str, np.ndarray],
    tables: dict,
    spent: float,
) -> tuple[float, _Deals, _Deals]:
    """Decide the offers of one block of firms (``block``; ``u``, ``z``, ``sector``: their draws, offers
    firm-major, indices within the block).

    The adoption logit is :func:`rules.adoption_logit` plus ``partner_trust`` x ln(1 + tie strength with the
    seller's platform), its terms added in the same order; a subsidiary buying from its parent's region, or a
    relocated firm from its former home, faces ``1 - subsidiary_barrier_cut`` of the barrier (the group's own
    channel). A firm signs an offer by that logit while its spending so far (in the order it examined its offers)
    plus the cost stays within its technology budget. An offer of a JJJ result goes ahead only with a fund if the
    firm did not sign it on its own and it is likely enough with a fund's backing (logit + ``funding_boost``), or
    under the collaborative fund's mandate also with the barrier's friction offset; it is fresh (a new project may
    start with it) if the firm signs nothing on its own this quarter and it is affordable with the ticket and the
    private money it draws in.

    Returns the running sum of spending after the block (``spent`` before it), the block's own deals and its fund
    candidates.
    """
    fm, p, w, k = m.firm, m.p, m.adoption_weights, u.shape[2]
    out = np.flatnonzero(slot == per_slot["quality"].size - 1)  # offers from the rest of China
    sd = p.quality_sd
    q_out = sd * z[:, 0].ravel()[out]
    q_out -= sd * sd / 2
    np.exp(q_out, out=q_out)
    trl_out = (u[:, 3].ravel()[out] < 0.5).astype(float)
    head_out = np.log(q_out)  # the first terms of rules.adoption_logit, in its order
    head_out *= w["quality"]
    head_out += w["intercept"]
    head_out += w["trl"] * trl_out
    mean_out = _contract_mean(m, q_out, trl_out, OUTSIDE)
    budget = fm.tech_budget[block]
    recertification = 1.0 + p.recertification_cost * (1.0 - p.standards_recognition) * True  # x 1.0 within
    ticket = tables["ticket"][fm.region[block]]
    if compiled.ENABLED:
        ties = tables["ties"]
        key, strength_table, first = (
            (m.ties.key, m.ties.strength, ties[2]) if ties is not None else (_NO_KEYS[:0], _NO_FLOATS[:0], _NO_KEYS)
        )
        quality, mean, field, origin, platform, cross, pair, sector_field, logit, strength = market_kernel.block_logit(
            slot, per_slot["floats"], per_slot["ints"], out, q_out, head_out, mean_out, sector, k, block,
            fm.region[block].astype(np.int64), fm.field[block].astype(np.int64) * m.n_fields,
            w["absorptive"] * fm.absorptive[block], fm.group_region[block].astype(np.int64), tables["novelty_fit"],
            tables["distance"], tables["barrier"], tables["service"], tables["anchored"], float(tables["backed"]),
            m.n_fields, OUTSIDE, inside, key, strength_table, first,
        )  # fmt: skip
        tied, term = _tie_term(p, inside, strength)
        size_sd = p.contract_size_sd  # _contract_noise's log-normal
        e = market_kernel.block_exponents(
            logit, tied, term, float(tables["tie0"]), inside, z, size_sd, size_sd * size_sd / 2, p.funding_boost,
            p.adopt_barrier * m.barrier.ravel(), pair,
        )  # fmt: skip
        np.exp(e, out=e)
        spent, own, cand, mandate, fresh, value, cost = market_kernel.block_deals(
            e, mean, tables["buyer_scale"][block], cross, recertification, u, budget, ticket, spent, inside
        )
    else:
        quality, mean, field, origin, platform, cross, pair, sector_field, logit, strength = _plain_logit(
            m, block, slot, inside, sector, per_slot, tables, out, q_out, head_out, mean_out
        )
        spent, own, cand, mandate, fresh, value, cost = _plain_deals(
            m, block, u, z, inside, logit, strength, mean, cross, pair, tables, budget, ticket, recertification, spent
        )  # fmt: skip
    none = np.zeros(own.size, dtype=bool)
    deals = [
        _Deals(i, slot[i], value[i], cost[i], quality[i], sector_field[i], flag, ok)
        for i, flag, ok in ((own, none, none), (cand, mandate, fresh))
    ]
    return spent, deals[0], deals[1]


def _tie_term(p: Params, inside: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The offers ``inside`` with a tie to the seller's platform (tie ``strength`` > 0) and their term of the logit,
    ``partner_trust`` x ln(1 + strength) (ln(1 + 0) = 0: the others' term is ``tie0``)."""
    tied = np.flatnonzero(strength > 0)
    return inside[tied], p.partner_trust * np.log1p(strength[tied])


def _plain_deals(
    m: JJJModel,
    block: np.ndarray,
    u: np.ndarray,
    z: np.ndarray,
    inside: np.ndarray,
    logit: np.ndarray,
    strength: np.ndarray,
    mean: np.ndarray,
    cross: np.ndarray,
    pair: np.ndarray,
    tables: dict,
    budget: np.ndarray,
    ticket: np.ndarray,
    recertification: float,
    spent: float,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The numpy form of :func:`.market_kernel.block_exponents` and :func:`.market_kernel.block_deals` (see there;
    ``strength``: the offers' tie strengths of :func:`_plain_logit`)."""
    p, k = m.p, u.shape[2]
    tied, term = _tie_term(p, inside, strength)
    term += logit[tied]
    logit += tables["tie0"]
    logit[tied] = term
    value = mean * _contract_noise(m, z[:, 1].ravel())
    value *= np.repeat(tables["buyer_scale"][block], k)
    cost = value.copy()
    across = np.flatnonzero(cross)
    cost[across] *= recertification
    draw = u[:, 1].ravel()
    # signing within budget: an offer goes ahead while the firm's spending so far plus its cost stays within budget
    accept = draw < rules.logistic(logit)
    spent, own = _within_budget(accept, cost, budget, k, spent)
    # fund candidates: offers of JJJ results not signed alone that are likely enough with a fund's backing; fresh
    # (a new project may start with it) if the firm signs nothing alone and it is affordable with the ticket
    signed = np.zeros(mean.size, dtype=bool)
    signed[own] = True
    cand = inside[~signed[inside]]
    x = logit[cand] + p.funding_boost
    tipped = draw[cand] < rules.logistic(x)
    mandate = ~tipped & cross[cand] & (draw[cand] < rules.logistic(x + p.adopt_barrier * m.barrier.ravel()[pair[cand]]))
    go = tipped | mandate
    cand, mandate = cand[go], mandate[go]
    buys = np.zeros(budget.size, dtype=bool)
    buys[own // k] = True
    reach = np.where(buys, -np.inf, budget + ticket)
    fresh = reach[cand // k] >= cost[cand]
    return spent, own, cand, mandate, fresh, value, cost


def _plain_logit(
    m: JJJModel,
    block: np.ndarray,
    slot: np.ndarray,
    inside: np.ndarray,
    sector: np.ndarray,
    per_slot: dict[str, np.ndarray],
    tables: dict,
    out: np.ndarray,
    q_out: np.ndarray,
    head_out: np.ndarray,
    mean_out: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The numpy form of :func:`.market_kernel.block_logit` (see there)."""
    fm, w, k = m.firm, m.adoption_weights, m.p.search_candidates
    by_slot, ints = np.take(per_slot["floats"], slot, axis=0), np.take(per_slot["ints"], slot, axis=0)
    quality, head, mean = by_slot[:, 0], by_slot[:, 1], by_slot[:, 2]
    field, origin, anchor, platform = ints.T
    quality[out], head[out], mean[out], field[out] = q_out, head_out, mean_out, sector[out]
    loc = np.repeat(fm.region[block].astype(np.int64), k)
    cross = (origin != loc) & (origin < OUTSIDE)
    pair = origin * 4 + loc
    sector_field = np.repeat(fm.field[block].astype(np.int64) * m.n_fields, k) + field
    logit = head + np.repeat(w["absorptive"] * fm.absorptive[block], k)
    novelty_fit = np.take(tables["novelty_fit"], sector_field, axis=0)
    logit += novelty_fit[:, 0]
    logit += novelty_fit[:, 1]
    logit -= tables["distance"][pair]
    logit -= tables["barrier"][(np.repeat(fm.group_region[block], k) == origin) * 16 + pair]
    logit += tables["service"][cross * m.n_fields + field]
    logit += np.where(anchor == loc, tables["anchored"][1], tables["anchored"][0])
    logit += tables["backed"]
    strength = m.ties.get(block[inside // k], platform[inside])
    return quality, mean, field, origin, platform, cross, pair, sector_field, logit, strength


def _within_budget(
    accept: np.ndarray, cost: np.ndarray, budget: np.ndarray, k: int, spent: float
) -> tuple[float, np.ndarray]:
    """The accepted offers (``k`` per firm, firm-major, ``budget`` per firm) that the firm can pay for: an offer goes
    ahead while the firm's accepted spending before it (in the order it examined its offers) plus its cost stays
    within its budget.

    The spending before an offer is taken, as in the rule's plain form, from the cumulative sum of accepted costs
    over the market's offers in order (``spent`` before this block): C(i) - cost(i) - (C(s) - spend(s)), s the firm's
    first offer. The sum is run over the accepted offers only (adding nothing for the others changes no partial
    sum), so the numbers are those of the plain form. Returns the running sum after the block and the offers.
    """
    acc = np.flatnonzero(accept)
    cum = np.cumsum(np.concatenate(([spent], cost[acc])))  # cum[t]: after the first t accepted offers
    count = np.bincount(acc // k, minlength=budget.size)
    first = accept[::k]  # whether each firm's first offer is accepted
    base = cum[np.cumsum(count) - count + first] - np.where(first, cost[::k], 0.0)  # C(s) - spend(s)
    firm = acc // k
    before = cum[1:] - cost[acc] - base[firm]
    return float(cum[-1]), acc[before + cost[acc] <= budget[firm]]


def _fund_deals(
    m: JJJModel, rng: np.random.Generator, firms: np.ndarray, cand: _Deals, per_slot: dict[str, np.ndarray]
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
    mean = np.repeat(_contract_mean(m, res.quality[pool], res.trl[pool] - m.p.market_ready_trl, seller), n)
    value = mean * _contract_noise(m, rng.standard_normal(rows.size))
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
