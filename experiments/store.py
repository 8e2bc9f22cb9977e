"""The results store: one folder per experiment, written run by run, safe to resume.

Layout::

    manifest.json          the experiment definition, its digest, package and code versions, platform, times
    runs/<run_id>.parquet  one row per finished run: id, label, seed, design point, final summary
    series/<run_id>.parquet  the run's per-step series, when the experiment keeps them
    flows/<run_id>.parquet   its origin x destination matrices (long form), when kept
    failed/<run_id>.json   a run that raised: its error, so the sweep went on without it
    runs.parquet           all finished runs in one table (rebuilt from runs/ at the end of a sweep)

Every file is written to a temporary name and renamed, so a killed sweep leaves whole files or none; a file
that cannot be read back is treated as missing and its run is done again. Only Parquet and JSON are read back:
nothing in a results folder is executed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from jjjsim.model.param import ConfigError

from .definition import Experiment

MANIFEST = "manifest.json"


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("jjjsim", "mesa", "numpy", "pandas", "pyarrow", "scipy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


class ResultsStore:
    """The results folder of one experiment.

    Args:
        folder: where the results go (created if missing).
        experiment: the experiment whose results these are; a folder holding another experiment's results,
            or a different version of this one, is refused.
    """

    def __init__(self, folder: str | Path, experiment: Experiment) -> None:
        self.folder = Path(folder)
        self.experiment = experiment
        for sub in ("runs", "series", "failed"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self._check_or_write_manifest()

    # ---- manifest ---------------------------------------------------------------------------------------
    def _check_or_write_manifest(self) -> None:
        path = self.folder / MANIFEST
        exp = self.experiment
        if path.exists():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError) as err:
                raise ConfigError(str(path), "(file)", "a readable results manifest", type(err).__name__) from None
            if old.get("digest") != exp.digest:
                raise ConfigError(
                    str(path),
                    "digest",
                    f"the results of experiment '{exp.name}' as defined now ({exp.digest[:12]})",
                    f"{old.get('name')} ({str(old.get('digest'))[:12]})",
                    "the definition changed or this folder holds another experiment: name a new --out folder",
                )
            return
        manifest = {
            "name": exp.name,
            "description": exp.description,
            "definition_file": exp.path,
            "digest": exp.digest,
            "definition": exp.definition,
            "runs_planned": len(exp.runs),
            "versions": _versions(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "started": time.time(),
        }
        _atomic_write(path, lambda p: p.write_text(json.dumps(manifest, indent=2, default=str)))

    def update_manifest(self, **fields: Any) -> None:
        """Add or replace fields of the manifest (e.g. the end time and counts)."""
        path = self.folder / MANIFEST
        data = json.loads(path.read_text())
        data.update(fields)
        _atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2, default=str)))

    # ---- runs -------------------------------------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        """Where a finished run's row lives."""
        return self.folder / "runs" / f"{run_id}.parquet"

    def is_done(self, run_id: str) -> bool:
        """Whether the run has a whole, readable result file (a corrupt one is removed)."""
        path = self.run_path(run_id)
        if not path.exists():
            return False
        try:
            table = pq.read_table(path, columns=["run_id"])  # reads the whole file's footer, one column
            ok = table.num_rows == 1 and table.column("run_id")[0].as_py() == run_id
        except Exception:  # noqa: BLE001 - any unreadable file is treated as missing
            ok = False
        if not ok:
            path.unlink(missing_ok=True)
        return ok

    def failed_ids(self) -> set[str]:
        """Runs recorded as failed."""
        return {p.stem for p in (self.folder / "failed").glob("*.json")}

    def write_run(
        self, row: dict[str, Any], series: pd.DataFrame | None = None, flows: pd.DataFrame | None = None
    ) -> None:
        """Store one finished run (series and flows first, so a row on disk always has them)."""
        run_id = row["run_id"]
        for sub, table in (("series", series), ("flows", flows)):
            if table is not None:
                (self.folder / sub).mkdir(exist_ok=True)
                _atomic_write(self.folder / sub / f"{run_id}.parquet", lambda p, t=table: t.to_parquet(p, index=False))
        table = pa.Table.from_pylist([row])
        _atomic_write(self.run_path(run_id), lambda p: pq.write_table(table, p))
        (self.folder / "failed" / f"{run_id}.json").unlink(missing_ok=True)

    def write_failure(self, run_id: str, label: str, seed: int, error: str) -> None:
        """Record a run that raised, so that the sweep can go on and retry it later."""
        record = {"run_id": run_id, "label": label, "seed": seed, "error": error, "time": time.time()}
        _atomic_write(self.folder / "failed" / f"{run_id}.json", lambda p: p.write_text(json.dumps(record, indent=2)))

    def failures(self) -> pd.DataFrame:
        """The failed runs with their errors."""
        rows = [json.loads(p.read_text()) for p in sorted((self.folder / "failed").glob("*.json"))]
        return pd.DataFrame(rows, columns=["run_id", "label", "seed", "error", "time"])

    def table(self) -> pd.DataFrame:
        """All finished runs, one row each, in the experiment's run order."""
        order = {spec.run_id: i for i, spec in enumerate(self.experiment.runs)}
        files = [p for p in (self.folder / "runs").glob("*.parquet") if p.stem in order]
        if not files:
            return pd.DataFrame(columns=["run_id", "label", "seed"])
        tables = [pq.read_table(p) for p in files]  # Arrow, then one conversion: far cheaper than a frame per file
        df = pa.concat_tables(tables, promote_options="default").to_pandas()
        return df.sort_values("run_id", key=lambda s: s.map(order)).reset_index(drop=True)

    def consolidate(self) -> pd.DataFrame:
        """Write runs.parquet, the table of all finished runs, and return it."""
        df = self.table()
        _atomic_write(self.folder / "runs.parquet", lambda p: df.to_parquet(p, index=False))
        return df
