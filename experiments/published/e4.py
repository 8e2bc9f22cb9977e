"""E4: Morris screening of the levers and behavioural uncertainties, then Sobol' on the inputs that matter."""

from __future__ import annotations

import copy
import json
import math
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jjjsim.model.errors import ConfigError
from jjjsim.viz.report import write_report

from ..definition import builtin_dir, load_experiment
from ..results import load_results
from ..sensitivity import by_seed, design_outputs, indices, noise_share, rank_inputs, second_order, seed_spread
from ..sweep import sweep

E4_OUTCOMES = ("value_added", "results", "cross_region_contract_value", "theil_value_added", "talent_moves")
"""The outcomes E4 ranks inputs by and reports indices of (assumption: the brief's main outcomes - output,
research results, integration across regions, regional inequality - and talent mobility)."""
E4_TOP = 8
"""Inputs E4 carries from Morris to Sobol' (assumption: ~8 keeps Sobol' at N (2D + 2) = 18 N points)."""
E4_QUICK = {"steps": 8, "scale": 0.02, "morris_samples": 2, "morris_inputs": 12, "sobol_samples": 8, "top": 4}
"""``quick=True``: the same pipeline at a size that only checks it works (numbers are not meaningful): Morris over
the design's first ``morris_inputs`` inputs only (of 157), then Sobol' over the ``top`` of those."""


def e4_dir() -> Path:
    """The folder of E4's experiment files (``morris.toml``, ``sobol.toml``) and README."""
    return builtin_dir() / "E4-sensitivity"


