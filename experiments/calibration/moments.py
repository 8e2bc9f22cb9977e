"""Observed and simulated yearly statistics, and the moments built from them by one definition.

Both sides are reduced to the same *yearly table*: a value per ``(indicator, region, year)``, with the
indicator names of ``scenarios/data/jjj_statistics.csv``. The observed table is the CSV itself; the simulated
table comes from one run (:func:`simulate`: the model's observer :class:`jjjsim.model.observe.YearlyStatistics`,
which states the timing convention), converted to real units. A moment (:class:`Moment`) is then a function of a
yearly table, applied unchanged to both, so the observed and the simulated moment cannot differ in definition.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.data import read_statistics
from jjjsim.model.errors import ConfigError
from jjjsim.model.observe import BJ_TJHB, YearlyStatistics
from jjjsim.model.params import Params
from jjjsim.model.regions import JJJ
from jjjsim.model.runner import run
from jjjsim.model.setup import FIRM_VA_SHARE

JJJ_TOTAL = "JJJ"
"""A moment's region ``JJJ`` is the sum of Beijing, Tianjin and Hebei (on both sides, never a JJJ row)."""

STAT_KINDS = ("value", "share", "growth")


@dataclass(frozen=True)
class Counterpart:
    """How the model produces a CSV indicator: a yearly flow or a start-of-year stock, in the CSV's unit."""

    kind: str
    """``flow`` (sum over the year's four quarters), ``stock`` (state at the start of the year) or ``span``
    (defined only over a span of years, from other indicators)."""
    meaning: str
    regions: tuple[str, ...] = JJJ


COUNTERPARTS: dict[str, Counterpart] = {
    "tech_contract_turnover_output": Counterpart(
        "flow", "technology-contract value sold by the region's platforms to any buyer (Outside included), 亿元"
    ),
    "tech_contract_count_output": Counterpart(
        "flow", "technology contracts sold by the region's platforms to any buyer (deals x 1 / scale), contracts"
    ),
    "tech_contract_turnover_absorbed": Counterpart(
        "flow", "technology-contract value bought by firms located in the region (buyer location), 亿元"
    ),
    "bj_to_tj_hb_tech_contract_value": Counterpart(
        "flow", "contract value sold by Beijing platforms to buyers located in Tianjin or Hebei, 亿元", (BJ_TJHB,)
    ),
    "bj_tech_contract_outflow": Counterpart(
        "flow", "contract value sold by Beijing platforms to buyers outside Beijing (model only), 亿元", ("Beijing",)
    ),
    "patents_granted_invention": Counterpart(
        "flow",
        "new (non-duplicated) result records x result_unit / scale x the propensity to patent (1 in 2014,"
        " growing at patent_propensity_growth)",
    ),
    "gdp_implied_by_rd_bulletin": Counterpart(
        "flow", f"firm value added / {FIRM_VA_SHARE} (the set-up's HTE share of GDP), 亿元"
    ),
    "rd_expenditure": Counterpart(
        "flow", "research-platform budgets over the year / platform_budget_share (the set-up's inverse), 亿元"
    ),
    "rd_personnel_fte_total": Counterpart("stock", "R&D FTE resident in the region"),
    "high_tech_enterprises_stock": Counterpart(
        "stock", "living firm agents that are not subsidiaries (branches) x firm_unit / scale"
    ),
    "zgc_branches_in_tj_hb_stock": Counterpart(
        "stock",
        "sites in Tianjin or Hebei of living Beijing firms, and firms relocated there from Beijing,"
        " x firm_unit / scale",
        (BJ_TJHB,),
    ),
    "bj_to_tj_hb_tech_contract_value_cumulative": Counterpart(
        "span", "sum of bj_to_tj_hb_tech_contract_value over the span, 亿元", (BJ_TJHB,)
    ),
    "bj_to_tj_hb_share_of_bj_tech_contract_outflow": Counterpart(
        "span",
        "100 x sum of bj_to_tj_hb_tech_contract_value / sum of bj_tech_contract_outflow over the span, %",
        (BJ_TJHB,),
    ),
}
"""Every CSV indicator the model has a counterpart for."""


