"""EMA Workbench (3.x) driving the model: exploratory modelling over registry uncertainties and levers.

(Not named ``ema_workbench.py``: run as a script, that name would shadow the ``ema_workbench`` package.)

An EMA ``Model`` wraps :func:`jjjsim.model.run` (a plain function of keyword arguments); its uncertainties and
levers are ``RealParameter`` / ``IntegerParameter`` s with the registry's bounds, its outcomes ``ScalarOutcome`` s of
the run's summary, and ``perform_experiments`` with a ``SequentialEvaluator`` samples (Latin hypercube) and runs
them. EMA names must be Python identifiers, so ``talent_incentive.Hebei`` is ``talent_incentive__Hebei`` there.
Defaults are tiny (4 scenarios x 2 policies, agent scale 0.02, 4 quarters: a few seconds)::

    pip install ema_workbench
    python examples/ema_workbench_example.py --scenarios 50 --policies 4 --steps 40 --scale 0.1

Use ``MultiprocessingEvaluator(model)`` instead of the sequential one for real runs: ``run()`` is picklable.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import pandas as pd
from ema_workbench import (
    Constant,
    IntegerParameter,
    Model,
    RealParameter,
    ScalarOutcome,
    SequentialEvaluator,
    perform_experiments,
)
from jjjsim.model import run
from jjjsim.model.params import REGISTRY

UNCERTAINTIES = ("spillover_strength", "adopt_intercept", "beta_wage", "result_life")
"""Default uncertainties: behavioural parameters (registry role "uncertainty"), one of them whole-numbered."""
LEVERS = ("talent_incentive.Hebei", "fund_size", "shared_key_labs")
"""Default levers (registry role "lever"); ``name.sub`` picks one region."""
OUTCOMES = ("value_added", "results", "cross_region_contract_value", "theil_value_added", "talent_fte.Hebei")
"""Default outcomes: keys of ``run(...).summary``."""


def ident(name: str) -> str:
    """A registry or summary name as an EMA (Python identifier) name: ``a.b`` -> ``a__b``."""
    return name.replace(".", "__")


def parameter(name: str) -> RealParameter | IntegerParameter:
    """An EMA parameter over the registry's bounds of ``name`` (``name.sub`` for one key of a per-key one)."""
    p = REGISTRY[name.partition(".")[0]]
    if p.bounds is None or p.kind == "choice":
        raise ValueError(f"{name} has no numeric bounds in the registry")
    lo, hi = p.bounds
    if p.kind == "int":
        return IntegerParameter(ident(name), int(lo), int(hi))
    return RealParameter(ident(name), float(lo), float(hi))


def simulate(seed: int = 0, steps: int = 4, scale: float = 0.02, **inputs: float) -> dict[str, float]:
    """The EMA model function: one run with ``inputs`` (identifier names) as overrides of the registry
    defaults; returns every summary indicator under its identifier name."""
    overrides: dict[str, Any] = {"scale": scale}
    for key, value in inputs.items():
        base, _, sub = key.partition("__")
        v = int(value) if REGISTRY[base].kind == "int" else float(value)
        if sub:
            overrides.setdefault(base, {})[sub] = v
        else:
            overrides[base] = v
    summary = run(overrides, seed=int(seed), steps=int(steps)).summary
    return {ident(k): v for k, v in summary.items()}


def model(
    uncertainties: Sequence[str] = UNCERTAINTIES,
    levers: Sequence[str] = LEVERS,
    outcomes: Sequence[str] = OUTCOMES,
    seed: int = 0,
    steps: int = 4,
    scale: float = 0.02,
) -> Model:
    """The EMA model: registry parameters as uncertainties and levers, summary indicators as outcomes; the seed,
    quarters and scale are constants (every experiment uses the same seed: common random numbers)."""
    m = Model("jjjsim", function=simulate)
    m.uncertainties = [parameter(n) for n in uncertainties]
    m.levers = [parameter(n) for n in levers]
    m.outcomes = [ScalarOutcome(ident(n)) for n in outcomes]
    m.constants = [Constant("seed", seed), Constant("steps", steps), Constant("scale", scale)]
    return m


def main(
    scenarios: int = 4, policies: int = 2, seed: int = 0, steps: int = 4, scale: float = 0.02, sample_seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample ``scenarios`` x ``policies`` experiments (Latin hypercube, seeded) and run them sequentially.

    Returns EMA's experiments table (one row per run: inputs, scenario, policy, model) and the outcomes as a
    table with the same rows.
    """
    m = model(seed=seed, steps=steps, scale=scale)
    experiments, outcomes = perform_experiments(
        m,
        scenarios=scenarios,
        policies=policies,
        evaluator=SequentialEvaluator(m),
        uncertainty_sampling_kwargs={"rng": sample_seed},
        lever_sampling_kwargs={"rng": sample_seed + 1},
    )
    return experiments, pd.DataFrame(outcomes)


def cli(argv: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the command line, run :func:`main` and print the outcomes by policy."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=4, help="sampled uncertainty scenarios (default 4)")
    ap.add_argument("--policies", type=int, default=2, help="sampled lever policies (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="the runs' seed (default 0)")
    ap.add_argument("--steps", type=int, default=4, help="quarters per run (default 4)")
    ap.add_argument("--scale", type=float, default=0.02, help="agent scale (default 0.02)")
    args = ap.parse_args(argv)
    experiments, outcomes = main(args.scenarios, args.policies, args.seed, args.steps, args.scale)
    table = pd.concat([experiments[["policy"]].astype(str), outcomes], axis=1)
    print(f"{len(experiments)} experiments; outcomes (mean by policy):")
    print(table.groupby("policy").mean().to_string(float_format=lambda v: f"{v:,.4g}"))
    return experiments, outcomes


if __name__ == "__main__":
    cli()
