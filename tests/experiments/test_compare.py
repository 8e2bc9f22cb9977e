"""Scenario comparison: hand-worked values, Holm adjustment, and the statistics' validity on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.compare import compare, holm

# t distribution with 2 degrees of freedom has the closed form F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so
#   its 97.5 % quantile solves t / sqrt(2 + t^2) = 0.95:  t^2 = 2 * 0.95^2 / (1 - 0.95^2)
#   the two-sided p-value of a statistic t is 1 - |t| / sqrt(2 + t^2).
T2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # 4.302652...


def p2(t: float) -> float:
    """Two-sided p-value of a t statistic with 2 degrees of freedom."""
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


def tiny() -> pd.DataFrame:
    """Three seeds, a baseline and two policies; ``y`` is an outcome, ``public_cost`` the money spent."""
    return pd.DataFrame(
        {
            "scenario": ["baseline"] * 3 + ["policy"] * 3 + ["cheap"] * 3,
            "seed": [0, 1, 2] * 3,
            "y": [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 1.0, 3.0, 3.0],
            "public_cost": [10.0, 11.0, 12.0, 12.0, 14.0, 13.0, 9.0, 10.0, 10.0],
        }
    )


def test_hand_worked_example() -> None:
    t = compare(tiny()).set_index(["scenario", "metric"])
    assert list(t.index) == [
        ("baseline", "y"),
        ("baseline", "public_cost"),
        ("policy", "y"),
        ("policy", "public_cost"),
        ("cheap", "y"),
        ("cheap", "public_cost"),
    ]
    # baseline y = 1, 2, 3: mean 2, sd 1; policy y = 2, 4, 6: mean 4, sd 2
    b = t.loc[("baseline", "y")]
    assert b["n"] == 3 and b["mean"] == pytest.approx(2.0)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((2 - T2 / math.sqrt(3), 2 + T2 / math.sqrt(3)))
    assert pd.isna(b["n_pairs"]) and np.isnan(b["diff"]) and np.isnan(b["p_value"]) and np.isnan(b["p_holm"])
    assert pd.isna(b["significant"]) and np.isnan(b["extra_cost"]) and np.isnan(b["gain_per_cost"])
    r = t.loc[("policy", "y")]
    assert r["mean"] == pytest.approx(4.0)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((4 - 2 * T2 / math.sqrt(3), 4 + 2 * T2 / math.sqrt(3)))
    # paired differences 1, 2, 3: mean 2, sd 1, se 1/sqrt(3), t = 2 sqrt(3)
    assert r["n_pairs"] == 3 and r["diff"] == pytest.approx(2.0)
    assert (r["diff_ci_low"], r["diff_ci_high"]) == pytest.approx((2 - T2 / math.sqrt(3), 2 + T2 / math.sqrt(3)))
    assert r["rel_change"] == pytest.approx(1.0)
    assert r["p_value"] == pytest.approx(p2(2 * math.sqrt(3)))  # = 1 - sqrt(6/7) = 0.0742
    # cost differences 2, 3, 1: 2 extra per run, so 1 unit of y per unit of money
    assert r["extra_cost"] == pytest.approx(2.0) and r["gain_per_cost"] == pytest.approx(1.0)
    c = t.loc[("policy", "public_cost")]
    assert c["diff"] == pytest.approx(2.0) and c["rel_change"] == pytest.approx(2 / 11)
    assert c["p_value"] == pytest.approx(p2(2 * math.sqrt(3)))
    assert c["extra_cost"] == pytest.approx(2.0) and np.isnan(c["gain_per_cost"])  # the cost itself
    # cheap y: differences 0, 1, 0: mean 1/3, sd sqrt(1/3), se 1/3, t = 1
    ch = t.loc[("cheap", "y")]
    assert ch["diff"] == pytest.approx(1 / 3) and ch["rel_change"] == pytest.approx(1 / 6)
    assert ch["p_value"] == pytest.approx(p2(1.0))  # 1 - sqrt(1/3) = 0.4226
    # cheap costs less (differences -1, -1, -2): no gain per extra money
    assert ch["extra_cost"] == pytest.approx(-4 / 3) and np.isnan(ch["gain_per_cost"])
    cc = t.loc[("cheap", "public_cost")]
    assert cc["p_value"] == pytest.approx(p2(-4.0))  # mean -4/3, se 1/3: t = -4, p = 1 - sqrt(8/9) = 0.0572
    # Holm over the four tests: 0.0572*4 = 0.2288; 0.0742*3 = 0.2225 -> 0.2288; 0.0742*2 -> 0.2288; 0.4226*1
    ph = 4 * p2(4.0)
    assert t.loc[("policy", "y"), "p_holm"] == pytest.approx(ph)
    assert t.loc[("policy", "public_cost"), "p_holm"] == pytest.approx(ph)
    assert t.loc[("cheap", "public_cost"), "p_holm"] == pytest.approx(ph)
    assert t.loc[("cheap", "y"), "p_holm"] == pytest.approx(p2(1.0))
    assert not t.loc[t.index.get_level_values(0) != "baseline", "significant"].any()


def test_columns_and_options() -> None:
    t = compare(tiny(), cost=None)
    assert "extra_cost" not in t and "gain_per_cost" not in t
    assert set(t.metric) == {"y", "public_cost"}  # default metrics: every numeric column but the seed
    t = compare(tiny().rename(columns={"public_cost": "spend"}))  # the default cost column is absent
    assert "extra_cost" not in t
    t = compare(tiny().rename(columns={"public_cost": "spend"}), cost="spend", metrics=["y"])
    assert t.loc[t.scenario == "policy", "gain_per_cost"].item() == pytest.approx(1.0)
    assert list(t.metric) == ["y"] * 3
    t = compare(tiny(), baseline="policy", metrics=["y"])
    assert list(t.scenario) == ["policy", "baseline", "cheap"]
    assert t.loc[t.scenario == "baseline", "diff"].item() == pytest.approx(-2.0)


def test_dotted_names_nan_and_pairing_by_seed() -> None:
    runs = pd.DataFrame(
        {
            "scenario": ["baseline"] * 4 + ["policy"] * 4,
            "seed": [0, 1, 2, 3, 1, 2, 3, 9],  # seeds 1, 2, 3 in both
            "talent_net_outflow.Hebei": [5.0, 1.0, 2.0, 3.0, 2.0, 4.0, 4.0, 100.0],
            "roi": [np.nan, 1.0, np.nan, 2.0, 3.0, 3.0, 5.0, 1.0],
        }
    )
    t = compare(runs, cost=None).set_index(["scenario", "metric"])
    h = t.loc[("policy", "talent_net_outflow.Hebei")]
    assert h["n"] == 4 and h["n_pairs"] == 3
    assert h["diff"] == pytest.approx(np.mean([1.0, 2.0, 1.0]))  # seeds 1-3; 0 and 9 have no partner
    r = t.loc[("policy", "roi")]
    assert t.loc[("baseline", "roi"), "n"] == 2 and r["n"] == 4
    assert r["n_pairs"] == 2 and r["diff"] == pytest.approx(np.mean([3.0 - 1.0, 5.0 - 2.0]))  # seeds 1 and 3
    # a metric with fewer than two NaN-free pairs is reported without a test instead of failing the table
    runs.loc[runs.seed == 3, "roi"] = np.nan
    t = compare(runs, cost=None).set_index(["scenario", "metric"])
    assert t.loc[("policy", "roi"), "n_pairs"] == 1 and np.isnan(t.loc[("policy", "roi"), "p_value"])
    assert t.loc[("policy", "talent_net_outflow.Hebei"), "p_holm"] == pytest.approx(
        t.loc[("policy", "talent_net_outflow.Hebei"), "p_value"]  # a family of one
    )


def test_holm_known_example() -> None:
    # sorted: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = holm([0.02, np.nan, 0.01])  # NaN is not part of the family
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.02)
    assert holm([]).size == 0 and holm([0.001]) == pytest.approx([0.001])


def test_holm_in_table_matches_function() -> None:
    rng = np.random.default_rng(3)
    n = 6
    runs = pd.DataFrame(
        {
            "scenario": np.repeat(["baseline", "a", "b"], n),
            "seed": np.tile(np.arange(n), 3),
            **{f"m{k}": rng.normal(size=3 * n) + k * 0.3 * np.repeat([0, 1, 2], n) for k in range(4)},
        }
    )
    t = compare(runs, cost=None)
    other = t[t.scenario != "baseline"]
    assert other.p_holm.to_numpy() == pytest.approx(holm(other.p_value.to_numpy()))
    assert (other.p_holm >= other.p_value).all()
    assert (other.significant == (other.p_holm < 0.05)).all()


def synthetic(rng: np.random.Generator, delta: float, k: int = 400, n: int = 20) -> pd.DataFrame:
    """``k`` independent metrics (repetitions) over ``n`` seeds: a seed effect shared by both scenarios
    (common random numbers, sd 1) plus run noise (sd 0.5); the policy shifts every metric by ``delta``."""
    u = rng.normal(0.0, 1.0, size=(n, k))
    base = 10.0 + u + rng.normal(0.0, 0.5, size=(n, k))
    pol = 10.0 + delta + u + rng.normal(0.0, 0.5, size=(n, k))
    cols = [f"m{j}" for j in range(k)]
    frames = [
        pd.DataFrame(v, columns=cols).assign(scenario=s, seed=np.arange(n))
        for s, v in (("baseline", base), ("policy", pol))
    ]
    return pd.concat(frames, ignore_index=True)


def test_interval_covers_known_effect_and_pairing_narrows_it() -> None:
    rng = np.random.default_rng(20240601)
    delta, k, n = 0.3, 400, 20
    runs = synthetic(rng, delta, k, n)
    t = compare(runs, cost=None)
    pol = t[t.scenario == "policy"]
    assert len(pol) == k and (pol.n_pairs == n).all()
    covered = ((pol.diff_ci_low <= delta) & (delta <= pol.diff_ci_high)).mean()
    assert 0.92 <= covered <= 0.98, covered  # binomial sd at 400 repetitions: 0.011
    # the mean's own interval also covers the true means (10 and 10 + delta) at the stated rate
    base = t[t.scenario == "baseline"]
    assert 0.92 <= ((base.ci_low <= 10.0) & (base.ci_high >= 10.0)).mean() <= 0.98
    # pairing: the shared seed effect cancels, so the paired interval is much narrower than the unpaired one
    b = runs[runs.scenario == "baseline"].filter(like="m")
    p = runs[runs.scenario == "policy"].filter(like="m")
    t_q = 2.093024  # 97.5 % quantile of t with 19 degrees of freedom (tables)
    unpaired = 2 * t_q * np.sqrt(b.var(ddof=1).to_numpy() / n + p.var(ddof=1).to_numpy() / n)
    paired = (pol.diff_ci_high - pol.diff_ci_low).to_numpy()
    assert (paired < unpaired).mean() > 0.95
    assert paired.mean() < 0.6 * unpaired.mean()  # expected ratio sqrt(0.5 / 2.5) = 0.45


def test_detects_large_effect() -> None:
    rng = np.random.default_rng(7)
    t = compare(synthetic(rng, 1.0), cost=None)
    pol = t[t.scenario == "policy"]
    assert pol.significant.mean() >= 0.99  # even after Holm over 400 tests
    assert (pol["diff"] > 0).all()  # note: a column named diff shadows DataFrame.diff


def test_no_effect_rejects_at_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    t = compare(synthetic(rng, 0.0), cost=None)
    pol = t[t.scenario == "policy"]
    rate = (pol.p_value < 0.05).mean()
    assert 0.017 <= rate <= 0.083, rate  # 5 % +- 3 binomial sd at 400 repetitions
    assert 0.92 <= ((pol.diff_ci_low <= 0) & (pol.diff_ci_high >= 0)).mean() <= 0.98
    assert pol.significant.sum() <= 1  # Holm keeps the family-wise error at 5 %


def test_cost_effectiveness() -> None:
    rng = np.random.default_rng(5)
    n = 8
    noise = rng.normal(0.0, 0.01, size=n)
    runs = pd.DataFrame(
        {
            "scenario": ["baseline"] * n + ["fund"] * n + ["free"] * n,
            "seed": list(range(n)) * 3,
            "results": np.r_[100.0 + noise, 130.0 + noise, 110.0 + noise],
            "public_cost": np.r_[np.full(n, 50.0), np.full(n, 60.0), np.full(n, 50.0)],
        }
    )
    t = compare(runs).set_index(["scenario", "metric"])
    assert t.loc[("fund", "results"), "extra_cost"] == pytest.approx(10.0)
    assert t.loc[("fund", "results"), "gain_per_cost"] == pytest.approx(3.0)  # 30 results per 10 亿元
    assert t.loc[("free", "results"), "extra_cost"] == pytest.approx(0.0)
    assert np.isnan(t.loc[("free", "results"), "gain_per_cost"])  # no extra money: not a ratio
    # constant cost differences: zero-variance pairs give p = 0 (a difference) or 1 (none), without warnings
    assert t.loc[("fund", "public_cost"), "p_value"] == 0.0
    assert t.loc[("free", "public_cost"), "p_value"] == 1.0


def test_gain_per_cost_has_fieller_interval() -> None:
    """The interval of gain / extra cost: the ratios R whose paired t-test of y - R c does not reject (Fieller)."""
    t = compare(tiny()).set_index(["scenario", "metric"])
    # tiny(): cost differences 2, 3, 1 (mean 2, sd 1): with 3 seeds their own interval 2 +- 4.30 / sqrt(3) reaches
    # zero, so a = 2^2 - t^2 / 3 < 0 and the ratio is unbounded: no interval
    r = t.loc[("policy", "y")]
    assert r["gain_per_cost"] == pytest.approx(1.0)
    assert np.isnan(r["gain_per_cost_ci_low"]) and np.isnan(r["gain_per_cost_ci_high"])
    assert np.isnan(t.loc[("policy", "public_cost"), "gain_per_cost_ci_low"])  # the cost itself: no ratio

    def runs(dy: list[float], dc: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "scenario": ["baseline"] * 3 + ["policy"] * 3,
                "seed": [0, 1, 2] * 2,
                "y": [10.0, 20.0, 30.0] + [10.0 + dy[0], 20.0 + dy[1], 30.0 + dy[2]],
                "public_cost": [5.0, 6.0, 7.0] + [5.0 + dc[0], 6.0 + dc[1], 7.0 + dc[2]],
            }
        )

    # a cost that does not vary: the t interval of the gain (1, 2, 3: 2 +- T2 / sqrt(3)) over the cost, 4
    c = compare(runs([1.0, 2.0, 3.0], [4.0, 4.0, 4.0])).set_index(["scenario", "metric"]).loc[("policy", "y")]
    assert c["gain_per_cost"] == pytest.approx(0.5)
    want = ((2 - T2 / math.sqrt(3)) / 4, (2 + T2 / math.sqrt(3)) / 4)
    assert (c["gain_per_cost_ci_low"], c["gain_per_cost_ci_high"]) == pytest.approx(want)
    # both vary: each bound R is where the paired t statistic of y - R c is exactly the 97.5 % quantile
    dy, dc = np.array([2.0, 4.0, 9.0]), np.array([10.0, 11.0, 13.0])
    g = compare(runs(list(dy), list(dc))).set_index(["scenario", "metric"]).loc[("policy", "y")]
    assert g["gain_per_cost"] == pytest.approx(15.0 / 34.0)  # mean 5 over mean 34 / 3
    lo, hi = g["gain_per_cost_ci_low"], g["gain_per_cost_ci_high"]
    assert lo < g["gain_per_cost"] < hi
    for bound in (lo, hi):
        z = dy - bound * dc
        assert abs(z.mean()) / (z.std(ddof=1) / math.sqrt(3)) == pytest.approx(T2, rel=1e-9)


def test_clear_errors() -> None:
    runs = tiny()
    with pytest.raises(ValueError, match="baseline scenario 'status quo' not in"):
        compare(runs, baseline="status quo")
    with pytest.raises(ValueError, match=r"metric column\(s\) \['talent_net_outflow.Hebei'\] not in"):
        compare(runs, metrics=["y", "talent_net_outflow.Hebei"])
    with pytest.raises(ValueError, match="'policy' shares 1 seed"):
        compare(runs[(runs.scenario != "policy") | (runs.seed == 0)])
    with pytest.raises(ValueError, match="duplicate"):
        compare(pd.concat([runs, runs.iloc[[0]]]))
    with pytest.raises(ValueError, match="no 'seed' column"):
        compare(runs.drop(columns="seed"))
    with pytest.raises(ValueError, match="not numeric"):
        compare(runs.assign(note="x"), metrics=["note"])
    with pytest.raises(ValueError, match="level"):
        compare(runs, level=95)
