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

import hashlib
import json
import math
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.errors import ConfigError, did_you_mean
from jjjsim.model.params import REGISTRY, Params, validate
from jjjsim.model.provenance import git_commit, versions
from jjjsim.model.scenario import load_scenario, read_toml
from scipy import optimize, stats

from ..sweep import executor
from .moments import Moment, Observations, moment_from_table, simulate, simulated_moments

TOP_KEYS = (
    "name", "description", "scenario", "steps", "data", "seeds", "overrides", "parameters", "moments",
    "observation_error", "optimizer", "standard_errors", "check_seeds", "quick",
)  # fmt: skip
OPTIMIZER_KEYS = ("popsize", "maxiter", "seed", "mutation", "recombination", "tol", "strategy")
ERROR_CLASSES = ("data_file", "other", "derived")
PENALTY = 1e6
"""Objective of a candidate whose simulated moment is undefined (e.g. the log of a zero flow)."""
MAX_RECENTRE = 3
"""Times the optimum may move to a better point found by the Jacobian's evaluations."""


def default_config() -> Path:
    """The built-in config, ``experiments/calibration/calibration.toml``."""
    return Path(str(resources.files("jjjsim.experiments.calibration").joinpath("calibration.toml")))


@dataclass(frozen=True)
class Estimated:
    """A parameter to estimate: registry name (``name.sub`` for one key of a per-region parameter), bounds."""

    key: str
    lower: float
    upper: float
    why: str = ""
    start: float | None = None
    """The search's start point (the value before calibration); None: the scenario's value."""

    @property
    def name(self) -> str:
        return self.key.partition(".")[0]

    def override(self, value: float) -> dict[str, Any]:
        name, _, sub = self.key.partition(".")
        return {name: {sub: float(value)} if sub else float(value)}

    def value_in(self, params: Params) -> float:
        name, _, sub = self.key.partition(".")
        v = params.values[name]
        return float(v[sub] if sub else v)


@dataclass(frozen=True)
class CalibrationConfig:
    """A checked calibration config (see ``calibration.toml`` for the format)."""

    path: str
    definition: dict[str, Any]
    digest: str
    name: str
    description: str
    scenario: str
    steps: int
    data: Path | None
    seeds: tuple[int, ...]
    check_seeds: tuple[int, ...]
    overrides: dict[str, Any]
    parameters: tuple[Estimated, ...]
    moments: tuple[Moment, ...]
    errors: dict[str, float]
    optimizer: dict[str, Any]
    jacobian_step: float
    quick: bool = False
    base: Params = field(default=None, repr=False)  # type: ignore[assignment]

    def overrides_at(self, x: np.ndarray) -> dict[str, Any]:
        """The estimated parameters at θ = x, as run overrides."""
        merged: dict[str, Any] = {}
        for est, v in zip(self.parameters, x, strict=True):
            for name, val in est.override(v).items():
                if isinstance(val, dict):
                    merged.setdefault(name, {}).update(val)
                else:
                    merged[name] = val
        return merged

    def params_at(self, x: np.ndarray) -> Params:
        """The complete parameters of a candidate θ = x."""
        return self.base.replace(self.overrides_at(x), where=f"{self.path} (candidate)")

    @property
    def bounds(self) -> list[tuple[float, float]]:
        return [(e.lower, e.upper) for e in self.parameters]

    def start(self) -> np.ndarray:
        """The start point: each parameter's ``start`` (its value before calibration), else the scenario's value
        (the registry default unless the scenario sets it), clipped to the bounds."""
        vals = [e.start if e.start is not None else e.value_in(self.base) for e in self.parameters]
        return np.array([min(max(v, e.lower), e.upper) for v, e in zip(vals, self.parameters, strict=True)])


