"""Talent incentives that target movers, and vacancies that respond to talent supply (issue 10, item 6).

A mover-targeted subsidy (``talent_incentive_target = "movers"``) is paid only to talents who moved into the region
or entered it within ``incentive_years``. Raising Tianjin's subsidy costs far less per FTE it draws in that way than
paid to every resident: moved FTE is the net inflow of FTE into Tianjin against the same payment form without the
raise (paired seeds, common random numbers).
"""

from __future__ import annotations

import numpy as np
from jjjsim.model.agents import talent
from jjjsim.model.runner import run

SEEDS = range(6)
SCALE, STEPS = 0.1, 24
RAISE = {"talent_incentive": {"Tianjin": 6.0}}  # from 2 (10k CNY/yr per talent)
MOVERS = {"talent_incentive_target": "movers"}


def _runs(overrides: dict) -> np.ndarray:
    """(incentive outlay, net FTE inflow into Tianjin) over the run, one row per seed."""
    out = []
    for seed in SEEDS:
        s = run("baseline", seed=seed, steps=STEPS, overrides={"scale": SCALE, **overrides}).summary
        out.append((s["cost.incentives"], -s["talent_net_outflow.Tianjin"]))
    return np.array(out)


def test_a_mover_targeted_incentive_costs_less_per_moved_fte():
    residents, residents_raised = _runs({}), _runs(RAISE)
    movers, movers_raised = _runs(MOVERS), _runs({**MOVERS, **RAISE})
    d_res, d_mov = (residents_raised - residents).mean(axis=0), (movers_raised - movers).mean(axis=0)
    assert d_res[1] > 0 and d_mov[1] > 0, f"the raise draws FTE in: residents {d_res}, movers {d_mov}"
    per_res, per_mov = d_res[0] / d_res[1], d_mov[0] / d_mov[1]  # 亿元 per moved FTE
    assert per_mov < per_res, f"亿元 per moved FTE: movers {per_mov:.4f}, residents {per_res:.4f}"
    # and against the baseline itself, paying the raised subsidy to arrivals only saves money
    assert (movers_raised[:, 0] < residents[:, 0]).all()


def test_only_recent_arrivals_are_paid(make_model):
    m = make_model(2, **MOVERS, stay_bonus=0.0)  # talent that moves a lot
    for _ in range(6):
        m.step()
    t = m.talent
    horizon = round(4 * m.p.incentive_years)
    paid = talent.incentive_eligible(m)
    np.testing.assert_array_equal(paid, m.steps - t.arrived[: len(t)] < horizon)
    assert paid[t.alive].any() and not paid[t.alive].all()
    fte = np.bincount(t.region[t.alive & paid], minlength=4) * m.fte_per_agent
    np.testing.assert_allclose(m.tally.incentives_paid, np.r_[m.p.talent_incentive, 0.0] * fte / 4.0 * 1e-4)
    moved = m.flows.talent_moves.sum() - np.trace(m.flows.talent_moves)
    assert moved > 0 and (t.arrived[: len(t)] > 0).sum() >= 1  # movers and entrants carry their quarter of arrival


def test_staying_loses_the_incentive_only_for_long_time_residents(make_model):
    res, mov = make_model(3), make_model(3, **MOVERS)
    rows = np.flatnonzero(res.talent.alive & (res.talent.region == 1))  # Tianjin residents at the start
    diff = talent.utility(mov, rows) - talent.utility(res, rows)
    recent = talent.incentive_eligible(mov, rows)
    assert recent.any() and (~recent).any()
    cut = mov.p.beta_incentive * mov.p.incentive_pull[1] * mov.p.talent_incentive[1]
    np.testing.assert_allclose(diff[~recent, 1], -cut)
    np.testing.assert_allclose(diff[recent], 0.0)
    np.testing.assert_allclose(diff[:, [0, 2, 3]], 0.0)  # a move anywhere is still paid


def test_more_talent_means_more_employment(make_model):
    """With a surge of graduates, firms that can afford it take on the unemployed (vacancy_expansion)."""
    employed, unemployed = {}, {}
    for ve in (0.0, 0.05):
        m = make_model(4, talent_growth=0.04, vacancy_expansion=ve)
        for _ in range(12):
            m.step()
        t = m.talent
        here = t.alive & (t.region < 3)
        employed[ve] = np.count_nonzero(here & (t.employer_kind != talent.NONE))
        unemployed[ve] = np.count_nonzero(here & (t.employer_kind == talent.NONE))
    assert unemployed[0.0] > 0, "the surge leaves talent unemployed without the rule"
    assert employed[0.05] > employed[0.0] and unemployed[0.05] < unemployed[0.0]
