"""Validation of the calibrated model against every observed series it has a counterpart for (experiment E5).

Four parts, written into one folder:

- **Ergodicity / stationarity checks** for MSM: the moments' spread across seeds (coefficient of variation),
  two disjoint seed halves against each other, the same moments from runs of different length, the effect of
  dropping the start-up year (burn-in), the year-on-year growth rates over the run (does the start-up
  transient die out?), and whether two seed sets rank parameter candidates the same way.
- **Validation table**: the ``historical`` scenario from 2014, with the fitted values as overrides (and,
  for comparison, at the calibration's start point: the values before calibration), over many seeds; every
  row of the statistics file whose indicator has a model counterpart (:data:`moments.COUNTERPARTS`) and whose
  year the run covers is compared with the simulated mean and 90 % band. Rows of 2014-2020 are *fitted*
  years, later ones *out-of-sample*; each series says whether any calibration moment used it. Per series:
  MAPE, bias, coverage of the band.
- **The 2023 start**: the ``baseline`` scenario's first year with the fitted and the start values, against the
  2023 statistics (the policy scenarios start there).
- **Figures** (plotly, ``jjjsim.viz.theme``): one self-contained HTML file and PNGs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.params import Params
from jjjsim.model.provenance import versions
from jjjsim.model.regions import JJJ
from scipy import stats
from scipy.stats import qmc

from ..sweep import executor
from ..tables import markdown_table
from .config import CalibrationConfig, _seeds, load_config
from .moments import (
    BJ_TJHB,
    COUNTERPARTS,
    JJJ_TOTAL,
    Moment,
    Observations,
    Simulated,
    per_seed_moments,
    simulated_moments,
)
from .msm import _now, fitted_overrides, read_fit
from .objective import Objective, run_batch

Figures = Callable[[Observations, dict[str, list[pd.Series]], dict[str, Any] | None, Path, bool], list[str]]
"""Writes the validation figures: ``figures(observations, runs by variant, fit or None, out, png)`` returns the
files written (:func:`jjjsim.viz.validation.write_figures`)."""

FIT_END = 2020
"""Last fitted year: rows up to it are 'fitted', later rows 'out-of-sample'."""
VARIANTS = ("fitted", "defaults", "start")
"""Columns of the tables: the fit's values, the registry defaults (when no fit is given), the start point."""
LABELS = {"fitted": "fitted", "defaults": "registry defaults", "start": "before calibration (start point)"}
START_INPUTS = (
    "rd_personnel_fte_total", "high_tech_enterprises_stock", "patents_granted_invention", "rd_expenditure",
    "gdp_implied_by_rd_bulletin",
)  # fmt: skip
"""Indicators whose start-year value the set-up reads (or calibrates to, for patents): matched by construction,
so their start-year rows are listed but left out of the error statistics."""
BAND = (0.05, 0.95)


def _runs(pool: Any, window: int, params: Params, seeds: tuple[int, ...]) -> list[pd.Series]:
    return run_batch(pool, window, [(params, s) for s in seeds])


# ---- the validation table ------------------------------------------------------------------------------------


def _targeted(cfg: CalibrationConfig) -> set[tuple[str, str]]:
    """(indicator, region) series any moment uses (a JJJ moment uses all three regions)."""
    out = set()
    for m in cfg.moments:
        ind = m.indicator.removesuffix("_cumulative")
        if ind == "bj_to_tj_hb_share_of_bj_tech_contract_outflow":
            out.add((m.indicator, m.region))
            ind = "bj_to_tj_hb_tech_contract_value"
        out.add((m.indicator, m.region))
        regions = JJJ if m.region == JJJ_TOTAL or m.stat == "share" else (m.region,)
        out.update((ind, r) for r in regions)
    return out


def validation_table(
    obs: Observations, tables: dict[str, list[pd.Series]], start_year: int, last_step_year: int, cfg: CalibrationConfig
) -> pd.DataFrame:
    """One row per observed CSV row with a model counterpart inside the run's years, with each variant's
    simulated mean, 90 % band, error and whether the observation lies in the band."""
    targeted = _targeted(cfg)
    rows = []
    for r in obs.frame.itertuples(index=False):
        cp = COUNTERPARTS.get(r.indicator)
        if cp is None or r.indicator == "bj_tech_contract_outflow" or not math.isfinite(r.value):
            continue
        if r.region not in cp.regions and not (r.region == JJJ_TOTAL and cp.regions == JJJ):
            continue
        a, _, b = str(r.year).partition("-")
        y0, y1 = int(a), int(b or a)
        last = last_step_year if cp.kind == "stock" else last_step_year - 1
        if y0 < start_year or y1 > last:
            continue
        row: dict[str, Any] = {
            "indicator": r.indicator,
            "region": r.region,
            "year": str(r.year),
            "period": "fitted" if y1 <= FIT_END else "out-of-sample",
            "targeted": (r.indicator, r.region) in targeted,
            "start_input": y0 == y1 == start_year and r.indicator in START_INPUTS,
            "observed": float(r.value),
            "observed_as_written": str(r.raw),
            "confidence": str(r.confidence),
        }
        for variant, tabs in tables.items():
            v = np.array([Simulated(t).value(r.indicator, r.region, str(r.year)) for t in tabs])
            lo, hi = np.quantile(v, BAND)
            row[f"{variant}_mean"] = float(v.mean())
            row[f"{variant}_p05"] = float(lo)
            row[f"{variant}_p95"] = float(hi)
            row[f"{variant}_error_pct"] = 100.0 * (v.mean() / r.value - 1.0)
            row[f"{variant}_in_band"] = bool(lo <= r.value <= hi)
        rows.append(row)
    return pd.DataFrame(rows)


