"""The numpy floor: a hand-written kernel of the model's core rules, to compare the model's cost per agent-step with.

Usage: ``python bench/kernel.py [--scale 1.0] [--pairs 3] [--write-readme]`` (also run by ``make bench``).

The kernel runs the baseline's quarters on flat arrays of the same sizes as the model's (living talents, firms,
platforms and results on offer, quarter by quarter, taken from an untimed model run with the same seed), making
the same random draws and decisions as the model's core processes, with none of its bookkeeping (no tables, no
ledgers, no recorder, no funds, partnerships, branches or relocation of firms):

1. research: Poisson results per research platform, each with a log-normal quality and a field;
2. the technology market: ``search_candidates`` offers per firm row (six uniforms, two normals and a field per
   offer), the offer's result drawn among those on offer, the adoption logit from the same kinds of terms
   (result, buyer, field pair, region pair), signing by logit, the contract value by its log-normal size, the
   budget rule (cumulative spending within each firm), flows booked by region pair, and the TFP gain;
3. production, exit and entry: value added, margin, cash, exit by hazard;
4. talent: a uniform and four Gumbels per row, the deciders' utility over four regions and their choice.

The ratio model / kernel, per agent-step, is what the model's bookkeeping and extra processes cost over the floor
of the same draws and decisions in numpy (issue 11's target: within 2x).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from jjjsim.model import JJJModel, run
from jjjsim.model.achievements import MARKET_READY
from jjjsim.model.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import report_to  # noqa: E402  (bench/readme.py)

SEED = 0


def sizes(scale: float | None) -> tuple[dict[str, np.ndarray], int, object]:
    """Per quarter: the model's table rows and living agents by kind, results on offer and research platforms;
    the agent-steps of the run; the parameters."""
    params = load_scenario("baseline").params
    if scale is not None:
        params = params.replace({"scale": scale}, where="--scale")
    m = JJJModel(params, rng=np.random.SeedSequence(SEED))
    rows: dict[str, list[int]] = {k: [] for k in ("talent", "firm", "platform", "pool", "labs", "alive_talent")}
    agent_steps = 0
    for _ in range(int(params.steps)):
        agent_steps += m.agent_count()
        rows["talent"].append(len(m.talent))
        rows["alive_talent"].append(int(m.talent.alive.sum()))
        rows["firm"].append(len(m.firm))
        rows["platform"].append(len(m.platform))
        rows["pool"].append(int((m.results.status == MARKET_READY).sum()))
        rows["labs"].append(int(m.platform.research.sum()))
        m.step()
    return {k: np.array(v) for k, v in rows.items()}, agent_steps, params


def kernel(n: dict[str, np.ndarray], p: object, seed: int = SEED) -> float:
    """Run the kernel over the quarters of ``n``; returns a checksum (so that nothing is optimised away)."""
    rng = np.random.default_rng(seed)
    k, n_fields, check = int(p.search_candidates), 8, 0.0
    novelty = rng.random((n_fields, n_fields))
    pair_cost = rng.random(16)
    for q in range(n["firm"].size):
        nf, nt, pool = int(n["firm"][q]), int(n["talent"][q]), max(int(n["pool"][q]), 1)
        labs = int(n["labs"][q])
        # 1 research
        new = rng.poisson(0.2, labs)
        total = int(new.sum())
        quality = np.exp(0.5 * rng.standard_normal(total) - 0.125)
        field_new = rng.integers(0, n_fields, total)
        # 2 the market: k offers per firm row
        u = rng.random((nf, 6, k))
        z = rng.standard_normal((nf, 2, k))
        sector = rng.integers(0, n_fields, (nf, k))
        pool_q = np.exp(0.5 * rng.standard_normal(pool))
        pool_field = rng.integers(0, n_fields, pool)
        pool_region = rng.integers(0, 3, pool)
        head = 0.4 + 0.8 * np.log(pool_q)
        slot = np.minimum((u[:, 0].ravel() * pool).astype(np.int64), pool - 1)
        outside = u[:, 2].ravel() < p.outside_supply_share
        buyer_region = rng.integers(0, 3, nf)
        buyer_field = rng.integers(0, n_fields, nf)
        loc = np.repeat(buyer_region, k)
        origin = np.where(outside, 3, pool_region[slot])
        field = np.where(outside, sector.ravel(), pool_field[slot])
        logit = head[slot] + np.repeat(0.5 * rng.random(nf), k)
        logit += novelty[np.repeat(buyer_field, k), field]
        logit -= pair_cost[origin * 4 + loc]
        accept = u[:, 1].ravel() < 1.0 / (1.0 + np.exp(-logit))
        value = np.exp(p.contract_size_sd * z[:, 1].ravel() - 0.5 * p.contract_size_sd**2)
        acc = np.flatnonzero(accept)
        firm = acc // k
        cum = np.cumsum(value[acc])
        count = np.bincount(firm, minlength=nf)
        start = np.cumsum(count) - count
        before = cum - value[acc] - np.where(start[firm] > 0, cum[np.maximum(start[firm] - 1, 0)], 0.0)
        budget = rng.random(nf) * 4.0
        ok = acc[before + value[acc] <= budget[firm]]
        flows = np.bincount(origin[ok] * 4 + loc[ok], value[ok], minlength=16)
        dose = np.bincount(ok // k, value[ok], minlength=nf)
        tfp = 1.0 + 0.01 * np.log1p(dose)
        # 3 production, exit
        va = tfp * np.exp(rng.standard_normal(nf))
        cash = va * 0.1 - 0.05
        gone = rng.random(nf) < 0.01 / (1.0 + np.exp(cash))
        # 4 talent: draws for every row, utilities and choices for the deciders
        decides, taste = rng.random(nt), rng.gumbel(size=(nt, 4))
        deciders = np.flatnonzero(decides < p.decide_share)
        utility = rng.random(4)[None, :] + 0.1 * np.log(np.exp(rng.standard_normal(deciders.size)))[:, None]
        choice = np.argmax(utility + taste[deciders], axis=1)
        moves = np.bincount(choice, minlength=4)
        check += flows.sum() + gone.sum() + moves.sum() + quality.sum() + field_new.sum()
    return float(check)


def report(scale: float | None, pairs: int) -> None:
    """Time the model and the kernel, interleaved, and print the cost per agent-step of each."""
    n, agent_steps, params = sizes(scale)
    fns = [lambda: run(params, seed=SEED), lambda: kernel(n, params)]
    for fn in fns:
        fn()
    cpu = np.zeros((pairs, 2))
    for r in range(pairs):
        for i in np.roll(np.arange(2), -r).tolist():
            t0 = time.process_time()
            fns[i]()
            cpu[r, i] = time.process_time() - t0
    us = cpu / agent_steps * 1e6
    ratio = cpu[:, 0] / cpu[:, 1]
    print(
        f"numpy floor: baseline scenario, scale {params.scale:g}, {int(params.steps)} quarters,"
        f" {agent_steps:,} agent-steps; {pairs} interleaved rounds, CPU time"
    )
    print(f"  model run() CPU per agent-step   {np.median(us[:, 0]):.3f} us")
    print(f"  kernel CPU per agent-step        {np.median(us[:, 1]):.3f} us")
    print(f"  model / kernel                   {np.median(ratio):.2f}x (range {ratio.min():.2f} to {ratio.max():.2f})")
    met = np.median(ratio) <= 2.0
    print(f"  [{'met' if met else 'MISSED'}] model within 2x of the numpy floor: {np.median(ratio):.2f}x")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=None, help="agent-count multiplier (default: the scenario's)")
    ap.add_argument("--pairs", type=int, default=3, help="interleaved timing rounds after a warm-up")
    ap.add_argument("--write-readme", action="store_true", help="also write the output into bench/README.md")
    args = ap.parse_args()
    if args.pairs < 1:
        ap.error(f"--pairs must be at least 1, got {args.pairs}")
    report_to("kernel", lambda: report(args.scale, args.pairs), args.write_readme)


if __name__ == "__main__":
    main()
