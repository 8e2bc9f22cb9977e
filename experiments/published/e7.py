"""E7: each measure at several doses, and all at equal public cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.errors import ConfigError

from ..results import load_results
from ..tables import write_table
from .common import HERE, ci_text, definition, prepare, report, run_sweep

E7_METRICS = [
    "value_added",
    "results",
    "cross_region_contract_value",
    "results_tianjin_hebei",
    "theil_value_added",
    "public_cost",
]


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E7: every measure at several doses of its change: its dose-response, its outcome gained per 亿元 at each
    dose (Fieller intervals), and its effect when scaled to one common extra public cost (interpolated between the
    doses around it, seed by seed; :mod:`jjjsim.experiments.dose`)."""
    exp = prepare(definition(HERE / "E7-dose-cost" / "doses.toml", quick), out, "doses")
    run_sweep(exp, out / "doses", workers, dask)
    tables = load_results(out / "doses").dose_tables(E7_METRICS)
    if tables is None:
        raise ConfigError(str(out / "doses"), "design.doses", "a scenario design with doses and a public cost", "none")
    response, equal = tables
    files = write_table(response, out, "dose-response") + write_table(equal, out, "equal-cost")
    summary = []
    for measure, g in equal.groupby("measure", sort=False):
        row: dict[str, Any] = {"measure": measure, "dose": g.dose.iloc[0], "how": g.status.iloc[0]}
        for r in g.itertuples():
            row[r.metric] = "–" if not np.isfinite(r.effect) else ci_text(r.effect, r.effect_ci_low, r.effect_ci_high)
        summary.append(row)
    files += write_table(pd.DataFrame(summary), out, "equal-cost-summary")
    return {
        "equal_cost": float(equal.attrs["amount"]),
        "sweeps": {"doses": "doses"},
        "reports": {"doses": report(out / "doses", out / "report-doses.html", E7_METRICS)},
        "tables": files,
    }
