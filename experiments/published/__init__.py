"""The published experiments and ``jjjsim reproduce E1`` … ``E7``: regenerate a published experiment's results,
report and tables into a folder.

Each experiment lives in ``experiments/E<k>-<name>/`` with a README (question, design, command, run time,
outputs) and its definition files; its logic is the module ``e<k>`` of this package, and :func:`reproduce`
only dispatches to it. Reproducing one runs its sweeps through the ordinary sweep engine (so it
resumes after an interruption and runs locally or on Dask), writes each sweep's HTML report, computes the
experiment's own tables, and records everything in ``manifest.json``. ``quick=True`` runs a reduced version
(a few seeds, a tiny agent scale, few quarters) in well under a minute: it exercises the whole pipeline, but
its numbers are not the findings.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from jjjsim.model.errors import ConfigError
from jjjsim.model.provenance import versions

from . import e1, e2, e3, e4, e5, e6, e7
from .common import QUICK, QUICK_SAMPLES, Progress, Published, progress_callbacks

__all__ = ["PUBLISHED", "QUICK", "QUICK_SAMPLES", "Progress", "Published", "reproduce"]

PUBLISHED: dict[str, Published] = {
    p.key: p
    for p in (
        Published(
            "E1", "E1-brief-measures", "Which measure helps which region, by how much, at what public cost?", e1.run
        ),
        Published("E2", "E2-fund-talent", "Fund size and talent incentives: complements or substitutes?", e2.run),
        Published("E3", "E3-autonomy-evaluation", "Does differentiated evaluation make autonomy safe?", e3.run),
        Published("E4", "E4-sensitivity", "Which levers and uncertain parameters drive the main outcomes?", e4.run),
        Published("E5", "E5-calibration", "How well does the calibrated model fit, in and out of sample?", e5.run),
        Published(
            "E6", "E6-budget-mix", "The best policy mix under a fixed public budget, with its uncertainty", e6.run
        ),
        Published("E7", "E7-dose-cost", "What does each measure do per dose, and at equal public cost?", e7.run),
    )
}


def reproduce(
    key: str,
    out: str | Path | None = None,
    *,
    quick: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Regenerate a published experiment (``E1`` … ``E7``) into ``out`` (default ``results/<key>[-quick]``).

    Returns the output folder, which holds ``manifest.json`` (what ran, with which code, how long, which files),
    the sweeps' results folders, their HTML reports and the experiment's tables (CSV and markdown).
    """
    pub = PUBLISHED.get(key.upper())
    if pub is None:
        raise ConfigError("reproduce", key, f"one of {', '.join(PUBLISHED)}", key)
    folder = Path(out) if out is not None else Path("results") / (pub.key + ("-quick" if quick else ""))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(str(folder), "--out", "a writable folder", f"{type(e).__name__}: {e.strerror}") from None
    started = time.time()
    if progress is not None:
        progress_callbacks.append(progress)
    try:
        outputs = pub.run(folder, quick, workers, dask)
    finally:
        if progress is not None:
            progress_callbacks.pop()
    manifest = {
        "experiment": pub.key,
        "question": pub.question,
        "definition_folder": f"experiments/{pub.folder}",
        "quick": quick,
        "command": " ".join(["jjjsim", *sys.argv[1:]]) if sys.argv and "jjjsim" in sys.argv[0] else None,
        "started": started,
        "finished": time.time(),
        "seconds": round(time.time() - started, 1),
        "versions": versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "outputs": outputs,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return folder
