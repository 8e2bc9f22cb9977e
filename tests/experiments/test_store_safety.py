"""Results folders under stress: two writers, stale temporaries, corrupt or stray files, hand-edited manifests,
bad or lost Dask schedulers, a killed driver. Every process here runs on 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from jjjsim.experiments import sweep as sweep_module
from jjjsim.experiments.definition import load_experiment
from jjjsim.experiments.results import load_results
from jjjsim.experiments.store import ResultsStore
from jjjsim.experiments.sweep import SerialExecutor, load_runs, sweep
from jjjsim.model.errors import ConfigError

BIN = Path(sys.executable).parent
JJJSIM = str(BIN / "jjjsim")

SMALL = """
name = "small"
description = "Two scenarios, twenty seeds, tiny scale."
steps = {steps}

[seeds]
count = {seeds}
root = 11

[outputs]
series = true
flows = true
every = 2

[overrides]
scale = 0.02

[design]
kind = "scenarios"
scenarios = ["baseline", "talent-incentives"]
"""


def _toml(tmp_path: Path, name: str = "small", seeds: int = 20, steps: int = 4, **replace: str) -> Path:
    text = SMALL.format(seeds=seeds, steps=steps).replace('name = "small"', f'name = "{name}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([JJJSIM, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _one_line_error(proc: subprocess.CompletedProcess | tuple[int, str], *words: str) -> str:
    rc, stderr = (proc.returncode, proc.stderr) if isinstance(proc, subprocess.CompletedProcess) else proc
    assert rc == 2, stderr
    assert "Traceback" not in stderr and stderr.startswith("error:"), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    for w in words:
        assert w in stderr, (w, stderr)
    return stderr


def _wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _n_runs(folder: Path) -> int:
    return len(list((folder / "runs").glob("*.parquet"))) if (folder / "runs").is_dir() else 0


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """2 scenarios x 3 seeds, series and flows kept (a second or two, serially)."""
    return _toml(tmp_path, "tiny", seeds=3)


@pytest.fixture
def tiny_done(tiny: Path, tmp_path: Path) -> Path:
    out = tmp_path / "done"
    assert sweep(load_experiment(tiny), out, workers=1).finished == 6
    return out


# ---- 1. one writer per results folder -------------------------------------------------------------------------


def test_a_second_store_on_a_held_folder_is_refused_naming_the_holder(tiny: Path, tmp_path: Path) -> None:
    exp = load_experiment(tiny)
    other = load_experiment(_toml(tmp_path, "other", seeds=2))
    folder = tmp_path / "held"
    with ResultsStore(folder, exp):
        assert (folder / ".lock").read_text().strip() == str(os.getpid())
        for second in (exp, other):  # the same experiment (a resume) or another one: the lock, not the digest
            with pytest.raises(ConfigError) as err:
                ResultsStore(folder, second)
            text = str(err.value)
            assert str(folder) in text and f"being written by process {os.getpid()}" in text, text
    with ResultsStore(folder, exp):  # released on exit: the folder can be opened again
        pass
    assert (folder / ".lock").read_text() == ""  # no stale holder left behind


def test_a_second_sweep_process_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    """Stop the first sweep (SIGSTOP) while it holds the folder: a --resume of the same experiment, a rerun without
    --resume and another experiment all end at once with one line naming the folder and the first's PID; the
    first then finishes as if alone."""
    small, other = _toml(tmp_path), _toml(tmp_path, "other", seeds=3)
    folder = tmp_path / "res"
    first = subprocess.Popen(
        [JJJSIM, "sweep", str(small), "--workers", "1", "--out", str(folder), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: _n_runs(folder) >= 1, 60), first.stderr
        os.kill(first.pid, signal.SIGSTOP)
        start = time.monotonic()
        seconds = []
        seconds_cmds = [
            ["sweep", str(small), "--out", str(folder), "--resume", "--workers", "1", "-q"],
            ["sweep", str(small), "--out", str(folder), "--workers", "1", "-q"],
            ["sweep", str(other), "--out", str(folder), "--resume", "--workers", "1", "-q"],
        ]
        procs = [
            subprocess.Popen([JJJSIM, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in seconds_cmds
        ]
        for p in procs:
            _, stderr = p.communicate(timeout=60)
            seconds.append(time.monotonic() - start)
            _one_line_error((p.returncode, stderr), str(folder), f"being written by process {first.pid}")
        print(f"second writers refused after {max(seconds):.2f} s (three started together)")
        assert max(seconds) < 15
        os.kill(first.pid, signal.SIGCONT)
        stdout, stderr = first.communicate(timeout=120)
        assert first.returncode == 0 and "40 finished now, 0 failed" in stdout, stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(first.pid, signal.SIGCONT)
        first.kill()
        first.wait()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["digest"] == load_experiment(small).digest
    res = _cli("results", str(folder))
    assert res.returncode == 0 and "40 of 40 runs done, 0 failed" in res.stdout, res.stderr


def test_two_experiments_started_together_do_not_both_write(tmp_path: Path) -> None:
    a, b = _toml(tmp_path, "exp-a"), _toml(tmp_path, "exp-b", seeds=21)
    folder = tmp_path / "shared"
    procs = {
        name: subprocess.Popen(
            [JJJSIM, "sweep", str(path), "--workers", "1", "--out", str(folder), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, path in (("exp-a", a), ("exp-b", b))
    }
    outcome = {}
    try:
        for name, p in procs.items():
            _, stderr = p.communicate(timeout=120)
            outcome[name] = (p.returncode, stderr)
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
    winners = [n for n, (rc, _) in outcome.items() if rc == 0]
    assert len(winners) == 1, outcome
    loser = next(n for n in outcome if n not in winners)
    _one_line_error(outcome[loser], str(folder))
    exp = load_experiment(a if winners == ["exp-a"] else b)
    assert json.loads((folder / "manifest.json").read_text())["digest"] == exp.digest
    ids = {s.run_id for s in exp.runs}
    assert {p.stem for p in (folder / "runs").glob("*.parquet")} == ids  # nothing of the other experiment


# ---- 2. stale temporaries -------------------------------------------------------------------------------------


def test_stale_temporaries_are_removed_when_a_writer_opens_the_folder(tiny: Path, tiny_done: Path) -> None:
    run_id = load_experiment(tiny).runs[0].run_id
    stale = [
        tiny_done / ".manifest.json.4242.tmp",
        tiny_done / ".runs.parquet.4242.tmp",
        tiny_done / "runs" / f".{run_id}.parquet.4242.tmp",
        tiny_done / "series" / f".{run_id}.parquet.77.tmp",
        tiny_done / "flows" / f".{run_id}.parquet.77.tmp",
        tiny_done / "failed" / f".{run_id}.json.77.tmp",
    ]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = tiny_done / "notes.txt"
    keep.write_text("mine")
    report = sweep(load_experiment(tiny), tiny_done, workers=1)
    assert report.finished == 0 and report.skipped == 6
    assert [p for p in stale if p.exists()] == []
    assert keep.read_text() == "mine"


def test_a_failed_write_leaves_no_temporary(tmp_path: Path) -> None:
    from jjjsim.experiments.store import _atomic_write

    target = tmp_path / "x.json"

    def full_disk(p: Path) -> None:
        p.write_text("partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        _atomic_write(target, full_disk)
    assert list(tmp_path.iterdir()) == []


# ---- 3. a run is done only when all its files are ----------------------------------------------------------------


def test_resume_reruns_a_run_whose_series_or_flows_file_is_corrupt(tiny: Path, tmp_path: Path) -> None:
    exp = load_experiment(tiny)
    ref, out = tmp_path / "ref", tmp_path / "spoilt"
    sweep(exp, ref, workers=1)
    sweep(exp, out, workers=1)
    ids = [s.run_id for s in exp.runs]
    truncated = out / "series" / f"{ids[1]}.parquet"
    truncated.write_bytes(truncated.read_bytes()[:100])
    (out / "flows" / f"{ids[2]}.parquet").write_bytes(b"garbage")
    shutil.copy(out / "series" / f"{ids[3]}.parquet", out / "series" / f"{ids[4]}.parquet")  # another run's
    (out / "flows" / f"{ids[5]}.parquet").unlink()  # a run row without its flows
    report = sweep(exp, out, workers=1)
    assert (report.skipped, report.finished, report.failed) == (2, 4, 0)
    assert (out / "runs.parquet").read_bytes() == (ref / "runs.parquet").read_bytes()
    for run_id in ids:
        for sub in ("series", "flows"):
            table = pq.read_table(out / sub / f"{run_id}.parquet", columns=["run_id"])
            assert set(table.column("run_id").to_pylist()) == {run_id}


# ---- 4. one set of runs for every reader -------------------------------------------------------------------------


def test_stray_files_in_runs_are_reported_not_counted(tiny: Path, tiny_done: Path, tmp_path: Path) -> None:
    exp = load_experiment(tiny)
    runs = tiny_done / "runs"
    shutil.copy(runs / f"{exp.runs[0].run_id}.parquet", runs / "copy-of-a-run.parquet")
    (runs / "notes.txt").write_text("not a run")
    foreign = tmp_path / "foreign"
    sweep(load_experiment(_toml(tmp_path, "foreign", seeds=1, steps=5)), foreign, workers=1)
    stray_run = next((foreign / "runs").glob("*.parquet"))
    shutil.copy(stray_run, runs / stray_run.name)  # a whole run of another experiment
    res = _cli("results", str(tiny_done))
    assert res.returncode == 0, res.stderr
    assert "6 of 6 runs done, 0 failed, 3 stray files ignored" in res.stdout
    assert len(load_runs(tiny_done)) == 6
    assert len(load_results(tiny_done).runs) == 6
    cmp = _cli("compare", str(tiny_done), "--metric", "results")
    assert cmp.returncode == 0, cmp.stderr
    assert "3 stray files ignored" in cmp.stderr + cmp.stdout
    resumed = sweep(exp, tiny_done, workers=1)  # the sweep ignores them too and does not delete them
    assert (resumed.skipped, resumed.finished) == (6, 0) and (runs / "notes.txt").exists()
    assert sorted(pd.read_parquet(tiny_done / "runs.parquet").run_id) == sorted(s.run_id for s in exp.runs)


def test_every_reader_sees_the_runs_in_runs_not_a_disagreeing_consolidation(tiny: Path, tiny_done: Path) -> None:
    exp = load_experiment(tiny)
    (tiny_done / "runs" / f"{exp.runs[5].run_id}.parquet").unlink()  # runs.parquet still lists it
    assert len(load_runs(tiny_done)) == 5
    assert len(load_results(tiny_done).runs) == 5
    res = _cli("results", str(tiny_done))
    assert res.returncode == 0 and "5 of 6 runs done, 0 failed" in res.stdout, res.stdout + res.stderr


def _a_run_id(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["runs_planned"] and next(
        p.stem for p in sorted((folder / "runs").glob("*.parquet"))
    )


def _corrupt_failed(folder: Path) -> None:
    (folder / "failed" / f"{_a_run_id(folder)}.json").write_text("{not json")


def _list_failed(folder: Path) -> None:
    (folder / "failed" / f"{_a_run_id(folder)}.json").write_text("[1, 2]")


def _list_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text("[1, 2]")


def _hand_edited(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["definition"]["seeds"]["count"] = 4  # the digest is left as it was
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("spoil", "words", "commands"),
    [
        (_corrupt_failed, ("failed/", ".json", "JSONDecodeError"), ("results",)),
        (_list_failed, ("failed/", ".json", "list"), ("results",)),
        (_list_manifest, ("manifest.json", "JSON object"), ("results", "compare", "report", "resume")),
        (_hand_edited, ("manifest.json", "digest"), ("results", "compare", "report", "resume")),
    ],
)
def test_a_spoilt_folder_is_one_line_from_every_command(
    spoil: Callable[[Path], None], words: tuple[str, ...], commands: tuple[str, ...], tiny: Path, tiny_done: Path
) -> None:
    spoil(tiny_done)
    args = {
        "results": ["results", str(tiny_done)],
        "compare": ["compare", str(tiny_done), "--metric", "results"],
        "report": ["report", str(tiny_done), "-o", str(tiny_done.parent / "r.html")],
        "resume": ["sweep", str(tiny), "--out", str(tiny_done), "--resume", "--workers", "1", "-q"],
    }
    for command in commands:
        _one_line_error(_cli(*args[command]), *words)


# ---- 5. Dask: bad addresses, lost connections, a lost scheduler ------------------------------------------------


@contextlib.contextmanager
def _http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _noise_server() -> Iterator[int]:
    """Answers every connection with random bytes whose first eight claim a frame of 3.07 EiB."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                conn.sendall(b"\x00\x00\x00\x00\x00\x00\x00\x2c" + os.urandom(4096))
                time.sleep(0.5)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def _refusal(addr: str, timeout: float = 20) -> tuple[float, BaseException | None]:
    """Seconds :func:`executor` takes to refuse ``addr``, and what it raised (in a thread: a hang fails, bounded)."""
    raised: list[BaseException | None] = [None]

    def connect() -> None:
        try:
            with sweep_module.executor(dask=addr):
                pass
        except BaseException as err:  # noqa: BLE001 - inspected below
            raised[0] = err

    start = time.monotonic()
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{addr}: still connecting after {timeout} s"
    return time.monotonic() - start, raised[0]


