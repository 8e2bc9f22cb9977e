"""Calibration by the method of simulated moments (Grazzini & Richiardi 2015), experiment E5.

The objective is the quadratic form ``J(θ) = d(θ)ᵀ W d(θ)`` with ``d = m_sim(θ) - m_obs`` on the moments'
scale (logs of levels and shares, annual log growth as it is). ``m_sim`` is computed from the mean yearly table
of R runs of the config's scenario with the *same* seed list for every candidate (common random numbers), so
the objective is a deterministic function of θ. W is diagonal: the inverse of the variance of ``d`` at the
start point, ``σ_obs² + (1 + 1/R) σ_sim²`` (the observed moment is one realisation of the model plus the
measurement error of the statistic, and the simulated one averages R realisations). It is searched by
``scipy.optimize.differential_evolution`` (fixed seed, the start point in the first population), each
generation's runs spread over the project's executor (local processes or Dask). Standard errors are the MSM
sandwich with a numerical Jacobian of the moments at the optimum (same seeds).
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import REGISTRY, validate
from jjjsim.model.provenance import git_commit, versions
from scipy import optimize, stats

from ..sweep import executor
from .config import MAX_RECENTRE, CalibrationConfig, load_config
from .moments import Observations, simulated_moments
from .objective import Objective, _key, jacobian, near_optimal, sandwich

# ---- the calibration ---------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def calibrate(
    config: Path | None = None,
    out: Path = Path("results/E5-calibration/calibration"),
    quick: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Estimate the config's parameters by MSM and write the results folder ``out``.

    The steps: weights from the start point's runs (:meth:`Objective.set_weights`), the global search
    (:func:`_search`), a local re-centring on the Jacobian's points (:func:`_recentre`), the sandwich standard
    errors (:func:`_standard_errors`), then the records (:func:`_moment_rows`, :func:`_parameter_rows`,
    :func:`_fit_record`, :func:`_manifest`, :func:`_registry_update`) written by :func:`_write`.

    Args:
        config: a calibration TOML (default: the built-in ``calibration.toml``).
        out: results folder: ``manifest.json``, ``fit.json``, ``registry_update.json``, ``moments.csv``,
            ``parameters.csv``, ``evaluations.csv``, ``jacobian.csv``.
        quick: use the config's ``[quick]`` settings (a smoke test well under a minute, not a calibration).
        workers, dask: where to run (:func:`jjjsim.experiments.sweep.executor`).
        progress: called as ``progress(message)`` after each generation.

    Returns the content of ``fit.json``.
    """
    cfg = load_config(config, quick=quick)
    obs = Observations(cfg.data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started, t0 = _now(), time.perf_counter()
    x0 = cfg.start()
    r = len(cfg.seeds)
    with executor(workers, dask) as (pool, window):
        obj = Objective(cfg, obs, pool, window)
        start_tables = obj.tables([x0], cfg.seeds + cfg.check_seeds)[0]  # W from both seed sets at the start
        obj.set_weights(simulated_moments(obj.moments, start_tables)["sd_one"])
        start = {
            "sim": simulated_moments(obj.moments, start_tables[:r]),
            "check": simulated_moments(obj.moments, start_tables[r:]),
        }
        start["objective"] = obj.store(_key(x0), start["sim"])["objective"]
        res = _search(cfg, obj, x0, progress, t0)
        x_opt, opt_sim, g, recentred, jacobian_at = _recentre(obj)
        opt_check = obj.simulate([x_opt], seeds=cfg.check_seeds)[0]
    finished, seconds = _now(), time.perf_counter() - t0
    se, singular = _standard_errors(obj, opt_sim, g, r)
    calib_id = f"E5-msm-{started[:10].replace('-', '')}-{cfg.digest[:8]}" + ("-quick" if quick else "")
    moments_rows = _moment_rows(cfg, obj, start["sim"], opt_sim)
    params_rows = _parameter_rows(cfg, x0, x_opt, se)
    search = {"result": res, "recentred": recentred, "jacobian_at_optimum": bool(np.array_equal(jacobian_at, x_opt))}
    fit = _fit_record(cfg, obj, calib_id, quick, start, opt_sim, opt_check, search, singular, seconds)
    fit["parameters"] = {row["parameter"]: {k: v for k, v in row.items() if k != "parameter"} for row in params_rows}
    fit["moments"] = {row["moment"]: {k: v for k, v in row.items() if k != "moment"} for row in moments_rows}
    fit["seconds"] = seconds
    run = {"workers": workers, "dask": dask, "started": started, "finished": finished, "seconds": seconds}
    _write(
        out,
        {
            "fit.json": fit,
            "manifest.json": _manifest(cfg, obs, calib_id, quick, run),
            "registry_update.json": _registry_update(calib_id, quick, params_rows),
        },
        {
            "moments.csv": pd.DataFrame(moments_rows),
            "parameters.csv": pd.DataFrame(params_rows),
            "evaluations.csv": pd.DataFrame(obj.history),
        },
        pd.DataFrame(g, index=[m.name for m in cfg.moments], columns=obj.names),
    )
    return fit


def _search(
    cfg: CalibrationConfig, obj: Objective, x0: np.ndarray, progress: Any, t0: float
) -> optimize.OptimizeResult:
    """The global search: scipy's differential evolution from ``x0`` (Latin hypercube population, vectorised
    generations on the executor), with the config's ``[optimizer]`` settings; ``progress`` after each generation."""
    o = cfg.optimizer
    generation = {"n": 0}

    def callback(intermediate_result: optimize.OptimizeResult) -> None:
        generation["n"] += 1
        if progress is not None:
            progress(
                f"generation {generation['n']}: best J = {intermediate_result.fun:.2f} "
                f"({obj.runs} runs, {time.perf_counter() - t0:.0f} s)"
            )

    obj.stage = "search"
    return optimize.differential_evolution(
        obj,
        cfg.bounds,
        strategy=o.get("strategy", "best1bin"),
        maxiter=int(o["maxiter"]),
        popsize=int(o["popsize"]),
        tol=float(o.get("tol", 0.0)),
        mutation=tuple(o.get("mutation", (0.5, 1.0))),
        recombination=float(o.get("recombination", 0.7)),
        rng=int(o["seed"]),
        init="latinhypercube",
        x0=x0,
        polish=False,
        vectorized=True,
        updating="deferred",
        callback=callback,
    )


def _best(obj: Objective) -> tuple[np.ndarray, dict[str, Any]]:
    """The best candidate evaluated so far and its simulated moments."""
    key, sim = min(obj.cache.items(), key=lambda kv: kv[1]["objective"])
    return np.array(key), sim


def _recentre(obj: Objective) -> tuple[np.ndarray, dict[str, Any], np.ndarray, int, np.ndarray]:
    """The Jacobian at the best point; its points may score lower than the search's best, so re-centre there (a
    local polish) up to :data:`MAX_RECENTRE` times. At the limit the last Jacobian may still have found a better
    point: that point (the best candidate evaluated) is the optimum, with the Jacobian one step away. Returns the
    optimum, its moments, the Jacobian, the re-centrings made and where the Jacobian was taken."""
    obj.stage = "jacobian"
    recentred = -1
    for _ in range(MAX_RECENTRE + 1):
        x_opt, opt_sim = _best(obj)
        g, _ = jacobian(obj, x_opt)
        recentred += 1
        if min(e["objective"] for e in obj.cache.values()) >= opt_sim["objective"]:
            break
    jacobian_at = x_opt
    x_opt, opt_sim = _best(obj)
    return x_opt, opt_sim, g, recentred, jacobian_at


def _standard_errors(obj: Objective, opt_sim: dict[str, Any], g: np.ndarray, r: int) -> tuple[np.ndarray, bool]:
    """The MSM sandwich standard errors at the optimum (:func:`sandwich`; S = diag(obs_error^2 + (1 + 1/R)
    sim_sd^2), R the calibration seeds), and whether G'WG was singular."""
    w = obj.weights
    assert w is not None
    sd_opt = np.where(np.isfinite(opt_sim["sd_one"]), opt_sim["sd_one"], 0.0)
    sigma = obj.obs_error**2 + (1.0 + 1.0 / r) * sd_opt**2
    cov, singular = sandwich(g, w, sigma)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None)), singular


