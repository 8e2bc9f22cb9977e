"""Funds: regional guidance funds, the collaborative innovation fund, private VC (model-spec §4.4).

Funds take equity in technology-transfer projects: a firm's programme of buying JJJ results from one seller region,
started by a deal it would not do on its own money. The fund's ticket and the private co-investment it draws in are
the project's budget, spent on contracts at their real size over the following quarters (:func:`project_deals`).
Money is conserved per fund: capital' = capital - invested + exit proceeds - fees + inflows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import RowAgent, column

if TYPE_CHECKING:
    from ..model import JJJModel

GUIDANCE, COLLABORATIVE, PRIVATE = range(3)
KINDS = ("guidance", "collaborative", "private_vc")
ACTIVE, EXITED, WRITTEN_OFF = range(3)

COLUMNS = {
    "kind": (np.int8, ()),
    "region": (np.int8, ()),
    "mandate": (np.float64, ()),
    "capital": (np.float64, ()),
    "invested": (np.float64, ()),
    "proceeds": (np.float64, ()),
    "fees": (np.float64, ()),
    "inflows": (np.float64, ()),
    "crowd_in": (np.float64, ()),
    "committed": (np.float64, ()),
    "alive": (np.bool_, ()),
}
INVESTMENT_COLUMNS = {
    "fund": (np.int64, ()),
    "firm": (np.int64, ()),
    "result": (np.int64, ()),
    "amount": (np.float64, ()),
    "private": (np.float64, ()),
    "made": (np.int32, ()),
    "cross": (np.bool_, ()),
    "success_p": (np.float64, ()),
    "status": (np.int8, ()),
    "proceeds": (np.float64, ()),
    "origin": (np.int8, ()),
    "budget": (np.float64, ()),
}


class Fund(RowAgent):
    """An investment fund; the collaborative fund invests anywhere in JJJ, others in their region."""

    TABLE = "fund"
    kind = column("kind", "0 guidance, 1 collaborative, 2 private VC.")
    region = column("region", "Home region (the collaborative fund: all of JJJ; stored as Beijing).")
    capital = column("capital", "Uninvested capital, 100m CNY.")
    mandate = column("mandate", "Share of deals reserved for cross-region projects.")
    invested = column("invested", "Total invested so far, 100m CNY.")
    proceeds = column("proceeds", "Total exit proceeds so far, 100m CNY.")

    @property
    def kind_name(self) -> str:
        """Fund kind name."""
        return KINDS[self.kind]

    @property
    def public(self) -> bool:
        """Whether the fund's money is public (guidance and collaborative funds)."""
        return self.kind != PRIVATE