# ---- observed ----------------------------------------------------------------------------------------------------


def default_data_file() -> Path:
    """The project's statistics file (package data ``jjjsim.scenarios/data/jjj_statistics.csv``)."""
    return Path(str(resources.files("jjjsim.scenarios").joinpath("data/jjj_statistics.csv")))


class Observations:
    """The statistics file as a yearly table: ``value(indicator, region, year)`` reads one CSV row.

    ``year`` is a single year or a span as written in the file (``"2014-2020"``); values written ``>x`` or
    ``~x`` are read as x (:func:`jjjsim.model.data.read_statistics`, as the set-up reads them). A missing row is
    a ConfigError naming the file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_data_file()
        try:
            df = read_statistics(self.path)
        except FileNotFoundError:
            raise ConfigError(str(self.path), "(file)", "an existing statistics CSV", "no such file") from None
        missing = {"region", "year", "indicator", "value", "source", "confidence"} - set(df.columns)
        if missing:
            raise ConfigError(
                str(self.path), "(columns)", "region, year, indicator, value, source, confidence", sorted(missing)
            )
        self.frame = df
        self.digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self._rows = {(r.indicator, r.region, r.year): r for r in df.itertuples(index=False)}

    def row(self, indicator: str, region: str, year: str) -> Any:
        key = (indicator, region, str(year))
        if key not in self._rows:
            raise ConfigError(
                str(self.path), f"{indicator} / {region} / {year}", "a row of the statistics file", "none"
            )
        return self._rows[key]

    def value(self, indicator: str, region: str, year: str | int) -> float:
        """The observed value (the sum of Beijing, Tianjin and Hebei for region ``JJJ``)."""
        if region == JJJ_TOTAL:
            return sum(self.value(indicator, r, year) for r in JJJ)
        a, b = _years(year)
        if a != b and (indicator, region, str(year)) not in self._rows and COUNTERPARTS[indicator].kind == "flow":
            return sum(self.value(indicator, region, y) for y in range(a, b + 1))  # a flow over a span: its years
        v = float(self.row(indicator, region, str(year)).value)
        if not math.isfinite(v):
            raise ConfigError(str(self.path), f"{indicator} / {region} / {year}", "a numeric value", v)
        return v

    def confidence(self, indicator: str, region: str, year: str | int) -> list[str]:
        """The ``confidence`` column of the rows behind a value (three rows for region ``JJJ``)."""
        regions = JJJ if region == JJJ_TOTAL else (region,)
        a, b = _years(year)
        if a != b and (indicator, regions[0], str(year)) not in self._rows:
            return [c for y in range(a, b + 1) for c in self.confidence(indicator, region, y)]
        return [str(self.row(indicator, r, str(year)).confidence) for r in regions]


# ---- simulated ---------------------------------------------------------------------------------------------------


def _years(year: str | int) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", str(year))
    if not m:
        raise ValueError(f"not a year or span: {year!r}")
    return int(m[1]), int(m[2] or m[1])


class Simulated:
    """A simulated yearly table (a Series indexed by indicator, region, year) with the CSV's lookup rules."""

    def __init__(self, table: pd.Series) -> None:
        self.table = table

    def value(self, indicator: str, region: str, year: str | int) -> float:
        if region == JJJ_TOTAL:
            return sum(self.value(indicator, r, year) for r in JJJ)
        a, b = _years(year)
        if indicator == "bj_to_tj_hb_tech_contract_value_cumulative":
            return sum(self._get("bj_to_tj_hb_tech_contract_value", BJ_TJHB, y) for y in range(a, b + 1))
        if indicator == "bj_to_tj_hb_share_of_bj_tech_contract_outflow":
            num = sum(self._get("bj_to_tj_hb_tech_contract_value", BJ_TJHB, y) for y in range(a, b + 1))
            den = sum(self._get("bj_tech_contract_outflow", "Beijing", y) for y in range(a, b + 1))
            return 100.0 * num / den if den > 0 else math.nan
        if a != b:
            if COUNTERPARTS[indicator].kind != "flow":
                raise ValueError(f"{indicator} is not a flow: no value over the span {year}")
            return sum(self._get(indicator, region, y) for y in range(a, b + 1))
        return self._get(indicator, region, a)

    def _get(self, indicator: str, region: str, year: int) -> float:
        try:
            return float(self.table.loc[(indicator, region, year)])
        except KeyError:
            raise ValueError(f"the run has no {indicator} / {region} / {year} (too few steps?)") from None


