"""Doses and equal public cost: hand-worked dose-response and equal-cost tables, and the clear errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.compare import compare
from jjjsim.experiments.dose import (
    BEYOND,
    CHEAPER,
    INTERPOLATED,
    NO_COST,
    SWITCH,
    default_amount,
    dose_response,
    equal_cost,
    no_cost_measures,
)

T2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # t quantile, 2 degrees of freedom (see test_compare)


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three seeds. ``fund`` at doses 0.5, 1, 2 costs 40, 100, 200 more than the baseline on every seed; ``labs``
    at dose 1 costs 60 more; ``free`` costs nothing of its own (its outlay ``cost.autonomy`` stays 0) but 1 more in
    total; ``cut`` costs less. ``y`` is the outcome, ``public_cost`` the money spent."""
    base_y, base_c = [10.0, 20.0, 30.0], [100.0, 110.0, 120.0]
    rows = {
        "baseline": ([0, 0, 0], [0, 0, 0]),
        "fund@0.5": ([1, 2, 3], [40, 40, 40]),
        "fund": ([4, 5, 9], [100, 100, 100]),
        "fund@2": ([6, 6, 12], [200, 200, 200]),
        "labs": ([3, 6, 3], [60, 60, 60]),
        "free": ([2, 2, 5], [1, 1, 1]),
        "cut": ([1, 1, 1], [-5, -5, -5]),
    }
    frames = []
    for label, (dy, dc) in rows.items():
        frames.append(
            pd.DataFrame(
                {
                    "scenario": label,
                    "seed": [7, 8, 9],
                    "y": np.add(base_y, dy),
                    "public_cost": np.add(base_c, dc),
                    "cost.autonomy": 0.0,
                    "cost.public_funds": np.add(base_c, dc),
                }
            )
        )
    doses = pd.DataFrame(
        [
            ("fund@0.5", "fund", 0.5),
            ("fund", "fund", 1.0),
            ("fund@2", "fund", 2.0),
            ("labs", "labs", 1.0),
            ("free", "free", 1.0),
            ("cut", "cut", 1.0),
        ],
        columns=["scenario", "measure", "dose"],
    )
    return pd.concat(frames, ignore_index=True), doses


def test_equal_cost_by_hand() -> None:
    runs, doses = tiny()
    t = equal_cost(runs, doses, metrics=["y"], free=["free"]).set_index("measure")
    # default amount: the smallest of the costly measures' largest extra costs, min(200, 60) = 60 (free and the
    # measure that costs less are left out, so nothing is extrapolated)
    assert t.attrs["amount"] == 60.0 and (t.amount == 60.0).all()
    # fund: costs 0, 40, 100, 200 at doses 0, 0.5, 1, 2; 60 lies between 40 and 100, w = (60 - 40) / 60 = 1/3, the
    # dose 0.5 + 0.5 / 3; per seed 2/3 (1, 2, 3) + 1/3 (4, 5, 9) = (2, 3, 5): mean 10/3, sd sqrt(7/3)
    f = t.loc["fund"]
    assert f.status == INTERPOLATED and f.segment == "0.5-1" and f.dose == pytest.approx(0.5 + 0.5 / 3)
    assert f.n_pairs == 3 and f.effect == pytest.approx(10 / 3)
    half = T2 * math.sqrt(7 / 3) / math.sqrt(3)
    assert (f.effect_ci_low, f.effect_ci_high) == pytest.approx((10 / 3 - half, 10 / 3 + half))
    assert f.per_cost == pytest.approx(10 / 3 / 60) and f.per_cost_ci_high == pytest.approx((10 / 3 + half) / 60)
    # labs: its one dose costs exactly 60, the end of the segment from the baseline: its own effects (3, 6, 3)
    lab = t.loc["labs"]
    assert lab.status == INTERPOLATED and lab.segment == "0-1" and lab.dose == pytest.approx(1.0)
    assert lab.effect == pytest.approx(4.0)
    assert (lab.effect_ci_low, lab.effect_ci_high) == pytest.approx((4 - T2, 4 + T2))  # sd sqrt(3), se 1
    # free: no cost of its own, at its own setting (2, 2, 5); cut: costs less, no dose reaches 60
    assert t.loc["free"].status == NO_COST and t.loc["free"].effect == pytest.approx(3.0)
    assert np.isnan(t.loc["free"].per_cost)
    assert t.loc["cut"].status == CHEAPER and np.isnan(t.loc["cut"].effect) and t.loc["cut"].n_pairs == 0


