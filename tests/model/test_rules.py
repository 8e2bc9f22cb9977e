"""The model's equations (``rules.py``) on tiny hand-built inputs, against values worked out by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from jjjsim.model import rules

# ---- talent location choice (model-spec §4.6) ------------------------------------------------------------
B = dict(wage=2.0, incentive=0.1, cost=0.5, amenity=1.0, distance=3.0, home=0.8, ties=0.4, stay=2.0)
REGION = dict(
    wage=[1.0, 0.8, 0.62, 0.75],
    incentive=[1.0, 2.0, 2.0, 0.0],
    pull=[0.3, 1.0, 1.0, 0.0],
    cost=[1.0, 0.6, 0.45, 0.6],
    amenity=[0.6, 0.2, 0.0, 0.4],
    recognition=[0.1, 0.1, 0.1, 0.0],
    size=[1.0, 1.0, 1.0, 28.0],
)
# talent 0: skill 1.2, lives in Beijing, hukou in Beijing; talent 1: skill 0.5, lives in Hebei, hukou in Tianjin
TALENT = dict(
    skill=[1.2, 0.5],
    move_km=[[0.0, 120.0, 250.0, 1000.0], [250.0, 280.0, 0.0, 1000.0]],
    barrier=[[0.0, 0.6, 0.7, 0.6], [0.7, 0.6, 0.0, 0.6]],
    away_from_home=[[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 1.0, 1.0]],
    ties=[[5.0, 1.0, 0.0, 0.0], [0.0, 2.0, 3.0, 0.0]],
    stays=[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
    network_cut=[[0.05, 0.05, 0.05, 0.0], [0.05, 0.05, 0.05, 0.0]],  # the network cuts moves within JJJ only
)


def _utility() -> np.ndarray:
    arrays = {k: np.array(v) for k, v in {**REGION, **TALENT}.items()}
    return rules.talent_utility(**arrays, b=B)


def _utility_by_hand(i: int, r: int) -> float:
    """The documented formula, term by term, for talent i and region r."""
    g, t = REGION, TALENT
    moving = (1 - t["network_cut"][i][r]) * (1 + t["barrier"][i][r]) * math.log(1 + t["move_km"][i][r] / 100)
    return (
        B["wage"] * math.log(g["wage"][r] * t["skill"][i])
        + B["incentive"] * g["pull"][r] * g["incentive"][r]
        - B["cost"] * math.log(g["cost"][r])
        + B["amenity"] * g["amenity"][r]
        - B["distance"] * moving
        - B["home"] * t["away_from_home"][i][r] * (1 - g["recognition"][r])
        + B["ties"] * math.log(1 + t["ties"][i][r])
        + B["stay"] * t["stays"][i][r]
        + math.log(g["size"][r])
    )


def test_talent_utility_matches_the_documented_formula():
    u = _utility()
    assert u.shape == (2, 4)
    for i in range(2):
        for r in range(4):
            assert u[i, r] == pytest.approx(_utility_by_hand(i, r), rel=1e-12), (i, r)


def test_talent_utility_worked_examples():
    u = _utility()
    # talent 0 staying in Beijing: 2 ln 1.2 + 0.1*0.3*1 - 0.5 ln 1 + 0.6 - 0 - 0 + 0.4 ln 6 + 2 + ln 1
    assert u[0, 0] == pytest.approx(0.364643113588 + 0.03 + 0.6 + 0.716703787691 + 2.0, rel=1e-11)
    assert u[0, 0] == pytest.approx(3.711346901279, rel=1e-11)
    # talent 1 (Hebei, hukou Tianjin) to Outside: 2 ln(0.75*0.5) - 0.5 ln 0.6 + 0.4 - 3*(1 - 0)*1.6 ln 11
    #   - 0.8*1*(1 - 0) + 0.4 ln 1 + 0 + ln 28
    by_hand = 2 * math.log(0.375) - 0.5 * math.log(0.6) + 0.4 - 4.8 * math.log(11) - 0.8 + math.log(28)
    assert u[1, 3] == pytest.approx(by_hand, rel=1e-12)
    assert u[1, 3] == pytest.approx(-1.961658506 + 0.255412812 + 0.4 - 11.509897309 - 0.8 + 3.332204510, abs=1e-8)
    # talent 1 to Tianjin (its hukou region, inside the network): the moving cost is cut by 5 %
    # 2 ln(0.8*0.5) + 0.1*1*2 - 0.5 ln 0.6 + 0.2 - 3*0.95*1.6 ln 3.8 - 0 + 0.4 ln 3 + 0 + 0
    by_hand = 2 * math.log(0.4) + 0.2 - 0.5 * math.log(0.6) + 0.2 - 4.56 * math.log(3.8) + 0.4 * math.log(3)
    assert u[1, 1] == pytest.approx(by_hand, rel=1e-12)


def test_choice_probabilities_are_the_logit_shares():
    u = _utility()
    p = rules.choice_probabilities(u)
    for i in range(2):
        e = [math.exp(x) for x in u[i]]
        assert p[i] == pytest.approx([x / sum(e) for x in e], rel=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)


def test_choice_probabilities_are_stable_for_large_utilities():
    p = rules.choice_probabilities(np.array([[1000.0, 1000.0, 1000.0 - math.log(2.0)]]))
    assert p[0] == pytest.approx([0.4, 0.4, 0.2], rel=1e-12)


def test_choose_frequencies_converge_to_choice_probabilities():
    u = np.array([[0.0, 0.5, 1.0, -0.5], [2.0, 0.0, 0.0, 1.0]])
    n = 20_000
    utility = np.repeat(u, n, axis=0)
    choice = rules.choose(utility, np.random.default_rng(20240501).gumbel(size=utility.shape))
    assert choice.shape == (2 * n,)
    p = rules.choice_probabilities(u)
    for i in range(2):
        freq = np.bincount(choice[i * n : (i + 1) * n], minlength=4) / n
        se = np.sqrt(p[i] * (1 - p[i]) / n)
        assert np.all(np.abs(freq - p[i]) < 4 * se), (i, freq, p[i])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gumbel_rows_are_rng_gumbel_for_the_rows_asked_and_leave_the_stream_where_it_would(seed: int) -> None:
    """Taken on demand, the draws are rng.gumbel's (to the last bit or two: numpy's vectorised log against the C
    library's), and the generator ends where rng.gumbel leaves it."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    whole, after = a.gumbel(size=(5000, 4)), a.random(3)
    rows = np.flatnonzero(np.random.default_rng(99).random(5000) < 0.25)
    got = rules.gumbel_rows(b, 5000, 4)(rows)
    np.testing.assert_allclose(got, whole[rows], rtol=2e-15, atol=2e-15)
    assert np.array_equal(b.random(3), after)