def _read_definition(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(e) for e in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _write_toml(data: dict[str, Any], path: Path) -> Path:
    """An experiment definition (top-level values, then tables of values; dotted keys quoted) as TOML."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        flat = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines += ["", f"[{name}]", *(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in flat.items())]
        for sub, inner in table.items():
            if isinstance(inner, dict):
                lines += ["", f"[{name}.{sub}]", *(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in inner.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quick(definition: dict[str, Any], samples: int, inputs: int | None = None) -> dict[str, Any]:
    """The quick version of a stage's definition: :data:`E4_QUICK`'s run size, ``samples``, and with ``inputs``
    only the first ``inputs`` of its design's inputs (their bounds kept)."""
    d = copy.deepcopy(definition)
    d["name"] = f"{d.get('name', 'E4')}-quick"
    d["steps"] = E4_QUICK["steps"]
    d.setdefault("overrides", {})["scale"] = E4_QUICK["scale"]
    d["design"]["samples"] = samples
    if inputs is not None:
        kept = d["design"]["levers"][:inputs]
        d["design"]["levers"] = kept
        if "bounds" in d["design"]:
            d["design"]["bounds"] = {k: v for k, v in d["design"]["bounds"].items() if k in kept}
    return d


def _stage(
    definition: dict[str, Any],
    out: Path,
    name: str,
    workers: int | None,
    dask: str | None,
    progress: Callable[[str, int, int, int], None] | None,
) -> dict[str, Any]:
    """Write ``definition`` to ``out/<name>.toml`` and sweep it into ``out/<name>/`` (resuming what is there)."""
    path = _write_toml(definition, out / f"{name}.toml")
    exp = load_experiment(path)
    report = sweep(
        exp,
        out / name,
        workers=workers,
        dask=dask,
        progress=(lambda done, failed, total: progress(name, done, failed, total)) if progress else None,
    )
    failed = len(list((out / name / "failed").glob("*.json")))
    return {"toml": path, "runs": len(exp.runs), "failed": failed, "seconds": report.seconds}


def _tables(folder: Path, outcomes: Sequence[str]) -> dict[str, Any]:
    """Indices (seed means; blocks with a failed run left out), their spread across seeds, the noise share and
    (Sobol') second-order indices of each outcome of a results folder."""
    res = load_results(folder)
    pooled, seeds, noise, s2, dropped = {}, {}, {}, {}, {}
    for m in outcomes:
        d = design_outputs(res, m, drop_incomplete=True)
        pooled[m] = indices(d.design, d.problem, d.x, d.y.mean(axis=1), levels=d.levels)
        seeds[m] = seed_spread(by_seed(d.design, d.problem, d.x, d.y, d.seeds, levels=d.levels))
        noise[m] = _finite(noise_share(d.y))
        dropped[m] = {"dropped": d.dropped, "blocks": d.blocks}
        if d.design == "sobol":
            s2[m] = second_order(d.problem, d.y.mean(axis=1))
    return {"pooled": pooled, "seeds": seeds, "noise": noise, "s2": s2, "dropped": dropped}


def _finite(v: float) -> float | None:
    return round(v, 4) if math.isfinite(v) else None


def _long(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat([df.assign(outcome=m) for m, df in tables.items()], ignore_index=True)
    return out[["outcome", *[c for c in out.columns if c != "outcome"]]]


def _report(folder: Path, html: Path) -> str:
    """Write the sweep's HTML report; a design with failed runs cannot get sensitivity figures, so say why."""
    try:
        return str(write_report(folder, html))
    except ConfigError as err:
        return f"not written: {err}"


def reproduce_e4(
    out: str | Path,
    quick: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    outcomes: Sequence[str] = E4_OUTCOMES,
    top: int | None = None,
    progress: Callable[[str, int, int, int], None] | None = None,
) -> dict[str, Any]:
    """Experiment E4: Morris screening of the levers and behavioural uncertainties, then Sobol' on the inputs it
    ranks highest (:func:`rank_inputs`), both from ``experiments/E4-sensitivity/``.

    Writes into ``out``: ``morris.toml``, ``sobol.toml`` (the definitions run; Sobol's levers are the chosen
    inputs, their bounds as in Morris), the results folders ``morris/`` and ``sobol/``, ``morris.html`` and
    ``sobol.html`` (:func:`jjjsim.viz.report.write_report`), ``morris_indices.csv``, ``ranking.csv``,
    ``chosen.json``, ``sobol_indices.csv``, ``sobol_s2.csv``, ``morris_by_seed.csv`` and ``sobol_by_seed.csv``
    (the spread of the indices across seeds) and ``summary.json``. A rerun with the same ``out`` resumes both
    sweeps. Runs that raise are recorded by the sweep; the indices then leave out the Morris trajectories or
    Saltelli blocks holding them (counted in ``summary.json``), and the HTML report, which needs the whole
    design, is not written (its entry says why).

    Args:
        out: output folder (created).
        quick: tiny scale, few quarters and samples, Morris over 12 inputs and Sobol' over the top 4 of them (see
            :data:`E4_QUICK`): checks the pipeline in seconds; its numbers mean nothing.
        workers, dask: where to run (:func:`jjjsim.experiments.sweep.sweep`).
        outcomes: the summary metrics to rank by and report.
        top: inputs carried to Sobol' (default :data:`E4_TOP`, or 4 when quick).
        progress: called as ``progress(stage, done, failed, total)`` after each run.

    Returns:
        The content of ``summary.json``: ``chosen``, ``rule``, ``runs``, ``failed``, ``dropped``, ``seconds``,
        ``noise_share`` and ``paths``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    top = top if top is not None else (int(E4_QUICK["top"]) if quick else E4_TOP)
    morris_def = _read_definition(e4_dir() / "morris.toml")
    sobol_def = _read_definition(e4_dir() / "sobol.toml")
    if quick:
        morris_def = _quick(morris_def, int(E4_QUICK["morris_samples"]), int(E4_QUICK["morris_inputs"]))
        sobol_def = _quick(sobol_def, int(E4_QUICK["sobol_samples"]))

    stage = {"morris": _stage(morris_def, out, "morris", workers, dask, progress)}
    morris = _tables(out / "morris", outcomes)
    _long(morris["pooled"]).to_csv(out / "morris_indices.csv", index=False)
    _long(morris["seeds"]).to_csv(out / "morris_by_seed.csv", index=False)
    ranking = rank_inputs(morris["pooled"], top)
    ranking.to_csv(out / "ranking.csv", index=False)
    chosen = [str(p) for p in ranking.loc[ranking["chosen"], "parameter"]]
    rule = f"top {top} by max over outcomes of mu_star / max mu_star of that outcome ({', '.join(outcomes)})"
    (out / "chosen.json").write_text(json.dumps({"chosen": chosen, "rule": rule}, indent=1), encoding="utf-8")

    sobol_def["design"]["levers"] = chosen
    bounds = {k: v for k, v in morris_def["design"].get("bounds", {}).items() if k in chosen}
    sobol_def["design"].pop("bounds", None)
    if bounds:
        sobol_def["design"]["bounds"] = bounds
    stage["sobol"] = _stage(sobol_def, out, "sobol", workers, dask, progress)
    sobol = _tables(out / "sobol", outcomes)
    _long(sobol["pooled"]).to_csv(out / "sobol_indices.csv", index=False)
    _long(sobol["s2"]).to_csv(out / "sobol_s2.csv", index=False)
    _long(sobol["seeds"]).to_csv(out / "sobol_by_seed.csv", index=False)

    start = time.perf_counter()
    reports = {f"{n}_report": _report(out / n, out / f"{n}.html") for n in stage}
    seconds = {n: round(st["seconds"], 1) for n, st in stage.items()}
    seconds["reports"] = round(time.perf_counter() - start, 1)
    summary = {
        "quick": quick,
        "outcomes": list(outcomes),
        "chosen": chosen,
        "rule": rule,
        "runs": {n: st["runs"] for n, st in stage.items()},
        "failed": {n: st["failed"] for n, st in stage.items()},
        "dropped": {"morris": morris["dropped"], "sobol": sobol["dropped"]},
        "seconds": seconds,
        "noise_share": {"morris": morris["noise"], "sobol": sobol["noise"]},
        "paths": {
            **{n: str(out / n) for n in stage},
            **{f"{n}_toml": str(st["toml"]) for n, st in stage.items()},
            **reports,
            **{t: str(out / f"{t}.csv") for t in ("morris_indices", "ranking", "sobol_indices", "sobol_s2")},
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def run(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    summary = reproduce_e4(out, quick=quick, workers=workers, dask=dask)
    paths = summary.get("paths", {})
    reports = {k.removesuffix("_report"): v for k, v in paths.items() if k.endswith("_report")}
    tables = [Path(v).name for k, v in paths.items() if str(v).endswith(".csv")]
    return {**summary, "reports": reports, "tables": tables}
