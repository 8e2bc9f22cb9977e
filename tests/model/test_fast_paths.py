"""The fast paths of the model equal the plain form of their rules to the bit.

The transfer market (``market.adopt``, with or without its compiled loops in ``market_kernel``), the partnership
table (``Ties``), ``rules.poisson`` and the affordability rule are written for speed (blocks of offers, per-result
and per-pair tables, compressed sums). Each test here runs the fast code and a plain, obviously-correct form of the
same rule (the code as it was before the speed-up) on the same inputs and asserts exactly equal results: same draws
in the same order, same floating-point sums. When a rule changes on purpose, change its plain form here too.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from jjjsim.model import JJJModel, compiled, defaults, rules
from jjjsim.model.achievements import LICENSED, MARKET_READY
from jjjsim.model.agents import firm, market, offers
from jjjsim.model.agents import fund as fund_rules
from jjjsim.model.partnerships import KEY_BASE, TIE_FLOOR, Ties
from jjjsim.model.regions import DISTANCE_KM, OUTSIDE
from scipy.special import ndtri

# ---- plain forms ---------------------------------------------------------------------------------------------


def plain_poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Inverse-CDF Poisson, climbing every draw one count at a time."""
    u, lam = np.broadcast_arrays(np.asarray(u, dtype=float), np.maximum(np.asarray(lam, dtype=float), 0.0))
    k = np.zeros(u.shape, dtype=np.int64)
    big = lam > 500.0
    prob = np.exp(-np.where(big, 0.0, lam))
    cdf = prob.copy()
    limit = lam + 12.0 * np.sqrt(lam) + 30.0
    flat_u, flat_lam, flat_k, flat_limit = u.ravel(), lam.ravel(), k.reshape(-1), limit.ravel()
    idx = np.flatnonzero(~big.ravel() & (flat_u > cdf.ravel()))
    p_i, c_i = prob.ravel()[idx], cdf.ravel()[idx]
    while idx.size:
        flat_k[idx] += 1
        p_i *= flat_lam[idx] / flat_k[idx]
        c_i += p_i
        keep = (flat_u[idx] > c_i) & (flat_k[idx] < flat_limit[idx])
        idx, p_i, c_i = idx[keep], p_i[keep], c_i[keep]
    if big.any():
        k[big] = np.maximum(0, np.round(lam[big] + np.sqrt(lam[big]) * ndtri(u[big]))).astype(np.int64)
    return k


