"""Speed benchmark: the baseline scenario vs Mesa's own Boltzmann wealth example, in agent-steps per second.

Usage: ``python bench/bench.py [--repeats 3] [--boltzmann-steps 20] [--scale 1.0]`` (or ``make bench``).

Agent-steps are Mesa agents alive at the start of a step (``len(model.agents)``), summed over the steps. Both
timings cover building the model, stepping it and (for jjjsim) collecting the result, best of ``--repeats``
after a warm-up. Peak memory is measured in fresh subprocesses so that it reflects one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import numpy as np
from jjjsim.model import JJJModel, Params, run
from jjjsim.model.scenario import load_scenario

TARGET_AGENTS = 10_000
TARGET_SECONDS = 3.0
TARGET_RATIO = 3.0
TARGET_PEAK_MB = 500.0
REFERENCE = {
    "commit": "78965d8",
    "date": "2026-12-01",
    "ratio": 0.617,
    "baseline_s": 2.672,
    "boltzmann_s": 4.332,
}
"""Issue 10's speed reference: main at 78965d8, measured on 2026-12-01 with this file's own code (``--speed-only``,
``PYTHONPATH`` at a tree of that commit; default scale, seed 0, 20 Boltzmann steps) on the development machine,
2 cores shared with other jobs (load about 7): ``ratio`` = best baseline ``run()`` wall time / best Boltzmann wall
time over alternated rounds, the median of three measurements (0.607, 0.617 and 0.659; 5, 5 and 7 rounds). The
seconds are those of the median measurement, on that loaded machine, and are kept for the record only."""
TARGET_SLOWDOWN = 1.5
"""Issue 10: the baseline run stays within 1.5x of the reference's time (both relative to Boltzmann)."""
BOLTZMANN_AGENTS = 10_000
BOLTZMANN_SIDE = 100  # 100 x 100 cells: one agent per cell, the density of the example's default (100 on 10 x 10)
SEED = 0


def baseline_params(scale: float | None) -> Params:
    """The baseline scenario's parameters, at ``scale`` if given."""
    params = load_scenario("baseline").params
    return params if scale is None else params.replace({"scale": scale}, where="--scale")


def best_times(fns: list[Callable[[], Any]], repeats: int, warmups: list[Callable[[], Any]]) -> list[float]:
    """Best wall-clock seconds of each of ``fns`` over ``repeats`` rounds that call them in turn (after one warm-up
    call each): alternating keeps a change in the machine's load from favouring one of them."""
    for warm in warmups:
        warm()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [min(t) for t in times]


def count_agent_steps(params: Params, seed: int) -> tuple[int, int, int]:
    """Agents at the start, agents at the end, and agent-steps of one run (untimed, same seed as the timed runs)."""
    model = JJJModel(params, rng=np.random.SeedSequence(seed))
    start = len(model.agents)
    total = 0
    for _ in range(int(params.steps)):
        total += len(model.agents)
        model.step()
    return start, len(model.agents), total


def boltzmann_run(n: int, side: int, steps: int) -> Callable[[int], None]:
    """A function that builds Mesa's BoltzmannWealth with ``n`` agents on ``side`` x ``side`` and runs ``k`` steps
    (``steps`` by default)."""
    from mesa.examples import BoltzmannWealth
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

    def go(k: int = steps) -> None:
        model = BoltzmannWealth(BoltzmannScenario(n=n, width=side, height=side, rng=SEED))
        assert len(model.agents) == n
        for _ in range(k):
            model.step()

    return go


def speed(params: Params, steps: int, repeats: int) -> tuple[float, float]:
    """Best wall seconds of the baseline ``run()`` and of the Boltzmann example (``steps`` steps), alternated."""
    go = boltzmann_run(BOLTZMANN_AGENTS, BOLTZMANN_SIDE, steps)
    jjj = lambda: run(params, seed=SEED)  # noqa: E731
    seconds, b_seconds = best_times([jjj, go], repeats, warmups=[jjj, lambda: go(1)])
    return seconds, b_seconds


def reference_check(seconds: float, b_seconds: float) -> tuple[float, float, bool]:
    """This code's baseline / Boltzmann time ratio, its quotient by the reference's (:data:`REFERENCE`) and whether
    the quotient meets the 1.5x target."""
    ratio = seconds / b_seconds
    slowdown = ratio / REFERENCE["ratio"]
    return ratio, slowdown, slowdown <= TARGET_SLOWDOWN


