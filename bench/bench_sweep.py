"""Sweep benchmark: runs per second with 1 and 2 local workers, the runner's overhead against a plain loop of
``run()``, and the driver's memory over a 2,000-run sweep.

Usage: ``python bench/bench_sweep.py [--seeds 7] [--scale 0.2] [--steps 40] [--memory-runs 2000] [--write-readme]``
(defaults: the main job's run size, 7 seeds of each of its scenarios: about 100 runs).

Local workers start as forks of a fork server that has imported the stack once (``sweep.worker_context``), so the
speed-up with 2 workers is not eaten by each worker importing numpy, pandas, pyarrow and Mesa.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jjjsim.model.runner as runner_module
from jjjsim.experiments.definition import builtin_dir, load_experiment
from jjjsim.experiments.sweep import sweep
from jjjsim.model.runner import run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import report_to  # noqa: E402  (bench/readme.py)

TARGET_OVERHEAD = 0.05
TARGET_SPEEDUP = 1.7
"""Issue 11: 2 local workers give at least 1.7x a serial sweep on 2 idle cores (100-run sweep)."""
TARGET_DRIVER_MB = 300.0
REPEATS = 3


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; 0 where unavailable)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else 0.0


@contextmanager
def timing_run() -> Iterator[list[float]]:
    """Time every ``run()`` call the sweep makes in this process (it imports ``jjjsim.model.runner.run`` when a run
    starts, so the runner module's attribute is what is replaced); yields the list of durations."""
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return run(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    runner_module.run = timed
    try:
        yield spent
    finally:
        runner_module.run = run


def reduced_brief_measures(folder: Path, seeds: int, scale: float, steps: int) -> Path:
    """The brief-measures experiment with fewer seeds, a smaller scale and fewer quarters."""
    text = (builtin_dir() / "brief-measures.toml").read_text()
    text = re.sub(r"(?m)^count = \d+", f"count = {seeds}", text)
    text = re.sub(r"(?m)^scale = [0-9.]+", f"scale = {scale}", text)
    text = re.sub(r"(?m)^steps = \d+", f"steps = {steps}", text)
    path = folder / "brief-measures-reduced.toml"
    path.write_text(text)
    return path


def main() -> None:
    """Parse the arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--memory-runs", type=int, default=2000)
    ap.add_argument("--write-readme", action="store_true", help="also write the output into bench/README.md")
    args = ap.parse_args()
    report_to("sweep", lambda: report(args), args.write_readme)


def report(args: argparse.Namespace) -> None:
    """Measure and print the sweep benchmark."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        exp = load_experiment(reduced_brief_measures(tmp_path, args.seeds, args.scale, args.steps))
        n = len(exp.runs)
        print(
            f"brief-measures reduced: {n} runs ({n // args.seeds} scenarios x {args.seeds} seeds, scale {args.scale}, "
            f"{args.steps} quarters)"
        )
        loops, serial, inside = [], [], []
        for rep in range(REPEATS):  # alternate the two, best of each, so that neither gets a warmer machine
            t0 = time.perf_counter()
            for spec in exp.runs:
                run(spec.params, seed=spec.seed, steps=spec.steps)
            loops.append(time.perf_counter() - t0)
            with timing_run() as spent:  # a serial sweep runs in this process: time its run() calls too
                serial.append(sweep(exp, tmp_path / f"serial{rep}", workers=1).seconds)
            inside.append(sum(spent))
        loop = min(loops)
        best = serial.index(min(serial))
        timings = {1: min(serial), 2: sweep(exp, tmp_path / "w2", workers=2).seconds}
        print(f"  plain loop of run()        {loop:7.2f} s   {n / loop:6.1f} runs/s   (best of {REPEATS})")
        for workers, seconds in timings.items():
            print(f"  sweep, {workers} worker(s)          {seconds:7.2f} s   {n / seconds:6.1f} runs/s")
        overhead = timings[1] / loop - 1.0
        met = "met" if overhead < TARGET_OVERHEAD else "NOT met"
        print(f"  runner overhead (1 worker vs plain loop): {overhead:+.1%} (target < {TARGET_OVERHEAD:.0%}: {met})")
        outside = serial[best] - inside[best]
        print(
            f"  time outside run() in that serial sweep: {outside:.2f} s of {serial[best]:.2f} s "
            f"({outside / inside[best]:+.1%} on the time in run(); {1e3 * outside / n:.0f} ms a run)"
        )
        speedup = timings[1] / timings[2]
        met = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
        print(f"  speed-up with 2 workers: {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x on 2 idle cores: {met})")

        text = (builtin_dir() / "brief-measures.toml").read_text()
        seeds = -(-args.memory_runs // 15)
        text = re.sub(r"(?m)^count = \d+", f"count = {seeds}", text)
        text = re.sub(r"(?m)^scale = [0-9.]+", "scale = 0.02", text)
        text = re.sub(r"(?m)^steps = \d+", "steps = 2", text)
        big = tmp_path / "memory.toml"
        big.write_text(text)
        exp = load_experiment(big)
        samples: list[float] = []

        def sample(done: int, failed: int, total: int) -> None:
            if done % 50 == 0:
                samples.append(rss_mb())

        report = sweep(exp, tmp_path / "memory", workers=2, progress=sample)
        first, peak = samples[0], max(samples)
        met = "met" if peak < TARGET_DRIVER_MB else "NOT met"
        print(
            f"driver memory over a {report.finished}-run sweep (2 workers): RSS {first:.0f} MB after 50 runs, "
            f"peak {peak:.0f} MB, last {samples[-1]:.0f} MB (target < {TARGET_DRIVER_MB:.0f} MB: {met})"
        )


if __name__ == "__main__":
    main()
