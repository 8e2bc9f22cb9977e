"""Global sensitivity analysis of sweep results (SALib): the one implementation behind the report, the app and E4.

:func:`indices` turns a Sobol' (Saltelli) or Morris design and its outputs into one row of indices per input;
:func:`from_results` does so for a results folder of a ``sobol`` or ``morris`` experiment (what
:meth:`jjjsim.viz.data.Results.sensitivity` shows); :func:`reproduce_e4` runs experiment E4 (Morris screening,
then Sobol' on the inputs Morris ranks highest).

**Stochasticity.** The model is stochastic; every design point runs with the same seeds (common random numbers).
The indices are computed on each point's *mean across seeds*, so seed-to-seed noise is averaged down (by about
the number of seeds) but not removed: what is left of it behaves like one more, unnamed input, which lowers the
Sobol' indices of the named ones (their sum stays below 1) and adds to Morris μ* and σ. The bootstrap intervals
(``*_conf``) cover the sampling error of the design only. The noise is shown separately: :func:`by_seed` gives
the indices computed on each seed's outputs alone (the spread across seeds is the noise in the indices), and
:func:`noise_share` the share of the variance of single-run outputs that lies between seeds at a design point.
"""

from __future__ import annotations

import copy
import json
import math
import time
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jjjsim.model.param import ConfigError

from .definition import builtin_dir, load_experiment
from .sweep import sweep

if TYPE_CHECKING:
    from jjjsim.viz.data import Results

__all__ = [
    "E4_OUTCOMES",
    "MORRIS_COLUMNS",
    "SOBOL_COLUMNS",
    "DesignOutputs",
    "by_seed",
    "design_outputs",
    "e4_dir",
    "from_results",
    "indices",
    "noise_share",
    "rank_inputs",
    "reproduce_e4",
    "second_order",
    "seed_spread",
]

SOBOL_COLUMNS = ("parameter", "S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("parameter", "mu_star", "mu_star_conf", "sigma", "mu")
_S2_COLUMNS = ("parameter_1", "parameter_2", "S2", "S2_conf")


def _check(design: str, problem: dict[str, Any], x: np.ndarray | None, y: np.ndarray) -> np.ndarray | None:
    """Validate the arrays against the design (ValueError naming what is wrong)."""
    if design not in ("sobol", "morris"):
        raise ValueError(f"design must be 'sobol' or 'morris', got {design!r}")
    d = int(problem["num_vars"])
    if len(problem["names"]) != d or len(problem["bounds"]) != d:
        n_names, n_bounds = len(problem["names"]), len(problem["bounds"])
        raise ValueError(f"problem has num_vars = {d} but {n_names} names and {n_bounds} bounds")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must hold one value per design point, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"y has {int((~np.isfinite(y)).sum())} non-finite value(s)")
    step = 2 * d + 2 if design == "sobol" else d + 1
    if y.size % step:
        what = "N * (2D + 2) Saltelli points" if design == "sobol" else "r * (D + 1) trajectory points"
        raise ValueError(f"{design}: expected {what} with D = {d}, got {y.size} values")
    if design == "morris":
        if x is None:
            raise ValueError("morris needs the design points x (the values each run used)")
        x = np.asarray(x, dtype=float)
        if x.shape != (y.size, d):
            raise ValueError(f"x must have shape {(y.size, d)}, got {x.shape}")
        return x
    return None