def _moment_rows(
    cfg: CalibrationConfig, obj: Objective, start_sim: dict[str, Any], opt_sim: dict[str, Any]
) -> list[dict[str, Any]]:
    """One row per moment: observed, simulated at the start and at the optimum (raw and scaled), its errors,
    weight and standardised deviations."""
    w = obj.weights
    assert w is not None
    rows = []
    for i, m in enumerate(cfg.moments):
        rows.append(
            {
                "moment": m.name,
                "description": m.label(),
                "stat": m.stat,
                "observed": obj.observed_raw[i],
                "simulated_start": start_sim["raw"][i],
                "simulated_optimum": opt_sim["raw"][i],
                "observed_scaled": obj.observed[i],
                "simulated_start_scaled": start_sim["transformed"][i],
                "simulated_optimum_scaled": opt_sim["transformed"][i],
                "observation_error": obj.obs_error[i],
                "simulation_sd_start": obj.sd_start[i],
                "weight": w[i],
                "t_start": (start_sim["transformed"][i] - obj.observed[i]) * math.sqrt(w[i]),
                "t_optimum": (opt_sim["transformed"][i] - obj.observed[i]) * math.sqrt(w[i]),
            }
        )
    return rows


def _parameter_rows(cfg: CalibrationConfig, x0: np.ndarray, x_opt: np.ndarray, se: np.ndarray) -> list[dict[str, Any]]:
    """One row per estimated parameter: its registry entry, search box, start, estimate, standard error and
    whether the estimate is at a bound of the box."""
    rows = []
    for j, e in enumerate(cfg.parameters):
        pr = REGISTRY[e.name]
        v = float(x_opt[j])
        rows.append(
            {
                "parameter": e.key,
                "label": pr.label,
                "unit": pr.unit,
                "registry_bounds": list(pr.bounds or ()),
                "lower": e.lower,
                "upper": e.upper,
                "start": float(x0[j]),
                "estimate": v,
                "std_error": float(se[j]),
                "at_bound": bool(min(x_opt[j] - e.lower, e.upper - x_opt[j]) < 1e-3 * (e.upper - e.lower)),
                "why": e.why,
            }
        )
    return rows


