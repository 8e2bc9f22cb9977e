"""E3: autonomy x evaluation regime, does differentiated evaluation make autonomy safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..tables import write_table
from .grids import grid_experiment, interaction, means, reading

E3_METRICS = ["efficiency_spread", "mean_result_quality", "duplicates", "results", "value_added"]


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E3: autonomy x evaluation regime: does differentiated evaluation make autonomy safe?

    "Safe": the rise in the spread of platform efficiency, and the fall in result quality, that high autonomy
    brings under the quantity-based evaluation are smaller (or reversed) under the differentiated one.
    """
    exp, runs, info = grid_experiment("E3-autonomy-evaluation", E3_METRICS, out, quick, workers, dask)
    levers = exp.definition["design"]["levers"]
    aut, reg = levers["autonomy"], levers["evaluation_regime"]
    table = interaction(runs, "autonomy", "evaluation_regime", (aut[0], aut[-1]), (reg[0], reg[-1]), E3_METRICS)
    table["reading"] = [
        reading(
            r.interaction_ci_low,
            r.interaction_ci_high,
            "higher under differentiated",
            "lower under differentiated",
        )
        for r in table.itertuples()
    ]
    info["tables"] = write_table(table, out, "interaction") + write_table(means(runs, E3_METRICS), out, "means")
    return info
