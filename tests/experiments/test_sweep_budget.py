"""Sweeps carry the run budget and the design-size limit: both refuse in one line, both can be raised on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

JJJSIM = Path(sys.executable).parent / "jjjsim"
EXPERIMENT = """
steps = 4
[seeds]
list = [1, 2]
[overrides]
scale = 0.02
[design]
kind = "scenarios"
scenarios = ["baseline", "autonomy"]
"""


def _jjjsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JJJSIM, *args], capture_output=True, text=True, timeout=300)


def test_a_design_over_max_runs_is_refused_and_the_flag_raises_the_limit(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    refused = _jjjsim("sweep", str(exp), "--out", str(tmp_path / "a"), "--max-runs", "3", "--workers", "1", "-q")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "at most 3 runs" in lines[0] and "2 points x 2 seeds = 4 runs" in lines[0], lines
    assert not (tmp_path / "a").exists()
    ok = _jjjsim("sweep", str(exp), "--out", str(tmp_path / "a"), "--max-runs", "4", "--workers", "1", "-q")
    assert ok.returncode == 0, ok.stderr[-2000:]


def test_runs_past_the_budget_are_recorded_failed_and_rerun_with_a_raised_cap(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    out = tmp_path / "res"
    first = _jjjsim("sweep", str(exp), "--out", str(out), "--max-agent-steps", "1000", "--workers", "1", "-q")
    assert first.returncode == 0, first.stderr[-2000:]
    failed = sorted((out / "failed").glob("*.json"))
    assert len(failed) == 4
    assert all("run budget: agent-steps" in json.loads(p.read_text())["error"] for p in failed)
    again = _jjjsim("sweep", str(exp), "--out", str(out), "--retry-failed", "--workers", "1", "-q")
    assert again.returncode == 0, again.stderr[-2000:]
    assert not list((out / "failed").glob("*.json"))
    assert len(list((out / "runs").glob("*.parquet"))) == 4