def _fit_record(
    cfg: CalibrationConfig,
    obj: Objective,
    calib_id: str,
    quick: bool,
    start: dict[str, Any],
    opt_sim: dict[str, Any],
    opt_check: dict[str, Any],
    search: dict[str, Any],
    singular: bool,
    seconds: float,
) -> dict[str, Any]:
    """``fit.json`` without its parameter and moment tables: the method, objective at the start and optimum (on
    the calibration and the check seeds), the J test, the optimiser's record, the near-optimal set and how the
    standard errors were made."""
    o, res = cfg.optimizer, search["result"]
    k, p = len(cfg.moments), len(cfg.parameters)
    j_opt = float(opt_sim["objective"])
    return {
        "calibration_id": calib_id,
        "quick": quick,
        "config_path": cfg.path,
        "method": "method of simulated moments (Grazzini & Richiardi 2015), diagonal W, differential evolution",
        "scenario": cfg.scenario,
        "steps": cfg.steps,
        "seeds": list(cfg.seeds),
        "n_moments": k,
        "n_parameters": p,
        "objective_start": start["objective"],
        "objective_optimum": j_opt,
        "objective_check_seeds": {
            "seeds": list(cfg.check_seeds),
            "start": obj.value(start["check"]["transformed"]),
            "optimum": obj.value(opt_check["transformed"]),
        },
        "j_test": {
            "statistic": j_opt,
            "degrees_of_freedom": k - p,
            "p_value": float(stats.chi2.sf(j_opt, k - p)) if k > p else None,
            "note": "chi-square(K - p) if the model were correctly specified and W efficient",
        },
        "optimizer": {
            "name": "scipy.optimize.differential_evolution",
            **{kk: (list(v) if isinstance(v, tuple) else v) for kk, v in o.items()},
            "generations": int(res.nit),
            "evaluations": len(obj.cache),
            "runs": obj.runs,
            "converged": bool(res.success),
            "message": str(res.message),
            "recentred": search["recentred"],
            "jacobian_at_optimum": search["jacobian_at_optimum"],
        },
        "near_optimal": near_optimal(obj, j_opt),
        "standard_errors": {
            "method": "MSM sandwich (G'WG)^-1 G'W S W G (G'WG)^-1, S = diag(obs_error^2 + (1 + 1/R) sim_sd^2), "
            "central-difference Jacobian on the calibration seeds",
            "jacobian_step_share": cfg.jacobian_step,
            "singular": singular,
        },
    }


