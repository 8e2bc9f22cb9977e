"""Speed benchmark: the baseline scenario vs Mesa's own Boltzmann wealth and wolf-sheep examples, in agent-steps
per second, timed as interleaved rounds in one process.

Usage: ``python bench/bench.py [--pairs 5] [--example-steps 20] [--scale 1.0] [--write-readme]`` (or ``make bench``).

Agent-steps are Mesa agents alive at the start of a step (``len(model.agents)``), summed over the steps. Every
timing covers building the model, stepping it and (for jjjsim) collecting the result. After one warm-up of each,
the three are timed in turn ``--pairs`` times, the order rotating, and each round gives a ratio of jjjsim's
agent-steps/s to each example's: the median and range of those ratios are printed, so that a change of the
machine's load shows as a wider range instead of a biased ratio. Ratios use CPU seconds of this process
(``time.process_time``); wall seconds are printed beside them. Peak memory is measured in fresh subprocesses so
that it reflects one run. ``--write-readme`` also puts the output into ``bench/README.md``.
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
from pathlib import Path
from typing import Any

import numpy as np
from jjjsim.model import JJJModel, Params, run
from jjjsim.model.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import report_to  # noqa: E402  (bench/readme.py)

TARGET_AGENTS = 10_000
TARGET_SECONDS = 3.0
TARGET_RATIO = 20.0
"""Issue 11: at least 20x Boltzmann's agent-steps/s at 10 k agents (median of the interleaved rounds)."""
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
WOLF_SHEEP_SIDE = 100
"""Wolf-sheep on 100 x 100 cells at the example's densities (its default: 100 sheep and 50 wolves on 20 x 20):
2,500 sheep, 1,250 wolves and 10,000 grass patches."""
SEED = 0


def baseline_params(scale: float | None) -> Params:
    """The baseline scenario's parameters, at ``scale`` if given."""
    params = load_scenario("baseline").params
    return params if scale is None else params.replace({"scale": scale}, where="--scale")


