"""E6: the best policy mix under a fixed public budget, with its uncertainty."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from jjjsim.model.errors import ConfigError

from ..compare import compare, t_interval
from ..tables import write_table
from .common import HERE, ci_text, definition, prepare, report, run_sweep


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E6: the best mix of the costly levers under a budget on extra public cost, with its uncertainty.

    Two stages on the sweep engine (a ranking-and-selection search, as for stochastic simulation optimisation):
    a Latin hypercube of lever mixes, each run on a few common seeds with the baseline, screens for mixes whose
    mean extra public cost is within the budget and ranks them by the objective; the best few are then rerun as
    scenarios on fresh, more numerous common seeds, giving each its paired gain over the baseline with a 95 %
    interval, the probability of keeping within the budget, and the bootstrap probability of being the best.
    """
    cfg = tomllib.loads((HERE / "E6-budget-mix" / "config.toml").read_text(encoding="utf-8"))
    budget, objective, top = float(cfg["budget"]), str(cfg["objective"]), int(cfg["finalists"])
    if quick:
        top = min(top, 2)
    screen = prepare(definition(HERE / "E6-budget-mix" / "screen.toml", quick), out, "screen")
    base_def = definition(HERE / "E6-budget-mix" / "screen.toml", quick)
    base_def.update(name=base_def["name"] + "-baseline", design={"kind": "scenarios", "scenarios": ["baseline"]})
    base_exp = prepare(base_def, out, "screen-baseline")
    runs = run_sweep(screen, out / "screen", workers, dask)
    base = run_sweep(base_exp, out / "screen-baseline", workers, dask).set_index("seed")
    runs["extra_cost"] = runs.public_cost.to_numpy() - base.loc[runs.seed, "public_cost"].to_numpy()
    runs["gain"] = runs[objective].to_numpy() - base.loc[runs.seed, objective].to_numpy()
    points = [c for c in runs.columns if c.startswith("point.")]
    cand = runs.groupby("label", sort=False).agg({**{p: "first" for p in points}, "gain": "mean", "extra_cost": "mean"})
    cand["within_budget"] = cand.extra_cost <= budget
    cand = cand.sort_values(["within_budget", "gain"], ascending=[False, False])
    files = write_table(cand.reset_index(), out, "screen-candidates")
    finalists = cand[cand.within_budget].head(top)
    if finalists.empty:
        raise ConfigError(
            str(HERE / "E6-budget-mix" / "config.toml"),
            "budget",
            "a budget that some screened mix keeps within",
            f"{budget} 亿元 (cheapest mix: {cand.extra_cost.min():,.4g})",
        )
    scen_dir = out / "finalists"
    scen_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (label, row) in enumerate(finalists.iterrows()):
        params: dict[str, Any] = {}
        for p in points:
            name, _, sub = p.removeprefix("point.").partition(".")
            value = row[p].item() if hasattr(row[p], "item") else row[p]
            if sub:
                params.setdefault(name, {})[sub] = value
            else:
                params[name] = value
        scen = {"description": f"E6 finalist {i + 1} (screening point {label})", "base": "baseline", "params": params}
        (scen_dir / f"mix-{i + 1}.toml").write_text(tomli_w.dumps(scen), encoding="utf-8")
        names.append(f"finalists/mix-{i + 1}.toml")
    final_def = definition(HERE / "E6-budget-mix" / "final.toml", quick)
    final_def["design"] = {"kind": "scenarios", "scenarios": ["baseline", *names]}
    final = prepare(final_def, out, "final")
    fruns = run_sweep(final, out / "final", workers, dask).rename(columns={"label": "scenario"})
    table = compare(fruns, baseline="baseline", metrics=[objective, "results", "theil_value_added", "public_cost"])
    files += write_table(table, out, "final-comparison")
    labels = list(dict.fromkeys(fruns.scenario))[1:]
    wide = fruns.pivot(index="seed", columns="scenario", values=[objective, "public_cost"])
    gains = wide[objective][["baseline", *labels]].to_numpy(dtype=float)
    costs = wide["public_cost"][["baseline", *labels]].to_numpy(dtype=float)
    gain, extra = gains[:, 1:] - gains[:, :1], costs[:, 1:] - costs[:, :1]
    rng = np.random.default_rng(int(cfg.get("bootstrap_seed", 0)))
    idx = rng.integers(0, gain.shape[0], size=(2000, gain.shape[0]))
    ok = extra[idx].mean(axis=1) <= budget  # (bootstrap, finalist): within the budget in that resample
    score = np.where(ok, gain[idx].mean(axis=1), -np.inf)
    best = np.bincount(score.argmax(axis=1), minlength=len(labels)) / idx.shape[0]
    rows = []
    for j, s in enumerate(labels):
        rows.append(
            {
                "mix": s,
                f"gain in {objective}": ci_text(*t_interval(gain[:, j])),
                "extra public cost": ci_text(*t_interval(extra[:, j])),
                "P(within budget)": float(ok[:, j].mean()),
                "P(best)": float(best[j]),
                **{p.removeprefix("point."): finalists.iloc[j][p] for p in points},
            }
        )
    summary = pd.DataFrame(rows)
    files += write_table(summary, out, "best-mix")
    return {
        "budget": budget,
        "objective": objective,
        "best": summary.loc[summary["P(best)"].idxmax(), "mix"],
        "sweeps": {"screen": "screen", "screen-baseline": "screen-baseline", "final": "final"},
        "reports": {"final": report(out / "final", out / "report-final.html")},
        "tables": files,
        "scenarios": names,
    }
