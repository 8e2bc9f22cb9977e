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
Kind = Literal["float", "int", "choice", "timeline"]

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored as 64-bit integers (run tables, manifests) and fed to ``SeedSequence``."""

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
        msg = f"{printable(where)}: {printable(str(key))}: expected {expected}, found {shown(found)}"
        super().__init__(msg + (f" ({printable(hint)})" if hint else ""))

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
        if self.kind == "timeline":  # dated changes of other entries: params.validate checks them (model/timeline.py)
            raise TypeError(f"{self.name}: a timeline is checked by params.validate, with the registry it refers to")
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
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ConfigError(where, key, f"a number ({self.unit})", value)
        if isinstance(value, int | np.integer) and abs(int(value)) > 2**53:  # float() would lose it or overflow
            lo, hi = self.bounds if self.bounds else (-np.inf, np.inf)
            raise ConfigError(where, key, f"a value in [{lo:g}, {hi:g}] {self.unit}", value)
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


def check_seed(value: Any, where: str, key: str = "seed") -> int:
    """A seed: a whole number from 0 to :data:`MAX_SEED` (ConfigError otherwise)."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and 0 <= int(value) <= MAX_SEED
    if not ok:
        raise ConfigError(where, key, f"a whole number from 0 to {MAX_SEED}", value)
    return int(value)


def printable(text: str) -> str:
    """``text`` with control characters (line breaks included) escaped, so a message stays one line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(value: Any, limit: int = 200) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (a huge integer by its number of digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def did_you_mean(word: str, options: Any) -> str:
    """A "did you mean" hint naming the closest of ``options`` to ``word``, or "" if none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