def success_chance(m: JJJModel, j: np.ndarray, origin: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """Chance a backed deal exits well: base * sqrt(quality), less a barrier penalty across regions."""
    p = m.p
    pi = (
        p.exit_success * np.sqrt(m.results.quality[j]) * (1.0 - p.cross_region_success_penalty * m.barrier[origin, loc])
    )
    return np.clip(pi, 0.0, 1.0)


def back_deals(
    m: JJJModel, f: np.ndarray, j: np.ndarray, loc: np.ndarray, cross: np.ndarray, mandate_only: np.ndarray
) -> np.ndarray:
    """Each fund backs the candidate deals it scores best, within its budget and mandate.

    Candidates are deals that go ahead only with a fund's money (firm f, result j, buyer region loc). A fund
    deploys up to ``fund_deploy_rate`` of its uninvested capital a quarter (the collaborative fund
    ``collab_fund_deploy_rate``), raised by its region's climate, in tickets of ``fund_ticket``. The
    collaborative fund first reserves a share ``mandate`` of its deals for cross-region ones, where it may also
    take the ``mandate_only`` candidates (cross-region deals that need its help with the barrier too). Returns
    the backing fund's row for each candidate, or -1.
    """
    rng = m.stream("funds")
    fd, p = m.fund, m.p
    backer = np.full(f.size, -1, dtype=np.int64)
    if m.ticket <= 0:
        return backer
    score = success_chance(m, j, m.results.region[j].astype(np.int64), loc) * m.firm.productivity[f]
    order = np.argsort(-(score + 1e-9 * rng.random(f.size)), kind="stable")
    for k in np.flatnonzero(fd.alive):
        climate = m.climate[:3].mean() if fd.kind[k] == COLLABORATIVE else m.climate[fd.region[k]]
        rate = p.collab_fund_deploy_rate if fd.kind[k] == COLLABORATIVE else p.fund_deploy_rate
        budget = rate * fd.capital[k] * (1.0 + p.culture_risk_appetite * climate)
        n = int(min(budget, fd.capital[k]) // m.ticket)
        if n == 0:
            continue
        free = order[backer[order] < 0]
        if fd.kind[k] != COLLABORATIVE:
            free = free[loc[free] == fd.region[k]]
        n_cross = int(np.floor(fd.mandate[k] * n + rng.random()))  # stochastic rounding keeps the mandate exact
        picked = free[cross[free]][:n_cross]
        rest = free[~np.isin(free, picked) & ~mandate_only[free]]  # still in score order
        backer[np.r_[picked, rest[: n - picked.size]].astype(np.int64)] = k
    return backer


def invest(
    m: JJJModel, backer: np.ndarray, f: np.ndarray, j: np.ndarray, loc: np.ndarray, cross: np.ndarray, cost: np.ndarray
) -> None:
    """Backed deals that went ahead open technology-transfer projects: the fund pays the ticket, private money
    follows (crowd-in), and the project's money pays for its first contract; the rest is the project's budget
    for later contracts with sellers of the same region (:func:`project_deals`)."""
    fd, fm = m.fund, m.firm
    b = backer >= 0
    k, f, j, loc, cross, cost = backer[b], f[b], j[b], loc[b], cross[b], cost[b]
    if k.size == 0:
        return
    amount = np.full(k.size, m.ticket)
    private = amount * m.crowd_in[loc]
    np.add.at(fd.capital, k, -amount)
    np.add.at(fd.invested, k, amount)
    np.add.at(fd.crowd_in, k, private)
    pay = np.minimum(cost, amount + private)
    fm.tech_budget[f] += pay  # one backed deal per firm: no repeated index
    origin = m.results.region[j]
    pi = success_chance(m, j, origin.astype(np.int64), loc)
    m.investments.append(
        k.size,
        fund=k,
        firm=f,
        result=j,
        amount=amount,
        private=private,
        made=m.steps,
        cross=cross,
        success_p=pi,
        status=ACTIVE,
        proceeds=0.0,
        origin=origin,
        budget=amount + private - pay,
    )


def project_deals(
    m: JJJModel, f: np.ndarray, origin: np.ndarray, cost: np.ndarray, tipped: np.ndarray, mandate_only: np.ndarray
) -> np.ndarray:
    """Contracts that active projects pay for: offers from the project's seller region that the firm takes with
    the project's backing (``tipped``; for a cross-region project of the collaborative fund also ``mandate_only``),
    in the order examined while the project money of that firm and region lasts. The money moves to the firm's
    technology budget, which pays the contract. Returns the offer indices."""
    inv, fd = m.investments, m.fund
    live = np.flatnonzero((inv.status == ACTIVE) & (inv.budget > 0))
    if live.size == 0 or f.size == 0:
        return np.empty(0, dtype=np.int64)
    n = len(m.firm) * 4
    key_inv = inv.firm[live] * 4 + inv.origin[live]
    money = np.bincount(key_inv, inv.budget[live], minlength=n)
    mandated = np.bincount(key_inv, inv.cross[live] & (fd.kind[inv.fund[live]] == COLLABORATIVE), minlength=n) > 0
    key = f * 4 + np.minimum(origin, 3)
    idx = np.flatnonzero((tipped | (mandate_only & mandated[key])) & (money[key] > 0))
    if idx.size == 0:
        return idx
    idx = idx[np.argsort(key[idx], kind="stable")]  # by (firm, region), in the order examined
    k, c = key[idx], cost[idx]
    cum = np.cumsum(c)
    start = np.r_[0, np.flatnonzero(np.diff(k)) + 1]
    before = cum - c - np.repeat(cum[start] - c[start], np.diff(np.r_[start, k.size]))
    chosen = idx[before + c <= money[k]]
    spent = np.bincount(key[chosen], cost[chosen], minlength=n)
    inv.budget[live] = np.maximum(inv.budget[live] * (1.0 - spent[key_inv] / money[key_inv]), 0.0)
    m.firm.tech_budget += np.bincount(f[chosen], cost[chosen], minlength=len(m.firm))
    return np.sort(chosen)


def settle(m: JJJModel) -> None:
    """Funds pay fees; deals past the holding period exit (proceeds) or are written off, and the project money
    they left unspent goes to the firm's technology budget (lost if the firm has exited)."""
    rng = m.stream("exits")
    fd, inv, p = m.fund, m.investments, m.p
    fee = np.minimum(p.management_fee * fd.committed, fd.capital) * fd.alive
    fd.capital -= fee
    fd.fees += fee
    due = np.flatnonzero((inv.status == ACTIVE) & (m.steps - inv.made >= p.holding_period))
    win = rng.random(due.size) < inv.success_p[due]
    proceeds = inv.amount[due] * p.exit_multiple * win
    inv.status[due] = np.where(win, EXITED, WRITTEN_OFF)
    firm_rows = inv.firm[due]  # project money not spent by the end stays with the firm
    np.add.at(m.firm.tech_budget, firm_rows, inv.budget[due] * m.firm.alive[firm_rows])
    inv.budget[due] = 0.0
    inv.proceeds[due] = proceeds
    np.add.at(fd.capital, inv.fund[due], proceeds)
    np.add.at(fd.proceeds, inv.fund[due], proceeds)
    m.tally.exits += np.bincount(m.firm.region[inv.firm[due[win]]], minlength=4)


def add(m: JJJModel, kind: int, region: int, capital: float, mandate: float = 0.0) -> None:
    """Create a fund with its initial capital (counted as an inflow)."""
    rows = m.fund.append(
        1, kind=kind, region=region, capital=capital, mandate=mandate, inflows=capital, committed=capital, alive=True
    )
    m.add_agents(Fund, rows)
