"""The observation layer: run(observers=...) is the one run loop, and YearlyStatistics is the model's counterpart
of the statistics (what the calibration compares with the data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from jjjsim.experiments.calibration.moments import simulate
from jjjsim.model import run
from jjjsim.model.observe import BJ_TJHB, YearlyStatistics
from jjjsim.model.scenario import load_scenario


class Counting:
    """Records when it is called, and the quarter the model is at."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start(self, m: Any) -> None:
        self.calls.append(("start", int(m.steps)))

    def step(self, m: Any) -> None:
        self.calls.append(("step", int(m.steps)))

    def result(self, m: Any) -> int:
        return len(self.calls)


def _historical(steps: int = 12, scale: float = 0.1) -> Any:
    return load_scenario("historical").params.replace({"steps": steps, "scale": scale}, where="tests")


def test_observers_are_called_after_the_set_up_and_after_every_step() -> None:
    ob = Counting()
    res = run(_historical(steps=6), seed=3, observers=[ob])
    assert ob.calls == [("start", 0)] + [("step", k) for k in range(1, 7)]
    assert res.observed == {"counting": 7}
    plain = run(_historical(steps=6), seed=3)
    assert plain.observed == {} and plain.digest() == res.digest()  # observing changes nothing


def test_yearly_statistics_follow_the_timing_convention() -> None:
    """Stocks at the start of each year (the last included), flows over its four quarters, in real units."""
    p = _historical(steps=12)
    res = run(p, seed=1, observers=[YearlyStatistics()])
    table = res.observed[YearlyStatistics.name]
    years = sorted({y for (_, _, y) in table.index})
    assert years == [2014, 2015, 2016, 2017]
    stocks = table.xs("rd_personnel_fte_total", level="indicator")
    assert {y for (_, y) in stocks.index} == {2014, 2015, 2016, 2017}
    flows = table.xs("tech_contract_turnover_output", level="indicator")
    assert {y for (_, y) in flows.index} == {2014, 2015, 2016}
    # a year's contract value by seller is the recorded flow of its four quarters; cumulatively the run's matrix
    s = res.series
    for region in ("Beijing", "Tianjin", "Hebei"):
        total = sum(flows[(region, y)] for y in (2014, 2015, 2016))
        assert np.isclose(total, res.flows["contract_value"].loc[region].sum(), rtol=1e-12)
        fte = s[(s.region == region) & (s.step == 4)].talent_fte.iloc[0]
        assert stocks[(region, 2015)] == fte
    bj = table.xs("bj_to_tj_hb_tech_contract_value", level="indicator")
    assert list(bj.index) == [(BJ_TJHB, 2014), (BJ_TJHB, 2015), (BJ_TJHB, 2016)] and (bj >= 0).all()


def test_the_calibration_simulates_through_run() -> None:
    p = _historical(steps=8)
    table = simulate(p, 4)
    again = run(p, seed=4, observers=[YearlyStatistics()]).observed[YearlyStatistics.name]
    assert table.name == 4
    pd.testing.assert_series_equal(table, again, check_names=False)
