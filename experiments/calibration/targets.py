"""The historical run against the statistics, as a referee reads it: the flow targets and an out-of-sample race.

``python -m experiments.calibration.targets [--seeds N] [--scale S]`` runs the ``historical`` scenario (2014
start, to 2023) for N seeds and prints, for the mean run:

- the Beijing -> Tianjin+Hebei contract value in 2017 and cumulated 2014-2020 against the statistics;
- every region's contract turnover by seller and by buyer in 2020 against the statistics;
- for 2021-2023, every regional series the model has a counterpart for, the model's error and that of a
  log-linear trend fitted to 2014-2020 of the observed series (the naive forecast a model has to beat), and
  the median of each over the series.

Only 2014-2020 enters anything fitted; 2021-2023 is read here for checking only.
"""

from __future__ import annotations

import argparse
import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from jjjsim.model.regions import JJJ
from jjjsim.model.scenario import load_scenario

from .moments import BJ_TJHB, Observations, Simulated, simulate

FIT_YEARS = range(2014, 2021)
CHECK_YEARS = range(2021, 2024)
REGIONAL = (
    "tech_contract_turnover_output",
    "tech_contract_count_output",
    "tech_contract_turnover_absorbed",
    "patents_granted_invention",
    "rd_personnel_fte_total",
    "rd_expenditure",
    "high_tech_enterprises_stock",
)
"""Regional series of the out-of-sample race (those with observed values in every year 2014-2023)."""


def _run(args: tuple[float, int]) -> pd.Series:
    scale, seed = args
    p = load_scenario("historical").params.replace({"scale": scale, "steps": 40}, where="targets")
    return simulate(p, seed)


def mean_table(seeds: int, scale: float, workers: int = 2) -> Simulated:
    """The mean yearly table of ``seeds`` historical runs (seeds 1..N)."""
    with ProcessPoolExecutor(workers) as pool:
        tables = list(pool.map(_run, [(scale, s) for s in range(1, seeds + 1)]))
    return Simulated(pd.concat(tables, axis=1).mean(axis=1))


def _observed(obs: Observations, ind: str, region: str, year: int) -> float:
    try:
        return obs.value(ind, region, year)
    except Exception:  # noqa: BLE001 - a year missing from the file is simply not compared
        return math.nan


def trend_forecast(obs: Observations, ind: str, region: str) -> dict[int, float]:
    """Least-squares log-linear trend of the observed 2014-2020 values, extrapolated to 2021-2023."""
    xs = [(y, _observed(obs, ind, region, y)) for y in FIT_YEARS]
    xs = [(y, v) for y, v in xs if v > 0]
    if len(xs) < 3:
        return {}
    b, a = np.polyfit([y for y, _ in xs], np.log([v for _, v in xs]), 1)
    return {y: float(np.exp(a + b * y)) for y in CHECK_YEARS}


def report(sim: Simulated, obs: Observations) -> str:
    """The targets and the out-of-sample race as text."""
    lines = ["Targets (fitted window 2014-2020)", "indicator | observed | model | error"]

    def row(label: str, o: float, s: float) -> None:
        lines.append(f"{label} | {o:,.1f} | {s:,.1f} | {100 * (s / o - 1):+.0f} %")

    row(
        "Beijing -> Tianjin+Hebei 2017",
        obs.value("bj_to_tj_hb_tech_contract_value", BJ_TJHB, 2017),
        sim.value("bj_to_tj_hb_tech_contract_value", BJ_TJHB, 2017),
    )
    row(
        "Beijing -> Tianjin+Hebei 2014-2020",
        obs.value("bj_to_tj_hb_tech_contract_value_cumulative", BJ_TJHB, "2014-2020"),
        sim.value("bj_to_tj_hb_tech_contract_value_cumulative", BJ_TJHB, "2014-2020"),
    )
    for ind, what in (("tech_contract_turnover_output", "by seller"), ("tech_contract_turnover_absorbed", "by buyer")):
        for r in JJJ:
            row(f"{r} turnover {what} 2020", obs.value(ind, r, 2020), sim.value(ind, r, 2020))
    lines += ["", "Out of sample 2021-2023: mean absolute % error", "series | model | log-linear trend"]
    model_err, trend_err, wins = [], [], 0
    for ind in REGIONAL:
        for r in JJJ:
            trend = trend_forecast(obs, ind, r)
            pairs = [(_observed(obs, ind, r, y), sim.value(ind, r, y), trend.get(y, math.nan)) for y in CHECK_YEARS]
            pairs = [(o, s, t) for o, s, t in pairs if o > 0 and math.isfinite(t)]
            if not pairs:
                continue
            me = float(np.mean([abs(s / o - 1) for o, s, _ in pairs])) * 100
            te = float(np.mean([abs(t / o - 1) for o, _, t in pairs])) * 100
            model_err.append(me)
            trend_err.append(te)
            wins += me <= te
            lines.append(f"{ind} {r} | {me:.0f} % | {te:.0f} %")
    lines.append(
        f"median over {len(model_err)} series | {np.median(model_err):.1f} % | {np.median(trend_err):.1f} % "
        f"(model no worse on {wins} of {len(model_err)})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    print(report(mean_table(a.seeds, a.scale, a.workers), Observations()))


if __name__ == "__main__":
    main()
