"""A lever or parameter of the registry: its metadata and the validation of user values."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .regions import FIELDS, JJJ, REGION_PAIRS, REGIONS

Role = Literal["lever", "uncertainty", "structural"]
Per = Literal["region", "region4", "region_pair", "field"] | None
Kind = Literal["float", "int", "choice"]

_PER_KEYS: dict[str, tuple[str, ...]] = {
    "region": JJJ,
    "region4": REGIONS,
    "region_pair": REGION_PAIRS,
    "field": FIELDS,
}


class ConfigError(ValueError):
    """Bad user input: names the file, the key, what was expected and what was found."""

    def __init__(self, where: str, key: str, expected: str, found: Any, hint: str = "") -> None:
        self.where, self.key, self.expected, self.found, self.hint = where, key, expected, found, hint
        msg = f"{where}: {key}: expected {expected}, found {found!r}"
        super().__init__(msg + (f" ({hint})" if hint else ""))

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (a sweep's worker to its driver)
        return type(self), (self.where, self.key, self.expected, self.found, self.hint)


@dataclass(frozen=True)
class Param:
    """One lever or parameter: its meaning, unit, bounds, default, role and source."""

    name: str
    label: str
    unit: str
    default: Any
    bounds: tuple[float, float] | None
    role: Role
    source: str
    per: Per = None
    kind: Kind = "float"
    choices: tuple[str, ...] = ()
    measure: str = ""
    causal_path: str = ""
    group: str = "general"
    outcome: str = ""
    """Levers: the summary indicator (``RunResult.summary`` key; ``<region>`` for per-region levers) the
    lever moves first."""
    effect: int = 0
    """Levers: sign of d(outcome)/d(lever), +1 or -1 (for a choice: moving to its last option)."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Sub-keys of a per-region, per-pair or per-field parameter (empty for a scalar)."""
        return _PER_KEYS[self.per] if self.per else ()

    def validate(self, value: Any, where: str) -> Any:
        """Check one user value (a scalar, or a table of sub-keys) and return it in canonical form."""
        if self.per is None:
            return self._scalar(value, where, self.name)
        if not isinstance(value, dict):
            value = {k: value for k in self.keys}  # one number for every region / pair / field
        out = dict(self.default)
        for sub, v in value.items():
            if sub not in self.keys:
                raise ConfigError(
                    where,
                    f"{self.name}.{sub}",
                    f"one of {', '.join(self.keys)}",
                    sub,
                    did_you_mean(str(sub), self.keys),
                )
            out[sub] = self._scalar(v, where, f"{self.name}.{sub}")
        return out

    def _scalar(self, value: Any, where: str, key: str) -> Any:
        if self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(
                    where, key, f"one of {', '.join(self.choices)}", value, did_you_mean(str(value), self.choices)
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(where, key, f"a number ({self.unit})", value)
        if not math.isfinite(value):
            raise ConfigError(where, key, f"a finite number ({self.unit})", value)
        if self.kind == "int":
            if float(value) != int(value):
                raise ConfigError(where, key, "a whole number", value)
            value = int(value)
        else:
            value = float(value)
        lo, hi = self.bounds if self.bounds else (-np.inf, np.inf)
        if not lo <= value <= hi:
            raise ConfigError(where, key, f"a value in [{lo:g}, {hi:g}] {self.unit}", value)
        return value


def did_you_mean(word: str, options: Any) -> str:
    """A "did you mean" hint naming the closest of ``options`` to ``word``, or "" if none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