def series_table(table: pd.DataFrame) -> pd.DataFrame:
    """Errors per series and period (start-year inputs left out): MAPE, bias and 90 % band coverage."""
    t = table[~table.start_input]
    out = []
    for (ind, reg, period), g in t.groupby(["indicator", "region", "period"], sort=False):
        row: dict[str, Any] = {
            "indicator": ind,
            "region": reg,
            "period": period,
            "years": f"{g.year.iloc[0]}..{g.year.iloc[-1]}" if len(g) > 3 else ", ".join(g.year),
            "n": len(g),
            "targeted": bool(g.targeted.iloc[0]),
        }
        for variant in [v for v in VARIANTS if f"{v}_mean" in g]:
            err = g[f"{variant}_error_pct"]
            row[f"{variant}_mape_pct"] = float(err.abs().mean())
            row[f"{variant}_bias_pct"] = float(err.mean())
            row[f"{variant}_coverage"] = float(g[f"{variant}_in_band"].mean())
        out.append(row)
    df = pd.DataFrame(out)
    order = {"fitted": 0, "out-of-sample": 1}
    return df.sort_values(["indicator", "region", "period"], key=lambda s: s.map(order) if s.name == "period" else s)


def markdown(df: pd.DataFrame) -> str:
    """A pipe table: numbers to one decimal, booleans as yes/no, a NaN as an empty cell."""
    return markdown_table(df, ".1f", missing="", yes_no=True)


# ---- ergodicity and stationarity -----------------------------------------------------------------------------


