"""The HTML report: self-contained, the figures the data supports, bad input refused with one clear line."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from jjjsim.experiments.definition import builtin_dir, load_experiment
from jjjsim.experiments.sweep import sweep
from jjjsim.model.param import ConfigError
from jjjsim.viz.report import write_report

MAX_MB = 15.0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jjjsim", *args], capture_output=True, text=True, timeout=300, check=False
    )


def _figures(path: Path) -> list[dict]:
    return json.loads(path.with_name(path.stem + "-figures.json").read_text())


def test_scenario_report_is_self_contained_with_every_figure(scenario_results: Path, tmp_path: Path) -> None:
    path = write_report(scenario_results, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    keys = [f["key"] for f in _figures(path)]
    for key in ("forest", "cost", "time-value_added", "shares-baseline", "sankey-contract_value", "map"):
        assert key in keys, key
    assert text.count("Plotly.newPlot(") == len(keys)
    assert "plotly.js v" in text and len(text) > 3_000_000  # the library itself is inlined, once
    assert not re.search(r"<script[^>]+src=", text), "no external scripts"
    assert not re.search(r"<link[^>]+href=\"?https?:", text), "no external stylesheets"
    for f in _figures(path):
        assert f["caption"] and f"id='{f['key']}'" in text
    assert "difference vs baseline" in text  # the summary table
    assert (tmp_path / "r-comparison.csv").exists()


def test_grid_and_sobol_reports_show_their_designs(grid_results: Path, sobol_results: Path, tmp_path: Path) -> None:
    grid = _figures(write_report(grid_results, tmp_path / "g.html"))
    assert any(f["key"].startswith(("heatmap-", "response-")) for f in grid)
    sobol = _figures(write_report(sobol_results, tmp_path / "s.html"))
    assert any(f["key"].startswith("sensitivity-") for f in sobol)


def test_report_of_a_full_size_experiment_stays_small(tmp_path: Path) -> None:
    """15 scenarios x 40 quarters, as the main job: the file's size depends on scenarios and steps (figures
    are aggregated across seeds), not on the number of seeds, so 2 seeds at a tiny scale stand in for 30."""
    text = (builtin_dir() / "brief-measures.toml").read_text()
    text = re.sub(r"(?m)^count = \d+", "count = 2", text)
    text = re.sub(r"(?m)^scale = [0-9.]+", "scale = 0.02", text)
    exp_path = tmp_path / "bm.toml"
    exp_path.write_text(text)
    exp = load_experiment(exp_path)
    assert len(exp.runs) == 30 and exp.steps == 40
    sweep(exp, tmp_path / "res", workers=1)
    path = write_report(tmp_path / "res", tmp_path / "bm.html")
    assert path.stat().st_size / 1e6 < MAX_MB
    assert len(_figures(path)) >= 8


def test_report_writes_pngs(scenario_results: Path, tmp_path: Path) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("PNG export drives Chromium through kaleido: apt-get install -y chromium")
    write_report(scenario_results, tmp_path / "r.html", png=tmp_path / "png")
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert len(pngs) == len(_figures(tmp_path / "r.html"))
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in pngs)
    # each image is as tall as its figure in the report (a fixed height would squash the multi-panel ones)
    heights = {f["key"]: struct.unpack(">II", (tmp_path / "png" / f"{f['key']}.png").read_bytes()[16:24]) for f in
               json.loads((tmp_path / "r-figures.json").read_text())}  # fmt: skip
    assert len({h for _, h in heights.values()}) > 1 and all(w == 1100 for w, _ in heights.values())


def test_missing_and_incomplete_folders_are_clear_errors(scenario_results: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere"):
        write_report(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, where in (
        (("report", str(tmp_path / "nowhere")), "nowhere"),
        (("report", str(empty)), "empty"),
        (("report", str(scenario_results), "--lang", "fr"), "--lang"),
        (("report", str(scenario_results), "-o", "/proc/forbidden/r.html"), "/proc/forbidden/r.html"),
    ):
        run = _cli(*args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr and where in run.stderr, run.stderr
        assert run.stderr.strip().startswith("error:") and len(run.stderr.strip().splitlines()) <= 3


def test_report_through_the_command_line_prints_its_path(scenario_results: Path, tmp_path: Path) -> None:
    run = _cli("report", str(scenario_results), "-o", str(tmp_path / "x.html"), "--lang", "zh")
    assert run.returncode == 0, run.stderr
    assert "Report written:" in run.stdout and str((tmp_path / "x.html").resolve()) in run.stdout.replace("\n", "")
    text = (tmp_path / "x.html").read_text(encoding="utf-8")
    assert "北京" in text or "\\u5317\\u4eac" in text  # plotly writes its JSON ASCII-escaped


@pytest.mark.browser
def test_report_renders_offline_in_chromium(scenario_results: Path, tmp_path: Path) -> None:
    """Open the report from disk with the network off: every figure renders, no console errors."""
    from browser import chromium, console_errors, offline_context, screenshot

    path = write_report(scenario_results, tmp_path / "report.html")
    n = len(_figures(path))
    with chromium() as browser:
        context = offline_context(browser, offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = console_errors(page)
        page.goto(path.resolve().as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=60_000)
        plots = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        drawn = page.evaluate(  # every plot has drawn traces (lines, bars, markers, Sankey links or heatmap cells)
            """[...document.querySelectorAll('.js-plotly-plot')].filter(d =>
                d.querySelector('.scatterlayer .trace, .barlayer .trace, .sankey .sankey-link, .heatmaplayer image,'
                + ' .heatmaplayer .hm, .scatterlayer path')).length"""
        )
        screenshot(page, "report", tmp_path)
        assert plots == n and drawn == n, (plots, drawn, n)
        assert errors == [] and context.blocked == []
        context.close()


def test_report_metrics_can_be_chosen_and_grid_points_are_named(grid_results: Path, tmp_path: Path) -> None:
    path = write_report(grid_results, tmp_path / "g.html", metrics=["public_cost", "results"])
    keys = [f["key"] for f in _figures(path)]
    assert "heatmap-public_cost" in keys and "heatmap-value_added" not in keys
    text = path.read_text(encoding="utf-8")
    assert "fund_size=" in text  # legends name grid points by their lever values, not point-0003
    with pytest.raises(ConfigError, match="--metric.*no_such_metric"):
        write_report(grid_results, tmp_path / "x.html", metrics=["no_such_metric"])
    run = _cli("report", str(grid_results), "-o", str(tmp_path / "y.html"), "--metric", "no_such_metric")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "no_such_metric" in run.stderr
