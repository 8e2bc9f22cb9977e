"""Tables of results as files: CSV, and GitHub-flavoured markdown without an extra dependency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", missing: str = "–", yes_no: bool = False) -> str:
    """A GitHub-flavoured markdown table (no extra dependency): numbers with ``floatfmt``, a NaN as ``missing``,
    booleans as yes/no with ``yes_no``."""
    cols = list(df.columns)

    def cell(v: Any) -> str:
        if yes_no and isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, float | np.floating):
            return missing if not np.isfinite(v) else format(v, floatfmt)
        return str(v)

    rows = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(rows) + "\n"


def write_table(df: pd.DataFrame, out: Path, stem: str) -> list[str]:
    """``df`` as ``<stem>.csv`` and ``<stem>.md`` in ``out``; returns the two file names."""
    df.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.md").write_text(markdown_table(df), encoding="utf-8")
    return [f"{stem}.csv", f"{stem}.md"]