def _manifest(
    cfg: CalibrationConfig, obs: Observations, calib_id: str, quick: bool, run: dict[str, Any]
) -> dict[str, Any]:
    """``manifest.json``: what ran (config and data with their digests, seeds), where, with which code, when."""
    return {
        "calibration_id": calib_id,
        "config_path": cfg.path,
        "config_sha256": cfg.digest,
        "config": cfg.definition,
        "quick": quick,
        "data_file": str(obs.path),
        "data_sha256": obs.digest,
        "scenario": cfg.scenario,
        "overrides": cfg.overrides,
        "steps": cfg.steps,
        "seeds": list(cfg.seeds),
        "check_seeds": list(cfg.check_seeds),
        "executor": {"workers": run["workers"], "dask": run["dask"]},
        "versions": versions(),
        "git": git_commit(),
        "started": run["started"],
        "finished": run["finished"],
        "seconds": run["seconds"],
    }


def _registry_update(calib_id: str, quick: bool, params_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``registry_update.json``: the estimates to apply as registry defaults, with their provenance."""
    return {
        "calibration_id": calib_id,
        "quick": quick,
        "note": "quick smoke-test values, not for the registry" if quick else "apply as registry defaults",
        "source": f"MSM calibration {calib_id} (experiments/calibration, docs/validation.md)",
        "parameters": {
            row["parameter"]: {
                "value": row["estimate"],
                "std_error": row["std_error"],
                "calibration_id": calib_id,
                "previous_default": row["start"],
                "at_bound": row["at_bound"],
            }
            for row in params_rows
        },
    }


def _write(out: Path, records: dict[str, Any], tables: dict[str, pd.DataFrame], jac: pd.DataFrame) -> None:
    """The JSON records and CSV tables of a calibration into ``out`` (the Jacobian indexed by moment)."""
    for name, record in records.items():
        (out / name).write_text(json.dumps(record, indent=2, ensure_ascii=False, default=_jsonable))
    for name, table in tables.items():
        table.to_csv(out / name, index=False)
    jac.to_csv(out / "jacobian.csv", index_label="moment")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    return str(v)


def read_fit(fit: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A calibration's ``fit.json`` content, from its folder, the file's path, or the content itself."""
    if isinstance(fit, dict):
        return fit
    path = Path(fit)
    path = path / "fit.json" if path.is_dir() else path
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "a fit.json written by calibrate()", "no such file") from None


def fitted_overrides(fit: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The fitted values of a calibration (its folder, ``fit.json`` path or content) as run overrides."""
    fit = read_fit(fit)
    merged: dict[str, Any] = {}
    for key, row in fit["parameters"].items():
        name, _, sub = key.partition(".")
        v = float(row["estimate"])
        if sub:
            merged.setdefault(name, {})[sub] = v
        else:
            merged[name] = v
    validate(merged, "fit.json")
    return merged