def indices(
    design: str,
    problem: dict[str, Any],
    x: np.ndarray | None,
    y: np.ndarray,
    levels: int = 4,
    level: float = 0.95,
    seed: int = 1,
) -> pd.DataFrame:
    """Sensitivity indices of one output over a Sobol' or Morris design, one row per input of ``problem``.

    Args:
        design: ``"sobol"`` (a Saltelli sample with second-order rows, as SALib's ``sobol.sample`` and the
            experiment loader make it: N * (2D + 2) points) or ``"morris"`` (r trajectories of D + 1 points).
        problem: the SALib problem (``num_vars``, ``names``, ``bounds``), e.g. ``Experiment.problem``.
        x: the design points in run order, shape (points, D); Morris needs them (the values the runs used),
            Sobol' ignores them.
        y: the output per design point, in the design's order; shape (points,), or (points, seeds), which is
            averaged over seeds first (see the module docstring).
        levels: Morris grid levels (as sampled).
        level: confidence level of the bootstrap intervals.
        seed: seed of the bootstrap resampling (fixed, so the intervals are reproducible).

    Returns:
        Sobol': ``parameter, S1, S1_conf, ST, ST_conf``; Morris: ``parameter, mu_star, mu_star_conf, sigma, mu``
        (elementary effects per whole range of each input, SALib's convention). ``*_conf`` is the half-width.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y.mean(axis=1)
    x = _check(design, problem, x, y)
    problem = copy.deepcopy(problem)  # SALib adds keys to it
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # constant outputs give NaN indices, which is the answer
        if design == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(problem, y, calc_second_order=True, conf_level=level, seed=seed)
            cols = SOBOL_COLUMNS[1:]
        else:
            from SALib.analyze import morris

            si = morris.analyze(problem, x, y, num_levels=levels, conf_level=level, seed=seed)
            cols = MORRIS_COLUMNS[1:]
    return pd.DataFrame({"parameter": list(problem["names"]), **{c: np.asarray(si[c], dtype=float) for c in cols}})


def second_order(problem: dict[str, Any], y: np.ndarray, level: float = 0.95, seed: int = 1) -> pd.DataFrame:
    """Second-order Sobol' indices S2 (and half-widths) of each pair of inputs, from a Saltelli sample with
    second-order rows: ``parameter_1, parameter_2, S2, S2_conf``; ``y`` as in :func:`indices`."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y.mean(axis=1)
    _check("sobol", problem, None, y)
    from SALib.analyze import sobol

    names = list(problem["names"])
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        si = sobol.analyze(copy.deepcopy(problem), y, calc_second_order=True, conf_level=level, seed=seed)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    return pd.DataFrame(
        {
            "parameter_1": [names[i] for i, _ in pairs],
            "parameter_2": [names[j] for _, j in pairs],
            "S2": [float(si["S2"][i, j]) for i, j in pairs],
            "S2_conf": [float(si["S2_conf"][i, j]) for i, j in pairs],
        },
        columns=list(_S2_COLUMNS),
    )


def by_seed(
    design: str,
    problem: dict[str, Any],
    x: np.ndarray | None,
    y: np.ndarray,
    seeds: Sequence[int] | None = None,
    levels: int = 4,
    level: float = 0.95,
    seed: int = 1,
) -> pd.DataFrame:
    """The indices computed on each seed's outputs alone (``y`` of shape (points, seeds), complete), stacked
    with a ``seed`` column first; their spread across seeds is the seed-to-seed noise in the indices."""
    y = np.asarray(y, dtype=float)
    if y.ndim != 2:
        raise ValueError(f"by_seed needs y of shape (points, seeds), got {y.shape}")
    seeds = list(seeds) if seeds is not None else list(range(y.shape[1]))
    if len(seeds) != y.shape[1]:
        raise ValueError(f"{len(seeds)} seeds for {y.shape[1]} columns of y")
    frames = [
        indices(design, problem, x, y[:, k], levels=levels, level=level, seed=seed).assign(seed=s)
        for k, s in enumerate(seeds)
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *[c for c in out.columns if c != "seed"]]]


