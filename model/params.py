"""Parameter sets: registry defaults plus checked overrides (:class:`Params`, :func:`validate`, :func:`defaults`).

Every number the model uses is declared once (in :mod:`.registry`), with label, unit, bounds, default, role
and source. Scenario validation, ``--set`` overrides, sweep designs and app sliders are all generated from
:data:`REGISTRY`; nothing else in the project writes a default again.

Roles follow the EMA Workbench vocabulary: ``lever`` (a policy choice), ``uncertainty`` (a behavioural
parameter whose true value is uncertain) and ``structural`` (set-up choices: start year, scale, units).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import timeline
from .errors import ConfigError, did_you_mean
from .registry import LEVERS, REGISTRY, Param

__all__ = ["LEVERS", "REGISTRY", "ConfigError", "Param", "Params", "defaults", "did_you_mean", "validate"]


@dataclass(frozen=True)
class Params:
    """A complete, validated parameter set: registry defaults plus overrides."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")  # absent while unpickling: no recursion through __getattr__
        if values is None or name not in values:
            raise AttributeError(name)
        v = values[name]
        p = REGISTRY[name]
        return np.array([v[k] for k in p.keys], dtype=float) if p.per else v

    def replace(self, overrides: dict[str, Any], where: str = "overrides") -> Params:
        """Return a copy with validated ``overrides`` applied (per-key tables are merged; a ``timeline`` is
        replaced whole, and its dates are re-checked when ``start_year`` or ``steps`` change)."""
        return Params({**self.values, **validate(overrides, where, self.values)})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return json.loads(json.dumps(self.values))

    def digest(self) -> str:
        """A stable hash of the values (for run ids and manifests)."""
        return hashlib.sha256(json.dumps(timeline.identity(self.values), sort_keys=True).encode()).hexdigest()[:16]


def validate(overrides: dict[str, Any], where: str, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate overrides against the registry; unknown names fail with a suggestion. A timeline's dates are
    checked against the run (``start_year``, ``steps``) of the combined values, whenever any of the three is in
    ``overrides``."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in REGISTRY:
            raise ConfigError(
                where, key, "a lever or parameter name (see `jjjsim levers`)", key, did_you_mean(key, REGISTRY)
            )
        p = REGISTRY[key]
        if p.per and isinstance(value, dict) and current is not None:
            value = {**current[key], **value}
        out[key] = timeline.canonical(value, where) if p.kind == "timeline" else p.validate(value, where)
    run_known = current is not None or {"start_year", "steps"} <= out.keys()  # else checked when it is known
    if run_known and {timeline.NAME, "start_year", "steps", *timeline.ONLY_UP} & out.keys():
        combined = {**defaults().values, **(current or {}), **out}
        timeline.check_run(combined[timeline.NAME], combined, where, start_values=current is not None)
    return out


def defaults() -> Params:
    """The registry's defaults as a :class:`Params`."""
    return Params({n: _fresh(p) for n, p in REGISTRY.items()})


def _fresh(p: Param) -> Any:
    """A parameter's default as a new object where it is mutable (a per-key table, a timeline)."""
    return dict(p.default) if p.per else list(p.default) if p.kind == "timeline" else p.default
