"""The figures of docs/results.md and docs/validation.md (docs/img/), regenerated from the experiments' results.

Usage: ``.venv/bin/python tools/docs_figures.py [--results results] [--out docs/img]`` after
``jjjsim reproduce E1`` … ``E6`` (each into ``results/E<k>``, E5 into ``results/E5-calibration``). Each figure
is the PNG the report (or the validation) writes for that result: nothing is drawn here that the experiment's
own report does not show. The README's screenshots of the report and the app are ``tools/screenshots.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from jjjsim.viz.report import write_report

# docs/img name <- (experiment results folder, sweep inside it, report figure key, report metrics)
REPORT_FIGURES: dict[str, tuple[str, str, str, list[str] | None]] = {
    "results-e2-value-added.png": ("E2", "grid", "heatmap-value_added", ["value_added", "talent_fte.Hebei"]),
    "results-e2-hebei-fte.png": ("E2", "grid", "heatmap-talent_fte.Hebei", ["value_added", "talent_fte.Hebei"]),
    "results-e3-spread.png": ("E3", "grid", "heatmap-efficiency_spread", ["efficiency_spread", "duplicates"]),
    "results-e3-duplicates.png": ("E3", "grid", "heatmap-duplicates", ["efficiency_spread", "duplicates"]),
    "results-e6-forest.png": ("E6", "final", "forest", None),
    "results-e1-forest.png": ("E1", "brief-measures", "forest", None),
    "results-e1-cost.png": ("E1", "brief-measures", "cost", None),
}


def main() -> None:
    """Write the figures, and say which could not be made (their results are missing)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=Path("results"), type=Path)
    ap.add_argument("--out", default=Path("docs/img"), type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    missing: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        done: dict[tuple[str, str, tuple[str, ...] | None], Path] = {}
        for name, (exp, sweep, key, metrics) in REPORT_FIGURES.items():
            folder = args.results / exp / sweep
            if not folder.is_dir():
                missing.append(f"{name}: no {folder} (run `jjjsim reproduce {exp}`)")
                continue
            job = (exp, sweep, tuple(metrics) if metrics else None)
            if job not in done:
                pngs = Path(tmp) / f"{exp}-{sweep}-{len(done)}"
                write_report(folder, pngs / "report.html", png=pngs, metrics=metrics)
                done[job] = pngs
            shutil.copyfile(done[job] / f"{key}.png", args.out / name)
            print(f"{args.out / name}  <- {folder} ({key})")
    validation = args.results / "E5-calibration" / "validation"
    pngs = sorted(validation.glob("validation-*.png"))
    if not pngs:
        missing.append(f"validation-*.png: none in {validation} (run `jjjsim reproduce E5 --out {validation.parent}`)")
    for p in pngs:
        shutil.copyfile(p, args.out / p.name)
        print(f"{args.out / p.name}  <- {p}")
    if missing:
        sys.exit("not made:\n  " + "\n  ".join(missing))


if __name__ == "__main__":
    main()