def ergodicity(
    cfg: CalibrationConfig,
    obs: Observations,
    tables: list[pd.Series],
    x_fit: np.ndarray,
    weights: Sequence[float] | np.ndarray | None,
    pool: Any,
    window: int,
    candidates: int,
    seeds_a: tuple[int, ...],
    seeds_b: tuple[int, ...],
) -> dict[str, Any]:
    """Checks that the moments are stable enough for MSM (see the module docstring)."""
    moments = list(cfg.moments)
    r = len(tables)
    per_seed = per_seed_moments(moments, tables)
    half = r // 2
    a = simulated_moments(moments, tables[:half])
    b = simulated_moments(moments, tables[half : 2 * half])
    full = simulated_moments(moments, tables)
    sd_one = full["sd_one"]
    z = (a["transformed"] - b["transformed"]) / (sd_one * math.sqrt(2.0 / half))
    raw_seed = np.array([[m.raw(Simulated(t).value) for m in moments] for t in tables])
    cv = raw_seed.std(axis=0, ddof=1) / np.abs(raw_seed.mean(axis=0))
    per_moment = pd.DataFrame(
        {
            "moment": [m.name for m in moments],
            "mean": full["raw"],
            "cv_across_seeds": cv,
            "sd_one_run_scaled": sd_one,
            "half_a": a["raw"],
            "half_b": b["raw"],
            "z_half_a_vs_b": z,
            "per_seed_sd_scaled": np.nanstd(per_seed, axis=0, ddof=1),
        }
    )

    # burn-in: the growth moments with 2015 (after the start-up year) as their base
    burn = []
    for m in moments:
        if m.stat != "growth":
            continue
        late = Moment(m.name, "growth", m.indicator, m.region, years=(m.years[0] + 1, m.years[1]))
        sim_all = Simulated(pd.concat(tables, axis=1).mean(axis=1)).value
        burn.append(
            {
                "moment": m.name,
                "simulated_from_start": m.raw(sim_all),
                "simulated_after_burn_in": late.raw(sim_all),
                "observed_from_start": m.raw(obs.value),
                "observed_after_burn_in": late.raw(obs.value),
            }
        )

    # run length: the fitted-year moments from the validation's 40-quarter runs vs runs of cfg.steps quarters
    short = _runs(pool, window, cfg.params_at(x_fit), tuple(int(t.name) for t in tables[:2]))
    diff = max(float((s - t.loc[s.index]).abs().max()) for s, t in zip(short, tables[:2], strict=True))

    # year-on-year growth over the run: does the start-up transient die out?
    stack = pd.concat(tables, axis=1)
    yoy = []
    for ind in ("tech_contract_turnover_output", "tech_contract_turnover_absorbed", "patents_granted_invention",
                "rd_personnel_fte_total", "high_tech_enterprises_stock"):  # fmt: skip
        years = sorted({y for (i, reg, y) in stack.index if i == ind and reg == "Beijing"})
        jjj = np.array([[stack.loc[(ind, reg, y)].to_numpy() for reg in JJJ] for y in years]).sum(axis=1)
        g = np.log(jjj[1:] / jjj[:-1])
        for k, y in enumerate(years[1:]):
            yoy.append(
                {"indicator": ind, "year": y, "mean_growth": float(g[k].mean()), "sd_growth": float(g[k].std(ddof=1))}
            )

    # ranking of candidates by J on two seed sets
    lo, hi = np.array(cfg.bounds).T
    rng_points = qmc.scale(
        qmc.LatinHypercube(d=len(lo), rng=np.random.default_rng(2024)).random(max(candidates - 2, 1)), lo, hi
    )
    points = [cfg.start(), x_fit, *rng_points][:candidates]
    obj = Objective(cfg, obs, pool, window)
    if weights is None:
        obj.set_weights(simulated_moments(moments, obj.tables([cfg.start()], seeds_a + seeds_b)[0])["sd_one"])
    else:
        obj.weights = np.asarray(weights, float)
    ja = [obj.value(s["transformed"]) for s in obj.simulate(points, seeds_a)]
    jb = [obj.value(s["transformed"]) for s in obj.simulate(points, seeds_b)]
    rho = stats.spearmanr(ja, jb).statistic if len(points) > 2 else float("nan")
    labels = ["start", "fitted", *[f"lhs-{i}" for i in range(len(points) - 2)]][: len(points)]
    ranking = pd.DataFrame({"candidate": labels, "objective_seeds_a": ja, "objective_seeds_b": jb})
    return {
        "per_moment": per_moment,
        "burn_in": pd.DataFrame(burn),
        "year_on_year": pd.DataFrame(yoy),
        "ranking": ranking,
        "summary": {
            "seeds": r,
            "median_cv": float(np.nanmedian(cv)),
            "max_cv_moment": moments[int(np.nanargmax(cv))].name,
            "max_cv": float(np.nanmax(cv)),
            "max_abs_z_halves": float(np.nanmax(np.abs(z))),
            "share_abs_z_below_2": float(np.mean(np.abs(z[np.isfinite(z)]) < 2)),
            "run_length_max_abs_difference": diff,
            "ranking_spearman": float(rho),
            "ranking_candidates": len(points),
            "ranking_seeds": [list(seeds_a), list(seeds_b)],
        },
    }


def baseline_first_year(
    obs: Observations,
    pool: Any,
    window: int,
    variants_overrides: dict[str, dict[str, Any]],
    scale: float,
    seeds: tuple[int, ...],
) -> pd.DataFrame:
    """The ``baseline`` scenario (start 2023) over its first year for each variant (name: overrides of the
    registry defaults): do values fitted on 2014-2020 carry over to the start year the policy scenarios use?"""
    from jjjsim.model.scenario import load_scenario

    base = load_scenario("baseline").params.replace({"steps": 4, "scale": scale}, where="validate")
    year = str(int(base.start_year))
    variants = {k: base.replace(o, where=f"validate ({k})") for k, o in variants_overrides.items()}
    tabs = {k: _runs(pool, window, p, seeds) for k, p in variants.items()}
    rows = []
    for ind in ("tech_contract_turnover_output", "tech_contract_turnover_absorbed", "patents_granted_invention"):
        for reg in (*JJJ, JJJ_TOTAL):
            o = obs.value(ind, reg, year)
            row: dict[str, Any] = {"indicator": ind, "region": reg, "year": year, "observed": o}
            for k, t in tabs.items():
                m = float(np.mean([Simulated(x).value(ind, reg, year) for x in t]))
                row[f"{k}_mean"] = m
                row[f"{k}_error_pct"] = 100.0 * (m / o - 1.0)
            rows.append(row)
    return pd.DataFrame(rows)


# ---- the entry point -----------------------------------------------------------------------------------------


