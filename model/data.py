"""Real statistics the model starts from (``scenarios/data/jjj_statistics.csv``, sources kept per row)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .regions import JJJ

STATISTICS_FILE = "data/jjj_statistics.csv"


def read_statistics(path: str | Path) -> pd.DataFrame:
    """A statistics CSV (the columns of ``scenarios/data/jjj_statistics.csv``): ``year`` as written (a year or a
    span such as ``2014-2020``), ``value`` as a float (``>x`` or ``~x`` read as x; the text kept in ``raw``)."""
    df = pd.read_csv(path, dtype={"year": str, "value": str})
    if "value" in df.columns:
        df["raw"] = df["value"]
        df["value"] = pd.to_numeric(df["value"].str.lstrip("><~"), errors="coerce")
    return df


@lru_cache(maxsize=1)
def statistics() -> pd.DataFrame:
    """The project's copy of the statistics: region, year, indicator, value (float), unit, source."""
    path = resources.files("jjjsim.scenarios").joinpath(STATISTICS_FILE)
    with resources.as_file(path) as p:
        return read_statistics(p)


def series(indicator: str, region: str) -> pd.Series:
    """One indicator's yearly values for one region (single years only), indexed by year."""
    df = statistics()
    d = df[(df.indicator == indicator) & (df.region == region) & df.year.str.fullmatch(r"\d{4}")]
    return pd.Series(d.value.to_numpy(), index=d.year.astype(int).to_numpy()).sort_index()


FIT_YEARS = (2014, 2020)
"""The years the model is fitted and its exogenous trends derived on; 2021-2023 are kept for checking."""


@lru_cache(maxsize=16)
def trend(indicator: str) -> tuple[float, np.ndarray]:
    """Annual log-linear (OLS) trend of ``indicator`` over ``FIT_YEARS``: the JJJ sum's slope and each region's
    slope in ``JJJ`` order (years where a region has no value are left out of that region's fit and of the sum)."""
    lo, hi = FIT_YEARS
    frame = pd.DataFrame({r: series(indicator, r).loc[lo:hi] for r in JJJ}).dropna()

    def slope(x: pd.Series) -> float:
        return float(np.polyfit(x.index.to_numpy(dtype=float), np.log(x.to_numpy(dtype=float)), 1)[0])

    regions = np.array([slope(series(indicator, r).loc[lo:hi].dropna()) for r in JJJ])
    regions.setflags(write=False)
    return slope(frame.sum(axis=1)), regions


def value_in(indicator: str, region: str, year: int) -> float:
    """Value in ``year``: log-linear interpolation between observed years, held flat beyond them."""
    s = series(indicator, region).dropna()
    if s.empty:
        raise KeyError(f"no data for {indicator} in {region}")
    if year in s.index:
        return float(s[year])
    return float(np.exp(np.interp(year, s.index.to_numpy(), np.log(s.to_numpy()))))


@dataclass(frozen=True)
class StartState:
    """Per-region start-year statistics for Beijing, Tianjin, Hebei (arrays in ``JJJ`` order)."""

    year: int
    rd_expenditure: np.ndarray  # 100m CNY / yr
    rd_fte: np.ndarray  # FTE person-years
    invention_patents: np.ndarray  # granted / yr
    contract_output: np.ndarray  # 100m CNY / yr, by seller region
    contract_absorbed: np.ndarray  # 100m CNY / yr, by buyer region
    contract_count: np.ndarray  # contracts / yr, by seller region
    gdp: np.ndarray  # 100m CNY / yr (implied by the R&D bulletin: expenditure / intensity)
    high_tech_firms: np.ndarray  # stock
    key_labs: np.ndarray  # state key labs (discipline + enterprise + provincial-ministerial)


_KEY_LAB_INDICATORS = (
    "state_key_labs_discipline",
    "enterprise_state_key_labs",
    "provincial_ministerial_state_key_labs",
)


@lru_cache(maxsize=16)
def start_state(year: int) -> StartState:
    """Statistics of ``year`` for the three regions; key-lab counts are the latest lists (no series).

    Cached (runs of a sweep share it), so its arrays are read-only.
    """

    def arr(ind: str) -> np.ndarray:
        return np.array([value_in(ind, r, year) for r in JJJ])

    df = statistics()
    labs = np.array([df[(df.region == r) & df.indicator.isin(_KEY_LAB_INDICATORS)].value.sum() for r in JJJ])
    state = StartState(
        year=year,
        rd_expenditure=arr("rd_expenditure"),
        rd_fte=arr("rd_personnel_fte_total"),
        invention_patents=arr("patents_granted_invention"),
        contract_output=arr("tech_contract_turnover_output"),
        contract_absorbed=arr("tech_contract_turnover_absorbed"),
        contract_count=arr("tech_contract_count_output"),
        gdp=arr("gdp_implied_by_rd_bulletin"),
        high_tech_firms=arr("high_tech_enterprises_stock"),
        key_labs=labs,
    )
    for value in vars(state).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return state
