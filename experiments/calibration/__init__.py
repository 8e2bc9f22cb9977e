"""Calibration by the method of simulated moments and validation against the statistics (experiment E5).

- :func:`calibrate`: MSM fit of behavioural parameters to 2014-2020 moments (``calibration.toml``).
- :func:`validate`: the historical run with the fitted values against every observed series, 2014-2023.
- :func:`reproduce_e5`: both, as ``jjjsim reproduce E5`` runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .msm import calibrate, default_config, fitted_overrides, load_config
from .validation import validate

__all__ = ["calibrate", "default_config", "fitted_overrides", "load_config", "reproduce_e5", "validate"]


def reproduce_e5(out: Path, quick: bool = False, workers: int | None = None, dask: str | None = None) -> dict[str, Any]:
    """Calibrate (into ``out/calibration``), then validate the fit (into ``out/validation``).

    Returns the outputs for the reproduce manifest: the HTML report, the tables written, and the headline numbers.
    """
    out = Path(out)
    fit = calibrate(None, out / "calibration", quick=quick, workers=workers, dask=dask)
    val = validate(out / "calibration", out / "validation", quick=quick, workers=workers, dask=dask)
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