def interleaved(fns: list[Callable[[], Any]], pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """CPU and wall seconds of each of ``fns`` (rows: rounds, columns: fns) over ``pairs`` rounds that call each in
    turn, the order rotating from round to round, after one warm-up call each."""
    for fn in fns:
        fn()
    cpu, wall = np.zeros((pairs, len(fns))), np.zeros((pairs, len(fns)))
    for r in range(pairs):
        for i in np.roll(np.arange(len(fns)), -r).tolist():
            c0, w0 = time.process_time(), time.perf_counter()
            fns[i]()
            cpu[r, i], wall[r, i] = time.process_time() - c0, time.perf_counter() - w0
    return cpu, wall


def count_agent_steps(params: Params, seed: int) -> tuple[int, int, int]:
    """Agents at the start, agents at the end, and agent-steps of one run (untimed, same seed as the timed runs)."""
    model = JJJModel(params, rng=np.random.SeedSequence(seed))
    start = len(model.agents)
    total = 0
    for _ in range(int(params.steps)):
        total += model.agent_count()  # len(model.agents), without making the agent objects at every step
        model.step()
    return start, len(model.agents), total


def mesa_example(kind: str, steps: int) -> tuple[Callable[[], None], int, int]:
    """A function that builds one of Mesa's examples (``boltzmann``: :data:`BOLTZMANN_AGENTS` on
    :data:`BOLTZMANN_SIDE` squared; ``wolf_sheep``: see :data:`WOLF_SHEEP_SIDE`) and runs it ``steps`` steps, its
    agents at the start and its agent-steps (counted on an untimed run with the same seed)."""
    if kind == "boltzmann":
        from mesa.examples import BoltzmannWealth
        from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

        def build() -> Any:
            scenario = BoltzmannScenario(n=BOLTZMANN_AGENTS, width=BOLTZMANN_SIDE, height=BOLTZMANN_SIDE, rng=SEED)
            return BoltzmannWealth(scenario)
    else:
        from mesa.examples import WolfSheep
        from mesa.examples.advanced.wolf_sheep.model import WolfSheepScenario

        default = WolfSheepScenario()
        density = WOLF_SHEEP_SIDE**2 / (default.width * default.height)

        def build() -> Any:
            scenario = WolfSheepScenario(
                width=WOLF_SHEEP_SIDE,
                height=WOLF_SHEEP_SIDE,
                initial_sheep=int(default.initial_sheep * density),
                initial_wolves=int(default.initial_wolves * density),
                rng=SEED,
            )
            return WolfSheep(scenario)

    def go() -> None:
        model = build()
        for _ in range(steps):
            model.step()

    model = build()
    start, agent_steps = len(model.agents), 0
    for _ in range(steps):
        agent_steps += len(model.agents)
        model.step()
    return go, start, agent_steps


def summary(values: np.ndarray, fmt: str = ",.2f") -> str:
    """Median and range of ``values``."""
    return f"{np.median(values):{fmt}} (range {values.min():{fmt}} to {values.max():{fmt}})"


def reference_check(seconds: np.ndarray, b_seconds: np.ndarray) -> tuple[float, float, bool]:
    """The median over rounds of this code's baseline / Boltzmann wall-time ratio (the reference's measure), its
    quotient by the reference's (:data:`REFERENCE`) and whether the quotient meets the 1.5x target."""
    ratio = float(np.median(seconds / b_seconds))
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


def report(args: argparse.Namespace) -> None:
    """Measure and print the benchmark."""
    params = baseline_params(args.scale)
    steps, e_steps = int(params.steps), args.example_steps
    cpu = platform.processor() or platform.machine()
    print(
        f"jjjsim {version('jjjsim')} benchmark: Python {platform.python_version()}, mesa {version('mesa')}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs ({cpu}, {platform.system()}), load average "
        f"{os.getloadavg()[0]:.2f} at the start"
    )
    start, end, agent_steps = count_agent_steps(params, SEED)
    examples = {k: mesa_example(k, e_steps) for k in ("boltzmann", "wolf_sheep")}
    fns = [lambda: run(params, seed=SEED)] + [go for go, _, _ in examples.values()]
    cpu_s, wall_s = interleaved(fns, args.pairs)
    work = np.array([agent_steps] + [n for _, _, n in examples.values()], dtype=float)
    rate = work / cpu_s  # agent-steps per CPU second, by round and model
    mem = peak_memory(args.scale)

    print(f"\n{args.pairs} interleaved rounds after a warm-up; median (range) over the rounds")
    print(f"\njjjsim baseline scenario, scale {params.scale:g}, seed {SEED}, {steps} quarters")
    print(f"  agents (len(model.agents))   {start:,} at start, {end:,} after {steps} steps")
    print(f"  agent-steps                  {agent_steps:,}")
    print(f"  run() CPU time               {summary(cpu_s[:, 0], '.3f')} s")
    print(f"  run() wall time              {summary(wall_s[:, 0], '.3f')} s")
    print(f"  agent-steps / CPU s          {summary(rate[:, 0], ',.0f')}")
    print(f"  CPU per agent-step           {1e6 / np.median(rate[:, 0]):.3f} us")
    print(
        f"  peak memory of one run       max RSS {mem['maxrss_mb']:,.0f} MB (fresh process; before the run: "
        f"{mem['maxrss_before_run_mb']:,.0f} MB); tracemalloc peak {mem['tracemalloc_peak_mb']:,.1f} MB"
    )
    labels = {
        "boltzmann": f"BoltzmannWealth, {BOLTZMANN_AGENTS:,} agents on {BOLTZMANN_SIDE} x {BOLTZMANN_SIDE}",
        "wolf_sheep": f"WolfSheep on {WOLF_SHEEP_SIDE} x {WOLF_SHEEP_SIDE} (example's densities)",
    }
    ratios = {}
    for i, (kind, (_, n0, n)) in enumerate(examples.items(), start=1):
        ratios[kind] = rate[:, 0] / rate[:, i]
        print(f"\nMesa {labels[kind]}, {n0:,} agents at start, {e_steps} steps ({n:,} agent-steps)")
        print(f"  CPU time                     {summary(cpu_s[:, i], '.3f')} s")
        print(f"  agent-steps / CPU s          {summary(rate[:, i], ',.0f')}")
        print(f"  ratio jjjsim / {kind:<13} {summary(ratios[kind], '.2f')}x")

    ref = REFERENCE
    time_ratio, slowdown, within = reference_check(wall_s[:, 0], wall_s[:, 1])
    comparable = args.scale is None and e_steps == 20
    print(f"\nbaseline run time against issue 10's reference (main {ref['commit']}, measured {ref['date']})")
    print(f"  now: baseline / Boltzmann    {time_ratio:.3f} (median over rounds of the wall-time ratio)")
    print(f"  reference                    {ref['ratio']:.3f} (on the machine that measured it)")
    print(f"  now / reference              {slowdown:.2f}x (target <= {TARGET_SLOWDOWN:g}x)")
    if comparable:
        print(f"  equivalent reference time    {ref['ratio'] * np.median(wall_s[:, 1]):.3f} s on this machine now")

    peak, seconds = mem["maxrss_mb"], float(np.median(wall_s[:, 0]))
    note = "" if steps == 40 and args.scale is None else f" (this run: {steps} quarters, scale {params.scale:g})"
    checks = [
        (f"agents >= {TARGET_AGENTS:,}", start >= TARGET_AGENTS, f"{start:,}"),
        (f"40-quarter baseline < {TARGET_SECONDS:g} s wall{note}", seconds < TARGET_SECONDS, f"{seconds:.2f} s"),
        (
            f"agent-steps/s >= {TARGET_RATIO:g}x Boltzmann (median)",
            np.median(ratios["boltzmann"]) >= TARGET_RATIO,
            f"{np.median(ratios['boltzmann']):.2f}x",
        ),
        (f"peak memory (max RSS) < {TARGET_PEAK_MB:g} MB", peak < TARGET_PEAK_MB, f"{peak:.0f} MB"),
    ]
    if comparable:
        checks.append(
            (f"baseline within {TARGET_SLOWDOWN:g}x of main {ref['commit']} (vs Boltzmann)", within, f"{slowdown:.2f}x")
        )
    print("\ntargets")
    for label, met, value in checks:
        print(f"  [{'met' if met else 'MISSED'}] {label}: {value}")
    print(f"all targets met: {'yes' if all(m for _, m, _ in checks) else 'no'}")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5, help="interleaved timing rounds after the warm-up")
    ap.add_argument("--example-steps", type=int, default=20, help="steps of the Mesa examples")
    ap.add_argument("--scale", type=float, default=None, help="agent-count multiplier (default: the scenario's)")
    ap.add_argument("--speed-only", action="store_true", help="time the baseline and Boltzmann only, as JSON")
    ap.add_argument("--write-readme", action="store_true", help="also write the output into bench/README.md")
    ap.add_argument("--memory-child", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pairs < 1:
        ap.error(f"--pairs must be at least 1, got {args.pairs}")
    if args.memory_child:
        memory_child(args.scale, args.memory_child)
        return
    if args.speed_only:
        params = baseline_params(args.scale)
        go, _, _ = mesa_example("boltzmann", args.example_steps)
        _, wall = interleaved([lambda: run(params, seed=SEED), go], args.pairs)
        ratio = wall[:, 0] / wall[:, 1]
        print(
            json.dumps(
                {
                    "baseline_s": wall[:, 0].tolist(),
                    "boltzmann_s": wall[:, 1].tolist(),
                    "ratio_median": float(np.median(ratio)),
                    "ratio": ratio.tolist(),
                }
            )
        )
        return
    report_to("bench", lambda: report(args), args.write_readme)


if __name__ == "__main__":
    main()
