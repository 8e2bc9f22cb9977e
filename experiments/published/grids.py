"""Two-lever grids (E2, E3): the paired 2x2 interaction contrast, the grid sweep, readings and cell means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..compare import holm, t_interval
from ..definition import Experiment
from .common import HERE, by_seed, ci_text, definition, prepare, report, run_sweep


def interaction(
    runs: pd.DataFrame, a: str, b: str, lo_hi_a: tuple[Any, Any], lo_hi_b: tuple[Any, Any], metrics: list[str]
) -> pd.DataFrame:
    """Per metric, the paired 2x2 interaction contrast Y(a+, b+) - Y(a+, b-) - Y(a-, b+) + Y(a-, b-) across seeds
    with its 95 % t interval, and the two simple effects of ``a`` (at b- and at b+); Holm across metrics."""
    pa, pb = f"point.{a}", f"point.{b}"

    def label(va: Any, vb: Any) -> str:
        hit = runs[(runs[pa] == va) & (runs[pb] == vb)].label.unique()
        if len(hit) != 1:
            raise ValueError(f"the grid has no single point {a}={va}, {b}={vb}")
        return str(hit[0])

    (a0, a1), (b0, b1) = lo_hi_a, lo_hi_b
    cells = {k: label(*k) for k in ((a0, b0), (a1, b0), (a0, b1), (a1, b1))}
    rows = []
    for m in metrics:
        y = {k: by_seed(runs, lab, m) for k, lab in cells.items()}
        seeds = sorted(set.intersection(*(set(s.dropna().index) for s in y.values())))
        v = {k: s.loc[seeds].to_numpy(dtype=float) for k, s in y.items()}
        at_b0, at_b1 = v[(a1, b0)] - v[(a0, b0)], v[(a1, b1)] - v[(a0, b1)]
        inter = at_b1 - at_b0
        mean, lo, hi = t_interval(inter)
        p = float(stats.ttest_1samp(inter, 0.0).pvalue) if inter.size > 1 and np.std(inter) > 0 else np.nan
        rows.append(
            {
                "metric": m,
                "pairs": len(seeds),
                f"effect of {a} at {b}={b0}": ci_text(*t_interval(at_b0)),
                f"effect of {a} at {b}={b1}": ci_text(*t_interval(at_b1)),
                "interaction": mean,
                "interaction_ci_low": lo,
                "interaction_ci_high": hi,
                "p_value": p,
            }
        )
    df = pd.DataFrame(rows)
    df["p_holm"] = holm(df.p_value.to_numpy())
    return df


def grid_experiment(
    folder: str, metrics: list[str], out: Path, quick: bool, workers: int | None, dask: str | None
) -> tuple[Experiment, pd.DataFrame, dict[str, Any]]:
    """Sweep the grid of ``experiments/<folder>/grid.toml`` and write its report."""
    path = HERE / folder / "grid.toml"
    exp = prepare(definition(path, quick), out, "grid")
    runs = run_sweep(exp, out / "grid", workers, dask)
    html = report(out / "grid", out / "report-grid.html", metrics)
    return exp, runs, {"sweeps": {"grid": "grid"}, "reports": {"grid": html}}


def reading(lo: float, hi: float, plus: str, minus: str) -> str:
    """What an interaction's interval says: ``plus`` above 0, ``minus`` below, else none detected."""
    if not np.isfinite(lo):
        return "too few seeds"
    if lo > 0:
        return plus
    if hi < 0:
        return minus
    return "no interaction detected"


def means(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and standard deviation across seeds of each metric, per grid point."""
    points = [c for c in runs.columns if c.startswith("point.")]
    g = runs.groupby(points, sort=True)[metrics]
    mean = g.mean().add_suffix(" mean")
    sd = g.std(ddof=1).add_suffix(" sd")
    return pd.concat([mean, sd], axis=1).reset_index()
