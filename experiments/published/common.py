"""What the published experiments share: their record, the quick size, reading and preparing a definition, running a
sweep, writing its report and small formatting helpers."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w
from jjjsim.model.errors import ConfigError
from jjjsim.viz.report import write_report

from ..definition import Experiment, experiment_from_definition
from ..sweep import load_runs, sweep

HERE = Path(__file__).resolve().parents[1]
"""The folder of the experiments' definition files (``experiments/``)."""
QUICK = {"seeds": 3, "scale": 0.02, "steps": 8}
"""The reduced size of every quick version: seeds, agent scale and quarters."""
QUICK_SAMPLES = {"lhs": 6, "sobol": 4, "morris": 2}
"""Design points (or base samples, trajectories) of a sampled design in its quick version."""


@dataclass(frozen=True)
class Published:
    """One published experiment: its id, folder, question and the function that reproduces it."""

    key: str
    folder: str
    question: str
    run: Callable[[Path, bool, int | None, str | None], dict[str, Any]]


def definition(path: Path, quick: bool, **changes: Any) -> dict[str, Any]:
    """An experiment definition read from ``path``, reduced to the quick size if asked, with ``changes``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if quick:
        data["seeds"] = {"count": QUICK["seeds"], "root": data.get("seeds", {}).get("root", 1)}
        data["steps"] = QUICK["steps"]
        data.setdefault("overrides", {})["scale"] = QUICK["scale"]
        data["name"] = f"{data['name']}-quick"
        design = data.get("design", {})
        if design.get("kind") in ("lhs", "sobol", "morris"):
            design["samples"] = min(int(design["samples"]), QUICK_SAMPLES[design["kind"]])
    for key, value in changes.items():
        data[key] = value
    return data


def prepare(data: dict[str, Any], out: Path, name: str) -> Experiment:
    """Write the definition into the output folder (so the folder describes itself) and resolve it."""
    path = out / f"{name}.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return experiment_from_definition(data, path)


Progress = Callable[[str, int, int, int], None]
"""Called as ``progress(sweep_name, done, failed, total)`` after each run of each sweep."""
progress_callbacks: list[Progress] = []  # the progress callback of the reproduce() call under way, if any


def run_sweep(exp: Experiment, folder: Path, workers: int | None, dask: str | None) -> pd.DataFrame:
    """Sweep ``exp`` into ``folder`` (resuming what is there) and return its runs; a failed run is an error."""
    tell = None
    if progress_callbacks:
        callback = progress_callbacks[-1]

        def tell(done: int, failed: int, total: int) -> None:
            callback(exp.name, done, failed, total)

    report = sweep(exp, folder, workers=workers, dask=dask, progress=tell)
    if report.failed:
        raise ConfigError(str(folder), "runs", "every run of the sweep to finish", f"{report.failed} failed runs")
    return load_runs(folder)


def report(folder: Path, html: Path, metrics: list[str] | None = None) -> str:
    """Write the HTML report of the results ``folder`` to ``html``; returns its path."""

    return str(write_report(folder, html, metrics=metrics))


def by_seed(runs: pd.DataFrame, label: str, metric: str) -> pd.Series:
    """``metric`` of the runs of ``label``, by seed."""
    return runs[runs.label == label].set_index("seed")[metric]


def ci_text(mean: float, lo: float, hi: float) -> str:
    """A mean and its interval as text: ``+1.23 [+0.5, +2]``."""
    return f"{mean:+,.4g} [{lo:+,.4g}, {hi:+,.4g}]"
