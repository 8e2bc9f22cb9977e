"""Generate the parameter tables of docs/ODD.md from the registry (``python tools/odd_tables.py``).

Every registry entry is in exactly one generated table: the levers in one table (§7.0, with the brief's measure,
causal path, primary outcome, direction and source of each), every other entry in the table of its ``group``
(§7.1-§7.9). A table stands between the lines ``<!-- params:<key>:start -->`` and ``<!-- params:<key>:end -->``
(``<key>`` is ``levers`` or a group); everything outside the markers is the document's own text and is kept.

    python tools/odd_tables.py            rewrite the generated tables of docs/ODD.md in place
    python tools/odd_tables.py --check    exit 1, naming the stale tables, if docs/ODD.md differs from that

``tests/test_odd_tables.py`` runs the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jjjsim.model.registry import REGISTRY, Param

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"
COMMAND = "python tools/odd_tables.py"

PARAM_HEADER = "| name | meaning | unit | default | bounds | role | source |"
LEVER_HEADER = (
    "| lever | brief measure | unit | bounds | default | causal path in the model | primary outcome (summary key)"
    " | direction | source of the default |"
)
GROUPS = ("research", "piloting", "transfer", "regions", "funds", "firms", "talent", "evaluation", "culture")
"""The groups of behavioural and structural parameters with a table of their own, in the order of the ODD (§7.1-§7.8;
``regions``: the barrier parameters beside the transfer market), followed by ``cost`` and ``run``."""
KEYS = ("levers", *GROUPS, "cost", "run")
"""Every generated table, in the order of docs/ODD.md."""

_PER = {"region": "per JJJ region", "region4": "per region", "region_pair": "per region pair", "field": "per field"}
_MARKER = re.compile(r"^<!-- params:([a-z_0-9]+):(start|end) -->$", re.M)


def marker(key: str, end: str) -> str:
    """The marker line ``end`` (``start`` or ``end``) of the generated table ``key``."""
    return f"<!-- params:{key}:{end} -->"


def _in(key: str) -> Callable[[Param], bool]:
    if key == "levers":
        return lambda p: p.role == "lever"
    return lambda p: p.role != "lever" and p.group == key


def tables() -> dict[str, list[Param]]:
    """The registry entries of each generated table, in registry order. Fails if an entry is in no table (a new
    group needs its key in :data:`KEYS` and its markers in docs/ODD.md)."""
    out = {key: [p for p in REGISTRY.values() if _in(key)(p)] for key in KEYS}
    placed = [p.name for ps in out.values() for p in ps]
    missing = [n for n in REGISTRY if n not in placed]
    if missing:
        raise ValueError(f"registry entries in no generated table of docs/ODD.md: {', '.join(missing)} (see KEYS)")
    return out


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _value(v: object) -> str:
    if isinstance(v, dict):
        if len(v) > 4 and len({repr(x) for x in v.values()}) == 1:  # the eight fields: "0 each"
            return f"{_value(next(iter(v.values())))} each"
        return ", ".join(f"{k} {_value(x)}" for k, x in v.items())
    return f"{v:g}" if isinstance(v, float) else str(v)


def _bounds(p: Param) -> str:
    if p.kind == "choice":
        return " / ".join(p.choices)
    return "-" if p.bounds is None else f"[{p.bounds[0]:g}, {p.bounds[1]:g}]"


def row(p: Param) -> str:
    """The row of one parameter in the table of its group."""
    cells = (f"`{p.name}`", p.label, p.unit, _value(p.default), _bounds(p), p.role, p.source or "assumption")
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def lever_row(p: Param) -> str:
    """The row of one lever in the lever table."""
    unit = f"{p.unit} ({_PER[p.per]})" if p.per else p.unit
    direction = {1: "+ (rises)", -1: "− (falls)"}.get(p.effect, "-")
    outcome = f"`{p.outcome}`" if p.outcome else "-"
    cells = (f"`{p.name}`", p.measure or p.label, unit, _bounds(p), _value(p.default), p.causal_path or "-",
             outcome, direction, p.source or "assumption")  # fmt: skip
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def table(key: str, params: Sequence[Param]) -> str:
    """The markdown of the generated table ``key`` (without its markers)."""
    header, make = (LEVER_HEADER, lever_row) if key == "levers" else (PARAM_HEADER, row)
    rule = "|" + "---|" * header.count(" | ") + "---|"
    return "\n".join([header, rule, *(make(p) for p in params)])


def blocks(text: str) -> dict[str, tuple[int, int]]:
    """Where each generated table of ``text`` stands: key -> (start, end) of the text between its markers. Fails
    on a missing, repeated, unknown or unpaired marker."""
    found: dict[str, tuple[int, int]] = {}
    open_key, open_at = None, 0
    for m in _MARKER.finditer(text):
        key, end = m[1], m[2]
        if key not in KEYS:
            raise ValueError(f"unknown generated table {marker(key, end)} (known: {', '.join(KEYS)})")
        if end == "start":
            if open_key is not None:
                raise ValueError(f"{marker(key, 'start')} inside params:{open_key}, whose end marker is missing")
            if key in found:
                raise ValueError(f"generated table params:{key} appears twice")
            open_key, open_at = key, m.end()
        elif open_key != key:
            raise ValueError(f"{marker(key, 'end')} without its start marker")
        else:
            found[key], open_key = (open_at, m.start()), None
    if open_key is not None:
        raise ValueError(f"{marker(open_key, 'start')} has no end marker")
    missing = [k for k in KEYS if k not in found]
    if missing:
        raise ValueError("no markers for the generated table(s) " + ", ".join(f"params:{k}" for k in missing))
    return found


def generated(text: str) -> dict[str, str]:
    """The text between the markers of each generated table of ``text``."""
    return {key: text[a:b] for key, (a, b) in blocks(text).items()}


def expected() -> dict[str, str]:
    """What the tool writes between the markers of each table: the table, a blank line on either side."""
    return {key: f"\n\n{table(key, ps)}\n\n" for key, ps in tables().items()}


def refresh(text: str) -> str:
    """``text`` with every generated table rewritten from the registry; the rest of the text is kept."""
    want = expected()
    out, at = [], 0
    for key, (a, b) in sorted(blocks(text).items(), key=lambda kv: kv[1]):
        out += [text[at:a], want[key]]
        at = b
    return "".join(out) + text[at:]


def stale(text: str) -> list[str]:
    """The keys of the generated tables of ``text`` that differ from the registry."""
    want, have = expected(), generated(text)
    return [key for key in KEYS if have[key] != want[key]]


def main(argv: Sequence[str] | None = None, odd: Path = ODD) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated table is stale; write nothing")
    args = parser.parse_args(argv)
    name = odd.name if odd != ODD else "docs/ODD.md"
    text = odd.read_text(encoding="utf-8")
    try:
        old = stale(text)
        new = refresh(text)
    except ValueError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    if args.check:
        if old:
            tabs = ", ".join(f"params:{k}" for k in old)
            print(f"{name}: generated table(s) {tabs} differ from the registry; run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if new != text:
        odd.write_text(new, encoding="utf-8")
        print(f"{name}: rewrote {', '.join(f'params:{k}' for k in old)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
