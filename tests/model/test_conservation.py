"""Conservation invariants, checked after every step of a manually stepped model.

Talent is neither created nor lost by moving, fund money balances per fund, every contract's value is
paid by one side and received by the other, and the Mesa agents stay in step with the tables.
"""

from __future__ import annotations

import numpy as np
import pytest
from jjjsim.model.achievements import LICENSED
from jjjsim.model.agents import Firm, Fund, Platform, Talent
from jjjsim.model.agents.fund import ACTIVE
from jjjsim.model.regions import OUTSIDE

STEPS = 16
MOBILE = {"stay_bonus": 0.0, "beta_distance": 0.5}
"""Talent that moves a lot (no stay bonus, cheap distance), so that moves in every direction are tested."""
QUICK_EXITS = {"holding_period": 4}
"""Fund deals that exit within the run, so that proceeds and write-offs are tested."""


def _alive_by_region(m) -> np.ndarray:
    return np.bincount(m.talent.region[m.talent.alive], minlength=4)


@pytest.mark.parametrize(("seed", "overrides"), [(1, {}), (2, MOBILE)], ids=["baseline", "mobile"])
def test_talent_changes_only_by_entries_exits_and_moves(make_model, seed, overrides):
    m = make_model(seed, **overrides)
    f = m.flows
    for _ in range(STEPS):
        before = _alive_by_region(m)
        was_alive = m.talent.alive.copy()
        n_rows = len(m.talent)
        entries, exits, moves = f.talent_entries.copy(), f.talent_exits.copy(), f.talent_moves.copy()
        m.step()
        d_entries, d_exits, d_moves = f.talent_entries - entries, f.talent_exits - exits, f.talent_moves - moves
        after = _alive_by_region(m)
        assert after.sum() - before.sum() == d_entries.sum() - d_exits.sum(), f"step {m.steps}: talent total"
        # relocation moves people between regions: in - out balances to zero over all regions ...
        inflow, outflow = d_moves.sum(axis=0), d_moves.sum(axis=1)
        assert inflow.sum() == outflow.sum()
        assert np.trace(f.talent_moves) == 0, "a stay is not a move"
        # ... and every region's head count changes by exactly its entries, exits and net moves
        np.testing.assert_array_equal(after - before, d_entries - d_exits + inflow - outflow, f"step {m.steps}")
        # rows are appended for entrants; no retired talent comes back
        assert m.talent.alive[:n_rows][~was_alive[:n_rows]].sum() == 0
        assert m.talent.alive[n_rows:].sum() == d_entries.sum()
    if overrides:  # the mobile world really moves talent in and out of every region, Outside included
        assert f.talent_moves.sum() > 100
        assert (f.talent_moves.sum(axis=0) > 0).all() and (f.talent_moves.sum(axis=1) > 0).all()
    assert f.talent_exits.sum() > 0 and f.talent_entries.sum() > 0


@pytest.mark.parametrize(("seed", "overrides"), [(3, {}), (4, QUICK_EXITS)], ids=["baseline", "quick-exits"])
def test_fund_money_balances_per_fund(make_model, seed, overrides):
    m = make_model(seed, **overrides)
    fd, inv = m.fund, m.investments
    for _ in range(STEPS):
        m.step()
        expected = fd.inflows - fd.invested + fd.proceeds - fd.fees
        gross = fd.inflows + fd.invested + fd.proceeds + fd.fees
        assert np.all(np.abs(fd.capital - expected) <= 1e-9 * gross), f"step {m.steps}: capital != ledger"
        assert np.all(fd.capital >= 0), "a fund spent money it did not have"
        # the per-fund ledger agrees with the table of investments
        n = len(fd)
        np.testing.assert_allclose(fd.invested, np.bincount(inv.fund, inv.amount, minlength=n), rtol=1e-12)
        np.testing.assert_allclose(fd.proceeds, np.bincount(inv.fund, inv.proceeds, minlength=n), rtol=1e-12)
        np.testing.assert_allclose(fd.crowd_in, np.bincount(inv.fund, inv.private, minlength=n), rtol=1e-12)
        assert np.all(inv.proceeds[inv.status == ACTIVE] == 0)
        assert np.all(m.steps - inv.made[inv.status != ACTIVE] >= m.p.holding_period)
    assert fd.invested.sum() > 0 and fd.fees.sum() > 0
    if overrides:
        assert fd.proceeds.sum() > 0 and (inv.status != ACTIVE).sum() > 0


def test_contract_value_paid_equals_value_received(make_model):
    m = make_model(5)
    f, res, pl = m.flows, m.results, m.platform
    received_at_evaluation = 0.0
    for _ in range(STEPS):
        m.step()
        paid = f.paid_by_firms + f.paid_by_outside
        assert paid == pytest.approx(f.received_by_platforms + f.recertification + f.paid_to_outside, rel=1e-9)
        # JJJ platforms receive what their results sell; the rest of China's sellers what JJJ firms buy from them
        assert f.contract_value[:OUTSIDE].sum() == pytest.approx(f.received_by_platforms, rel=1e-9)
        assert f.contract_value[OUTSIDE].sum() == pytest.approx(f.paid_to_outside, rel=1e-9)
        assert f.contract_value[OUTSIDE, OUTSIDE] == 0  # the rest of China's own market is not modelled
        # firms pay value + re-certification for everything they buy; the rest of China pays for the rest
        assert f.contract_value[:, OUTSIDE].sum() == pytest.approx(f.paid_by_outside, rel=1e-9)
        assert f.contract_value[:, :OUTSIDE].sum() + f.recertification == pytest.approx(f.paid_by_firms, rel=1e-9)
        assert f.recertification >= 0
        assert np.all(m.firm.tech_budget >= -1e-9), "a firm paid more than its technology budget"
        # the value sold by each region is the sum of its results' contracts, and so are the counts
        np.testing.assert_allclose(
            f.contract_value[:OUTSIDE].sum(axis=1), np.bincount(res.region, res.value, minlength=4)[:OUTSIDE]
        )
        assert f.contract_count[:OUTSIDE].sum() * m.p.scale == pytest.approx(res.licences.sum(), rel=1e-9)
        sold = res.licences > 0
        assert np.all(res.value[~sold] == 0) and np.all(res.status[sold] >= LICENSED)
        # platforms accrue, since the last evaluation, exactly the value of contracts booked since then
        if m.steps % 4 == 0:
            received_at_evaluation = f.received_by_platforms
        else:
            assert pl.income.sum() == pytest.approx(f.received_by_platforms - received_at_evaluation, abs=1e-9)
    assert f.paid_by_firms > 0 and f.paid_by_outside > 0 and f.recertification > 0


@pytest.mark.parametrize(("seed", "overrides"), [(6, {}), (7, MOBILE)], ids=["baseline", "mobile"])
def test_mesa_agents_stay_in_sync_with_tables(make_model, seed, overrides):
    m = make_model(seed, **overrides)
    types = {Talent: m.talent, Platform: m.platform, Firm: m.firm, Fund: m.fund}
    start = {cls: len(table) for cls, table in types.items()}
    for _ in range(STEPS):
        m.step()
        for cls, table in types.items():
            agents = m.agents_by_type[cls]
            assert len(agents) == table.alive.sum(), f"step {m.steps}: {cls.__name__}"
            assert sorted(a.row for a in agents) == np.flatnonzero(table.alive).tolist()
        assert len(m.agents) == sum(int(t.alive.sum()) for t in types.values())
    # agents came and went during the run: entrants were added and retirees removed
    assert len(m.talent) > start[Talent] and len(m.firm) > start[Firm]
    assert (~m.talent.alive).sum() > 0
