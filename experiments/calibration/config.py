"""The calibration's configuration (``calibration.toml``): the scenario and run size, the parameters estimated
with their search boxes and reasons, the moments, the seeds and the optimiser's settings, read and checked by
:func:`load_config` (one clear error naming the file and key for anything wrong)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from jjjsim.model.errors import ConfigError, did_you_mean
from jjjsim.model.params import REGISTRY, Params, validate
from jjjsim.model.scenario import load_scenario, read_toml

from .moments import Moment, moment_from_table

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
