"""Run an experiment's runs on an executor and store each result as it arrives.

One interface, the ``concurrent.futures`` executor model: serial (debugging), local processes (the default:
one per core, recycled so memory stays flat, and killed with the driver) or a Dask cluster
(``Client(address).get_executor()``). The driver holds the results folder's lock, keeps at most a few runs in
flight and writes each result before asking for more, so it never holds every run's series; a rerun skips what
is done, reruns what is missing or corrupt, and retries failures on request.

A run lost with its connection (a cancelled future, a dropped connection, a lost Dask worker) is queued again,
up to :data:`LOST_RETRIES` times; it is never recorded as failed for it. A Dask scheduler that stays unreachable
(or without workers) for ``dask_timeout`` seconds ends the sweep with :class:`LostScheduler`: the finished runs
are kept, and ``--resume`` continues.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import multiprocessing
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jjjsim.model.budget import Budget
from jjjsim.model.errors import ConfigError

from .definition import Experiment, Keep, RunSpec
from .store import ResultsStore, read_folder

RECYCLE_AFTER = 50
"""Runs a local worker process does before it is replaced (keeps memory flat)."""
MAX_WORKER_DEATHS = 3
"""A run in flight when its worker process dies this many times is recorded as failed (it may be what kills it)."""
LOST_RETRIES = 3
"""Times a run lost with its connection (cancelled, dropped, its Dask worker lost) is queued again; after that it
is left not done (a Dask worker lost that often while running it: recorded as failed), for a later --resume."""
DASK_TIMEOUT = 180.0
"""Seconds a sweep waits for an unreachable Dask scheduler (or one without workers) before it gives up."""
CONNECT_TIMEOUT = 5.0
"""Seconds to connect to a Dask scheduler and hear its handshake."""
POLL = 0.5
"""Seconds between checks of a Dask cluster's health while no run finishes."""
PROBE_EVERY = 10.0
"""Seconds between probes of a Dask scheduler that seems connected while no run finishes."""


class RunError(RuntimeError):
    """A run raised; carries the original error as text (always picklable, unlike some exception types)."""


class LostScheduler(ConfigError):
    """The Dask scheduler went away (or kept no workers) mid-sweep: the finished runs are kept; resume later."""


def run_one(spec: RunSpec, keep: Keep, budget: Budget | None = None) -> dict[str, Any]:
    """Run one experiment run and return its result row (and series, if kept). A plain, picklable function.

    ``budget`` caps the run's work and memory (the default :class:`Budget` when None); a run past a cap fails
    with the budget's one-line message, recorded like any failed run."""
    from jjjsim.model.runner import run  # here, not at the top: a sweep refused at once never loads the model (Mesa)

    try:
        result = run(spec.params, seed=spec.seed, steps=spec.steps, budget=budget)
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

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(err)
        return fut


# ---- local worker processes die with their driver -----------------------------------------------------------


WORKER_PRELOAD = (
    "jjjsim.experiments.sweep",
    "jjjsim.model",
    "jjjsim.model.agents.market_kernel",
    "pandas",
    "pyarrow.parquet",
)
"""Modules the fork server imports once, so that a new local worker starts as a fork of an interpreter that has
them (milliseconds) instead of importing the stack itself (seconds, under ``spawn``)."""