def _maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` would carry over the
    parent's resident size at the time of the fork into a fresh subprocess.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB elsewhere


def memory_child(scale: float | None, mode: str) -> None:
    """In a fresh process: one baseline run, printing its peak memory as JSON (``rss`` or ``tracemalloc``)."""
    params = baseline_params(scale)
    before = _maxrss_mb()
    if mode == "tracemalloc":
        tracemalloc.start()
        run(params, seed=SEED)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(json.dumps({"tracemalloc_peak_mb": peak}))
    else:
        run(params, seed=SEED)
        print(json.dumps({"maxrss_mb": _maxrss_mb(), "maxrss_before_run_mb": before}))


def peak_memory(scale: float | None) -> dict[str, float]:
    """Peak memory of one baseline run: max RSS and the tracemalloc peak, each from a fresh subprocess."""
    out: dict[str, float] = {}
    for mode in ("rss", "tracemalloc"):
        cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", mode]
        if scale is not None:
            cmd += ["--scale", str(scale)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    """Measure and print the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up (best is reported)")
    ap.add_argument("--boltzmann-steps", type=int, default=20, help="steps of the Boltzmann wealth model")
    ap.add_argument("--scale", type=float, default=None, help="agent-count multiplier (default: the scenario's)")
    ap.add_argument(
        "--speed-only", action="store_true", help="time the baseline and Boltzmann only (e.g. to measure a reference)"
    )
    ap.add_argument("--memory-child", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.scale, args.memory_child)
        return
    if args.speed_only:
        seconds, b_seconds = speed(baseline_params(args.scale), args.boltzmann_steps, args.repeats)
        print(
            json.dumps(
                {"baseline_s": seconds, "boltzmann_s": b_seconds, "ratio": seconds / b_seconds, "repeats": args.repeats}
            )
        )
        return

    params = baseline_params(args.scale)
    steps = int(params.steps)
    cpu = platform.processor() or platform.machine()
    print(
        f"jjjsim {version('jjjsim')} benchmark: Python {platform.python_version()}, mesa {version('mesa')}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs ({cpu}, {platform.system()})"
    )

    start, end, agent_steps = count_agent_steps(params, SEED)
    n, side, b_steps = BOLTZMANN_AGENTS, BOLTZMANN_SIDE, args.boltzmann_steps
    seconds, b_seconds = speed(params, b_steps, args.repeats)
    rate = agent_steps / seconds
    mem = peak_memory(args.scale)
    print(f"\nbaseline scenario, scale {params.scale:g}, seed {SEED}")
    print(f"  agents (len(model.agents))  {start:,} at start, {end:,} after {steps} steps")
    print(f"  steps                       {steps}")
    print(f"  run() wall time             {seconds:.3f} s (best of {args.repeats} after a warm-up, alternated)")
    print(f"  agent-steps / s             {rate:,.0f} ({agent_steps:,} agent-steps)")
    print(
        f"  peak memory of one run      max RSS {mem['maxrss_mb']:,.0f} MB (fresh process; before the run: "
        f"{mem['maxrss_before_run_mb']:,.0f} MB); tracemalloc peak {mem['tracemalloc_peak_mb']:,.1f} MB"
    )

    b_rate = n * b_steps / b_seconds
    ratio = rate / b_rate
    print(f"\nMesa BoltzmannWealth example, {n:,} agents on {side} x {side}, {b_steps} steps")
    print(f"  wall time                   {b_seconds:.3f} s (best of {args.repeats} after a warm-up, alternated)")
    print(f"  agent-steps / s             {b_rate:,.0f}")
    print(f"\nratio jjjsim / Boltzmann      {ratio:.1f}x")

    ref = REFERENCE
    time_ratio, slowdown, within = reference_check(seconds, b_seconds)
    comparable = args.scale is None and b_steps == 20
    print(f"\nbaseline run time against the reference (main {ref['commit']}, measured {ref['date']})")
    print(f"  now: baseline / Boltzmann   {time_ratio:.3f} ({seconds:.3f} s / {b_seconds:.3f} s)")
    print(
        f"  reference                   {ref['ratio']:.3f} ({ref['baseline_s']:.3f} s / {ref['boltzmann_s']:.3f} s on"
        " the machine that measured it)"
    )
    print(f"  now / reference             {slowdown:.2f}x (target <= {TARGET_SLOWDOWN:g}x)")
    if comparable:
        print(f"  equivalent reference time   {ref['ratio'] * b_seconds:.3f} s on this machine now")

    peak = mem["maxrss_mb"]
    note = "" if steps == 40 and args.scale is None else f" (this run: {steps} quarters, scale {params.scale:g})"
    checks = [
        (f"agents >= {TARGET_AGENTS:,}", start >= TARGET_AGENTS, f"{start:,}"),
        (f"40-quarter baseline < {TARGET_SECONDS:g} s{note}", seconds < TARGET_SECONDS, f"{seconds:.2f} s"),
        (f"agent-steps/s ratio >= {TARGET_RATIO:g}", ratio >= TARGET_RATIO, f"{ratio:.1f}"),
        (f"peak memory (max RSS) < {TARGET_PEAK_MB:g} MB", peak < TARGET_PEAK_MB, f"{peak:.0f} MB"),
    ]
    if comparable:
        checks.append(
            (f"baseline within {TARGET_SLOWDOWN:g}x of main {ref['commit']} (vs Boltzmann)", within, f"{slowdown:.2f}x")
        )
    print("\ntargets")
    for label, met, value in checks:
        print(f"  [{'met' if met else 'MISSED'}] {label}: {value}")
    if comparable:
        print(f"speed vs reference: {'PASS' if within else 'FAIL'} ({slowdown:.2f}x, target <= {TARGET_SLOWDOWN:g}x)")
    print(f"all targets met: {'yes' if all(m for _, m, _ in checks) else 'no'}")


if __name__ == "__main__":
    main()
