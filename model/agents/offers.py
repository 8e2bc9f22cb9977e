"""The offers firms examine each quarter and what becomes of them (§7.3): per-result terms gathered once, then blocks of
about ``OFFER_BLOCK`` offers: local and partner search, the adoption logit, signing within the budget, fund
candidates; the contracts' values. The compiled loops are :mod:`.market_kernel`, the plain numpy forms here too."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import compiled, rules
from ..regions import DISTANCE_KM, OUTSIDE
from . import market_kernel

if TYPE_CHECKING:
    from ..model import JJJModel
    from ..params import Params
from .firm import value_added

NO_KEYS = np.zeros(1, dtype=np.int64)


NO_FLOATS = np.zeros(1)
"""Stand-ins for the tie tables when there are no ties (the kernels then never read them)."""


OFFER_BLOCK = 16384
"""Offers decided together (:func:`examine`): about 128 kB per array of the block, so that the block's arrays stay
in the CPU cache instead of streaming the whole market's arrays through memory for every operation."""


def contract_values(
    m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, noise: np.ndarray, seller: np.ndarray | int
) -> np.ndarray:
    """Value of one contract, 100m CNY per deal at this scale: unit x M(t)^s x the seller region's size factor
    (:meth:`JJJModel.seller_size`) x quality x (1 + 0.25 per TRL above market-ready) x a mean-one log-normal draw
    (``noise``: standard normals) of log sd ``contract_size_sd``; s = ``contract_size_market_share``, the part of
    the market's deepening that comes as larger contracts."""
    return contract_mean(m, quality, trl_above, seller) * contract_noise(m, noise)


def contract_mean(m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, seller: np.ndarray | int) -> np.ndarray:
    """The part of :func:`contract_values` before the draw (:meth:`JJJModel.contract_mean`)."""
    return m.contract_mean(quality, trl_above, seller)


def contract_noise(m: JJJModel, z: np.ndarray) -> np.ndarray:
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


def chain_fit(m: JJJModel) -> np.ndarray:
    """Chain fit of a buyer's sector (row) with a result's field (column): ``chain_integration`` where equal."""
    return m.p.chain_integration * np.eye(m.n_fields, dtype=bool)


@dataclass
class Deals:
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

    def take(self, i: np.ndarray) -> Deals:
        """The deals at positions ``i``."""
        return Deals(*(getattr(self, f.name)[i] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Deals]) -> Deals:
        """The deals of ``parts``, in order."""
        return Deals(*(np.concatenate([getattr(d, f.name) for d in parts]) for f in fields(Deals)))


def examine(
    m: JJJModel, rng: np.random.Generator, firms: np.ndarray, pool: np.ndarray, va: np.ndarray
) -> tuple[Deals, Deals, dict[str, np.ndarray]]:
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
        mean=_with_sentinel(contract_mean(m, q_pool, trl_pool, res.region[pool]), 0.0, np.float64),
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
    return Deals.concat(own), Deals.concat(cand), per_slot


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
        key, cum, first = ties if ties is not None else (NO_KEYS, NO_FLOATS, NO_KEYS)
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
            [(w["novelty"] * rules.learning_value(1.0 - m.similarity)).ravel(), (w["fit"] * chain_fit(m)).ravel()]
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
) -> tuple[float, Deals, Deals]:
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
    mean_out = contract_mean(m, q_out, trl_out, OUTSIDE)
    budget = fm.tech_budget[block]
    recertification = 1.0 + p.recertification_cost * (1.0 - p.standards_recognition) * True  # x 1.0 within
    ticket = tables["ticket"][fm.region[block]]
    if compiled.ENABLED:
        ties = tables["ties"]
        key, strength_table, first = (
            (m.ties.key, m.ties.strength, ties[2]) if ties is not None else (NO_KEYS[:0], NO_FLOATS[:0], NO_KEYS)
        )
        quality, mean, field, origin, platform, cross, pair, sector_field, logit, strength = market_kernel.block_logit(
            slot, per_slot["floats"], per_slot["ints"], out, q_out, head_out, mean_out, sector, k, block,
            fm.region[block].astype(np.int64), fm.field[block].astype(np.int64) * m.n_fields,
            w["absorptive"] * fm.absorptive[block], fm.group_region[block].astype(np.int64), tables["novelty_fit"],
            tables["distance"], tables["barrier"], tables["service"], tables["anchored"], float(tables["backed"]),
            m.n_fields, OUTSIDE, inside, key, strength_table, first,
        )  # fmt: skip
        tied, term = _tie_term(p, inside, strength)
        size_sd = p.contract_size_sd  # contract_noise's log-normal
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
        Deals(i, slot[i], value[i], cost[i], quality[i], sector_field[i], flag, ok)
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
    value = mean * contract_noise(m, z[:, 1].ravel())
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
