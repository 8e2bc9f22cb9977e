"""The benchmark scripts run end to end at tiny sizes, print their measures and targets, and write their output
into a README's marked block (and refuse a README without the block)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
from readme import report_to, write_block  # noqa: E402


def _run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_bench_interleaves_jjjsim_with_two_mesa_examples() -> None:
    out = _run("bench.py", "--scale", "0.02", "--pairs", "2", "--example-steps", "1")
    assert "2 interleaved rounds" in out
    assert "ratio jjjsim / boltzmann" in out and "ratio jjjsim / wolf_sheep" in out
    assert "range" in out and "all targets met:" in out


def test_kernel_prints_the_floor_and_the_ratio() -> None:
    out = _run("kernel.py", "--scale", "0.02", "--pairs", "1")
    assert "kernel CPU per agent-step" in out and "model / kernel" in out


def test_scaling_runs_each_scale_and_checks_flatness() -> None:
    out = _run("bench_scaling.py", "--scales", "0.02", "0.04", "--steps", "2")
    lines = [line.split() for line in out.splitlines() if line.strip().startswith(("0.02", "0.04"))]
    assert [row[0] for row in lines] == ["0.02", "0.04"]
    assert all(int(row[1].replace(",", "")) > 0 for row in lines)
    assert "time per agent-step from scale 1 up" in out and "no scale reached 1 M agents" in out


def test_scaling_rejects_a_scale_outside_the_registry() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_scaling.py"), "--scales", "80"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "--scales must lie in 0.01-50" in proc.stderr


def test_write_block_replaces_only_its_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- a:start -->\nold\n<!-- a:end -->\nmiddle\n<!-- b:start -->\nkeep\n<!-- b:end -->\n")
    write_block("a", "new output\nline 2\n", readme)
    text = readme.read_text()
    assert "<!-- a:start -->\n```text\nnew output\nline 2\n```\n<!-- a:end -->" in text
    assert "old" not in text and "keep" in text and text.startswith("intro\n") and "middle" in text
    with pytest.raises(SystemExit, match="no block <!-- c:start -->"):
        write_block("c", "x", readme)


def test_sweep_benchmark_times_the_runs_inside_the_sweep() -> None:
    out = _run("bench_sweep.py", "--seeds", "1", "--scale", "0.02", "--steps", "2", "--memory-runs", "30")
    assert "scenarios x 1 seeds, scale 0.02" in out
    assert "time outside run() in that serial sweep" in out and "speed-up with 2 workers" in out
    assert "driver memory over a" in out


def test_report_to_prints_and_writes_what_the_report_printed(tmp_path: Path, capsys) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- x:start -->\n<!-- x:end -->\n")
    report_to("x", lambda: print("measured 1.23 s"), False, readme)
    assert "measured 1.23 s" in capsys.readouterr().out and "1.23" not in readme.read_text()
    report_to("x", lambda: print("measured 4.56 s"), True, readme)
    assert "measured 4.56 s" in capsys.readouterr().out and "measured 4.56 s" in readme.read_text()