class _ZeroFirst:
    """A generator whose next uniform is exactly 0 (numpy's Gumbel draws again then): stands in for the 1 in 2^53."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.bit_generator = self.rng.bit_generator

    def random(self, size: tuple[int, int]) -> np.ndarray:
        u = self.rng.random(size)
        u.flat[7] = 0.0
        return u

    def gumbel(self, size: tuple[int, int]) -> np.ndarray:
        return self.rng.gumbel(size=size)


def test_gumbel_rows_replay_rng_gumbel_where_a_uniform_is_zero() -> None:
    fake, ref = _ZeroFirst(3), np.random.default_rng(3)
    got = rules.gumbel_rows(fake, 50, 4)(np.arange(50))  # type: ignore[arg-type]
    assert np.array_equal(got, ref.gumbel(size=(50, 4)))
    assert np.array_equal(fake.rng.random(2), ref.random(2))


# ---- adoption (model-spec §4.3) ---------------------------------------------------------------------------
W = dict(
    intercept=-2.0,
    quality=1.0,
    trl=0.5,
    absorptive=1.0,
    novelty=0.8,
    fit=1.0,
    distance=0.3,
    barrier=2.0,
    service=1.0,
    anchor=0.5,
    funding=0.7,
)


def _adoption(**changes: list[float]) -> np.ndarray:
    x = dict(
        quality=[1.0, math.e],
        trl_above=[0.0, 2.0],
        absorptive=[0.5, 1.0],
        cognitive_distance=[0.5, 0.0],
        fit=[0.0, 0.6],
        distance_km=[0.0, math.e - 1.0],
        barrier=[0.0, 0.5],
        service_boost=[0.0, 0.5],
        anchored=[0.0, 1.0],
        backed=[1.0, 0.0],
    )
    x.update(changes)
    return rules.adoption_logit(**{k: np.array(v) for k, v in x.items()}, w=W)


def test_adoption_logit_worked_example():
    logit = _adoption()
    # deal 0: -2 + 1 ln 1 + 0 + 0.5 + 0.8 * 4*0.5*0.5 + 0 - 0 - 0 + 0 + 0 + 0.7 = 0
    # deal 1: -2 + 1 ln e + 0.5*2 + 1 + 0.8 * 0 + 0.6 - 0.3 ln e - 2*0.5 + 0.5 + 0.5 + 0 = 1.3
    assert logit == pytest.approx([0.0, 1.3], abs=1e-12)
    assert rules.logistic(logit) == pytest.approx([0.5, 1 / (1 + math.exp(-1.3))], rel=1e-12)
    assert rules.logistic(logit)[1] == pytest.approx(0.785834983, rel=1e-8)


def test_adoption_logit_directions():
    base = _adoption()
    assert np.all(_adoption(quality=[2.0, 2 * math.e]) > base)
    assert np.all(_adoption(absorptive=[0.9, 1.5]) > base)
    assert np.all(_adoption(barrier=[0.3, 0.8]) < base)
    assert np.all(_adoption(distance_km=[100.0, 250.0]) < base)
    # the learning value is largest at a middling cognitive distance
    assert _adoption(cognitive_distance=[0.9, 0.5])[1] > base[1] > _adoption(cognitive_distance=[0.5, 1.0])[1] - 1e-12


def test_logistic_values():
    assert rules.logistic(0.0) == pytest.approx(0.5)
    assert rules.logistic(math.log(3.0)) == pytest.approx(0.75, rel=1e-12)
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(rules.logistic(-x), 1 - rules.logistic(x), rtol=1e-12)
    assert np.all(np.diff(rules.logistic(x)) > 0)


def test_learning_value_is_an_inverted_u_peaking_at_half():
    assert rules.learning_value(np.array([0.0, 0.25, 0.5, 0.75, 1.0])) == pytest.approx([0, 0.75, 1, 0.75, 0])
    d = np.linspace(0, 1, 1001)
    v = rules.learning_value(d)
    assert d[np.argmax(v)] == pytest.approx(0.5)
    assert np.all(np.diff(v[d <= 0.5]) > 0) and np.all(np.diff(v[d >= 0.5]) < 0)


def test_service_boost_saturates():
    assert rules.service_boost(np.array([0, 2, 4]), half=2.0) == pytest.approx([0.0, 0.5, 0.75])


# ---- piloting (model-spec §4.2) ---------------------------------------------------------------------------
def test_pilot_hazard_values():
    h = rules.pilot_hazard(0.5, np.array([2.0, 1.0, 0.0, 2.0]), np.array([1.0, 1.0, 1.0, 0.0]))
    assert h == pytest.approx([1 - math.exp(-1.0), 1 - math.exp(-0.5), 0.0, 0.0], abs=1e-15)
    assert h[0] == pytest.approx(0.6321205588, rel=1e-10)


def test_pilot_hazard_rises_in_resources_and_fit_and_stays_below_one():
    r = np.linspace(0, 5, 51)
    for fit in (0.25, 0.5, 1.0):
        h = rules.pilot_hazard(0.6, r, np.full(r.size, fit))
        assert np.all(np.diff(h) > 0)
        assert np.all((h >= 0) & (h < 1))
    f = np.linspace(0, 1, 21)
    assert np.all(np.diff(rules.pilot_hazard(0.6, np.ones(f.size), f)) > 0)


# ---- research (model-spec §4.1) ---------------------------------------------------------------------------
def test_research_rate_value():
    # lambda = A B^beta H^alpha (1 + S)^eta = 2 * 4^0.5 * 9^0.5 * 1.5^0.4 = 12 * 1.1760790225
    lam = rules.research_rate(np.array([4.0]), np.array([9.0]), np.array([0.5]), np.array([2.0]), 0.5, 0.5, 0.4)
    assert lam == pytest.approx([12 * 1.5**0.4], rel=1e-12)
    assert lam == pytest.approx([14.1129482703], rel=1e-10)


def test_spillover_has_diminishing_returns_in_the_knowledge_stock():
    s = np.linspace(0.0, 50.0, 501)
    for eta in (0.1, 0.3, 1.0):
        f = rules.spillover_factor(s, eta)
        assert f[0] == 1.0 and np.all(np.diff(f) > 0)
        elasticity = np.diff(np.log(f)) / np.diff(np.log(np.maximum(s, 1e-300)))
        assert np.all(elasticity[1:] < eta), "d ln f / d ln S = eta S / (1 + S) < eta <= 1"
        assert np.all(np.diff(np.diff(f)) < 1e-12), "concave for eta <= 1"
    assert rules.spillover_factor(np.array([3.0]), 0.5) == pytest.approx([2.0])
    assert rules.spillover_factor(np.array([-1.0]), 0.5) == pytest.approx([1.0]), "a pool below 0 counts as 0"


def test_efficiency_shock_is_a_mean_reverting_ar1_with_unit_variance():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(20_000) * 3.0  # far from the stationary spread
    for _ in range(200):
        z = rules.efficiency_shock(z, rng.standard_normal(z.size), 0.95)
    assert abs(z.mean()) < 0.03 and z.std() == pytest.approx(1.0, abs=0.02)
    z0 = np.array([2.0, -1.0])
    assert rules.efficiency_shock(z0, np.zeros(2), 0.9) == pytest.approx([1.8, -0.9], abs=1e-15)
    assert rules.efficiency_shock(z0, np.array([1.0, 1.0]), 0.6) == pytest.approx([2.0, 0.2], abs=1e-15)
    assert rules.efficiency_shock(z0, np.array([0.5, 0.5]), 0.0) == pytest.approx([0.5, 0.5]), "rho 0: iid"


def test_expertise_saturates_at_its_ceiling_and_depreciates():
    e = np.zeros(3)
    steps = np.array([0, 1, 50])
    for _ in range(400):
        e = rules.expertise_update(e, steps, gain=0.2, cap=1.0, decay=0.0)
    assert e[0] == 0.0 and np.all(e <= 1.0) and e[2] == pytest.approx(1.0, abs=1e-12)
    # one step: e + gain (1 - e / E_max), then (1 - d) e
    one = rules.expertise_update(np.array([0.5]), np.array([1]), gain=0.1, cap=2.0, decay=0.1)
    assert one == pytest.approx([(0.5 + 0.1 * (1 - 0.25)) * 0.9], rel=1e-12)
    # n steps in a quarter equal n single steps
    two = rules.expertise_update(np.array([0.5]), np.array([2]), gain=0.1, cap=2.0, decay=0.0)
    once = rules.expertise_update(np.array([0.5]), np.array([1]), gain=0.1, cap=2.0, decay=0.0)
    assert two == pytest.approx(rules.expertise_update(once, np.array([1]), gain=0.1, cap=2.0, decay=0.0))
    # with decay the steady state of one step a quarter is below the ceiling: e* = (1 - d) g / (1 - (1 - d)(1 - g/E))
    e = np.zeros(1)
    for _ in range(2000):
        e = rules.expertise_update(e, np.array([1]), gain=0.02, cap=1.0, decay=0.025)
    assert e == pytest.approx([0.975 * 0.02 / (1 - 0.975 * 0.98)], rel=1e-9)
    # without piloting, expertise only depreciates
    assert rules.expertise_update(np.array([0.8]), np.array([0]), 0.02, 1.0, 0.25) == pytest.approx([0.6])


def test_overhead_falls_with_autonomy():
    assert rules.overhead(np.array([0.0, 0.5, 1.0]), base=0.3, cut=0.5) == pytest.approx([0.3, 0.225, 0.15])


def test_duplication_share_values():
    # base (1 - alignment) overlap
    assert rules.duplication_share(0.25, np.array([0.0, 0.5, 1.0]), 0.2) == pytest.approx([0.0, 0.075, 0.15])
    assert rules.duplication_share(1.0, np.array([0.5, 1.0]), 0.2) == pytest.approx([0.0, 0.0])


# ---- evaluation (model-spec §4.7) -------------------------------------------------------------------------
def test_evaluation_score_uses_z_within_type():
    indicators = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0], [10.0, 1.0], [10.0, 3.0]])
    groups = np.array([0, 0, 0, 1, 1])
    weights = np.array([[0.7, 0.3]] * 3 + [[0.5, 0.5]] * 2)
    score = rules.evaluation_score(indicators, weights, groups)
    # type 0: column 0 is 1, 2, 3 -> z = (x - 2) / sqrt(2/3) (population sd); column 1 has no spread -> 0
    # type 1: column 0 has no spread -> 0; column 1 is 1, 3 -> z = -1, 1
    z = 1 / math.sqrt(2 / 3)
    assert score == pytest.approx([-0.7 * z, 0.0, 0.7 * z, -0.5, 0.5], abs=1e-12)
    # a platform is compared only with its own type
    other = indicators.copy()
    other[:3] *= 100.0
    assert rules.evaluation_score(other, weights, groups)[3:] == pytest.approx(score[3:], abs=1e-12)


def test_reallocate_budget_moves_budget_from_the_bottom_to_the_top_of_each_type():
    rng = np.random.default_rng(5)
    groups = rng.permutation(np.r_[np.zeros(10, int), np.ones(20, int)])
    score = rng.standard_normal(30)
    budget = rng.uniform(1.0, 3.0, 30)
    new = rules.reallocate_budget(budget, score, groups, top=0.3, bottom=0.1, g=0.1)
    factor = new / budget
    for grp, n_top, n_bottom in ((0, 3, 1), (1, 6, 2)):
        m = groups == grp
        f, s, b = factor[m], score[m], budget[m]
        up, down, same = f > 1 + 1e-12, f < 1 - 1e-12, np.isclose(f, 1.0, rtol=0, atol=1e-12)
        assert (up.sum(), down.sum(), same.sum()) == (n_top, n_bottom, f.size - n_top - n_bottom)
        assert s[up].min() > s[~up].max(), "the rewarded are the best scored of their type"
        assert s[down].max() < s[~down].min(), "the cut are the worst scored of their type"
        # the bottom (smaller in total) lose the share g; the top share it in proportion to their budgets
        assert f[down] == pytest.approx(np.full(n_bottom, 0.9), rel=1e-12)
        gained = 0.1 * b[down].sum()
        assert f[up] == pytest.approx(1 + gained / b[up].sum(), rel=1e-12)
        assert abs(new[m].sum() - b.sum()) <= 1e-9 * b.sum(), "budget-neutral within the type"


@pytest.mark.parametrize("top,bottom,g", [(0.3, 0.1, 0.1), (0.5, 0.5, 0.5), (0.1, 0.5, 0.5), (0.5, 0.0, 0.5)])
def test_reallocate_budget_is_budget_neutral_and_bounded(top, bottom, g):
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 40, 301):
        groups = rng.integers(0, 2, n)
        budget = rng.lognormal(0.0, 2.0, n)  # budgets spread over orders of magnitude
        new = rules.reallocate_budget(budget, rng.standard_normal(n), groups, top, bottom, g)
        for grp in (0, 1):
            m = groups == grp
            assert abs(new[m].sum() - budget[m].sum()) <= 1e-9 * max(budget[m].sum(), 1.0), (n, grp)
        ratio = new / budget
        assert np.all(ratio >= 1 - g - 1e-12) and np.all(ratio <= 1 + g + 1e-12), "at most g of any budget"


def test_reallocate_budget_never_makes_a_platform_both_top_and_bottom():
    # 3 platforms, half up: 2 top and (at most) 1 bottom, never the same one
    new = rules.reallocate_budget(np.ones(3), np.array([3.0, 2.0, 1.0]), np.zeros(3, int), 0.5, 0.5, 0.3)
    assert new == pytest.approx([1.15, 1.15, 0.7])
    assert rules.reallocate_budget(np.ones(4), np.arange(4.0), np.zeros(4, int), 0.0, 0.5, 0.5) == pytest.approx(
        np.ones(4)
    ), "no winners, nothing is taken"


def test_revert_budget_undoes_part_of_past_deviations_and_keeps_totals():
    budget = np.array([1.3, 0.7, 1.0, 2.0])
    dev = np.array([0.3, -0.3, 0.0, 0.0])
    b, d = rules.revert_budget(budget, dev, 0.5)
    assert b == pytest.approx([1.15, 0.85, 1.0, 2.0]) and d == pytest.approx([0.15, -0.15, 0.0, 0.0])
    assert b.sum() == pytest.approx(budget.sum(), abs=1e-12)
    b1, d1 = rules.revert_budget(budget, dev, 1.0)
    assert b1 == pytest.approx(budget - dev) and np.all(d1 == 0), "full reversion: back on the exogenous path"


def test_a_permanent_winner_stays_bounded():
    """A platform that tops every round: the deviation converges (tournament + reversion), no runaway."""
    budget, dev = np.ones(10), np.zeros(10)
    score = np.arange(10.0)[::-1]  # platform 0 always best, 9 always worst
    history = []
    for _ in range(200):
        rev, dev = rules.revert_budget(budget, dev, 0.1)
        new = rules.reallocate_budget(rev, score, np.zeros(10, int), 0.1, 0.1, 0.5)
        dev, budget = dev + (new - rev), new
        history.append(budget[0])
        assert budget.sum() == pytest.approx(10.0, abs=1e-9)
    assert history[-1] == pytest.approx(history[-2], rel=1e-9), "a steady state"
    assert 1.0 < history[-1] < 10.0 and budget[-1] > 0


# ---- inequality -------------------------------------------------------------------------------------------
def test_theil_values():
    assert rules.theil(np.array([2.0, 2.0, 2.0])) == 0.0
    # two units 1 and 3: mu = 2, T = (0.5 ln 0.5 + 1.5 ln 1.5) / 2
    assert rules.theil(np.array([1.0, 3.0])) == pytest.approx((0.5 * math.log(0.5) + 1.5 * math.log(1.5)) / 2)
    assert rules.theil(np.array([1.0, 3.0])) == pytest.approx(0.130812036, rel=1e-8)
    # everything in one of N units: the maximum, ln N
    assert rules.theil(np.array([0.0, 5.0])) == pytest.approx(math.log(2))
    assert rules.theil(np.array([0.0, 0.0, 7.0])) == pytest.approx(math.log(3))
    assert rules.theil(np.array([3.0, 9.0, 1.0])) == pytest.approx(rules.theil(np.array([30.0, 90.0, 10.0])))


@pytest.mark.parametrize("lam", [0.02, 3.0, 60.0, 499.0, 501.0, 800.0, 5000.0])
def test_inverse_cdf_poisson_has_poisson_mean_and_variance(lam):
    u = np.random.default_rng(11).random(40_000)
    k = rules.poisson(u, np.full(u.size, lam))
    se = math.sqrt(lam / u.size)
    assert abs(k.mean() - lam) < 5 * se + 1e-3
    assert k.var() == pytest.approx(lam, rel=0.05, abs=0.01)


def test_inverse_cdf_poisson_is_monotone_in_the_uniform_and_the_mean():
    u = np.linspace(0.001, 0.999, 500)
    for lam in (0.5, 7.0, 300.0, 900.0):
        assert np.all(np.diff(rules.poisson(u, np.full(u.size, lam))) >= 0)
    lams = np.linspace(0.1, 900.0, 500)
    for q in (0.1, 0.5, 0.9):
        assert np.all(np.diff(rules.poisson(np.full(lams.size, q), lams)) >= 0)


def test_inverse_cdf_poisson_of_a_mean_at_or_below_zero_is_zero_without_warnings():
    u = np.linspace(0.0, 0.999, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sqrt of a negative mean, no overflow
        k = rules.poisson(u, np.where(np.arange(50) % 2 == 0, -0.5, 0.0))
    assert np.array_equal(k, np.zeros(50, dtype=np.int64))


# ---- firm entry (model-spec §4.5; ODD §7.5) ---------------------------------------------------------------
def test_crowding_falls_linearly_with_density_and_is_zero_at_and_above_capacity():
    k = np.full(7, 200.0)
    n = np.array([0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 1e6])
    assert rules.crowding(n, k) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0])
    assert np.all(np.diff(rules.crowding(np.linspace(0.0, 300.0, 61), 200.0)) <= 0)
    assert rules.crowding(np.array([0.0, 5.0]), np.array([0.0, 0.0])) == pytest.approx([0.0, 0.0])  # no niche


def test_founding_is_logistic_in_density():
    """rate x N x (1 - N/K): per incumbent it falls as density rises; in total it peaks at N = K/2 (rate K/4)."""
    n = np.array([10.0, 50.0, 100.0, 150.0, 200.0, 300.0])
    lam = rules.founding(n, n, np.full(n.size, 200.0), 0.04)
    assert lam == pytest.approx([0.04 * 10 * 0.95, 0.04 * 50 * 0.75, 2.0, 0.04 * 150 * 0.25, 0.0, 0.0])
    grid = np.linspace(1.0, 400.0, 400)
    total = rules.founding(grid, grid, np.full(grid.size, 200.0), 0.04)
    assert np.all(np.diff(total / grid) <= 1e-15)  # entry per incumbent falls with density
    assert total.max() == pytest.approx(0.04 * 200 / 4) and grid[total.argmax()] == 100.0
    assert np.all(total[grid >= 200.0] == 0.0)
    assert rules.founding(np.array([80.0]), np.array([80.0]), np.array([200.0]), 0.0) == pytest.approx([0.0])


def test_founders_and_crowding_firms_can_differ():
    """Founders come from every firm (F), the niche is crowded by the region's own firms (N): rate x F x (1 - N/K)."""
    lam = rules.founding(np.array([300.0, 300.0]), np.array([100.0, 250.0]), np.array([200.0, 200.0]), 0.1)
    assert lam == pytest.approx([0.1 * 300 * 0.5, 0.0])