def seed_spread(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per input and index (not the ``*_conf`` columns): mean, standard deviation, min and max across seeds of
    a :func:`by_seed` table, and the number of seeds."""
    value_cols = [c for c in per_seed.columns if c not in ("seed", "parameter") and not c.endswith("_conf")]
    long = per_seed.melt(id_vars=["seed", "parameter"], value_vars=value_cols, var_name="index")
    g = long.groupby(["parameter", "index"], sort=False)["value"]
    return g.agg(seed_mean="mean", seed_sd="std", seed_min="min", seed_max="max", n_seeds="count").reset_index()


def noise_share(y: np.ndarray) -> float:
    """Share of the variance of a single run's output that is seed-to-seed noise, from ``y`` of shape (points,
    seeds), complete: the one-way random-effects (ANOVA) estimate s_w / (s_w + s_b), with s_w the mean variance
    across seeds at a point and s_b the variance of the point means less s_w / seeds (clipped at 0). 0: no seed
    noise; 1: the inputs explain nothing; NaN for fewer than 2 seeds or a constant output. It treats the noise as
    independent between points; with common random numbers it is only approximate. The seed-averaged output the
    indices use carries about ``s_w / seeds`` of noise variance."""
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[1] < 2 or y.shape[0] < 2:
        return math.nan
    within = float(np.mean(np.var(y, axis=1, ddof=1)))
    between = max(float(np.var(y.mean(axis=1), ddof=1)) - within / y.shape[1], 0.0)
    return within / (within + between) if within + between > 0 else math.nan


# ---- from a results folder ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignOutputs:
    """One metric of a sobol/morris results folder, arranged for SALib."""

    design: str
    problem: dict[str, Any]
    x: np.ndarray
    """Design points in order (the values the runs used), shape (points, D)."""
    y: np.ndarray
    """The metric per design point and seed, shape (points, seeds); NaN where a run is missing or failed."""
    seeds: tuple[int, ...]
    levels: int
    labels: tuple[str, ...]
    blocks: int
    """Morris trajectories or Saltelli base rows the design has (each a contiguous block of points)."""
    dropped: int = 0
    """Blocks left out because a run in them failed or is missing (``drop_incomplete``)."""


def _as_results(results: Results | str | Path) -> Results:
    if isinstance(results, str | Path):
        from jjjsim.viz.data import load_results  # viz reads folders; imported late (viz imports this module)

        return load_results(results)
    return results


def design_outputs(results: Results | str | Path, metric: str, drop_incomplete: bool = False) -> DesignOutputs:
    """The design points and the values of ``metric`` of a Sobol' or Morris results folder (or its
    :class:`~jjjsim.viz.data.Results`).

    By default every design point needs at least one finished seed (its mean is then over the seeds it has).
    With ``drop_incomplete``, whole Morris trajectories or Saltelli blocks (the points built from one base
    sample) holding a point without a value for every seed are left out instead; both estimators stay valid
    over the blocks that remain, but the inputs' space is then sampled only where the model ran (record
    :attr:`DesignOutputs.dropped` with the indices).

    Raises:
        ConfigError: not a sobol/morris design, an unknown metric, a definition that no longer resolves, or a
            design point without any finished run (SALib needs the whole design); with ``drop_incomplete``,
            no complete block.
    """
    res = _as_results(results)
    if res.design not in ("sobol", "morris"):
        raise ConfigError(str(res.folder), "design", "a sobol or morris design", res.design)
    if metric not in res.metrics():
        raise ConfigError(str(res.folder), "metric", f"a summary metric ({', '.join(res.metrics())})", metric)
    exp = res.experiment
    if exp is None or exp.problem is None:
        raise ConfigError(
            str(res.folder / "manifest.json"),
            "definition",
            "an experiment definition that still resolves to the design that was run",
            "one that no longer does (a scenario file moved or the parameter registry changed)",
        )
    labels = list(dict.fromkeys(s.label for s in exp.runs))
    table = res.runs.pivot_table(index="label", columns="seed", values=metric, aggfunc="mean", dropna=False)
    y = table.reindex(index=labels, columns=list(exp.seeds)).to_numpy(dtype=float)
    names: list[str] = exp.problem["names"]
    first = {s.label: s for s in reversed(exp.runs)}
    x = np.array([[float(first[lb].point[n]) for n in names] for lb in labels])
    d = len(names)
    size = 2 * d + 2 if res.design == "sobol" else d + 1
    blocks, dropped = len(labels) // size, 0
    if drop_incomplete:
        whole = np.isfinite(y).all(axis=1).reshape(blocks, size).all(axis=1)
        if not whole.any():
            raise ConfigError(
                str(res.folder), metric, "a complete trajectory or Saltelli block (every run finished)", "none"
            )
        keep = np.repeat(whole, size)
        x, y, labels, dropped = (
            x[keep],
            y[keep],
            [lb for lb, k in zip(labels, keep, strict=True) if k],
            int((~whole).sum()),
        )
    missing = np.flatnonzero(~np.isfinite(y).any(axis=1))
    if missing.size:
        raise ConfigError(
            str(res.folder),
            metric,
            f"a value at each of the {len(labels)} design points (SALib needs the whole design)",
            f"none at {missing.size} point(s), e.g. {labels[missing[0]]}",
        )
    levels = int(exp.definition["design"].get("levels", 4))
    problem = copy.deepcopy(exp.problem)
    return DesignOutputs(res.design, problem, x, y, tuple(exp.seeds), levels, tuple(labels), blocks, dropped)


def from_results(
    results: Results | str | Path,
    metric: str,
    level: float = 0.95,
    seed: int = 1,
    per_seed: bool = False,
    drop_incomplete: bool = False,
) -> pd.DataFrame:
    """Sensitivity indices of ``metric`` in a Sobol' or Morris results folder (or its ``Results``): each design
    point's mean across its finished seeds, then :func:`indices`. With ``per_seed``, :func:`by_seed` over the
    seeds that finished at every design point instead. ``drop_incomplete``: see :func:`design_outputs`; the
    number of blocks left out is in ``attrs["dropped"]`` (of ``attrs["blocks"]``).

    Raises:
        ConfigError: as :func:`design_outputs`; with ``per_seed``, also when no seed finished everywhere.
    """
    d = design_outputs(results, metric, drop_incomplete=drop_incomplete)
    if not per_seed:
        out = indices(d.design, d.problem, d.x, np.nanmean(d.y, axis=1), levels=d.levels, level=level, seed=seed)
    else:
        whole = np.isfinite(d.y).all(axis=0)
        if not whole.any():
            folder = str(_as_results(results).folder)
            raise ConfigError(folder, metric, "a seed finished at every design point (indices per seed)", "none")
        seeds = [s for s, ok in zip(d.seeds, whole, strict=True) if ok]
        out = by_seed(d.design, d.problem, d.x, d.y[:, whole], seeds, levels=d.levels, level=level, seed=seed)
    if drop_incomplete:
        out.attrs.update(dropped=d.dropped, blocks=d.blocks)
    return out


# ---- E4: Morris screening, then Sobol' on the inputs that matter ---------------------------------------------

E4_OUTCOMES = ("value_added", "results", "cross_region_contract_value", "theil_value_added", "talent_moves")
"""The outcomes E4 ranks inputs by and reports indices of (assumption: the brief's main outcomes - output,
research results, integration across regions, regional inequality - and talent mobility)."""
E4_TOP = 8
"""Inputs E4 carries from Morris to Sobol' (assumption: ~8 keeps Sobol' at N (2D + 2) = 18 N points)."""
E4_QUICK = {"steps": 8, "scale": 0.02, "morris_samples": 2, "sobol_samples": 8, "top": 4}
"""``quick=True``: the same pipeline at a size that only checks it works (numbers are not meaningful)."""


def e4_dir() -> Path:
    """The folder of E4's experiment files (``morris.toml``, ``sobol.toml``) and README."""
    return builtin_dir() / "E4-sensitivity"