@pytest.fixture
def bad_addresses(tmp_path: Path) -> Iterator[dict[str, str]]:
    not_json = tmp_path / "not-json.json"
    not_json.write_text("{{{")
    no_address = tmp_path / "no-address.json"
    no_address.write_text(json.dumps({"type": "Scheduler", "id": "x"}))
    with _http_server() as http_port, _noise_server() as noise_port:
        yield {
            "garbage": "garbage",
            "missing file": str(tmp_path / "x.json"),
            "file not JSON": str(not_json),
            "file without address": str(no_address),
            "inproc": "inproc://x",
            "closed port": f"tcp://127.0.0.1:{_closed_port()}",
            "HTTP server": f"127.0.0.1:{http_port}",
            "random bytes": f"tcp://127.0.0.1:{noise_port}",
        }


def test_every_bad_dask_address_is_a_config_error_within_seconds(bad_addresses: dict[str, str]) -> None:
    pytest.importorskip("distributed")
    for case, addr in bad_addresses.items():
        took, err = _refusal(addr)
        print(f"{case}: refused in {took:.2f} s")
        assert isinstance(err, ConfigError), (case, repr(err))
        assert "--dask" in str(err) and took < sweep_module.CONNECT_TIMEOUT + 3, (case, took, str(err))


def test_bad_dask_addresses_are_one_line_from_the_command_line(
    bad_addresses: dict[str, str], tiny: Path, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    cases = [bad_addresses[c] for c in ("garbage", "HTTP server", "random bytes")]
    procs = [
        subprocess.Popen(
            [JJJSIM, "sweep", str(tiny), "--dask", addr, "--out", str(tmp_path / f"o{i}"), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, addr in enumerate(cases)
    ]
    try:
        for p in procs:
            _, stderr = p.communicate(timeout=60)
            _one_line_error((p.returncode, stderr), "--dask")
            assert "MemoryError" not in stderr, stderr
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert not any((tmp_path / f"o{i}").exists() for i in range(len(cases)))  # refused before the folder


class _Flaky(Executor):
    """Runs serially, but the first ``times`` submissions of each run end with ``error`` (as Dask's do when a
    connection drops or a worker is lost) instead of running."""

    def __init__(self, error: BaseException, times: int = 1) -> None:
        self.error, self.times, self.seen = error, times, {}

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        run_id = args[0].run_id
        self.seen[run_id] = self.seen.get(run_id, 0) + 1
        if self.seen[run_id] <= self.times:
            fut: Future = Future()
            if isinstance(self.error, CancelledError):
                fut.cancel()
                fut.set_running_or_notify_cancel()
            else:
                fut.set_exception(self.error)
            return fut
        return SerialExecutor().submit(fn, *args, **kwargs)


def _lost_errors() -> list[BaseException]:
    errors: list[BaseException] = [CancelledError(), OSError("connection reset"), TimeoutError("timed out")]
    with contextlib.suppress(ImportError):
        from types import SimpleNamespace

        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        worker = SimpleNamespace(address="tcp://127.0.0.1:1")
        errors += [CommClosedError("in <TCP (closed)>: Stream is closed"), KilledWorker("run_one-x", worker, 3)]
    return errors


@pytest.mark.parametrize("error", _lost_errors(), ids=lambda e: type(e).__name__)
def test_runs_lost_by_the_executor_are_requeued_not_failed(
    error: BaseException, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = _Flaky(error, times=2)

    @contextlib.contextmanager
    def fake_executor(workers=None, dask=None, **_):  # type: ignore[no-untyped-def]
        yield flaky, 2

    monkeypatch.setattr(sweep_module, "executor", fake_executor)
    exp = load_experiment(tiny)
    report = sweep(exp, tmp_path / "o", workers=2)
    assert (report.finished, report.failed) == (6, 0)
    assert not list((tmp_path / "o" / "failed").glob("*.json"))
    assert set(flaky.seen.values()) == {3}


def test_a_run_lost_beyond_its_retries_is_left_not_done_not_failed(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = _Flaky(CancelledError(), times=100)

    @contextlib.contextmanager
    def fake_executor(workers=None, dask=None, **_):  # type: ignore[no-untyped-def]
        yield flaky, 2

    monkeypatch.setattr(sweep_module, "executor", fake_executor)
    report = sweep(load_experiment(tiny), tmp_path / "o", workers=2)
    assert (report.finished, report.failed, report.missing) == (0, 0, 6)
    assert not list((tmp_path / "o" / "failed").glob("*.json"))
    assert max(flaky.seen.values()) <= 4  # a bounded number of retries


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)


@contextlib.contextmanager
def _dask_cluster(tmp_path: Path, workers: int) -> Iterator[tuple[Path, list[subprocess.Popen]]]:
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1, as processes (the scheduler is the first)."""
    sched_file = tmp_path / "scheduler.json"
    dask = str(BIN / "dask")
    procs = [
        _start(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            tmp_path / "scheduler.log",
        )
    ]  # fmt: skip
    try:
        assert _wait_for(sched_file.exists, 60, 0.1), (tmp_path / "scheduler.log").read_text()
        for i in range(workers):
            procs.append(
                _start(
                    [dask, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1", "--nworkers", "1",
                     "--no-dashboard", "--host", "127.0.0.1"],
                    tmp_path / f"worker{i}.log",
                )
            )  # fmt: skip
        from distributed import Client

        if workers:
            with Client(scheduler_file=str(sched_file), timeout="30s") as client:
                client.wait_for_workers(workers, timeout=60)
        yield sched_file, procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_killed_scheduler_ends_the_sweep_in_bounded_time(tmp_path: Path) -> None:
    """In-process and fast: the scheduler is killed after the third run; the sweep gives up within the bound with
    LostScheduler, keeps what finished, and a resume (here serial) completes a table bit-identical to a serial
    sweep's."""
    pytest.importorskip("distributed")
    exp = load_experiment(_toml(tmp_path, "lost", seeds=10))
    ref, out = tmp_path / "ref", tmp_path / "res"
    sweep(exp, ref, workers=1)
    killed: list[float] = []
    with _dask_cluster(tmp_path, 1) as (sched_file, procs):

        def kill_scheduler(done: int, failed: int, total: int) -> None:
            if done >= 3 and not killed:
                procs[0].kill()
                killed.append(time.monotonic())

        with pytest.raises(sweep_module.LostScheduler) as err:
            sweep(exp, out, dask=str(sched_file), dask_timeout=1, progress=kill_scheduler)
        gave_up = time.monotonic() - killed[0]
    print(f"sweep gave up {gave_up:.1f} s after the scheduler was killed (dask_timeout=1)")
    text = str(err.value)
    done = _n_runs(out)
    assert "lost the Dask scheduler at tcp://127.0.0.1:" in text and f"after {done} of 20 runs" in text, text
    assert "rerun with --resume" in text and gave_up < 1 + 8
    assert 3 <= done < 20 and not list((out / "failed").glob("*.json"))
    report = sweep(exp, out, workers=1)
    assert (report.skipped, report.finished, report.failed, report.missing) == (done, 20 - done, 0, 0)
    assert (out / "runs.parquet").read_bytes() == (ref / "runs.parquet").read_bytes()


def test_a_scheduler_without_workers_ends_the_sweep_in_bounded_time(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    with _dask_cluster(tmp_path, 0) as (sched_file, _):
        start = time.monotonic()
        with pytest.raises(sweep_module.LostScheduler) as err:
            sweep(load_experiment(tiny), tmp_path / "o", dask=str(sched_file), dask_timeout=1)
        took = time.monotonic() - start
    print(f"a scheduler without workers given up after {took:.1f} s (dask_timeout=1)")
    assert "had no workers" in str(err.value) and "after 0 of 6 runs" in str(err.value) and took < 1 + 8


@pytest.mark.slow
def test_a_killed_scheduler_ends_the_sweep_in_bounded_time_and_resume_completes(tmp_path: Path) -> None:
    """The same through the command line, with two workers: one line, exit 2, and --resume completes."""
    pytest.importorskip("distributed")
    toml = _toml(tmp_path, "dask-kill", seeds=30, steps=16)
    out = tmp_path / "res"
    with _dask_cluster(tmp_path, 2) as (sched_file, procs):
        driver = subprocess.Popen(
            [JJJSIM, "sweep", str(toml), "--dask", str(sched_file), "--dask-timeout", "2", "--out", str(out), "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(driver)
        assert _wait_for(lambda: _n_runs(out) >= 4 or driver.poll() is not None, 60)
        assert driver.poll() is None, driver.communicate()
        procs[0].kill()
        killed = time.monotonic()
        _, stderr = driver.communicate(timeout=60)
        gave_up = time.monotonic() - killed
    print(f"driver gave up {gave_up:.1f} s after the scheduler was killed (--dask-timeout 2)")
    _one_line_error((driver.returncode, stderr), "lost the Dask scheduler at", "--resume", " of 60 runs")
    assert gave_up < 2 + 8
    done = _n_runs(out)
    assert 4 <= done < 60
    res = _cli("results", str(out))
    assert res.returncode == 0 and f"{done} of 60 runs done, 0 failed" in res.stdout, res.stdout + res.stderr
    resumed = _cli("sweep", str(toml), "--out", str(out), "--resume", "--workers", "2", "-q", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done} already done, {60 - done} finished now, 0 failed" in resumed.stdout, resumed.stdout
    table = pd.read_parquet(out / "runs.parquet")
    exp = load_experiment(toml)
    assert table.run_id.is_unique and list(table.run_id) == [s.run_id for s in exp.runs]
    assert not list((out / "failed").glob("*.json"))


# ---- 6. workers die with their driver -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").iterdir():
            kids = [int(k) for k in (task / "children").read_text().split()]
            out += kids
            todo += kids
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_local_workers_do_not_outlive_a_killed_driver(tmp_path: Path) -> None:
    toml = _toml(tmp_path, "orphans", seeds=40, steps=40)
    out = tmp_path / "o"
    driver = subprocess.Popen([JJJSIM, "sweep", str(toml), "--workers", "2", "--out", str(out), "-q"])
    kids: list[int] = []
    try:
        assert _wait_for(lambda: _n_runs(out) >= 2, 60)
        kids = _children(driver.pid)
        assert len(kids) >= 2, kids  # two workers (and the resource tracker)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(10)
        killed = time.monotonic()
        gone = _wait_for(lambda: not any(map(_alive, kids)), 10)
        took = time.monotonic() - killed
        print(f"{len(kids)} children of the killed driver gone after {took:.2f} s")
        assert gone and took < 5, [k for k in kids if _alive(k)]
    finally:
        driver.kill()
        driver.wait()
        for k in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(k, signal.SIGKILL)


# ---- 7. a manifest that claims a huge design ---------------------------------------------------------------------


def _limit_memory() -> None:  # a guard for the test machine should the design ever be resolved
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


def _huge(folder: Path, fix_digest: bool) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["definition"]["seeds"]["count"] = 100_000_000
    if fix_digest:  # crafted to look consistent
        canonical = json.dumps(
            manifest["definition"], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        manifest["digest"] = hashlib.sha256(canonical.encode()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("fix_digest", [False, True], ids=["hand-edited", "digest-recomputed"])
def test_a_manifest_claiming_a_huge_design_is_not_resolved(fix_digest: bool, tiny: Path, tiny_done: Path) -> None:
    _huge(tiny_done, fix_digest)
    commands = [
        ["results", str(tiny_done)],
        ["report", str(tiny_done), "-o", str(tiny_done.parent / "r.html")],
        ["sweep", str(tiny), "--out", str(tiny_done), "--resume", "--workers", "1", "-q"],
    ]
    for args in commands:
        start = time.monotonic()
        proc = subprocess.run(
            [JJJSIM, *args], capture_output=True, text=True, timeout=60, check=False, preexec_fn=_limit_memory
        )
        took = time.monotonic() - start
        assert took < 15, (args, took)
        if not fix_digest or args[0] == "sweep":  # resume compares digests; a hand edit is refused by all
            _one_line_error(proc, "manifest.json")
        else:  # refused in one line, or read as a definition that no longer resolves: never resolved
            assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, proc.stderr
            if proc.returncode == 2:
                _one_line_error(proc)