def test_equal_cost_at_a_chosen_amount() -> None:
    runs, doses = tiny()
    t = equal_cost(runs, doses, metrics=["y"], amount=150.0, switches=["labs"]).set_index("measure")
    # fund: between doses 1 and 2 (100, 200), w = 1/2: per seed (5, 5.5, 10.5), mean 7
    assert t.loc["fund"].dose == pytest.approx(1.5) and t.loc["fund"].effect == pytest.approx(7.0)
    assert t.loc["fund"].per_cost == pytest.approx(7.0 / 150.0)
    assert t.loc["labs"].status == SWITCH and t.loc["labs"].effect == pytest.approx(4.0)  # its own setting
    assert t.loc["free"].status == BEYOND and np.isnan(t.loc["free"].effect)  # costs 1 in total: not extrapolated
    # 300 is beyond fund's largest dose
    assert equal_cost(runs, doses, metrics=["y"], amount=300.0).set_index("measure").loc["fund"].status == BEYOND


def test_equal_cost_pairs_by_seed() -> None:
    """Shuffling the rows changes nothing: effects are paired by seed, not by row order."""
    runs, doses = tiny()
    a = equal_cost(runs, doses, metrics=["y"])
    b = equal_cost(runs.sample(frac=1.0, random_state=3), doses, metrics=["y"])
    pd.testing.assert_frame_equal(a, b)


def test_dose_response_is_the_paired_comparison_with_the_cost() -> None:
    runs, doses = tiny()
    t = dose_response(runs, doses, metrics=["y"])
    assert list(t.measure.unique()) == ["fund", "labs", "free", "cut"] and list(t.metric.unique()) == ["y"]
    assert list(t[t.measure == "fund"].dose) == [0.5, 1.0, 2.0]
    ref = compare(runs, metrics=["y", "public_cost"]).set_index(["scenario", "metric"])
    for r in t.itertuples():
        want = ref.loc[(r.scenario, "y")]
        assert (r.diff, r.diff_ci_low, r.diff_ci_high) == pytest.approx(
            (want["diff"], want.diff_ci_low, want.diff_ci_high), nan_ok=True
        )
        cost = ref.loc[(r.scenario, "public_cost")]
        assert (r.extra_cost, r.extra_cost_ci_low, r.extra_cost_ci_high) == pytest.approx(
            (cost["diff"], cost.diff_ci_low, cost.diff_ci_high), nan_ok=True
        )
    fund = t[t.scenario == "fund"].iloc[0]
    assert fund.extra_cost == pytest.approx(100.0) and fund.gain_per_cost == pytest.approx(6.0 / 100.0)
    # a cost that does not vary across seeds: the ratio's interval is the outcome's over the cost
    assert fund.gain_per_cost_ci_low == pytest.approx(fund.diff_ci_low / 100.0)


def test_measures_without_a_cost_of_their_own() -> None:
    runs, doses = tiny()
    levers = {"fund": {"fund_size"}, "labs": {"fund_size"}, "free": {"autonomy"}, "cut": {"shared_key_labs"}}
    # free's outlay (cost.autonomy) never moves; fund's and labs' (cost.public_funds) rise; cut's outlay column
    # (cost.shared_labs) is missing, so it is never taken for free
    assert no_cost_measures(runs, doses, levers) == ["free"]
    assert default_amount({"a": [(1.0, 50.0), (2.0, 90.0)], "b": [(1.0, 30.0)], "c": [(1.0, -4.0)]}) == 30.0
    assert default_amount({"a": [(1.0, 50.0)], "b": [(1.0, 30.0)]}, free={"b"}) == 50.0
    assert np.isnan(default_amount({"c": [(1.0, -4.0)]}))


def test_clear_errors() -> None:
    runs, doses = tiny()
    with pytest.raises(ValueError, match="must be a number > 0"):
        equal_cost(runs, doses, metrics=["y"], amount=0.0)
    with pytest.raises(ValueError, match="no cost column 'money'"):
        equal_cost(runs, doses, cost="money")
    with pytest.raises(ValueError, match="doses table has no column"):
        dose_response(runs, doses.drop(columns="dose"))
    with pytest.raises(ValueError, match="no dosed measure has finished runs"):
        dose_response(runs[runs.scenario == "baseline"], doses)
