"""Bad user input and the checks every entry point shares: :class:`ConfigError` (one line naming the file, the
key, what was expected and what was found), seeds, and the "did you mean" hint."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored as 64-bit integers (run tables, manifests) and fed to ``SeedSequence``."""


class ConfigError(ValueError):
    """Bad user input: names the file, the key, what was expected and what was found."""

    def __init__(self, where: str, key: str, expected: str, found: Any, hint: str = "") -> None:
        self.where, self.key, self.expected, self.found, self.hint = where, key, expected, found, hint
        msg = f"{printable(where)}: {printable(str(key))}: expected {expected}, found {shown(found)}"
        super().__init__(msg + (f" ({printable(hint)})" if hint else ""))

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (a sweep's worker to its driver)
        return type(self), (self.where, self.key, self.expected, self.found, self.hint)


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
