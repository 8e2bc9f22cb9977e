"""SALib's own API around the model's ``run()``: Sobol' indices without jjjsim's experiment files or sweeps.

The problem is built from the parameter registry's bounds, ``SALib.sample.sobol.sample`` draws the Saltelli
sample, each row becomes a dict of overrides for :func:`jjjsim.model.run` (a plain function), and
``SALib.analyze.sobol.analyze`` gives S1 and ST with their intervals. Defaults are tiny (N = 8, one seed, agent
scale 0.02, 4 quarters: a few seconds; the indices are then mostly noise); raise them for real answers::

    python examples/salib_direct.py --n 64 --seeds 2 --steps 40 --scale 0.1 --metric cross_region_contract_value
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model import run
from jjjsim.model.params import REGISTRY
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

LEVERS = ("fund_size", "talent_network", "instrument_sharing")
"""Default inputs: three levers of the brief with numeric registry bounds (assumption: any numeric registry
parameter, or ``name.sub`` for one region of a per-region one, works the same way)."""


def problem(levers: Sequence[str]) -> dict[str, Any]:
    """The SALib problem over ``levers``, bounds from the registry."""
    bounds = []
    for name in levers:
        p = REGISTRY[name.partition(".")[0]]
        if p.bounds is None or p.kind == "choice":
            raise ValueError(f"{name} has no numeric bounds in the registry")
        bounds.append([float(b) for b in p.bounds])
    return {"num_vars": len(levers), "names": list(levers), "bounds": bounds}


def overrides(levers: Sequence[str], row: np.ndarray) -> dict[str, Any]:
    """One sample row as run() overrides (``name.sub`` nested; whole-number parameters rounded)."""
    out: dict[str, Any] = {}
    for name, value in zip(levers, row, strict=True):
        base, _, sub = name.partition(".")
        v: float | int = int(round(value)) if REGISTRY[base].kind == "int" else float(value)
        if sub:
            out.setdefault(base, {})[sub] = v
        else:
            out[base] = v
    return out


def main(
    n: int = 8,
    metric: str = "value_added",
    seeds: int = 1,
    steps: int = 4,
    scale: float = 0.02,
    levers: Sequence[str] = LEVERS,
    seed: int = 1,
) -> pd.DataFrame:
    """Sample, run and analyse; returns ``parameter, S1, S1_conf, ST, ST_conf``.

    Each sample row is run with seeds ``0 .. seeds-1`` (the same for every row: common random numbers) and its
    outputs averaged. ``seed`` seeds SALib's sampler and bootstrap.
    """
    prob = problem(levers)
    x = sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)

    def evaluate(row: np.ndarray) -> float:
        params = {**overrides(levers, row), "scale": scale}
        return float(np.mean([run(params, seed=s, steps=steps).summary[metric] for s in range(seeds)]))

    y = np.array([evaluate(row) for row in x])
    si = sobol_analyze.analyze(prob, y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"parameter": prob["names"], **{k: si[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}})


def cli(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Parse the command line, run :func:`main` and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="Saltelli base samples, a power of 2 (default 8)")
    ap.add_argument("--metric", default="value_added", help="summary metric of run() (default value_added)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per sample row, averaged (default 1)")
    ap.add_argument("--steps", type=int, default=4, help="quarters per run (default 4)")
    ap.add_argument("--scale", type=float, default=0.02, help="agent scale (default 0.02)")
    ap.add_argument("--levers", nargs="+", default=list(LEVERS), help=f"inputs (default {' '.join(LEVERS)})")
    args = ap.parse_args(argv)
    table = main(args.n, args.metric, args.seeds, args.steps, args.scale, args.levers)
    print(f"Sobol' indices of {args.metric} ({len(problem(args.levers)['names'])} inputs, N = {args.n}):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return table


if __name__ == "__main__":
    cli()
