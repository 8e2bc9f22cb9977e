"""Scaling benchmark: CPU time per agent-step of the baseline scenario from agent scale 0.5 to 50 (about a million
agents), each scale in a fresh process.

Usage: ``python bench/bench_scaling.py [--scales 0.5 1 2 4 8 16 50] [--steps 40] [--write-readme]`` (also run by
``make bench``).

Each run builds the baseline model at the scale (seed 0) and steps it; CPU time (``time.process_time``) covers
both. Agent-steps are living agents at the start of each step (``len(model.agents)``), summed over the steps. Peak
memory is the process's peak RSS (``VmHWM``, the interpreter and libraries included) and the model's tables at the
end. The targets (issue 11): time per agent-step flat within 1.5x from scale 1 to the largest scale, and a run of
at least a million agents in under 60 s CPU and 1 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from jjjsim.model import JJJModel
from jjjsim.model.budget import Budget
from jjjsim.model.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import report_to  # noqa: E402  (bench/readme.py)

SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 50.0)
FLAT = 1.5
"""Issue 11: time per agent-step at any scale from 1 up stays within 1.5x of scale 1's."""
MILLION_CPU_S = 60.0
MILLION_MB = 1024.0
BIG_BUDGET = Budget(agent_steps=10**11, memory_mb=16 * 1024)
"""The run budget of these runs: far above what scale 50 uses (the default caps a run at 2 GB of tables)."""


def vm_hwm_mb() -> float:
    """Peak resident set size of this process so far, MB (``VmHWM``; Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(scale: float, steps: int) -> None:
    """In a fresh process: one run at ``scale``, printing its measures as JSON."""
    params = load_scenario("baseline").params.replace({"scale": scale, "steps": steps}, where="bench_scaling")
    before = vm_hwm_mb()
    t0 = time.process_time()
    model = JJJModel(params, rng=np.random.SeedSequence(0), budget=BIG_BUDGET)
    start, agent_steps = model.agent_count(), 0
    for _ in range(steps):
        agent_steps += model.agent_count()
        model.step()
    cpu = time.process_time() - t0
    out = dict(
        scale=scale,
        agents=start,
        agents_end=model.agent_count(),
        agent_steps=agent_steps,
        cpu_s=cpu,
        rss_mb=vm_hwm_mb(),
        rss_before_mb=before,
        tables_mb=model.table_bytes() / 2**20,
        results=len(model.results),
        ties=len(model.ties),
    )
    print(json.dumps(out))


def measure(scale: float, steps: int) -> dict:
    """One run at ``scale`` in a fresh process."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(scale), "--steps", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench_scaling: the run at scale {scale:g} failed:\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(scales: list[float], steps: int) -> None:
    """Run every scale and print the table and the targets."""
    print(f"jjjsim scaling: baseline scenario, seed 0, {steps} quarters, each scale in a fresh process")
    rows = []
    print(
        f"\n{'scale':>6} {'agents':>10} {'at end':>10} {'agent-steps':>13} {'CPU s':>8} {'us/agent-step':>14}"
        f" {'vs scale 1':>10} {'peak RSS MB':>12} {'tables MB':>10} {'ties':>11}"
    )
    for scale in scales:
        r = measure(scale, steps)
        r["us"] = r["cpu_s"] / max(r["agent_steps"], 1) * 1e6
        rows.append(r)
    ref = next((r["us"] for r in rows if r["scale"] == 1.0), rows[0]["us"])
    for r in rows:
        print(
            f"{r['scale']:>6g} {r['agents']:>10,} {r['agents_end']:>10,} {r['agent_steps']:>13,} {r['cpu_s']:>8.1f}"
            f" {r['us']:>14.3f} {r['us'] / ref:>9.2f}x {r['rss_mb']:>12,.0f} {r['tables_mb']:>10,.0f}"
            f" {r['ties']:>11,}"
        )
    upper = [r for r in rows if r["scale"] >= 1.0]
    big = [r for r in rows if r["agents"] >= 1_000_000]
    print("\ntargets")
    if len(upper) > 1:
        spread = max(r["us"] for r in upper) / ref
        print(
            f"  [{'met' if spread <= FLAT else 'MISSED'}] time per agent-step from scale 1 to {upper[-1]['scale']:g}"
            f" within {FLAT:g}x of scale 1's: {spread:.2f}x"
        )
    else:
        print("  [not run] time per agent-step from scale 1 up: needs scale 1 and a larger one")
    if big:
        r = big[0]
        ok = r["cpu_s"] < MILLION_CPU_S and r["rss_mb"] < MILLION_MB
        print(
            f"  [{'met' if ok else 'MISSED'}] a run of >= 1 M agents ({r['agents']:,} at scale {r['scale']:g}) under"
            f" {MILLION_CPU_S:g} s CPU and {MILLION_MB:g} MB: {r['cpu_s']:.1f} s, {r['rss_mb']:,.0f} MB peak RSS"
        )
    else:
        print("  [not run] no scale reached 1 M agents (add --scales 50)")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=list(SCALES), help="agent scales to run")
    ap.add_argument("--steps", type=int, default=40, help="quarters per run")
    ap.add_argument("--write-readme", action="store_true", help="also write the output into bench/README.md")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.steps)
        return
    bad = [s for s in args.scales if not 0.01 <= s <= 50]
    if bad or args.steps < 1:
        ap.error(f"--scales must lie in 0.01-50 and --steps be at least 1; got {bad or args.steps}")
    report_to("scaling", lambda: report(sorted(args.scales), args.steps), args.write_readme)


if __name__ == "__main__":
    main()
