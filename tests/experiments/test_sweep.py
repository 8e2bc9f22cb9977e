"""Sweeps: same tables whatever the executor, resume after a kill, corrupt files rerun, failures recorded."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from jjjsim.experiments.definition import load_experiment
from jjjsim.experiments.sweep import load_runs, sweep
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import Params

TINY = """
name = "tiny"
description = "Two scenarios, three seeds, tiny scale."
steps = 4

[seeds]
count = 3
root = 7

[outputs]
series = true
flows = false
every = 2

[overrides]
scale = 0.05

[design]
kind = "scenarios"
scenarios = ["baseline", "talent-incentives"]
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _table(folder: Path) -> pd.DataFrame:
    return load_runs(folder).drop(columns=[], errors="ignore")


def test_serial_and_two_workers_give_identical_tables(tiny: Path, tmp_path: Path) -> None:
    exp = load_experiment(tiny)
    a = sweep(exp, tmp_path / "serial", workers=1)
    b = sweep(exp, tmp_path / "local", workers=2)
    assert a.finished == b.finished == 6 and a.failed == b.failed == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "serial"), _table(tmp_path / "local"))
    consolidated = pd.read_parquet(tmp_path / "local" / "runs.parquet")
    assert sorted(consolidated.run_id) == sorted(s.run_id for s in exp.runs)
    series = pd.read_parquet(tmp_path / "local" / "series" / f"{exp.runs[0].run_id}.parquet")
    assert set(series.step) == {0, 2, 4}  # every = 2
    assert not (tmp_path / "local" / "flows").exists()  # flows = false


def test_flow_matrices_are_kept_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "flows.toml"
    path.write_text(TINY.replace("flows = false", "flows = true").replace("count = 3", "count = 1"))
    exp = load_experiment(path)
    sweep(exp, tmp_path / "o", workers=1)
    flows = pd.read_parquet(tmp_path / "o" / "flows" / f"{exp.runs[0].run_id}.parquet")
    assert set(flows.flow) == {"contract_value", "contract_count", "talent_moves"}
    assert len(flows) == 3 * 16 and set(flows.origin) == {"Beijing", "Tianjin", "Hebei", "Outside"}


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = subprocess.run(
        [sys.executable, "-m", "jjjsim", "sweep", str(tiny), "--workers", "1", "--out", str(blocker / "results"), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error:") and "a-file" in proc.stderr
    assert blocker.read_text() == "not a folder"  # nothing already written is lost


def test_rerun_skips_finished_runs_and_reruns_a_corrupt_file(tiny: Path, tmp_path: Path) -> None:
    exp = load_experiment(tiny)
    out = tmp_path / "r"
    sweep(exp, out, workers=1)
    before = _table(out)
    victim = out / "runs" / f"{exp.runs[3].run_id}.parquet"
    victim.write_bytes(victim.read_bytes()[:40])  # truncated
    report = sweep(exp, out, workers=1)
    assert (report.skipped, report.finished) == (5, 1)
    pd.testing.assert_frame_equal(_table(out), before)


def test_killed_sweep_resumes_without_losing_or_duplicating(tiny: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    sweep(load_experiment(tiny), ref, workers=1)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "jjjsim", "sweep", str(tiny), "--workers", "1", "--out", str(out), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("*.parquet"))) < 2:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list((out / "runs").glob("*.parquet")))
    assert 2 <= partial < 6, "the sweep should have been killed part-way"
    report = sweep(load_experiment(tiny), out, workers=1)
    assert report.skipped + report.finished == 6
    runs = _table(out)
    assert runs.run_id.is_unique and len(runs) == 6
    pd.testing.assert_frame_equal(runs, _table(ref))


def test_a_failing_run_is_recorded_and_retried_on_request(tiny: Path, tmp_path: Path) -> None:
    """A lever value the model rejects (a hand-built parameter set that skipped the loader's checks) fails in
    its worker process; the other runs finish; --retry-failed reruns only that run."""
    exp = load_experiment(tiny)
    bad = exp.runs[4]
    values = dict(bad.params.values)
    values["talent_incentive"] = {region: -3.0 for region in values["talent_incentive"]}  # below the lower bound
    broken = dataclasses.replace(
        exp, runs=(*exp.runs[:4], dataclasses.replace(bad, params=Params(values)), exp.runs[5])
    )
    out = tmp_path / "f"
    report = sweep(broken, out, workers=2)
    assert (report.finished, report.failed) == (5, 1)
    record = json.loads((out / "failed" / f"{bad.run_id}.json").read_text())
    assert "talent_incentive" in record["error"] and "found -3" in record["error"]
    again = sweep(broken, out, workers=2)  # failures are not retried unless asked
    assert (again.finished, again.failed, again.skipped) == (0, 0, 6)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    retried = sweep(broken, out, workers=2, retry_failed=True)  # only the failed run runs again (and fails again)
    assert (retried.skipped, retried.finished, retried.failed) == (5, 0, 1)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")} == stamps
    fixed = sweep(exp, out, workers=2, retry_failed=True)  # the definition's own (valid) run replaces it
    assert (fixed.skipped, fixed.finished, fixed.failed) == (5, 1, 0)
    assert not (out / "failed" / f"{bad.run_id}.json").exists() and len(_table(out)) == 6