def simulate(params: Params, seed: int) -> pd.Series:
    """Run the model once (``params.steps`` quarters) and return its yearly table in the CSV's units.

    A plain, picklable function of its arguments, so an executor can run it: ``run(params, seed)`` with the
    :class:`~jjjsim.model.observe.YearlyStatistics` observer (the one run loop, the one definition of each
    statistic's model counterpart).
    """
    table = run(params, seed, observers=[YearlyStatistics()]).observed[YearlyStatistics.name]
    table.name = seed
    return table


# ---- moments -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One calibration target, a function of a yearly table.

    ``stat``: ``value`` (the indicator in ``year``, a year or a span), ``share`` (the region's share of the JJJ
    sum in ``year``) or ``growth`` (annual log growth from ``years[0]`` to ``years[1]``). The objective
    compares ``log(value)`` and ``log(share)``, and growth as it is (all scale-free).
    """

    name: str
    stat: str
    indicator: str
    region: str
    year: str = ""
    years: tuple[int, int] = (0, 0)
    note: str = ""

    def raw(self, value: Callable[[str, str, str], float]) -> float:
        """The moment's natural value (亿元, %, share, log growth per year) from a lookup of the yearly table."""
        if self.stat == "value":
            return value(self.indicator, self.region, self.year)
        if self.stat == "share":
            return value(self.indicator, self.region, self.year) / value(self.indicator, JJJ_TOTAL, self.year)
        y0, y1 = self.years
        a, b = value(self.indicator, self.region, str(y0)), value(self.indicator, self.region, str(y1))
        return math.log(b / a) / (y1 - y0) if a > 0 and b > 0 else math.nan

    def transform(self, raw: float) -> float:
        """The scale of the objective: log for values and shares, growth as it is."""
        if self.stat == "growth":
            return raw
        return math.log(raw) if raw > 0 else math.nan

    def observation_error(self, obs: Observations, errors: dict[str, float]) -> float:
        """Assumed error of the observed moment on the objective's scale, from the rows' confidence classes:
        a log sd per class; a share carries two rows' error (x sqrt 2), a growth two rows' over its years."""
        if self.stat == "growth":
            confs = obs.confidence(self.indicator, self.region, self.years[0])
            confs += obs.confidence(self.indicator, self.region, self.years[1])
        else:
            confs = obs.confidence(self.indicator, self.region, self.year)
        sd = max(error_class(c, errors) for c in confs)
        if self.stat == "share":
            return sd * math.sqrt(2.0)
        if self.stat == "growth":
            return sd * math.sqrt(2.0) / (self.years[1] - self.years[0])
        return sd

    def last_year(self) -> int:
        """The last calendar year the moment needs."""
        return self.years[1] if self.stat == "growth" else _years(self.year)[1]

    def label(self) -> str:
        """A short human description."""
        when = f"{self.years[0]}-{self.years[1]}" if self.stat == "growth" else self.year
        what = {"value": "", "share": "share of JJJ, ", "growth": "annual log growth, "}[self.stat]
        return f"{self.indicator} ({self.region}; {what}{when})"


def error_class(confidence: str, errors: dict[str, float]) -> float:
    """The log sd of a confidence class: ``data_file`` (read from a yearbook or bulletin data file),
    ``derived`` (computed from other numbers) or ``other`` (official figures quoted in news and the like)."""
    c = confidence.strip().lower()
    if c.startswith("read (data file)"):
        return errors["data_file"]
    if c.startswith("derived"):
        return errors["derived"]
    return errors["other"]


