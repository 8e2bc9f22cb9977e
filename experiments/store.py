"""The results store: one folder per experiment, written run by run, safe to resume.

Layout::

    manifest.json          the experiment definition, its digest, package and code versions, platform, times
    runs/<run_id>.parquet  one row per finished run: id, label, seed, design point, final summary
    series/<run_id>.parquet  the run's per-step series, when the experiment keeps them
    flows/<run_id>.parquet   its origin x destination matrices (long form), when kept
    failed/<run_id>.json   a run that raised: its error, so the sweep went on without it
    runs.parquet           all finished runs in one table (rebuilt from runs/ at the end of a sweep)
    .lock                  held (``flock``) by the one process writing the folder, which writes its PID into it

Every file is written to a temporary name (``.<name>.<pid>.tmp``) and renamed, so a killed sweep leaves whole
files or none, and the next writer removes the temporaries a kill or a full disk left. One process writes a
folder at a time: a second writer is refused, naming the first's PID. A run is done when its row in runs/ and
its series and flows files (when kept) read back with its run_id; anything else is treated as missing and the
run is done again. :func:`read_folder` is what every reader uses (``load_runs``, ``load_results``, ``jjjsim
results``): the runs in runs/ whose names are run ids of the experiment (other files are counted as stray and
ignored), and runs.parquet only where it holds exactly those runs. Only Parquet and JSON are read back:
nothing in a results folder is executed.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from jjjsim.model.errors import ConfigError
from jjjsim.model.provenance import versions

from .definition import DESIGNS, Experiment, definition_digest, experiment_from_definition

try:  # POSIX; elsewhere a folder is not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
LOCK = ".lock"
SUBFOLDERS = ("runs", "series", "flows", "failed")
EXPECTED = "a results folder written by `jjjsim sweep`"
_RUN_ID = re.compile(r"[0-9a-f]{16}")


def _to_parquet(table: pd.DataFrame, path: Path) -> None:
    table.to_parquet(path, index=False)


def _atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:  # a full disk, a kill signal turned exception: leave no half-written temporary
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _is_temporary(path: Path) -> bool:
    """A temporary of :func:`_atomic_write` (``.<name>.<pid>.tmp``) or of the report (``.<name>.tmp``)."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries a killed or failed writer left in ``folder`` and its sub-folders (runs/, series/,
    flows/, failed/); call it only while holding the folder's lock. Returns what was removed."""
    folder = Path(folder)
    removed = []
    for where in (folder, *(folder / sub for sub in SUBFOLDERS)):
        if not where.is_dir():
            continue
        for path in where.iterdir():
            if _is_temporary(path) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _versions() -> dict[str, str]:
    """The stack's versions (:func:`jjjsim.model.provenance.versions`) without Python's (the manifest has it)."""
    return {k: v for k, v in versions().items() if k != "python"}


# ---- the writer's lock ------------------------------------------------------------------------------------------