def test_a_worker_killed_mid_sweep_is_replaced_and_nothing_is_lost(tiny: Path, tmp_path: Path) -> None:
    """SIGKILL one local worker process (as the out-of-memory killer would): the pool is replaced, the runs in
    flight are rerun, and the table matches an uninterrupted sweep."""
    ref = tmp_path / "ref"
    sweep(load_experiment(tiny), ref, workers=1)
    killed: list[int] = []

    def kill_a_worker(done: int, failed: int, total: int) -> None:
        workers = multiprocessing.active_children()
        if not killed and workers:
            killed.append(workers[0].pid)
            os.kill(workers[0].pid, signal.SIGKILL)

    out = tmp_path / "k"
    report = sweep(load_experiment(tiny), out, workers=2, progress=kill_a_worker)
    assert killed and report.failed == 0 and report.finished == 6
    runs = _table(out)
    assert runs.run_id.is_unique and len(runs) == 6
    pd.testing.assert_frame_equal(runs, _table(ref))


def test_a_changed_definition_is_refused(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    sweep(load_experiment(tiny), out, workers=1)
    tiny.write_text(TINY.replace("count = 3", "count = 4"))
    with pytest.raises(ConfigError) as err:
        sweep(load_experiment(tiny), out, workers=1)
    assert "manifest.json" in str(err.value) and "new --out folder" in str(err.value)


def test_sweep_and_compare_through_the_command_line(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    run = subprocess.run(
        [sys.executable, "-m", "jjjsim", "sweep", str(tiny), "--workers", "1", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "6 finished now" in run.stdout
    again = subprocess.run(
        [sys.executable, "-m", "jjjsim", "sweep", str(tiny), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr
    resumed = subprocess.run(
        [sys.executable, "-m", "jjjsim", "sweep", str(tiny), "--out", str(out), "--resume", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0 and "6 already done, 0 finished now" in resumed.stdout
    cmp = subprocess.run(
        [sys.executable, "-m", "jjjsim", "compare", str(out), "--metric", "results", "--metric", "public_cost"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cmp.returncode == 0, cmp.stderr
    assert "talent-incentives" in cmp.stdout and (out / "comparison.csv").exists()
    res = subprocess.run(
        [sys.executable, "-m", "jjjsim", "results", str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0 and "6 of 6 runs done, 0 failed" in res.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "jjjsim", "compare", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.startswith("error:")


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)


def test_dask_cluster_on_loopback_gives_the_same_table_and_survives_a_lost_worker(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    bindir = Path(sys.executable).parent
    sched_file = tmp_path / "scheduler.json"
    procs = [
        _start(
            [
                str(bindir / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), (tmp_path / "scheduler.log").read_text()
        for i in range(2):
            procs.append(
                _start(
                    [
                        str(bindir / "dask"),
                        "worker",
                        "--scheduler-file",
                        str(sched_file),
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    tmp_path / f"worker{i}.log",
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(sched_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        ref = tmp_path / "ref"
        sweep(load_experiment(tiny), ref, workers=1)
        out = tmp_path / "dask"
        killed = False

        def kill_one_worker(done: int, failed: int, total: int) -> None:
            nonlocal killed
            if not killed and done >= 2:
                procs[1].kill()  # a worker lost mid-sweep: its tasks are rescheduled on the other
                killed = True

        report = sweep(load_experiment(tiny), out, dask=str(sched_file), progress=kill_one_worker)
        assert killed and report.failed == 0 and report.finished == 6
        runs = _table(out)
        assert runs.run_id.is_unique and len(runs) == 6
        pd.testing.assert_frame_equal(runs, _table(ref))
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_unreachable_dask_scheduler_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jjjsim",
            "sweep",
            str(tiny),
            "--dask",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "x"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:") and "--dask" in proc.stderr


def test_local_workers_fork_from_a_preloaded_server() -> None:
    """Local workers start as forks of a fork server that has imported the stack (POSIX); every module it preloads
    exists (the fork server skips a module it cannot import without a word, and workers would then import it)."""
    import importlib
    import multiprocessing

    from jjjsim.experiments.sweep import WORKER_PRELOAD, worker_context

    for name in WORKER_PRELOAD:
        importlib.import_module(name)
    expected = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    assert worker_context().get_start_method() == expected