def moment_from_table(item: dict[str, Any], where: str, index: int) -> Moment:
    """A :class:`Moment` from one ``[[moments]]`` table of a calibration config (checked)."""
    key = f"moments[{index}]"
    allowed = ("name", "stat", "indicator", "region", "year", "years", "note")
    if not isinstance(item, dict):
        raise ConfigError(where, key, "a table", item)
    for k in item:
        if k not in allowed:
            raise ConfigError(where, f"{key}.{k}", f"one of {', '.join(allowed)}", k)
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(where, f"{key}.name", "a moment name", name)
    key = f"moments.{name}"
    stat = item.get("stat")
    if stat not in STAT_KINDS:
        raise ConfigError(where, f"{key}.stat", f"one of {', '.join(STAT_KINDS)}", stat)
    ind = item.get("indicator")
    if ind not in COUNTERPARTS or ind == "bj_tech_contract_outflow":
        names = [n for n in COUNTERPARTS if n != "bj_tech_contract_outflow"]
        raise ConfigError(where, f"{key}.indicator", f"an indicator with a model counterpart ({', '.join(names)})", ind)
    cp = COUNTERPARTS[ind]
    region = item.get("region")
    allowed_regions = cp.regions + ((JJJ_TOTAL,) if cp.regions == JJJ and stat == "value" else ())
    if region not in allowed_regions:
        raise ConfigError(where, f"{key}.region", f"one of {', '.join(allowed_regions)} for {ind}", region)
    note = item.get("note", "")
    if stat == "growth":
        ys = item.get("years")
        if not (isinstance(ys, list) and len(ys) == 2 and all(isinstance(y, int) for y in ys) and ys[0] < ys[1]):
            raise ConfigError(where, f"{key}.years", "[first year, last year] with first < last", ys)
        if cp.kind == "span":
            raise ConfigError(where, f"{key}.stat", f"value ({ind} is defined over a span only)", stat)
        return Moment(name, stat, ind, region, years=(ys[0], ys[1]), note=note)
    year = item.get("year")
    year = str(year) if isinstance(year, int | str) else year
    if not isinstance(year, str) or not re.fullmatch(r"\d{4}(-\d{4})?", year):
        raise ConfigError(where, f"{key}.year", "a year (2017) or a span ('2014-2020')", year)
    a, b = _years(year)
    if cp.kind == "span" and a == b:
        raise ConfigError(where, f"{key}.year", f"a span of years for {ind} ('2014-2020')", year)
    if cp.kind == "stock" and a != b:
        raise ConfigError(where, f"{key}.year", f"a single year for {ind} (a stock)", year)
    if stat == "share" and (a != b or cp.regions != JJJ):
        raise ConfigError(where, f"{key}.stat", "a share of one year of a per-region indicator", stat)
    return Moment(name, stat, ind, region, year=year, note=note)


def simulated_moments(moments: list[Moment], tables: list[pd.Series]) -> dict[str, Any]:
    """Moments of the seeds' mean table, and their one-realisation sd from a jackknife over seeds.

    Returns ``raw`` and ``transformed`` (moments of the mean table) and ``sd_one`` (sd of the transformed
    moment of a *single* run: R x the jackknife variance of the R-seed estimate; NaN with one seed).
    """
    stack = pd.concat(tables, axis=1)
    mean = stack.mean(axis=1)
    sim = Simulated(mean)
    raw = np.array([m.raw(sim.value) for m in moments])
    trans = np.array([m.transform(x) for m, x in zip(moments, raw, strict=True)])
    r = stack.shape[1]
    sd_one = np.full(len(moments), np.nan)
    if r > 1:
        total = stack.sum(axis=1)
        loo = np.array(
            [
                [m.transform(m.raw(Simulated((total - stack.iloc[:, i]) / (r - 1)).value)) for m in moments]
                for i in range(r)
            ]
        )
        var_jack = (r - 1) / r * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0)
        sd_one = np.sqrt(r * var_jack)
    return {"raw": raw, "transformed": trans, "sd_one": sd_one}


def per_seed_moments(moments: list[Moment], tables: list[pd.Series]) -> np.ndarray:
    """Each seed's transformed moments (rows: seeds), for checks of their spread across seeds."""
    out = []
    for t in tables:
        sim = Simulated(t)
        out.append([m.transform(m.raw(sim.value)) for m in moments])
    return np.array(out)
