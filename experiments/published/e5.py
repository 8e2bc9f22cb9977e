"""E5: calibration by the method of simulated moments, then validation against every observed series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jjjsim.viz.validation import write_figures

from ..calibration import calibrate, validate


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """Calibrate (into ``out/calibration``), then validate the fit (into ``out/validation``).

    Returns the outputs for the reproduce manifest: the HTML report, the tables written, and the headline numbers.
    """
    out = Path(out)
    fit = calibrate(None, out / "calibration", quick=quick, workers=workers, dask=dask)
    val = validate(
        out / "calibration", out / "validation", quick=quick, workers=workers, dask=dask, figures=write_figures
    )
    cal_tables = [
        "fit.json",
        "registry_update.json",
        "moments.csv",
        "parameters.csv",
        "evaluations.csv",
        "jacobian.csv",
    ]
    val_tables = [f for f in val["files"] if f.endswith((".csv", ".md"))]
    val_tables += [f"ergodicity_{k}.csv" for k in ("per_moment", "burn_in", "year_on_year", "ranking")]
    return {
        "reports": {"validation": str(out / "validation" / "validation.html")},
        "tables": [f"calibration/{f}" for f in cal_tables] + [f"validation/{f}" for f in val_tables],
        "figures": [f"validation/{f}" for f in val["files"] if f.endswith(".png")],
        "calibration_id": fit["calibration_id"],
        "objective_start": fit["objective_start"],
        "objective_optimum": fit["objective_optimum"],
        "parameters": {
            k: {"estimate": v["estimate"], "std_error": v["std_error"]} for k, v in fit["parameters"].items()
        },
        "validation": val["headline"],
        "ergodicity": val["ergodicity"],
    }