class PlainTies:
    """The sorted tie table with np.insert, np.isin and whole-table searches."""

    def __init__(self) -> None:
        self.key, self.strength = np.zeros(0, dtype=np.int64), np.zeros(0)

    def decay(self, rate: float) -> None:
        self.strength *= 1.0 - rate
        keep = self.strength >= TIE_FLOOR
        self.key, self.strength = self.key[keep], self.strength[keep]

    def add(self, firm_: np.ndarray, platform: np.ndarray, amount: np.ndarray | float) -> None:
        if firm_.size == 0:
            return
        keys = firm_.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        amount = np.broadcast_to(np.asarray(amount, dtype=float), keys.shape)
        new, inv = np.unique(keys, return_inverse=True)
        add = np.bincount(inv, amount, minlength=new.size)
        pos = np.searchsorted(self.key, new)
        found = pos < self.key.size
        found[found] = self.key[pos[found]] == new[found]
        self.strength[pos[found]] += add[found]
        ins = ~found
        self.key = np.insert(self.key, pos[ins], new[ins])
        self.strength = np.insert(self.strength, pos[ins], add[ins])

    def get(self, firm_: np.ndarray, platform: np.ndarray) -> np.ndarray:
        keys = firm_.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        if self.key.size == 0:
            return np.zeros(keys.shape)
        i = np.minimum(np.searchsorted(self.key, keys), self.key.size - 1)
        return np.where(self.key[i] == keys, self.strength[i], 0.0)

    def drop_firms(self, firms: np.ndarray) -> None:
        if firms.size and self.key.size:
            keep = ~np.isin(self.key // KEY_BASE, firms)
            self.key, self.strength = self.key[keep], self.strength[keep]

    def pick_partner(self, firm_: np.ndarray, u: np.ndarray) -> np.ndarray:
        out = np.full(firm_.size, -1, dtype=np.int64)
        if self.key.size == 0 or firm_.size == 0:
            return out
        owner = self.key // KEY_BASE
        start = np.searchsorted(owner, firm_, side="left")
        end = np.searchsorted(owner, firm_, side="right")
        has = end > start
        cum = np.cumsum(self.strength)
        base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
        total = cum[np.maximum(end - 1, 0)] - base
        i = np.searchsorted(cum, base + u * total, side="right")
        i = np.clip(i, start, np.maximum(end - 1, start))
        out[has] = (self.key % KEY_BASE)[i[has]]
        return out


def plain_adopt(m: JJJModel) -> None:
    """The transfer market of one quarter, every offer's every term computed in full (market.adopt's rules)."""
    rng = m.stream("transfer")
    res, fm, p = m.results, m.firm, m.p
    m.ties.decay(p.partner_decay)
    plain_network_ties(m, rng)
    firms = np.flatnonzero(fm.alive)
    pool = market.on_offer(m)
    if firms.size:
        offers = _plain_search(m, rng, firms, pool)
        f, j, origin, draw = offers["firm"], offers["result"], offers["origin"], offers["draw"]
        loc = fm.region[f].astype(np.int64)
        cross = (origin != loc) & (origin < OUTSIDE)
        logit = _plain_logit(m, offers, loc, cross)
        value = offers["value"]
        cost = value * (1.0 + p.recertification_cost * (1.0 - p.standards_recognition) * cross)
        own = _plain_affordable(f, cost, draw < rules.logistic(logit), fm.tech_budget)
        jjj = origin < OUTSIDE
        backed, backer = _plain_fund_deals(m, rng, f, j, loc, cross, draw, logit, cost, own, jjj)
        ok = np.r_[own, backed]
        f, j, origin, loc, cross, backer = f[ok], j[ok], origin[ok], loc[ok], cross[ok], backer[ok]
        value, cost, quality, fit = value[ok], cost[ok], offers["quality"][ok], offers["fit"][ok]
        fund_rules.invest(m, backer, f, j, loc, cross, cost)
        new = np.flatnonzero((j >= 0) & (res.status[np.maximum(j, 0)] == MARKET_READY))
        new = new[np.unique(j[new], return_index=True)[1]]
        res.status[j[new]], res.buyer[j[new]], res.licensed[j[new]] = LICENSED, loc[new], m.steps
        m.book(origin, loc, value, seller=j, payer=f, cost=cost)
        sold = j >= 0
        m.ties.add(f[sold], res.origin[j[sold]], 1.0)
        dose = np.bincount(f, cost * quality * (1.0 + fit), minlength=len(fm)) / np.maximum(firm.value_added(m), 1e-12)
        room = np.maximum(1.0 - fm.productivity / m.tfp_frontier(), 0.0)  # catch-up to the TFP frontier
        fm.productivity *= 1.0 + p.productivity_gain * fm.absorptive * np.log1p(dose) * room
        m.tally.adoptions += np.bincount(loc[new], minlength=4)
        m.tally.contracts += np.bincount(loc, minlength=4)
    _plain_license_outside(m, pool)


def plain_network_ties(m: JJJModel, rng: np.random.Generator) -> None:
    t, fm, pl, p = m.talent, m.firm, m.platform, m.p
    u = rng.random((len(fm), 3))
    emp = np.flatnonzero(t.alive & (t.employer_kind == 2))
    if emp.size == 0 or p.partner_network_rate <= 0:
        return
    ties = np.zeros((len(fm), 3))
    np.add.at(ties, t.employer[emp], t.ties[emp, :3])
    ties[np.arange(len(fm)), np.minimum(fm.region, 2)] = 0.0
    n = plain_poisson(u.ravel(), p.partner_network_rate * ties.ravel() * np.repeat(fm.alive, 3))
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


def _plain_contract_values(
    m: JJJModel, quality: np.ndarray, trl_above: np.ndarray, noise: np.ndarray, seller: np.ndarray
) -> np.ndarray:
    p = m.p
    sd, grown = p.contract_size_sd, m.market_index() ** p.contract_size_market_share * m.seller_size()[seller]
    noise = np.exp(sd * noise - sd * sd / 2)
    return m.contract_unit / p.scale * grown * quality * (1.0 + 0.25 * trl_above) * noise


def _plain_local_pick(m: JJJModel, pool: np.ndarray, buyer: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Local search, offer by offer: the seller region by inverse CDF of n_s exp(-km / decay), then a result
    uniformly among that region's results on offer (in pool order), by the same uniform rescaled."""
    region = m.results.region[pool]
    members = [pool[region == s] for s in range(3)]
    out = np.empty(pick.size, dtype=np.int64)
    for i, (r, u) in enumerate(zip(buyer.tolist(), pick.tolist(), strict=True)):
        reach = m.seller_access()
        w = np.array([len(members[s]) * reach[s] * np.exp(-DISTANCE_KM[r, s] / m.p.search_decay_km) for s in range(3)])
        c = np.cumsum(w) / w.sum()
        s = min(int(np.sum(u >= c[:2])), 2)
        lo = c[s - 1] if s > 0 else 0.0
        n = len(members[s])
        out[i] = members[s][min(max(int(np.floor((u - lo) / (c[s] - lo) * n)), 0), n - 1)]
    return out


def _plain_search(m: JJJModel, rng: np.random.Generator, firms: np.ndarray, pool: np.ndarray) -> dict[str, Any]:
    p, res = m.p, m.results
    k, n = p.search_candidates, len(m.firm)
    u = rng.random((n, 6, k))[firms].transpose(1, 0, 2).reshape(6, -1)
    pick, draw, src, up, via, which = u
    z_q, z_v = rng.standard_normal((n, 2, k))[firms].transpose(1, 0, 2).reshape(2, -1)
    fld = rng.integers(0, m.n_fields, (n, k))[firms].ravel()
    f = np.repeat(firms, k)
    outside = (src < p.outside_supply_share) | (pool.size == 0)
    j = np.full(f.size, -1, dtype=np.int64)
    if pool.size:
        j = np.where(outside, -1, _plain_local_pick(m, pool, m.firm.region[f], pick))
        idx = np.flatnonzero(~outside & (via < p.partner_search_share))
        if idx.size and len(m.ties):
            partner = m.ties.pick_partner(f[idx], which[idx])
            by_origin = pool[np.argsort(res.origin[pool], kind="stable")]
            origins = res.origin[by_origin]
            start, end = np.searchsorted(origins, partner, "left"), np.searchsorted(origins, partner, "right")
            ok = (partner >= 0) & (end > start)
            pos = start + np.minimum((pick[idx] * (end - start)).astype(np.int64), np.maximum(end - start - 1, 0))
            j[idx[ok]] = by_origin[pos[ok]]
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
        anchor=anchor, fit=fit,
        # the buyer's size factor is the rule itself (checked against VA / its regional mean in test_market)
        value=_plain_contract_values(m, quality, trl_above, z_v, origin) * offers.buyer_scale(m)[f],
    )  # fmt: skip


def _plain_logit(m: JJJModel, offers: dict[str, Any], loc: np.ndarray, cross: np.ndarray) -> np.ndarray:
    fm, p = m.firm, m.p
    f, origin, j = offers["firm"], offers["origin"], offers["result"]
    group = fm.group_region[f] == origin
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


def _plain_affordable(f: np.ndarray, cost: np.ndarray, accept: np.ndarray, budget: np.ndarray) -> np.ndarray:
    spend = np.where(accept, cost, 0.0)
    start = np.r_[0, np.flatnonzero(np.diff(f)) + 1]
    cum = np.cumsum(spend)
    before = cum - spend - np.repeat(cum[start] - spend[start], np.diff(np.r_[start, f.size]))
    return np.flatnonzero(accept & (before + cost <= budget[f]))


def _plain_fund_deals(
    m: JJJModel, rng: np.random.Generator, f: np.ndarray, j: np.ndarray, loc: np.ndarray, cross: np.ndarray,
    draw: np.ndarray, logit: np.ndarray, cost: np.ndarray, own: np.ndarray, jjj: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
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
    idx = np.flatnonzero(ok)
    idx = idx[rng.permutation(idx.size)]
    idx = idx[np.unique(j[idx], return_index=True)[1]]
    cand = idx[np.unique(f[idx], return_index=True)[1]]
    backer = np.full(f.size, -1, dtype=np.int64)
    backer[cand] = fund_rules.back_deals(m, f[cand], j[cand], loc[cand], cross[cand], mandate_only[cand])
    return np.r_[follow, cand[backer[cand] >= 0]], backer


def _plain_license_outside(m: JJJModel, pool: np.ndarray) -> None:
    rng = m.stream("outside")
    res = m.results
    u = rng.random(len(res))
    deepening = m.market_index() ** (1.0 - m.p.contract_size_market_share)
    w = np.minimum(res.quality[pool], 1.0) * m.seller_access()[res.region[pool]]
    if m.outside_reach_ref <= 0.0:
        m.outside_reach_ref = float(w.sum()) * m.outside_rate
    lam = m.p.outside_demand * deepening * (m.outside_reach_ref / w.sum() if w.sum() > 0 else 0.0) * w
    n = plain_poisson(u[pool], lam)
    rows = np.repeat(pool, n)
    if rows.size == 0:
        return
    trl = res.trl[rows] - m.p.market_ready_trl
    seller = res.region[rows].astype(np.int64)
    value = _plain_contract_values(m, res.quality[rows], trl, rng.standard_normal(rows.size), seller)
    first = pool[(n > 0) & (res.status[pool] == MARKET_READY)]
    res.status[first], res.buyer[first], res.licensed[first] = LICENSED, OUTSIDE, m.steps
    m.book(seller, np.full(rows.size, OUTSIDE), value, seller=rows)


# ---- the tests -----------------------------------------------------------------------------------------------


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_poisson_equals_the_plain_cdf_inversion() -> None:
    """Tiny arrays with large means (climbed as Python floats), large ones, zero, negative, NaN and huge means."""
    rng = np.random.default_rng(11)
    for trial in range(400):
        n = int(rng.choice([0, 1, 3, 31, 32, 33, 200, 4000]))
        u = rng.random(n)
        lam = [
            rng.random(n) * 10,
            np.float64(rng.random() * 300),
            rng.exponential(50, n) * (rng.random(n) < 0.5),
            rng.choice([0.0, -1.0, 1e-9, 29.0, 499.9, 500.1, 800.0, np.nan], n),
            rng.random(n) * 700,
        ][trial % 5]
        with np.errstate(invalid="ignore"):
            assert _same(rules.poisson(u, lam), plain_poisson(u, lam))
    u, lam = rng.random((50, 3)), rng.random((50, 3)) * 40
    assert _same(rules.poisson(u, lam), plain_poisson(u, lam))


def test_logistic_equals_its_formula() -> None:
    x = np.random.default_rng(1).normal(0.0, 8.0, 10_000)
    assert _same(rules.logistic(x), 1.0 / (1.0 + np.exp(-x)))
    assert rules.logistic(0.3) == 1.0 / (1.0 + np.exp(-0.3))


def test_within_budget_equals_the_plain_rule_across_blocks() -> None:
    """The affordability rule on compressed sums, block by block with a carried sum, against the plain cumsum."""
    rng = np.random.default_rng(2)
    k, firms = 8, 500
    accept = rng.random(firms * k) < 0.4
    cost = rng.lognormal(0.0, 1.0, firms * k)
    budget = rng.random(firms) * 6.0
    f = np.repeat(np.arange(firms), k)
    want = _plain_affordable(f, cost, accept, budget)
    spent, got = 0.0, []
    for a in range(0, firms, 37):  # blocks of whole firms
        b = min(a + 37, firms)
        spent, own = offers._within_budget(accept[a * k : b * k], cost[a * k : b * k], budget[a:b], k, spent)
        got.append(own + a * k)
    assert _same(np.concatenate(got), want)
    assert spent == np.cumsum(np.where(accept, cost, 0.0))[-1]


def test_first_of_each_equals_unique() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        v = rng.integers(0, int(rng.integers(1, 500)), int(rng.integers(0, 2000)))
        assert _same(market._first_of_each(v), np.unique(v, return_index=True)[1])


def _tables(m: JJJModel) -> dict[str, np.ndarray]:
    out = {f"{t}.{c}": getattr(getattr(m, t), c).copy() for t in m.TABLES for c in getattr(m, t)._cols}
    out |= {f"flows.{k}": np.asarray(v) for k, v in vars(m.flows).items()}
    return out | {"ties.key": m.ties.key.copy(), "ties.strength": m.ties.strength.copy()}


CASES = [
    (3, {}),
    (1, {"fund_size": 600.0, "fund_cross_region_share": 0.8}),
    (2, {"talent_network": 0.6, "service_platforms": {"nev": 3, "biomed": 2}, "chain_integration": 0.6}),
    (4, {"barrier": {"Beijing-Tianjin": 0.3, "Beijing-Hebei": 0.35, "Tianjin-Hebei": 0.3}, "search_candidates": 3}),
]


KERNEL = [
    pytest.param(False, id="numpy"),
    pytest.param(
        True,
        id="compiled",
        marks=pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="numba is not installed (the 'fast' extra)"),
    ),
]


@pytest.mark.parametrize("kernel", KERNEL)
def test_ties_equal_the_plain_sorted_table(kernel: bool, monkeypatch) -> None:
    """Adds, decay, drops, look-ups and partner picks, on the same random sequence of operations (the table's
    numpy form, or with its compiled loops)."""
    monkeypatch.setattr(compiled, "ENABLED", kernel)
    rng = np.random.default_rng(5)
    fast, plain = Ties(), PlainTies()
    for step in range(40):
        n = int(rng.integers(0, 400))
        f, p, a = rng.integers(0, 300, n), rng.integers(0, 60, n), rng.random(n)
        for t in (fast, plain):
            t.add(f, p, a)
            t.add(f[: n // 3], p[: n // 3], 0.5)
            t.decay(0.1)
        f2, p2 = rng.integers(0, 300, n // 2), rng.integers(0, 60, n // 2)
        fast.decay_add(0.15, f2, p2, 0.5)  # one pass over the table (with its compiled loops)
        plain.decay(0.15)
        plain.add(f2, p2, 0.5)
        key, cum, first = fast.picker_tables()  # made by the same pass
        assert _same(key, plain.key) and _same(fast.strength, plain.strength), step
        assert _same(cum, np.cumsum(plain.strength))
        assert _same(first, np.concatenate(([0], np.cumsum(np.bincount(plain.key // KEY_BASE)))))
        assert fast.nbytes >= fast.key.nbytes + fast.strength.nbytes
        gone = np.unique(rng.integers(0, 300, int(rng.integers(0, 8))))
        fast.drop_firms(gone)
        plain.drop_firms(gone)
        assert _same(fast.key, plain.key) and _same(fast.strength, plain.strength), step
        qf, qp = rng.integers(0, 320, 500), rng.integers(0, 60, 500)
        assert _same(fast.get(qf, qp), plain.get(qf, qp))
        assert _same(fast.get(np.sort(qf)[:40], qp[:40]), plain.get(np.sort(qf)[:40], qp[:40]))
        u = rng.random(500)
        assert _same(fast.pick_partner(qf, u), plain.pick_partner(qf, u))
        pick = fast.picker()  # in batches of nearby firms, as the market calls it
        order = np.argsort(qf, kind="stable")
        batches = [pick(qf[order][i : i + 64], u[order][i : i + 64]) for i in range(0, 500, 64)]
        assert _same(np.concatenate(batches), plain.pick_partner(qf[order], u[order]))
        key, cum, first = fast.picker_tables()
        assert _same(key, plain.key) and _same(cum, np.cumsum(plain.strength))
        assert _same(first, np.concatenate(([0], np.cumsum(np.bincount(plain.key // KEY_BASE)))))
    assert _same(fast.firm, plain.key // KEY_BASE) and _same(fast.platform, plain.key % KEY_BASE)


def _tie_history(seed: int) -> list[Any]:
    """Every table, memory request and picker table of a random sequence of Ties operations."""
    rng, ties, seen = np.random.default_rng(seed), Ties(), []
    ties.guard = seen.append
    for _ in range(30):
        n = int(rng.integers(0, 300))
        f, p = rng.integers(0, int(rng.integers(1, 200)), n), rng.integers(0, 40, n)
        ties.add(f, p, rng.choice([-0.0, 0.5, 1.0]) if rng.random() < 0.3 else rng.normal(0.0, 1.0, n))
        ties.add(f[::2], p[::2], 1.0)  # ties that all exist
        ties.decay(float(rng.choice([0.0, 0.1, 0.5, 1.0])))
        m = int(rng.integers(0, 100))
        ties.decay_add(float(rng.choice([0.0, 0.1, 0.5, 1.0])), rng.integers(0, 220, m), rng.integers(0, 40, m), 0.5)
        seen += [ties.key.copy(), ties.strength.copy(), *ties.picker_tables()]
        ties.drop_firms(rng.integers(0, 260, int(rng.integers(0, 6))).astype(np.int32))
        seen += [ties.key.copy(), ties.strength.copy(), *ties.picker_tables()]
    return seen


@pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="numba is not installed (the 'fast' extra)")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_ties_equal_their_numpy_form(seed: int, monkeypatch) -> None:
    """The compiled merge, decay, drop and picker tables of Ties against its numpy form: same tables, same
    requests to the memory budget (negative, zero and signed-zero amounts, decay that drops none or all)."""
    runs = []
    for kernel in (True, False):
        monkeypatch.setattr(compiled, "ENABLED", kernel)
        runs.append(_tie_history(seed))
    assert len(runs[0]) == len(runs[1])
    assert all(_same(a, b) for a, b in zip(*runs, strict=True))


@pytest.mark.parametrize("kernel", KERNEL)
@pytest.mark.parametrize(("seed", "overrides"), CASES)
def test_transfer_market_equals_its_plain_form(seed: int, overrides: dict[str, Any], kernel: bool, monkeypatch) -> None:
    """Every table after 10 quarters of a small model: the fast market (its numpy form, or with its compiled
    loops), Ties and Poisson draws against the plain ones, from the same seed. ``OFFER_BLOCK`` is made small so
    that the markets run in many blocks."""
    p = defaults().replace({"scale": 0.08, "steps": 10, **overrides}, where="tests")
    monkeypatch.setattr(offers, "OFFER_BLOCK", 1000)
    monkeypatch.setattr(compiled, "ENABLED", kernel)
    fast = JJJModel(p, rng=np.random.SeedSequence(seed))
    for _ in range(10):
        fast.step()
    monkeypatch.setattr(market, "adopt", plain_adopt)
    monkeypatch.setattr(rules, "poisson", plain_poisson)
    for name in ("decay", "add", "get", "drop_firms", "pick_partner"):
        monkeypatch.setattr(Ties, name, getattr(PlainTies, name))
    plain = JJJModel(p, rng=np.random.SeedSequence(seed))
    for _ in range(10):
        plain.step()
    a, b = _tables(fast), _tables(plain)
    assert a.keys() == b.keys()
    differ = [k for k in a if not _same(a[k], b[k])]
    assert not differ, f"tables that differ: {differ}"
    assert len(fast.ties) > 0 and fast.flows.contract_count.sum() > 0


@pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="numba is not installed (the 'fast' extra)")
@pytest.mark.parametrize(("scenario", "seed"), [("baseline", 0), ("all-measures", 5)])
def test_compiled_market_gives_the_numpy_run_to_the_bit(scenario: str, seed: int, monkeypatch) -> None:
    """A whole run at the default block size, its partnerships grown over 16 quarters: same digest with and without
    the compiled loops."""
    from jjjsim.model import run

    digests = []
    for kernel in (True, False):
        monkeypatch.setattr(compiled, "ENABLED", kernel)
        digests.append(run(scenario, seed=seed, steps=16, overrides={"scale": 0.4}).digest())
    assert digests[0] == digests[1]


@pytest.mark.skipif(not compiled.HAVE_NUMBA, reason="numba is not installed (the 'fast' extra)")
def test_compiled_block_decision_equals_its_numpy_form(monkeypatch) -> None:
    """``offers._block_decide`` on every block of a few quarters (the logit, exponentials and deals kernels against
    ``_plain_logit`` and ``_plain_deals``), also with a running sum carried in and budgets cut so that the budget
    rule binds, some NaN: the same running sum and deals to the bit."""
    decide, cut, compared = offers._block_decide, np.random.default_rng(0), []

    def both(m: JJJModel, *args: Any) -> Any:
        budget = m.firm.tech_budget.copy()
        for spent, factor in ((args[-1], 1.0), (12.5, cut.choice([0.0, 0.3, 1.0, np.nan], budget.size))):
            m.firm.tech_budget[:] = budget * factor
            got = []
            for kernel in (True, False):
                monkeypatch.setattr(compiled, "ENABLED", kernel)
                total, own, cand = decide(m, *args[:-1], spent)
                got.append([total] + [getattr(d, f.name) for d in (own, cand) for f in fields(d)])
            assert all(_same(a, b) for a, b in zip(*got, strict=True))
            compared.append((got[0][1].size, got[0][9].size))
        m.firm.tech_budget[:] = budget
        return decide(m, *args)

    monkeypatch.setattr(offers, "OFFER_BLOCK", 800)
    monkeypatch.setattr(offers, "_block_decide", both)
    m = JJJModel(defaults().replace({"scale": 0.1, "steps": 6}, where="tests"), rng=np.random.SeedSequence(8))
    for _ in range(6):
        m.step()
    own, cand = np.array(compared).sum(axis=0)
    assert len(compared) > 12 and own > 0 and cand > 0  # deals of both kinds


@pytest.mark.parametrize("spare_half", [False, True])
def test_row_uniforms_equal_one_call_and_leave_the_generator_as_it(spare_half: bool) -> None:
    """The market's uniforms made block by block are ``rng.random((n, width))``'s rows, and the generator draws on
    exactly as after that one call (normals and small integers, whose spare 32-bit half is kept)."""
    n, width = 1000, 48
    one, blocks = np.random.default_rng(11), np.random.default_rng(11)
    if spare_half:  # an odd number of small integers leaves half of a 64-bit output for the next integer draw
        one.integers(0, 8, 3)
        blocks.integers(0, 8, 3)
    whole = one.random((n, width))
    made = offers._RowUniforms(blocks, n, width)
    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(n, 300, replace=False))
    for part in (rows[:1], rows[1:100], rows[100:], np.arange(200, 260), rows[:0]):
        assert _same(made.rows(part), whole[part])
    assert _same(blocks.standard_normal(17), one.standard_normal(17))
    assert _same(blocks.integers(0, 8, 5), one.integers(0, 8, 5))
    assert _same(blocks.random(4), one.random(4))