def _seeds(table: Any, where: str, key: str) -> tuple[int, ...]:
    if not isinstance(table, dict):
        raise ConfigError(where, key, "a table with count and root, or list", table)
    if "list" in table:
        seeds = table["list"]
        ok = isinstance(seeds, list) and seeds and all(isinstance(s, int) and s >= 0 for s in seeds)
        if not ok or len(set(seeds)) < len(seeds):
            raise ConfigError(where, f"{key}.list", "a non-empty list of distinct whole numbers >= 0", seeds)
        return tuple(seeds)
    count, root = table.get("count"), table.get("root")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigError(where, f"{key}.count", "a whole number of seeds >= 1", count)
    if not isinstance(root, int) or isinstance(root, bool) or root < 0:
        raise ConfigError(where, f"{key}.root", "a whole number >= 0", root)
    return tuple(int(c.generate_state(1)[0]) for c in np.random.SeedSequence(root).spawn(count))


def load_config(path: str | Path | None = None, quick: bool = False) -> CalibrationConfig:
    """Read and check a calibration config (default: the built-in one); ``quick`` applies its ``[quick]`` table.

    Bad input raises :class:`ConfigError` naming the file and the key.
    """
    path = Path(path) if path is not None else default_config()
    where = str(path)
    data = read_toml(path, "calibration config")
    for k in data:
        if k not in TOP_KEYS:
            raise ConfigError(where, k, f"one of {', '.join(TOP_KEYS)}", k, did_you_mean(k, TOP_KEYS))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    d = dict(data)
    subset: list[str] | None = None
    if quick:
        q = d.get("quick", {})
        if not isinstance(q, dict):
            raise ConfigError(where, "quick", "a table of settings for quick runs", q)
        for k, v in q.items():
            if k not in ("seeds", "overrides", "optimizer", "parameters", "steps", "check_seeds"):
                raise ConfigError(where, f"quick.{k}", "one of seeds, overrides, optimizer, parameters, steps", k)
            if k == "optimizer" or k == "overrides":
                d[k] = {**d.get(k, {}), **v}
            elif k == "parameters":  # a subset of the estimated parameters (all are checked below)
                full = d.get("parameters", {})
                if not isinstance(v, list) or not all(isinstance(n, str) and n in full for n in v):
                    raise ConfigError(where, "quick.parameters", f"a list of names from [parameters] ({list(full)})", v)
                subset = v
            else:
                d[k] = v
    scenario = d.get("scenario", "historical")
    try:
        sc = load_scenario(scenario)
    except ConfigError as err:
        raise ConfigError(where, "scenario", err.expected, err.found, err.hint) from None
    steps = d.get("steps")
    steps = REGISTRY["steps"].validate(steps, where) if steps is not None else int(sc.params.steps)

    overrides = d.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ConfigError(where, "overrides", "a table of parameter overrides", overrides)
    try:
        validate(overrides, where)
    except ConfigError as err:
        raise ConfigError(where, f"overrides.{err.key}", err.expected, err.found, err.hint) from None
    if "steps" in overrides:
        raise ConfigError(where, "overrides.steps", "no steps here (use the top-level steps)", overrides["steps"])
    # the scenario's whole policy timeline is kept: a run of fewer quarters than the scenario file (the fit's 28 of
    # historical's 40) stops before later entries, and the validation's 40-quarter runs follow all of them
    base = sc.params.replace(overrides, where=where).replace({"steps": steps}, where=where)

    params_table = d.get("parameters")
    if not isinstance(params_table, dict) or not params_table:
        raise ConfigError(where, "parameters", "a table of parameters to estimate, each with bounds", params_table)
    estimated = [_estimated(key, spec, where, overrides) for key, spec in params_table.items()]
    if subset is not None:
        estimated = [e for e in estimated if e.key in subset]
    moments_list = d.get("moments")
    if not isinstance(moments_list, list) or not moments_list:
        raise ConfigError(where, "moments", "a list of [[moments]] tables", moments_list)
    moments = tuple(moment_from_table(m, where, i) for i, m in enumerate(moments_list))
    names = [m.name for m in moments]
    if len(set(names)) < len(names):
        raise ConfigError(where, "moments", "distinct moment names", sorted({n for n in names if names.count(n) > 1}))
    start_year = int(base.start_year)
    need = max(m.last_year() for m in moments)
    if 4 * (need - start_year + 1) > steps:
        raise ConfigError(
            where, "steps", f"at least {4 * (need - start_year + 1)} quarters (moments reach {need})", steps
        )
    first = min(m.years[0] if m.stat == "growth" else int(m.year[:4]) for m in moments)
    if first < start_year:
        raise ConfigError(where, "moments", f"years from the start year {start_year} on", first)

    errors = d.get("observation_error", {})
    if not isinstance(errors, dict) or set(errors) != set(ERROR_CLASSES):
        raise ConfigError(where, "observation_error", f"a table with {', '.join(ERROR_CLASSES)}", errors)
    for k, v in errors.items():
        if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
            raise ConfigError(where, f"observation_error.{k}", "a log sd > 0", v)
    opt = d.get("optimizer", {})
    if not isinstance(opt, dict):
        raise ConfigError(where, "optimizer", "a table", opt)
    for k in opt:
        if k not in OPTIMIZER_KEYS:
            raise ConfigError(where, f"optimizer.{k}", f"one of {', '.join(OPTIMIZER_KEYS)}", k)
    for k in ("popsize", "maxiter", "seed"):
        v = opt.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "seed" else 1):
            raise ConfigError(where, f"optimizer.{k}", "a whole number >= 1" if k != "seed" else "a whole number", v)
    se = d.get("standard_errors", {"step": 0.025})
    step = se.get("step") if isinstance(se, dict) else None
    if not isinstance(step, int | float) or isinstance(step, bool) or not 0 < step < 0.5:
        raise ConfigError(where, "standard_errors.step", "a share of each parameter's range in (0, 0.5)", step)
    data_file = d.get("data")
    if data_file is not None:
        if not isinstance(data_file, str) or not data_file:
            raise ConfigError(where, "data", "the path of a statistics CSV (relative to this file)", data_file)
        data_file = Path(data_file) if Path(data_file).is_absolute() else path.parent / data_file
    seeds = _seeds(d.get("seeds"), where, "seeds")
    check = _seeds(d.get("check_seeds", {"count": len(seeds), "root": 1}), where, "check_seeds")
    if set(check) & set(seeds):
        raise ConfigError(where, "check_seeds", "seeds distinct from [seeds]", sorted(set(check) & set(seeds)))
    name = d.get("name", path.stem)
    return CalibrationConfig(
        path=where,
        definition=data,
        digest=digest,
        name=str(name),
        description=" ".join(str(d.get("description", "")).split()),
        scenario=sc.name,
        steps=int(steps),
        data=data_file,
        seeds=seeds,
        check_seeds=check,
        overrides=overrides,
        parameters=tuple(estimated),
        moments=moments,
        errors={k: float(v) for k, v in errors.items()},
        optimizer=opt,
        jacobian_step=float(step),
        quick=quick,
        base=base,
    )


