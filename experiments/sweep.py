"""Run an experiment's runs on an executor and store each result as it arrives.

One interface, the ``concurrent.futures`` executor model: serial (debugging), local processes (the default:
one per core, recycled so memory stays flat) or a Dask cluster (``Client(address).get_executor()``). The
driver keeps at most a few runs in flight and writes each result before asking for more, so it never holds
every run's series; a rerun skips what is done, reruns what is missing or corrupt, and retries failures on
request.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jjjsim.model.param import ConfigError
from jjjsim.model.runner import run

from .definition import Experiment, Keep, RunSpec
from .store import ResultsStore

RECYCLE_AFTER = 50
"""Runs a local worker process does before it is replaced (keeps memory flat)."""
MAX_WORKER_DEATHS = 3
"""A run in flight when its worker process dies this many times is recorded as failed (it may be what kills it)."""


class RunError(RuntimeError):
    """A run raised; carries the original error as text (always picklable, unlike some exception types)."""


def run_one(spec: RunSpec, keep: Keep) -> dict[str, Any]:
    """Run one experiment run and return its result row (and series, if kept). A plain, picklable function."""
    try:
        result = run(spec.params, seed=spec.seed, steps=spec.steps)
    except Exception as err:  # sent back as text: any exception type crosses the process boundary intact
        raise RunError(_describe(err)) from None
    row: dict[str, Any] = {"run_id": spec.run_id, "label": spec.label, "seed": spec.seed, "steps": spec.steps}
    row.update({f"point.{k}": v for k, v in spec.point.items()})
    row.update(result.summary)
    row["digest"] = result.digest()
    series = flows = None
    if keep.series:
        s = result.series
        series = s[s.step % keep.every == 0].reset_index(drop=True)
        series.insert(0, "run_id", spec.run_id)
    if keep.flows:  # origin x destination matrices, long form: one row per matrix, origin and destination
        flows = pd.concat(
            [df.stack().rename("value").reset_index().assign(flow=name) for name, df in result.flows.items()],
            ignore_index=True,
        )
        flows.insert(0, "run_id", spec.run_id)
    return {"row": row, "series": series, "flows": flows}


class SerialExecutor(Executor):
    """Runs each task at submission, in this process (for debugging and tiny sweeps)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(err)
        return fut


@contextmanager
def executor(workers: int | None = None, dask: str | None = None) -> Iterator[tuple[Executor, int]]:
    """The executor to run on and how many runs to keep in flight.

    Args:
        workers: local worker processes (default: all cores); 1 runs serially in this process.
        dask: address (``tcp://host:8786``) or scheduler-file path of a running Dask scheduler.
    """
    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--dask", dask, "the dask[distributed] package installed", "not installed") from None
        kwargs = {"scheduler_file": dask} if Path(dask).is_file() else {"address": dask}
        try:
            client = Client(timeout="10s", **kwargs)
        except (OSError, TimeoutError) as err:
            raise ConfigError("--dask", dask, "a reachable Dask scheduler", f"{type(err).__name__}: {err}") from None
        try:
            n = max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), 2 * n
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    if n == 1:
        yield SerialExecutor(), 1
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n, mp_context=ctx, max_tasks_per_child=RECYCLE_AFTER) as pool:
        yield pool, 2 * n


@dataclass
class SweepReport:
    """What a sweep did: runs planned, already done before it started, finished now, failed now."""

    folder: Path
    planned: int
    skipped: int
    finished: int
    failed: int
    seconds: float


def sweep(
    experiment: Experiment,
    out: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    retry_failed: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
) -> SweepReport:
    """Run every run of ``experiment`` not yet in ``out``, storing each as it finishes.

    Args:
        experiment: the experiment (see :func:`jjjsim.experiments.definition.load_experiment`).
        out: its results folder (created, or resumed if it holds this experiment's results).
        workers, dask: where to run (see :func:`executor`).
        retry_failed: run again the runs recorded as failed (they are skipped otherwise).
        progress: called as ``progress(done, failed, total)`` after each run.
    """
    start = time.perf_counter()
    store = ResultsStore(out, experiment)
    failed_before = store.failed_ids()
    todo = [
        s for s in experiment.runs if not store.is_done(s.run_id) and (retry_failed or s.run_id not in failed_before)
    ]
    skipped = len(experiment.runs) - len(todo)
    done = failed = 0
    queue: deque[RunSpec] = deque(todo)
    deaths: Counter[str] = Counter()  # times a run was in flight when its worker process died
    while queue:  # once, unless a local pool breaks: a fresh pool then takes the runs that were in flight
        with executor(workers, dask) as (pool, window):
            pending: dict[Future, RunSpec] = {}
            broken = False
            while True:
                while not broken and len(pending) < window and queue:
                    spec = queue.popleft()
                    try:
                        pending[pool.submit(run_one, spec, experiment.keep)] = spec
                    except BrokenExecutor:
                        queue.appendleft(spec)
                        broken = True
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    spec = pending.pop(fut)
                    try:
                        out_ = fut.result()
                    except BrokenExecutor:  # a worker died (killed, out of memory): not the run's own fault
                        broken = True
                        deaths[spec.run_id] += 1
                        if deaths[spec.run_id] < MAX_WORKER_DEATHS:
                            queue.appendleft(spec)
                            continue
                        err_text = f"its worker process died {MAX_WORKER_DEATHS} times while running it"
                        store.write_failure(spec.run_id, spec.label, spec.seed, err_text)
                        failed += 1
                    except Exception as err:  # noqa: BLE001 - a failing run is recorded and the sweep goes on
                        store.write_failure(spec.run_id, spec.label, spec.seed, _describe(err))
                        failed += 1
                    else:
                        store.write_run(out_["row"], out_["series"], out_["flows"])
                        done += 1
                    if progress is not None:
                        progress(skipped + done, failed, len(experiment.runs))
    table = store.consolidate()
    store.update_manifest(finished=time.time(), runs_done=len(table), runs_failed=len(store.failed_ids()))
    return SweepReport(Path(out), len(experiment.runs), skipped, done, failed, time.perf_counter() - start)


def _describe(err: BaseException) -> str:
    if isinstance(err, RunError):
        return str(err)
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    return text[-2000:]


def load_runs(folder: str | Path) -> pd.DataFrame:
    """The finished runs of a results folder (its runs.parquet, or the run files if it has none yet)."""
    folder = Path(folder)
    if not (folder / "manifest.json").exists():
        raise ConfigError(str(folder), "manifest.json", "a results folder written by `jjjsim sweep`", "no manifest")
    files = sorted((folder / "runs").glob("*.parquet"))
    frames = []
    for p in files:
        try:
            frames.append(pd.read_parquet(p))
        except Exception:  # noqa: BLE001 - a corrupt run file counts as not done
            continue
    if not frames:
        return pd.DataFrame(columns=["run_id", "label", "seed"])
    return pd.concat(frames, ignore_index=True).sort_values(["label", "seed"]).reset_index(drop=True)