def worker_context() -> multiprocessing.context.BaseContext:
    """How local workers start: forked from a fork server that has imported :data:`WORKER_PRELOAD` (POSIX), else
    spawned (Windows). Both start from a clean interpreter, not from a copy of the driver."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        extra = ["numba"] if importlib.util.find_spec("numba") is not None else []  # the market kernels' compiler
        ctx.set_forkserver_preload([*WORKER_PRELOAD, *extra])
        return ctx
    return multiprocessing.get_context("spawn")


def _die_with_parent(driver: int) -> None:
    """Initializer of a local worker process: it ends when the driver does, however the driver ends (``kill -9``
    included). The worker's parent is the driver (spawn) or the fork server, which ends when the driver does.
    Linux: the kernel's ``PR_SET_PDEATHSIG`` on the parent; everywhere: a thread watching parent and driver."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent or not _running(driver):  # the driver died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, driver), name="jjjsim-watch-parent", daemon=True).start()


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; elsewhere assumed, the parent check alone applies)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_parent(parent: int, driver: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent or not _running(driver):
            os._exit(1)


# ---- Dask ---------------------------------------------------------------------------------------------------


def _bad_address(dask: str, expected: str, found: Any) -> ConfigError:
    return ConfigError("--dask", dask, expected, found)


def scheduler_address(dask: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a ``--dask`` value: ``tcp://host:port``, ``tls://host:port``, ``host:port``, or a
    scheduler file (JSON with the scheduler's ``address``). Anything else is a :class:`ConfigError`."""
    text = dask.strip()
    if text.endswith(".json") or Path(text).is_file() or ("://" not in text and os.sep in text):
        path = Path(text)
        if not path.is_file():
            raise _bad_address(dask, "a Dask scheduler address (tcp://host:port) or scheduler file", "no such file")
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:
            raise _bad_address(dask, "a Dask scheduler file (JSON with the address)", type(err).__name__) from None
        address = info.get("address") if isinstance(info, dict) else None
        if not isinstance(address, str):
            raise _bad_address(dask, "a Dask scheduler file with the scheduler's address", "no address")
        text = address.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in ("tcp", "tls"):
        raise _bad_address(dask, "a tcp:// or tls:// address of a Dask scheduler", f"{scheme}://")
    host, sep, port = rest.rstrip("/").rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad_address(dask, "host:port of a Dask scheduler (e.g. tcp://127.0.0.1:8786)", text)
    return scheme, host, int(port)


def _recv(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = b""
    while len(data) < n:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("it closed the connection without a Dask handshake")
        data += chunk
    return data


def probe(scheme: str, host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """None if a Dask scheduler answers at the address, else what answered instead (in words).

    Connects and, over tcp://, reads the handshake a Dask scheduler sends first (a length-prefixed message of a
    few frames) and checks its framing: a server that says nothing (HTTP) or sends anything else is told apart
    in ``timeout`` seconds, before a Dask client would trust its bytes (a random length can ask for exabytes).
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if scheme != "tcp":  # tls: the TLS handshake comes first; the Dask client checks the rest
                return None
            sock.settimeout(timeout)
            (total,) = struct.unpack("<Q", _recv(sock, 8, deadline))
            if not 16 <= total <= 1 << 20:
                return "a server that is not a Dask scheduler (no Dask handshake)"
            body = _recv(sock, total, deadline)
            (frames,) = struct.unpack_from("<Q", body)
            if not 1 <= frames <= 16 or 8 + 8 * frames > total:
                return "a server that is not a Dask scheduler (no Dask handshake)"
            if 8 + 8 * frames + sum(struct.unpack_from(f"<{frames}Q", body, 8)) != total:
                return "a server that is not a Dask scheduler (no Dask handshake)"
            return None
    except TimeoutError:
        return f"no Dask handshake within {timeout:g} s (not a Dask scheduler, or it is stuck)"
    except ConnectionRefusedError:
        return "connection refused (no scheduler listening there)"
    except OSError as err:
        return f"{type(err).__name__}: {err}"


class DaskExecutor(Executor):
    """A Dask client's executor, with what is needed to tell whether its cluster can still run runs."""

    def __init__(self, client: Any, scheme: str, host: str, port: int) -> None:
        self.client, self.scheme, self.host, self.port = client, scheme, host, port
        self.address = f"{scheme}://{host}:{port}"
        self._executor = client.get_executor(pure=False)
        self._checked = 0.0
        self._problem: str | None = None  # probed at the first quiet moment

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def problem(self) -> str | None:
        """None while the cluster looks able to run runs; else why not (not connected, no answer, no workers).
        Looks at the client's state each call and probes the scheduler at most every :data:`PROBE_EVERY` s."""
        status = str(getattr(self.client, "status", "running"))
        if status != "running":
            self._checked = 0.0  # probe as soon as it says it is back
            return f"the connection to it is {status}"
        if time.monotonic() - self._checked < PROBE_EVERY:
            return self._problem
        self._checked = time.monotonic()
        self._problem = probe(self.scheme, self.host, self.port)
        if self._problem is None:
            try:
                nthreads = self.client.sync(self.client.scheduler.ncores, callback_timeout=CONNECT_TIMEOUT)
            except Exception as err:  # noqa: BLE001 - whatever the RPC raises, the cluster is not usable now
                self._problem = f"it does not answer ({type(err).__name__})"
            else:
                self._problem = None if nthreads else "it has no workers"
        return self._problem


def check_scheduler(dask: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a ``--dask`` value whose scheduler answers (see :func:`scheduler_address` and
    :func:`probe`); a :class:`ConfigError` in at most :data:`CONNECT_TIMEOUT` seconds otherwise."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        raise ConfigError("--dask", dask, "the dask[distributed] package installed", "not installed")
    scheme, host, port = scheduler_address(dask)
    found = probe(scheme, host, port)
    if found is not None:
        raise _bad_address(dask, f"a reachable Dask scheduler at {scheme}://{host}:{port}", found)
    return scheme, host, port


def _connect(dask: str, timeout: float) -> DaskExecutor:
    scheme, host, port = check_scheduler(dask)
    from distributed import Client

    try:
        client = Client(f"{scheme}://{host}:{port}", timeout=f"{max(timeout, 2 * CONNECT_TIMEOUT):g}s")
    except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, ValueError, TypeError, MemoryError ...
        text = f"{type(err).__name__}: {err}"
        raise _bad_address(dask, "a reachable Dask scheduler", text[:300]) from None
    return DaskExecutor(client, scheme, host, port)


@contextmanager
def executor(
    workers: int | None = None, dask: str | None = None, *, dask_timeout: float = DASK_TIMEOUT
) -> Iterator[tuple[Executor, int]]:
    """The executor to run on and how many runs to keep in flight.

    Args:
        workers: local worker processes (default: all cores); 1 runs serially in this process. They end with
            the driver, however it ends.
        dask: address (``tcp://host:8786``, ``tls://...``, ``host:port``) or scheduler-file path of a running Dask
            scheduler; checked (a Dask handshake within :data:`CONNECT_TIMEOUT` s) before a client connects.
        dask_timeout: how long the client tries to reconnect to a lost scheduler.
    """
    if dask:
        cluster = _connect(dask, dask_timeout)
        try:
            n = max(1, sum(cluster.client.nthreads().values()))
            yield cluster, 2 * n
        finally:
            with contextlib.suppress(Exception):
                cluster.client.close(timeout=CONNECT_TIMEOUT)
        return
    n = workers or os.cpu_count() or 1
    if n == 1:
        yield SerialExecutor(), 1
        return
    with ProcessPoolExecutor(
        n,
        mp_context=worker_context(),
        max_tasks_per_child=RECYCLE_AFTER,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        yield pool, 2 * n


class _Watch:
    """Whether a Dask cluster can take runs, and since when it cannot (a local executor is never watched)."""

    def __init__(self, pool: Executor, timeout: float) -> None:
        self._problem: Callable[[], str | None] | None = getattr(pool, "problem", None)
        self._client = getattr(pool, "client", None)
        self.address = str(getattr(pool, "address", ""))
        self.timeout = timeout
        self.since: float | None = None
        """When the cluster was first seen unable to take runs (None: it can)."""
        self.why = ""
        self.paused = False
        """Hold back submissions until it looks able again."""
        self.submit_failing = False

    @property
    def watching(self) -> bool:
        return self._problem is not None

    def submit_failed(self, err: BaseException) -> None:
        self.since = self.since or time.monotonic()
        self.why = f"submitting a run fails ({type(err).__name__}: {err})"[:300]
        self.paused = self.submit_failing = True

    def give_up(self) -> bool:
        """Look at the cluster (no run finished for a while): whether it has been unable to take runs for longer
        than the timeout, or its client has closed for good."""
        assert self._problem is not None
        why = self._problem()
        if why is None:
            self.paused = False  # (submissions that kept failing are tried again; the clock runs on)
            if not self.submit_failing:
                self.since = None
                return False
        else:
            self.since, self.why, self.paused = self.since or time.monotonic(), why, True
        closed = str(getattr(self._client, "status", "")) == "closed"
        return self.since is not None and (closed or time.monotonic() - self.since >= self.timeout)

    def verdict(self) -> tuple[str, str, str]:
        """``(address, what happened, why)`` for :class:`LostScheduler`."""
        seconds = time.monotonic() - (self.since or time.monotonic())
        if self.why == "it has no workers":
            return self.address, f"the Dask scheduler at {self.address} had no workers for {seconds:.0f} s", self.why
        return self.address, f"lost the Dask scheduler at {self.address}", self.why


def _lost(err: BaseException) -> bool:
    """Whether a run's future ended because its connection or worker was lost (not because the run raised)."""
    if isinstance(err, CancelledError | OSError | TimeoutError):
        return True
    return type(err).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError")


@dataclass
class SweepReport:
    """What a sweep did: distinct runs planned, skipped (done before it started, or failed before and not
    retried), finished now, failed now; of the skipped, those that had failed; runs left not done."""

    folder: Path
    planned: int
    skipped: int
    finished: int
    failed: int
    seconds: float
    failed_earlier: int = 0
    """Runs skipped because they failed in an earlier sweep (``retry_failed`` runs them again)."""
    missing: int = 0
    """Runs neither done nor failed at the end (lost beyond their retries): a later resume runs them."""


def sweep(
    experiment: Experiment,
    out: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    retry_failed: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    resume: bool = True,
    dask_timeout: float = DASK_TIMEOUT,
    budget: Budget | None = None,
) -> SweepReport:
    """Run every run of ``experiment`` not yet in ``out``, storing each as it finishes.

    Args:
        experiment: the experiment (see :func:`jjjsim.experiments.definition.load_experiment`).
        out: its results folder (created, or resumed if it holds this experiment's results). It is locked for
            the sweep's life: a second writer is refused.
        workers, dask: where to run (see :func:`executor`).
        retry_failed: run again the runs recorded as failed (they are skipped otherwise).
        progress: called as ``progress(done, failed, total)`` once at the start and after each run.
        resume: whether a folder that already has finished runs may be continued (a :class:`ConfigError`
            otherwise).
        dask_timeout: seconds to wait for an unreachable Dask scheduler (or one without workers) before giving
            up with :class:`LostScheduler` (finished runs are kept).
        budget: caps on each run's work and memory (see :func:`run_one`); not part of a run's identity, so a run
            that failed at a cap can be retried with a raised one (``retry_failed``).
    """
    start = time.perf_counter()
    if dask:
        check_scheduler(dask)  # before the folder is touched
    with ResultsStore(out, experiment, resume=resume) as store:
        failed_before = store.failed_ids()
        unique = list({s.run_id: s for s in experiment.runs}.values())  # design points that are one simulation
        done_before = {s.run_id for s in unique if store.is_done(s.run_id)}
        todo = [s for s in unique if s.run_id not in done_before and (retry_failed or s.run_id not in failed_before)]
        total, skipped = len(unique), len(unique) - len(todo)
        failed_earlier = skipped - len(done_before)
        done = failed = 0
        queue: deque[RunSpec] = deque(todo)
        left: list[RunSpec] = []  # lost beyond their retries: not done, not failed
        deaths: Counter[str] = Counter()  # times a run was in flight when its worker process died
        lost: Counter[str] = Counter()  # times a run's future was lost with its connection or Dask worker
        gave_up: tuple[str, str, str] | None = None  # (address, found, why)
        if progress is not None:
            progress(skipped, 0, total)
        while queue and gave_up is None:  # once, unless a local pool breaks: a fresh pool takes the runs in flight
            with executor(workers, dask, dask_timeout=dask_timeout) as (pool, window):
                watch = _Watch(pool, dask_timeout)
                pending: dict[Future, RunSpec] = {}
                broken = False
                while True:
                    while not watch.paused and not broken and len(pending) < window and queue:
                        spec = queue.popleft()
                        try:
                            pending[pool.submit(run_one, spec, experiment.keep, budget)] = spec
                        except BrokenExecutor:
                            queue.appendleft(spec)
                            broken = True
                        except Exception as err:  # noqa: BLE001 - a Dask client that lost its scheduler
                            if not watch.watching:
                                raise
                            queue.appendleft(spec)
                            watch.submit_failed(err)
                        else:
                            watch.submit_failing = False
                    if not pending and (broken or not queue):
                        break
                    if pending:
                        timeout = POLL if watch.watching else None
                        finished, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                    else:  # a Dask cluster that cannot take runs now: wait for it (or give up below)
                        finished = set()
                        time.sleep(POLL)
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
                            if not _lost(err):
                                store.write_failure(spec.run_id, spec.label, spec.seed, _describe(err))
                                failed += 1
                            elif lost[spec.run_id] < LOST_RETRIES:
                                lost[spec.run_id] += 1
                                queue.appendleft(spec)
                                continue
                            elif type(err).__name__ == "KilledWorker":  # it keeps killing its Dask workers
                                store.write_failure(spec.run_id, spec.label, spec.seed, _describe(err))
                                failed += 1
                            else:
                                left.append(spec)
                                continue
                        else:
                            store.write_run(out_["row"], out_["series"], out_["flows"])
                            done += 1
                        if progress is not None:
                            progress(skipped + done, failed, total)
                    if watch.watching and not finished and watch.give_up():
                        gave_up = watch.verdict()
                        break
        table = store.consolidate()
        failed_now = store.failed_ids() - set(table["run_id"])
        store.update_manifest(finished=time.time(), runs_done=len(table), runs_failed=len(failed_now))
    missing = total - len(table) - len(failed_now & {s.run_id for s in unique})
    if gave_up is not None:
        _, found, why = gave_up
        raise LostScheduler(
            "--dask",
            str(dask),
            "a Dask scheduler that stays reachable, with workers",
            f"{found} after {len(table)} of {total} runs",
            f"{why}; rerun with --resume",
        )
    return SweepReport(
        Path(out), total, skipped, done, failed, time.perf_counter() - start, failed_earlier, max(0, missing)
    )


def _describe(err: BaseException) -> str:
    if isinstance(err, RunError):
        return str(err)
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    return text[-2000:]


def load_runs(folder: str | Path) -> pd.DataFrame:
    """The finished runs of a results folder, one row per run, by label and seed: the run files in runs/ that are
    runs of its experiment (runs.parquet where it holds exactly those), as every reader sees them (see
    :func:`jjjsim.experiments.store.read_folder`). ``attrs["stray"]`` lists the files ignored.

    Raises:
        ConfigError: not a results folder, or its manifest or a failure record is refused.
    """
    contents = read_folder(folder)
    runs = contents.runs.sort_values(["label", "seed"], kind="stable").reset_index(drop=True)
    runs.attrs["stray"] = list(contents.stray)
    return runs