def _estimated(key: str, spec: Any, where: str, overrides: dict[str, Any]) -> Estimated:
    k = f"parameters.{key}"
    name, _, sub = key.partition(".")
    if name not in REGISTRY:
        raise ConfigError(where, k, "a parameter name of the registry", key, did_you_mean(name, REGISTRY))
    p = REGISTRY[name]
    if sub and sub not in p.keys:
        raise ConfigError(where, k, f"one of {', '.join(p.keys) or 'no sub-key'} after {name}.", key)
    if p.per and not sub:
        raise ConfigError(where, k, f"one key of the per-{p.per} parameter ({name}.{p.keys[0]}, ...)", key)
    if p.role != "uncertainty":
        raise ConfigError(where, k, "a behavioural parameter (registry role 'uncertainty')", f"role {p.role!r}")
    if p.kind != "float" or p.bounds is None:
        raise ConfigError(where, k, "a real-valued parameter with bounds", p.kind)
    if name in overrides:
        raise ConfigError(where, f"overrides.{name}", "no override of an estimated parameter", overrides[name])
    if not isinstance(spec, dict):
        raise ConfigError(where, k, "a table with bounds = [low, high] (start and why optional)", spec)
    for sk in spec:
        if sk not in ("bounds", "start", "why"):
            raise ConfigError(where, f"{k}.{sk}", "bounds, start or why", sk)
    b = spec.get("bounds", list(p.bounds))
    if not (
        isinstance(b, list) and len(b) == 2 and all(isinstance(x, int | float) and not isinstance(x, bool) for x in b)
    ):
        raise ConfigError(where, f"{k}.bounds", "[low, high]", b)
    lo, hi = float(b[0]), float(b[1])
    rlo, rhi = (float(x) for x in p.bounds)
    if not lo < hi:
        raise ConfigError(where, f"{k}.bounds", "low < high", b)
    if lo < rlo or hi > rhi:
        raise ConfigError(where, f"{k}.bounds", f"bounds within the registry's [{rlo:g}, {rhi:g}] {p.unit}", b)
    start = spec.get("start")
    if start is not None and (
        not isinstance(start, int | float) or isinstance(start, bool) or not lo <= float(start) <= hi
    ):
        raise ConfigError(where, f"{k}.start", f"a number within the bounds [{lo:g}, {hi:g}]", start)
    return Estimated(key, lo, hi, str(spec.get("why", "")), None if start is None else float(start))


