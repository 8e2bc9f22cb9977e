"""The MSM objective J(θ) = d(θ)ᵀ W d(θ) over the executor (:class:`Objective`, with its cache of every
candidate), the numerical Jacobian and sandwich covariance of the standard errors, and the near-optimal set."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

import numpy as np
import pandas as pd
from jjjsim.model.params import Params
from scipy import stats

from .config import PENALTY, CalibrationConfig
from .moments import Observations, simulate, simulated_moments


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
