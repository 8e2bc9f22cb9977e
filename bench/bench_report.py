"""Report benchmark: time to build the HTML report of a 15-scenario, 30-seed experiment, its size, and the time
Chromium takes to open it from disk and draw every figure.

Usage: ``python bench/bench_report.py [RESULTS]``. RESULTS defaults to results/brief-measures (the main job's
folder, after ``make run``); without it the benchmark first runs brief-measures at agent scale 0.05 (450 runs,
the same tables and figures as the main job) into a temporary folder.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from jjjsim.experiments.definition import builtin_dir, load_experiment
from jjjsim.experiments.results import load_results
from jjjsim.experiments.sweep import sweep
from jjjsim.viz.report import render, sections, summary_table, write_report

TARGET_MB = 15.0
CHROMIUM = Path("/usr/bin/chromium")


def open_in_chromium(path: Path, figures: int) -> float:
    """Seconds from navigation to every figure drawn, in headless Chromium with the network off."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(offline=True, viewport={"width": 1280, "height": 900}).new_page()
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}", timeout=120_000
        )
        seconds = time.perf_counter() - t0
        browser.close()
    return seconds


def main() -> None:
    """Print the report benchmark."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", nargs="?", default=Path("results/brief-measures"), type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.results
        if not (folder / "manifest.json").exists():
            text = (builtin_dir() / "brief-measures.toml").read_text()
            path = Path(tmp) / "brief-measures.toml"
            path.write_text(re.sub(r"(?m)^scale = [0-9.]+", "scale = 0.05", text))
            folder = Path(tmp) / "results"
            t0 = time.perf_counter()
            sweep(load_experiment(path), folder)
            print(f"(ran brief-measures at scale 0.05 first: {time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        res = load_results(folder)
        t1 = time.perf_counter()
        secs, comparison = sections(res)
        t2 = time.perf_counter()
        render(res, secs, summary_table(res, comparison))
        t3 = time.perf_counter()
        out = write_report(folder, Path(tmp) / "report.html")
        total = time.perf_counter() - t3
        seeds = res.runs.seed.nunique()
        print(f"report of {res.name}: {len(res.labels)} scenarios x {seeds} seeds, {len(res.runs)} runs")
        print(f"  load the results folder      {t1 - t0:6.2f} s")
        print(f"  aggregate and build figures  {t2 - t1:6.2f} s   ({len(secs)} figures)")
        print(f"  render the HTML              {t3 - t2:6.2f} s")
        print(f"  write_report() end to end    {total:6.2f} s")
        size = out.stat().st_size / 1e6
        met = "met" if size < TARGET_MB else "NOT met"
        print(f"  file size                    {size:6.1f} MB  (target < {TARGET_MB:.0f} MB: {met})")
        if CHROMIUM.exists():
            print(f"  open in Chromium, all drawn  {open_in_chromium(out, len(secs)):6.2f} s  (network off)")
        else:
            print("  (no /usr/bin/chromium: browser timing skipped; apt-get install -y chromium)")


if __name__ == "__main__":
    main()
