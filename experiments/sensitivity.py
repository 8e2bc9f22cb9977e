"""Global sensitivity analysis of sweep results (SALib): the one implementation behind the report, the app and E4.

:func:`indices` turns a Sobol' (Saltelli) or Morris design and its outputs into one row of indices per input;
:func:`from_results` does so for a results folder of a ``sobol`` or ``morris`` experiment (what
:meth:`jjjsim.experiments.results.Results.sensitivity` shows); :func:`rank_inputs` ranks Morris inputs over several
outcomes. Experiment E4 (Morris screening, then Sobol' on the inputs Morris ranks highest) is
:mod:`jjjsim.experiments.published.e4`.

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
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jjjsim.model.errors import ConfigError

if TYPE_CHECKING:
    from jjjsim.experiments.results import Results

__all__ = [
    "MORRIS_COLUMNS",
    "SOBOL_COLUMNS",
    "DesignOutputs",
    "by_seed",
    "design_outputs",
    "from_results",
    "indices",
    "noise_share",
    "rank_inputs",
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


def design_outputs(results: Results, metric: str, drop_incomplete: bool = False) -> DesignOutputs:
    """The design points and the values of ``metric`` of a Sobol' or Morris results folder, read by
    :func:`~jjjsim.experiments.results.load_results` (which imports this module: the folder is read there).

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
    res = results
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
    results: Results,
    metric: str,
    level: float = 0.95,
    seed: int = 1,
    per_seed: bool = False,
    drop_incomplete: bool = False,
) -> pd.DataFrame:
    """Sensitivity indices of ``metric`` in a Sobol' or Morris results folder (its ``Results``): each design
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
            folder = str(results.folder)
            raise ConfigError(folder, metric, "a seed finished at every design point (indices per seed)", "none")
        seeds = [s for s, ok in zip(d.seeds, whole, strict=True) if ok]
        out = by_seed(d.design, d.problem, d.x, d.y[:, whole], seeds, levels=d.levels, level=level, seed=seed)
    if drop_incomplete:
        out.attrs.update(dropped=d.dropped, blocks=d.blocks)
    return out


# ---- ranking Morris inputs over several outcomes (E4) ----------------------------------------------------------


def rank_inputs(morris: dict[str, pd.DataFrame], top: int = 8) -> pd.DataFrame:
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
