"""Mesa agents as row views: selection, grouping and attribute writes go through to the tables, and
agents that leave the model leave its AgentSets."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from jjjsim.model.agents import Firm, Fund, Platform, Talent, firm
from jjjsim.model.regions import HEBEI, REGIONS

AGENT_TABLES = {Talent: "talent", Platform: "platform", Firm: "firm", Fund: "fund"}


@pytest.mark.parametrize("cls", list(AGENT_TABLES), ids=lambda c: c.__name__)
def test_agent_types_are_mesa_agents(make_model, cls):
    assert issubclass(cls, mesa.Agent)
    m = make_model(0)
    agents = m.agents_by_type[cls]
    assert len(agents) > 0
    assert all(isinstance(a, cls) and a.model is m for a in agents)


def test_select_by_region_matches_the_table(make_model):
    m = make_model(1)
    m.step()
    t = m.talent
    hebei = m.agents_by_type[Talent].select(lambda a: a.region_name == "Hebei")
    assert len(hebei) == (t.alive & (t.region == HEBEI)).sum() > 0
    assert sorted(a.row for a in hebei) == np.flatnonzero(t.alive & (t.region == HEBEI)).tolist()
    # agg reads the same values as the table
    assert hebei.agg("skill", np.mean) == pytest.approx(t.skill[t.alive & (t.region == HEBEI)].mean(), rel=1e-12)


@pytest.mark.parametrize("cls", list(AGENT_TABLES), ids=lambda c: c.__name__)
def test_groupby_region_sizes_equal_table_counts(make_model, cls):
    m = make_model(2)
    m.step()
    table = getattr(m, AGENT_TABLES[cls])
    sizes = m.agents_by_type[cls].groupby("region").count()
    counts = np.bincount(table.region[table.alive], minlength=len(REGIONS))
    assert {int(k): v for k, v in sizes.items()} == {r: int(n) for r, n in enumerate(counts) if n > 0}


def test_setting_an_attribute_through_an_agent_writes_the_table(make_model):
    m = make_model(3)
    talent = m.agents_by_type[Talent].select(lambda a: a.region_name == "Tianjin").to_list()[0]
    talent.skill = 2.0
    assert m.talent.skill[talent.row] == 2.0
    talent.region = HEBEI
    assert m.talent.region[talent.row] == HEBEI and talent.region_name == "Hebei"
    firm = m.agents_by_type[Firm].to_list()[0]
    firm.cash = -123.0
    assert m.firm.cash[firm.row] == -123.0
    # and the table writes show through the agent
    lab = m.agents_by_type[Platform].to_list()[0]
    m.platform.budget[lab.row] = 42.0
    assert lab.budget == 42.0
    # no other row changed
    assert np.count_nonzero(m.talent.skill == 2.0) == 1


def test_a_firm_that_exits_leaves_the_agentset(make_model):
    m = make_model(4)
    firm = m.agents_by_type[Firm].select(lambda a: a.region_name == "Beijing").to_list()[0]
    row = firm.row
    firm.cash = -1e12  # more than any quarter's margin can repay: the firm exits this step
    m.step()
    assert not m.firm.alive[row]
    assert firm not in m.agents_by_type[Firm] and firm not in m.agents
    assert row not in [a.row for a in m.agents_by_type[Firm]]
    t = m.talent
    assert not np.any(t.alive & (t.employer_kind == 2) & (t.employer == row)), "staff of a gone firm"


def test_retired_talents_leave_the_agentset(make_model):
    m = make_model(5)
    by_row = {a.row: a for a in m.agents_by_type[Talent]}
    m.step()
    retired = [r for r in by_row if not m.talent.alive[r]]
    assert len(retired) == m.flows.talent_exits.sum() > 0
    talents = m.agents_by_type[Talent]
    assert not any(by_row[r] in talents for r in retired)
    assert all(by_row[r] in talents for r in by_row if m.talent.alive[r])


def test_agents_are_made_on_demand_and_kept(make_model):
    """A step makes no Agent objects; looking at the agents makes one per living row, keeps those already made (a
    reference stays the same object while its row lives) and drops those whose rows left."""
    m = make_model(7)
    m.step()
    m.step()
    assert len(m._all_agents) == 0, "step() made agent objects"
    assert len(m.agents) == m.agent_count() == sum(int(getattr(m, t).alive.sum()) for t in AGENT_TABLES.values())
    before = {(type(a), a.row): a for a in m.agents}
    m.step()
    assert len(m._all_agents) == len(before), "step() changed the agent objects"
    now = {(type(a), a.row): a for a in m.agents}
    assert len(now) == m.agent_count()
    kept = before.keys() & now.keys()
    assert kept and all(before[k] is now[k] for k in kept)
    for cls, table in AGENT_TABLES.items():
        rows = sorted(row for c, row in now if c is cls)
        assert rows == np.flatnonzero(getattr(m, table).alive).tolist()
    gone = [a for k, a in before.items() if k not in now]
    assert gone and all(a not in m.agents for a in gone)
    firm_row = next(row for c, row in now if c is Firm)
    assert m.agent_of("firm", firm_row) is now[(Firm, firm_row)]


def test_no_firm_enters_a_region_at_its_carrying_capacity(make_model):
    """Market entry and spin-offs stop where a region's own firms reach its capacity K_r (firm.capacity), and
    resume below it (ODD §7.5), whatever the entry and spin-off rates and the climate."""
    m = make_model(6, firm_entry_rate=0.1, spinoff_rate=0.5)
    m.climate[:3] = 5.0
    fm = m.firm
    own = np.bincount(fm.region[fm.alive & (fm.parent < 0)], minlength=4)[:3].astype(float)
    # capacities K_r: Beijing at its own firms, Tianjin at half of them, Hebei far above
    m.start_firms = np.array([own[0], 0.5 * own[1], 1e6]) / m.p.firm_capacity
    m.tally.adoptions[:3] = 50
    before = m.firm_counts()[:3]
    firm.enter_exit(m)
    assert m.tally.firm_entries[:2].tolist() == [0, 0] and m.tally.spinoffs[:2].tolist() == [0, 0]
    assert m.tally.firm_entries[2] > 0 and m.tally.spinoffs[2] > 0
    assert np.array_equal(m.firm_counts()[:2], before[:2] - m.tally.firm_exits[:2])


def test_the_carrying_capacity_starts_at_its_multiple_of_the_start_firms_and_grows_with_the_market(make_model):
    m = make_model(2, firm_capacity=2.0, firm_capacity_elasticity=0.3, tech_market_growth=0.05)
    fm = m.firm
    assert np.array_equal(m.start_firms, np.bincount(fm.region[fm.alive & (fm.parent < 0)], minlength=4)[:3])
    assert m.start_firms.sum() < m.firm_counts()[:3].sum()  # subsidiaries are not part of the base
    assert firm.capacity(m) == pytest.approx(2.0 * m.start_firms)
    for _ in range(4):
        m.step()
    assert firm.capacity(m) == pytest.approx(2.0 * m.start_firms * np.exp(0.05 * 4 * 0.3))