class FolderLock:
    """An exclusive, non-blocking ``flock`` on ``<folder>/.lock``, held by the one process writing the folder.

    The holder writes its PID into the file (and empties it on release), so a second writer is told who holds
    it. The kernel drops the lock when the holder exits, however it exits: a killed sweep never leaves a stale
    lock behind.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ConfigError` naming the process that holds it."""
        if fcntl is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held through another open file (another process, or this one)
            holder = _holder(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise ConfigError(
                str(self.folder),
                "(lock)",
                "a results folder that no other process is writing",
                who,
                f"{self.folder} is being written by {who}; wait for it or stop it, then continue with --resume",
            ) from None
        except OSError as err:  # a file system without locks (ENOLCK, EOPNOTSUPP): write unlocked, and say so
            os.close(fd)
            text = f"{self.path}: cannot be locked ({err.strerror}): nothing stops a second writer"
            warnings.warn(text, stacklevel=3)
            return
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def _holder(fd: int) -> str:
    """The PID written in a lock file (its holder may be a moment from writing it: wait a little)."""
    deadline = time.monotonic() + 0.5
    while True:
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
        if text or time.monotonic() > deadline:
            return text if text.isdigit() else ""
        time.sleep(0.02)


# ---- reading a folder -------------------------------------------------------------------------------------------


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a results folder, checked: a JSON object whose definition names a design kind and whose
    digest is that of the definition it holds (a manifest edited by hand is refused: nothing is resolved from it).

    Raises:
        ConfigError: no manifest, an unreadable one, not an object, no design kind, or a digest that does not match.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ConfigError(str(folder), MANIFEST, EXPECTED, "no manifest.json")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise ConfigError(str(path), "(file)", "a readable JSON results manifest", type(err).__name__) from None
    if not isinstance(manifest, dict):
        raise ConfigError(str(path), "(file)", "a JSON object (the results manifest)", type(manifest).__name__)
    definition = manifest.get("definition")
    design = definition.get("design") if isinstance(definition, dict) else None
    kind = design.get("kind") if isinstance(design, dict) else None
    if kind not in DESIGNS:
        raise ConfigError(str(path), "definition.design.kind", f"one of {', '.join(DESIGNS)}", kind)
    digest, want = manifest.get("digest"), definition_digest(definition)
    if digest != want:
        raise ConfigError(
            str(path),
            "digest",
            f"the digest of the definition the manifest holds ({want[:12]})",
            str(digest)[:12],
            "the manifest was edited by hand: restore it, or run the experiment again into a new --out folder",
        )
    return manifest


def resolve(manifest: dict[str, Any]) -> tuple[Experiment | None, str | None]:
    """The experiment re-resolved from a (checked) manifest's definition, relative paths from its old file; or
    None and why, when the definition no longer resolves (e.g. a parameter's bounds changed since)."""
    where = Path(str(manifest.get("definition_file") or "experiment.toml"))
    try:
        return experiment_from_definition(manifest["definition"], where), None
    except (ValueError, TypeError, KeyError, OSError, RecursionError) as err:  # ConfigError included
        return None, str(err)


def _run_ids_of(column: pa.ChunkedArray) -> set[Any]:
    return set(column.unique().to_pylist())


def _read_row(path: Path, run_id: str) -> pa.Table | None:
    """A run file's one row, if it reads and is that run's."""
    try:
        table = pq.ParquetFile(path).read()
    except Exception:  # noqa: BLE001 - any unreadable file is a run not done
        return None
    if table.num_rows != 1 or "run_id" not in table.column_names:
        return None
    return table if table.column("run_id")[0].as_py() == run_id else None


def _file_of_run(path: Path, run_id: str) -> bool:
    """Whether a series or flows file reads (footer and its run_id column) and holds only ``run_id``'s rows."""
    try:
        column = pq.ParquetFile(path).read(columns=["run_id"]).column("run_id")
    except Exception:  # noqa: BLE001 - truncated, garbage, no run_id column
        return False
    return _run_ids_of(column) <= {run_id}


@dataclass
class RunFiles:
    """The finished runs in a folder's runs/ (see :func:`read_run_files`)."""

    table: pd.DataFrame
    """One row per finished run: in the experiment's order when its run ids were given, else by file name."""
    stray: list[str] = field(default_factory=list)
    """Files in runs/ that are not a run of the experiment (paths relative to the folder)."""
    unreadable: list[str] = field(default_factory=list)
    """Run files that do not read back as their run's row (truncated, corrupt): runs not done."""
    consolidated: str = "missing"
    """runs.parquet: ``"used"`` (it holds exactly the runs in runs/), ``"stale"``, ``"corrupt"`` or ``"missing"``."""


def _rows(path: Path) -> pd.DataFrame | None:
    try:
        df = pq.read_table(path).to_pandas()
    except Exception:  # noqa: BLE001 - corrupt
        return None
    return df if {"run_id", "label", "seed"} <= set(df.columns) else None


def read_run_files(folder: str | Path, run_ids: Sequence[str] | None, *, consolidated: bool = True) -> RunFiles:
    """The finished runs of a folder: the files ``runs/<run_id>.parquet`` whose ``run_id`` is one of ``run_ids``
    (or, with None, looks like a run id) and whose row is that run's. Other files are stray and ignored.
    runs.parquet is used in their place only if it holds exactly the same runs (and ``consolidated`` is true)."""
    folder = Path(folder)
    where = folder / "runs"
    known = dict.fromkeys(run_ids) if run_ids is not None else None
    candidates: dict[str, Path] = {}
    stray: list[str] = []
    for path in sorted(where.iterdir()) if where.is_dir() else []:
        if path.name.startswith("."):  # a writer's temporary (or a hidden file)
            continue
        stem = path.name.removesuffix(".parquet")
        ours = stem in known if known is not None else bool(_RUN_ID.fullmatch(stem))
        if path.name.endswith(".parquet") and ours and path.is_file():
            candidates[stem] = path
        else:
            stray.append(f"runs/{path.name}")
    out = RunFiles(pd.DataFrame(columns=["run_id", "label", "seed"]), stray)
    if (folder / "runs.parquet").exists():
        table = _rows(folder / "runs.parquet")
        if table is None:
            out.consolidated = "corrupt"
        elif consolidated and table["run_id"].is_unique and set(table["run_id"]) == set(candidates):
            out.consolidated = "used"
            out.table = table
        else:
            out.consolidated = "stale"
    if out.consolidated != "used":
        tables = []
        for run_id, path in candidates.items():
            row = _read_row(path, run_id)
            if row is None:
                out.unreadable.append(f"runs/{path.name}")
            else:
                tables.append(row)
        if tables:  # Arrow, then one conversion: far cheaper than a frame per file
            out.table = pa.concat_tables(tables, promote_options="default").to_pandas()
    if known is not None and len(out.table):
        order = {run_id: i for i, run_id in enumerate(known)}
        out.table = out.table.sort_values("run_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return out


FAILURE_COLUMNS = ["run_id", "label", "seed", "error", "time"]


def read_failures(
    folder: str | Path, run_ids: Iterable[str] | None = None, done: Iterable[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """The failed runs recorded in failed/ (not those done since) and the stray records (not runs of the
    experiment, when ``run_ids`` is given).

    Raises:
        ConfigError: a record that is not readable JSON, or not an object with the run_id and error.
    """
    folder = Path(folder)
    known = set(run_ids) if run_ids is not None else None
    finished = set(done)
    rows, stray = [], []
    where = folder / "failed"
    for path in sorted(where.glob("*.json")) if where.is_dir() else []:
        if path.name.startswith("."):
            continue
        if known is not None and path.stem not in known:
            stray.append(f"failed/{path.name}")
            continue
        expected = "a JSON object with the run_id and error of a failed run (delete it to run that run again)"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:
            raise ConfigError(str(path), "(file)", expected, type(err).__name__) from None
        if not isinstance(record, dict) or not {"run_id", "error"} <= set(record):
            raise ConfigError(str(path), "(file)", expected, type(record).__name__)
        if path.stem not in finished:
            rows.append({k: record.get(k) for k in FAILURE_COLUMNS})
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS), stray


@dataclass
class FolderContents:
    """What a results folder holds, as every reader sees it (see :func:`read_folder`)."""

    folder: Path
    manifest: dict[str, Any]
    experiment: Experiment | None
    """The experiment re-resolved from the manifest (None if its definition no longer resolves)."""
    unresolved: str | None
    """Why the definition no longer resolves, if it does not."""
    runs: pd.DataFrame
    """One row per finished run (each run id once), in the experiment's order when it resolves."""
    failures: pd.DataFrame
    """The runs recorded as failed and not done since."""
    planned: int
    """Distinct runs the experiment makes (the manifest's count when the definition no longer resolves)."""
    stray: list[str] = field(default_factory=list)
    """Files in runs/ and failed/ that are not runs of the experiment: ignored."""
    unreadable: list[str] = field(default_factory=list)
    """Run files that do not read back: runs not done (``--resume`` reruns them)."""
    consolidated: str = "missing"

    def summary(self) -> str:
        """``N of M runs done, K failed[, U unreadable run files][, S stray files ignored]``."""
        text = f"{len(self.runs)} of {self.planned} runs done, {len(self.failures)} failed"
        if self.unreadable:
            text += f", {_plural(len(self.unreadable), 'unreadable run file')} (--resume reruns them)"
        if self.stray:
            text += f", {_plural(len(self.stray), 'stray file')} ignored"
        return text

    def stray_note(self) -> str | None:
        """``1 stray file ignored: runs/x.parquet`` (the first few named), or None."""
        return stray_note(self.stray)


def stray_note(stray: list[str] | tuple[str, ...]) -> str | None:
    """``1 stray file ignored: runs/x.parquet`` for files a reader ignored (the first few named), or None."""
    if not stray:
        return None
    names = ", ".join(stray[:3]) + (", ..." if len(stray) > 3 else "")
    return f"{_plural(len(stray), 'stray file')} ignored: {names}"


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def read_folder(folder: str | Path) -> FolderContents:
    """Read a results folder the way every reader does: the checked manifest, the experiment re-resolved from it,
    the finished runs in runs/ (runs.parquet only where it agrees with them), failures and stray files.

    Raises:
        ConfigError: no such folder, a file, or a manifest or failure record :func:`read_manifest` or
            :func:`read_failures` refuses. A folder without any finished run is not an error here.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ConfigError(str(folder), "(folder)", EXPECTED, "no such folder")
    if not folder.is_dir():
        raise ConfigError(str(folder), "(folder)", EXPECTED, "a file")
    manifest = read_manifest(folder)
    exp, why = resolve(manifest)
    ids = list(dict.fromkeys(s.run_id for s in exp.runs)) if exp is not None else None
    files = read_run_files(folder, ids)
    failures, stray_failed = read_failures(folder, ids, files.table["run_id"])
    if ids is not None:
        planned = len(ids)
    else:
        count = manifest.get("runs_planned")
        planned = count if isinstance(count, int) and not isinstance(count, bool) else len(files.table)
    return FolderContents(
        folder=folder,
        manifest=manifest,
        experiment=exp,
        unresolved=why,
        runs=files.table,
        failures=failures,
        planned=planned,
        stray=files.stray + stray_failed,
        unreadable=files.unreadable,
        consolidated=files.consolidated,
    )


# ---- the writer -------------------------------------------------------------------------------------------------


class ResultsStore:
    """The results folder of one experiment, held for writing (a context manager: use ``with``, or
    :meth:`close`).

    Opening takes the folder's lock (a second writer is refused, naming the first's PID), removes the
    temporaries a killed writer left, and checks the manifest (or writes it).

    Args:
        folder: where the results go (created if missing).
        experiment: the experiment whose results these are; a folder holding another experiment's results,
            or a different version of this one, is refused.
        resume: whether a folder that already has finished runs may be continued (refused otherwise).
    """

    def __init__(self, folder: str | Path, experiment: Experiment, *, resume: bool = True) -> None:
        self.folder = Path(folder)
        self.experiment = experiment
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.folder)
        self._lock.acquire()
        try:
            remove_temporaries(self.folder)
            self._check_manifest()
            if not resume:
                done = len(list((self.folder / "runs").glob("*.parquet")))
                if done:
                    raise ConfigError(
                        str(self.folder),
                        "--resume",
                        "an empty results folder, or --resume to continue this one",
                        f"{done} finished runs",
                        "finished runs are kept and skipped with --resume",
                    )
            for sub in ("runs", "series", "failed"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            if not (self.folder / MANIFEST).exists():
                self._write_manifest()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the folder (idempotent)."""
        self._lock.release()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- manifest ---------------------------------------------------------------------------------------
    def _check_manifest(self) -> None:
        if not (self.folder / MANIFEST).exists():
            return
        old = read_manifest(self.folder)  # a JSON object whose digest is its definition's
        exp = self.experiment
        if old["digest"] != exp.digest:
            raise ConfigError(
                str(self.folder / MANIFEST),
                "digest",
                f"the results of experiment '{exp.name}' as defined now ({exp.digest[:12]})",
                f"{old.get('name')} ({str(old.get('digest'))[:12]})",
                "the definition changed or this folder holds another experiment: name a new --out folder",
            )

    def _write_manifest(self) -> None:
        exp = self.experiment
        manifest = {
            "name": exp.name,
            "description": exp.description,
            "definition_file": exp.path,
            "digest": exp.digest,
            "definition": exp.definition,
            "runs_planned": len(self.run_ids),
            "versions": _versions(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "started": time.time(),
        }
        _atomic_write(self.folder / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=2, default=str)))

    def update_manifest(self, **fields: Any) -> None:
        """Add or replace fields of the manifest (e.g. the end time and counts)."""
        path = self.folder / MANIFEST
        data = json.loads(path.read_text())
        data.update(fields)
        _atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2, default=str)))

    # ---- runs -------------------------------------------------------------------------------------------
    @property
    def run_ids(self) -> list[str]:
        """The experiment's distinct run ids, in its order (two design points may be the same simulation)."""
        return list(dict.fromkeys(s.run_id for s in self.experiment.runs))

    def run_path(self, run_id: str) -> Path:
        """Where a finished run's row lives."""
        return self.folder / "runs" / f"{run_id}.parquet"

    def is_done(self, run_id: str) -> bool:
        """Whether the run is whole: its row reads back as its own, and so do its series and flows files when the
        experiment keeps them (their footer and run_id column). A run that is not has its row removed, so that
        every reader counts it as not done, and is run again."""
        path = self.run_path(run_id)
        if not path.exists():
            return False
        keep = self.experiment.keep
        ok = _read_row(path, run_id) is not None
        for sub, kept in (("series", keep.series), ("flows", keep.flows)):
            ok = ok and (not kept or _file_of_run(self.folder / sub / f"{run_id}.parquet", run_id))
        if not ok:
            path.unlink(missing_ok=True)
        return ok

    def failed_ids(self) -> set[str]:
        """Runs recorded as failed."""
        return {p.stem for p in (self.folder / "failed").glob("*.json") if not p.name.startswith(".")}

    def write_run(
        self, row: dict[str, Any], series: pd.DataFrame | None = None, flows: pd.DataFrame | None = None
    ) -> None:
        """Store one finished run (series and flows first, so a row on disk always has them)."""
        run_id = row["run_id"]
        for sub, table in (("series", series), ("flows", flows)):
            if table is not None:
                (self.folder / sub).mkdir(exist_ok=True)
                _atomic_write(self.folder / sub / f"{run_id}.parquet", partial(_to_parquet, table))
        table = pa.Table.from_pylist([row])
        _atomic_write(self.run_path(run_id), lambda p: pq.write_table(table, p))
        (self.folder / "failed" / f"{run_id}.json").unlink(missing_ok=True)

    def write_failure(self, run_id: str, label: str, seed: int, error: str) -> None:
        """Record a run that raised, so that the sweep can go on and retry it later."""
        record = {"run_id": run_id, "label": label, "seed": seed, "error": error, "time": time.time()}
        _atomic_write(self.folder / "failed" / f"{run_id}.json", lambda p: p.write_text(json.dumps(record, indent=2)))

    def failures(self) -> pd.DataFrame:
        """The failed runs with their errors (not those done since)."""
        done = read_run_files(self.folder, self.run_ids, consolidated=False).table["run_id"]
        return read_failures(self.folder, self.run_ids, done)[0]

    def table(self) -> pd.DataFrame:
        """All finished runs, one row each, in the experiment's run order (read from runs/, each file checked)."""
        return read_run_files(self.folder, self.run_ids, consolidated=False).table

    def consolidate(self) -> pd.DataFrame:
        """Write runs.parquet, the table of all finished runs, and return it."""
        df = self.table()
        _atomic_write(self.folder / "runs.parquet", lambda p: df.to_parquet(p, index=False))
        return df
