"""Screenshots for the README (docs/img/): the report of the main job and both pages of the live app.

Usage: ``.venv/bin/python tools/screenshots.py [RESULTS] [--out docs/img]`` after ``make run`` (RESULTS defaults to
results/brief-measures). Drives Debian's Chromium (/usr/bin/chromium) through Playwright, with every request
to another machine refused, as the browser tests do. Chinese labels need a CJK font (fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
REPORT_SECTIONS = ("forest", "cost", "time-value_added", "sankey-contract_value", "map", "shares-all-measures")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_only(route: Route) -> None:
    url = route.request.url
    ok = url.startswith(("file:", "data:", "blob:", "about:", "http://127.0.0.1"))
    route.continue_() if ok else route.abort()


def main() -> None:
    """Write the screenshots."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", nargs="?", default="results/brief-measures", type=Path)
    ap.add_argument("--out", default=Path("docs/img"), type=Path)
    args = ap.parse_args()
    report = args.results / "report.html"
    if not report.exists():
        sys.exit(f"{report}: no report (run `make run`, or `jjjsim report {args.results}`, first)")
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jjjsim", "app", "--port", str(port), "--results", str(args.results)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 1100}, device_scale_factor=1)
            context.route("**/*", _local_only)
            page = context.new_page()
            page.goto(report.resolve().as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 5")
            page.screenshot(path=str(args.out / "report-top.png"))
            for key in REPORT_SECTIONS:
                section = page.locator(f"section#{key}")
                if section.count():
                    section.screenshot(path=str(args.out / f"report-{key}.png"))
            page.goto(url + "/live")
            page.wait_for_selector("#live-step-count")
            page.click("#live-scenario")  # all-measures against its baseline
            page.get_by_role("option", name="all-measures", exact=True).click()
            page.wait_for_function("document.getElementById('live-status').textContent.includes('all-measures')")
            page.click("#live-run")
            done = "Number(document.getElementById('live-step-count').textContent) >= 20"  # Run's default: 20 quarters
            page.wait_for_function(done, timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "app-live.png"))
            page.goto(url + "/results")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "app-results.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    for f in sorted(args.out.glob("*.png")):
        print(f)


if __name__ == "__main__":
    main()
