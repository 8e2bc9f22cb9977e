"""Refresh the parameter rows of docs/ODD.md from the registry (``python tools/odd_tables.py``).

A row ``| `name` | label | unit | default | bounds | role | source |`` of a registry parameter is rewritten with
the registry's current values; other lines are left as they are. ``tests/model/test_params.py`` checks the rows.
"""

from __future__ import annotations

import re
from pathlib import Path

from jjjsim.model.params import REGISTRY, Param

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def _value(v: object) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_value(x)}" for k, x in v.items())
    return f"{v:g}" if isinstance(v, float) else str(v)


def row(p: Param) -> str:
    """The ODD table row of one parameter."""
    bounds = "-" if p.bounds is None else f"[{p.bounds[0]:g}, {p.bounds[1]:g}]"
    return f"| `{p.name}` | {p.label} | {p.unit} | {_value(p.default)} | {bounds} | {p.role} | {p.source} |"


def refresh(text: str) -> str:
    """``text`` with every registry parameter row (7 cells) rewritten from the registry."""

    def sub(m: re.Match[str]) -> str:
        p = REGISTRY.get(m[1])
        cells = m[2].rstrip(" |").split(" | ")
        return row(p) if p is not None and p.role != "lever" and len(cells) == 6 else m[0]

    return re.sub(r"^\| `([a-z_0-9]+)` \| (.*)$", sub, text, flags=re.M)


if __name__ == "__main__":
    ODD.write_text(refresh(ODD.read_text(encoding="utf-8")), encoding="utf-8")