def rank_inputs(morris: dict[str, pd.DataFrame], top: int = E4_TOP) -> pd.DataFrame:
    """Rank Morris inputs over several outcomes: per outcome, μ* relative to the largest μ* of that outcome; the
    score is the largest of these over the outcomes (an input that matters much for one outcome is kept).
    Returns ``parameter, score, chosen`` and one ``rel.<outcome>`` column per outcome, best first; the first
    ``top`` are chosen (inputs with a NaN μ* everywhere score 0)."""
    rel = {}
    for outcome, df in morris.items():
        mu = df.set_index("parameter")["mu_star"].astype(float)
        peak = mu.max()
        rel[f"rel.{outcome}"] = mu / peak if peak > 0 else mu * 0.0
    table = pd.DataFrame(rel)
    table.insert(0, "score", table.max(axis=1).fillna(0.0))
    table = table.sort_values("score", ascending=False, kind="stable").rename_axis("parameter").reset_index()
    table.insert(2, "chosen", np.arange(len(table)) < top)
    return table


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


def _quick(definition: dict[str, Any], samples: int) -> dict[str, Any]:
    d = copy.deepcopy(definition)
    d["name"] = f"{d.get('name', 'E4')}-quick"
    d["steps"] = E4_QUICK["steps"]
    d.setdefault("overrides", {})["scale"] = E4_QUICK["scale"]
    d["design"]["samples"] = samples
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
    from jjjsim.viz.data import load_results

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
    from jjjsim.viz.report import write_report

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
        quick: tiny scale, few quarters and samples, top 4 inputs (see :data:`E4_QUICK`): checks the pipeline in
            seconds; its numbers mean nothing.
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
        morris_def = _quick(morris_def, int(E4_QUICK["morris_samples"]))
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
