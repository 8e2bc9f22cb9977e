"""Put a benchmark's printed output into ``bench/README.md``, between the markers ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``, so that the numbers there are the benchmark's own output, never typed."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_block(name: str, text: str, readme: Path = README) -> None:
    """Replace the block ``name`` of ``readme`` with ``text`` in a fenced code block (the markers must exist)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    doc = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{readme}: no block {start} ... {end} to write the output into")
    block = f"{start}\n```text\n{text.rstrip()}\n```\n{end}"
    readme.write_text(pattern.sub(lambda _: block, doc, count=1), encoding="utf-8")


def report_to(name: str, report: Callable[[], None], write: bool, readme: Path = README) -> None:
    """Run ``report`` (which prints); if ``write``, also put what it printed into the README's block ``name``."""
    if not write:
        report()
        return
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        report()
    print(buffer.getvalue(), end="")
    write_block(name, buffer.getvalue(), readme)
    print(f"\nwritten into {readme}")