def run_batch(pool: Executor, window: int, tasks: list[tuple[Params, int]]) -> list[pd.Series]:
    """:func:`moments.simulate` of each (params, seed), in order, with at most ``window`` runs in flight (as the
    sweep engine does: a local pool replaces a recycled worker only when work is submitted)."""
    results: list[Any] = [None] * len(tasks)
    pending: dict[Future, int] = {}
    queue = iter(enumerate(tasks))
    while True:
        for i, (params, seed) in queue:
            pending[pool.submit(simulate, params, seed)] = i
            if len(pending) >= max(window, 1):
                break
        if not pending:
            return results
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            results[pending.pop(fut)] = fut.result()


# ---- the objective -----------------------------------------------------------------------------------------------


class Objective:
    """J(θ) on a fixed seed list (common random numbers), evaluated in batches on an executor.

    Evaluations are cached by θ, so a candidate is never run twice in one calibration.
    """

    def __init__(self, cfg: CalibrationConfig, obs: Observations, pool: Executor, window: int = 1) -> None:
        self.cfg, self.obs, self.pool, self.window = cfg, obs, pool, window
        self.moments = list(cfg.moments)
        self.observed_raw = np.array([m.raw(obs.value) for m in self.moments])
        self.observed = np.array([m.transform(x) for m, x in zip(self.moments, self.observed_raw, strict=True)])
        self.obs_error = np.array([m.observation_error(obs, cfg.errors) for m in self.moments])
        self.weights: np.ndarray | None = None
        self.sd_start = np.full(len(self.moments), np.nan)
        self.cache: dict[tuple[float, ...], dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.batches = 0
        self.stage = "start"
        self.runs = 0

    def tables(self, xs: list[np.ndarray], seeds: tuple[int, ...]) -> list[list[pd.Series]]:
        """The yearly tables of each candidate on ``seeds`` (the batch's runs share the executor's window)."""
        tasks = [(self.cfg.params_at(x), s) for x in xs for s in seeds]
        flat = run_batch(self.pool, self.window, tasks)
        self.runs += len(tasks)
        n = len(seeds)
        return [flat[i * n : (i + 1) * n] for i in range(len(xs))]

    def simulate(self, xs: list[np.ndarray], seeds: tuple[int, ...] | None = None) -> list[dict[str, Any]]:
        """Simulated moments of each candidate on ``seeds`` (default: the calibration seeds)."""
        return [simulated_moments(self.moments, t) for t in self.tables(xs, seeds or self.cfg.seeds)]

    def set_weights(self, sd_one: np.ndarray) -> None:
        """W = diag(1 / (σ_obs² + (1 + 1/R) σ_sim²)), σ_sim the one-run sd at the start point (from the
        calibration and the check seeds together)."""
        r = len(self.cfg.seeds)
        self.sd_start = sd_one
        sim_var = np.where(np.isfinite(sd_one), sd_one**2, 0.0) * (1.0 + 1.0 / r)
        self.weights = 1.0 / (self.obs_error**2 + sim_var)

    def value(self, transformed: np.ndarray) -> float:
        """J for a vector of simulated moments (a penalty if any is undefined)."""
        assert self.weights is not None
        d = transformed - self.observed
        if not np.all(np.isfinite(d)):
            return PENALTY
        return float(np.sum(self.weights * d**2))

    def evaluate(self, xs: list[np.ndarray]) -> list[dict[str, Any]]:
        """Simulated moments and J of each candidate (cached)."""
        keys = [_key(x) for x in xs]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if todo:
            sims = self.simulate([np.array(k) for k in todo])
            self.batches += 1
            for k, sim in zip(todo, sims, strict=True):
                self.store(k, sim)
        return [self.cache[k] for k in keys]

    def store(self, key: tuple[float, ...], sim: dict[str, Any]) -> dict[str, Any]:
        """Cache a candidate's simulated moments with its objective, and log it."""
        sim = {**sim, "objective": self.value(sim["transformed"])}
        self.cache[key] = sim
        row = {"batch": self.batches, "stage": self.stage, **dict(zip(self.names, key, strict=True))}
        self.history.append({**row, "objective": sim["objective"]})
        return sim

    @property
    def names(self) -> list[str]:
        return [e.key for e in self.cfg.parameters]

    def __call__(self, x: np.ndarray) -> np.ndarray | float:
        """scipy's vectorised interface: ``x`` of shape (N, S) gives S objectives (or one for shape (N,))."""
        x = np.asarray(x, float)
        if x.ndim == 1:
            return self.evaluate([x])[0]["objective"]
        return np.array([e["objective"] for e in self.evaluate(list(x.T))])


def _key(x: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.round(np.asarray(x, float), 12))


# ---- standard errors ---------------------------------------------------------------------------------------------


def jacobian(obj: Objective, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference Jacobian of the transformed moments at x (one-sided at a bound), same seeds.

    Step: ``standard_errors.step`` x the parameter's search range. Returns (G, steps).
    """
    cfg = obj.cfg
    pts, plan = [], []
    for j, (lo, hi) in enumerate(cfg.bounds):
        h = cfg.jacobian_step * (hi - lo)
        up, dn = min(x[j] + h, hi), max(x[j] - h, lo)
        xu, xd = x.copy(), x.copy()
        xu[j], xd[j] = up, dn
        pts += [xu, xd]
        plan.append(up - dn)
    res = obj.evaluate(pts)
    g = np.column_stack(
        [(res[2 * j]["transformed"] - res[2 * j + 1]["transformed"]) / plan[j] for j in range(len(plan))]
    )
    return g, np.array(plan)


def sandwich(g: np.ndarray, w: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, bool]:
    """MSM covariance (GᵀWG)⁻¹ GᵀWΣWG (GᵀWG)⁻¹ for diagonal W and Σ; flags a singular GᵀWG."""
    gw = g.T * w
    a = gw @ g
    singular = bool(np.linalg.matrix_rank(a) < a.shape[0])
    ainv = np.linalg.pinv(a)
    return ainv @ (gw * sigma) @ gw.T @ ainv, singular


# ---- the calibration ---------------------------------------------------------------------------------------------


def near_optimal(obj: Objective, j_opt: float, level: float = 0.95) -> dict[str, Any]:
    """Range of each parameter over the evaluated candidates with J <= J_opt + the chi-square(p) quantile: a
    rough, search-dependent picture of how flat the objective is around the optimum."""
    p = len(obj.cfg.parameters)
    cut = j_opt + float(stats.chi2.ppf(level, p))
    pts = np.array([k for k, v in obj.cache.items() if v["objective"] <= cut])
    return {
        "threshold": cut,
        "level": level,
        "candidates": len(pts),
        "ranges": {n: [float(pts[:, j].min()), float(pts[:, j].max())] for j, n in enumerate(obj.names)},
    }


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
