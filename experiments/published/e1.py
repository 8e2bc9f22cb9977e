"""E1: each measure of the brief against the baseline, by region, with its public cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..compare import compare
from ..definition import builtin_dir
from ..tables import write_table
from .common import ci_text, definition, prepare, report, run_sweep

E1_REGION_METRICS = ("value_added_last_quarter", "results", "talent_fte")


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E1: the brief-measures sweep, its report, and which measure helps which region, by how much, at what cost."""
    exp = prepare(definition(builtin_dir() / "brief-measures.toml", quick), out, "brief-measures")
    runs = run_sweep(exp, out / "brief-measures", workers, dask).rename(columns={"label": "scenario"})
    regions = ("Beijing", "Tianjin", "Hebei")
    metrics = [f"{m}.{r}" for m in E1_REGION_METRICS for r in regions] + ["value_added", "public_cost"]
    table = compare(runs, baseline="baseline", metrics=metrics)
    files = write_table(table, out, "comparison-by-region")
    rows = []
    for scenario in dict.fromkeys(table.scenario):
        if scenario == "baseline":
            continue
        sub = table[table.scenario == scenario].set_index("metric")
        row: dict[str, Any] = {"scenario": scenario}
        for m in E1_REGION_METRICS:
            for r in regions:
                x = sub.loc[f"{m}.{r}"]
                star = "*" if bool(x.significant) else ""
                row[f"{m} {r}"] = "–" if not np.isfinite(x.rel_change) else f"{x.rel_change:+.1%}{star}"
        row["extra public cost (亿元)"] = ci_text(*sub.loc["public_cost", ["diff", "diff_ci_low", "diff_ci_high"]])
        gain, lo, hi = sub.loc["value_added", ["gain_per_cost", "gain_per_cost_ci_low", "gain_per_cost_ci_high"]]
        ci = f" [{lo:,.3g}, {hi:,.3g}]" if np.isfinite(lo) and np.isfinite(hi) else " [unbounded]"  # Fieller
        row["value added per extra 亿元 [95 % CI]"] = "–" if not np.isfinite(gain) else f"{gain:,.3g}{ci}"
        rows.append(row)
    files += write_table(pd.DataFrame(rows), out, "which-measure-helps-which-region")
    return {
        "sweeps": {"brief-measures": "brief-measures"},
        "reports": {"brief-measures": report(out / "brief-measures", out / "report-brief-measures.html")},
        "tables": files,
    }