def validate(
    fit: Path | dict[str, Any] | None,
    out: Path,
    quick: bool = False,
    seeds: int = 30,
    workers: int | None = None,
    dask: str | None = None,
    png: bool = True,
    config: Path | None = None,
    figures: Figures | None = None,
) -> dict[str, Any]:
    """Validate the historical run with the fitted values (``fit``: a calibration folder, its ``fit.json`` or
    its content; None validates the registry defaults) against the calibration's start point (the values before
    calibration), and write tables and figures into ``out``.

    Args:
        quick: scale 0.25 and at most 4 seeds (a smoke test well under a minute).
        seeds: seeds of each variant (spawned from a root distinct from the calibration's).
        png: ``figures`` also write PNGs (kaleido; needs Chromium).
        figures: writes the figures (:func:`jjjsim.viz.validation.write_figures`, which the CLI and E5 pass);
            None writes none (this layer computes numbers only).
        config: the calibration config (default: the one the fit names, else the built-in one).

    Writes ``validation_rows.csv`` (one row per observed value), ``validation_series.csv`` / ``.md`` (errors
    per series and period), ``ergodicity*.csv``, ``validation.json`` and, through ``figures``, ``validation.html`` and
    PNGs.
    """
    t0, started = time.perf_counter(), _now()
    fit_d = read_fit(fit) if fit is not None else None
    fit_quick = bool(fit_d.get("quick")) if fit_d else quick
    cfg_path = config or (Path(fit_d["config_path"]) if fit_d and fit_d.get("config_path") else None)
    cfg = load_config(cfg_path, quick=fit_quick)
    obs = Observations(cfg.data)
    overrides = fitted_overrides(fit_d) if fit_d else {}
    scale = 0.25 if quick else float(cfg.base.scale)
    n = min(seeds, 4) if quick else seeds
    run_seeds = _seeds({"count": n, "root": 20231231}, "validate", "seeds")
    hist = cfg.base.replace({"steps": 40, "scale": scale}, where="validate")  # to 2023Q4: the whole timeline
    cfg_v = dataclasses.replace(cfg, base=cfg.base.replace({"scale": scale}, where="validate"))
    x_fit = np.array([float(fit_d["parameters"][e.key]["estimate"]) for e in cfg.parameters]) if fit_d else cfg.start()
    weights = [fit_d["moments"][m.name]["weight"] for m in cfg.moments] if fit_d else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    variants = {"fitted" if fit_d else "defaults": overrides, "start": cfg.overrides_at(cfg.start())}
    with executor(workers, dask) as (pool, window):
        tables = {
            k: _runs(pool, window, hist.replace(o, where=f"validate ({k})"), run_seeds) for k, o in variants.items()
        }
        erg = ergodicity(
            cfg_v,
            obs,
            tables["fitted" if fit_d else "defaults"],
            x_fit,
            weights,
            pool,
            window,
            candidates=4 if quick else 10,
            seeds_a=cfg.seeds,
            seeds_b=cfg.check_seeds,
        )
        first_year = baseline_first_year(obs, pool, window, variants, scale, run_seeds[: min(n, 10)])
    rows = validation_table(obs, tables, int(hist.start_year), int(hist.start_year) + 10, cfg)
    series = series_table(rows)
    rows.to_csv(out / "validation_rows.csv", index=False)
    series.to_csv(out / "validation_series.csv", index=False)
    (out / "validation_series.md").write_text(markdown(series))
    first_year.to_csv(out / "baseline_first_year.csv", index=False)
    (out / "baseline_first_year.md").write_text(markdown(first_year))
    for key in ("per_moment", "burn_in", "year_on_year", "ranking"):
        erg[key].to_csv(out / f"ergodicity_{key}.csv", index=False)
    files = figures(obs, tables, fit_d, out, png) if figures is not None else []

    head = {}
    for variant in tables:
        for period in ("fitted", "out-of-sample"):
            s = series[series.period == period]
            head[f"{variant}/{period}"] = {
                "series": len(s),
                "median_mape_pct": float(s[f"{variant}_mape_pct"].median()),
                "mean_coverage": float(s[f"{variant}_coverage"].mean()),
            }
    result = {
        "calibration_id": fit_d.get("calibration_id") if fit_d else None,
        "quick": quick,
        "scenario": cfg.scenario,
        "scale": scale,
        "seeds": list(run_seeds),
        "overrides": overrides,
        "headline": head,
        "ergodicity": erg["summary"],
        "baseline_first_year": first_year.to_dict(orient="records"),
        "files": sorted(
            [
                "validation_rows.csv",
                "validation_series.csv",
                "validation_series.md",
                "baseline_first_year.csv",
                "baseline_first_year.md",
                *files,
            ]
        ),  # fmt: skip
        "versions": versions(),
        "started": started,
        "finished": _now(),
        "seconds": time.perf_counter() - t0,
    }
    (out / "validation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return result


__all__ = ["BJ_TJHB", "ergodicity", "series_table", "validate", "validation_table"]
