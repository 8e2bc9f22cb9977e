"""E2: fund size x talent incentive in Hebei, complements or substitutes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..tables import write_table
from .grids import grid_experiment, interaction, means, reading

E2_METRICS = ["value_added", "results", "results_tianjin_hebei", "talent_fte.Hebei", "firm_entries", "public_cost"]


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E2: fund size x talent incentive in Hebei: complements (positive interaction) or substitutes (negative)?"""
    exp, runs, info = grid_experiment("E2-fund-talent", E2_METRICS, out, quick, workers, dask)
    levers = exp.definition["design"]["levers"]
    fund, talent = levers["fund_size"], levers["talent_incentive.Hebei"]
    table = interaction(
        runs, "fund_size", "talent_incentive.Hebei", (fund[0], fund[-1]), (talent[0], talent[-1]), E2_METRICS
    )
    table["reading"] = [
        reading(r.interaction_ci_low, r.interaction_ci_high, "complements", "substitutes") for r in table.itertuples()
    ]
    info["tables"] = write_table(table, out, "interaction") + write_table(means(runs, E2_METRICS), out, "means")
    return info
