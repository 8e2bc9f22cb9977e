"""The HTML report: self-contained, the figures the data supports, bad input refused with one clear line."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.definition import builtin_dir, load_experiment
from jjjsim.experiments.sweep import sweep
from jjjsim.model.errors import ConfigError
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
    """All of brief-measures' scenarios (17) x 40 quarters, as the main job: the file's size depends on scenarios
    and steps (figures are aggregated across seeds), not on the number of seeds, so 2 seeds at a tiny scale stand
    in for 30."""
    text = (builtin_dir() / "brief-measures.toml").read_text()
    text = re.sub(r"(?m)^count = \d+", "count = 2", text)
    text = re.sub(r"(?m)^scale = [0-9.]+", "scale = 0.02", text)
    exp_path = tmp_path / "bm.toml"
    exp_path.write_text(text)
    exp = load_experiment(exp_path)
    labels = {r.label for r in exp.runs}
    assert len(labels) == 17 and len(exp.runs) == 2 * len(labels) and exp.steps == 40
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


# ---- doses and equal public cost -----------------------------------------------------------------------------


def test_dose_report_has_dose_response_and_equal_cost(dose_results: Path, tmp_path: Path) -> None:
    from jjjsim.experiments.results import load_results
    from jjjsim.viz.report import sections

    path = write_report(dose_results, tmp_path / "d.html")
    text = path.read_text(encoding="utf-8")
    keys = [f["key"] for f in _figures(path)]
    for key in ("forest", "cost", "dose-response", "cost-response", "equal-cost"):
        assert key in keys, key
    assert text.count("Plotly.newPlot(") == len(keys) and not re.search(r"<script[^>]+src=", text)
    assert text.count("How to read this") == 2 and "Fieller" in text  # the plain explanations
    assert "lever settings" in text and "talent_incentive.Hebei = 4" in text  # the per-dose table (2 -> 6, half)
    assert (tmp_path / "d-dose-response.csv").exists() and (tmp_path / "d-equal-cost.csv").exists()
    secs = {s.key: s for s in sections(load_results(dose_results))[0]}
    forest = {y for trace in secs["forest"].figure.data for y in trace.y}  # measures at their own settings only
    assert forest == {"talent-incentives", "collaborative-fund", "autonomy"}
    dose_x = {x for trace in secs["dose-response"].figure.data for x in trace.x}
    assert dose_x == {0.0, 0.5, 1.0}  # each line starts at the baseline


def test_equal_cost_table_matches_a_hand_computation(dose_results: Path, tmp_path: Path) -> None:
    """The report's equal-cost table, recomputed from the runs table: the amount is the smallest of the costly
    measures' largest mean extra costs; each measure's dose costing that much is interpolated between the doses
    around it, and so is each seed's paired difference; the interval is a t interval across the 3 seeds."""
    from scipy import stats

    write_report(dose_results, tmp_path / "d.html")
    table = pd.read_csv(tmp_path / "d-equal-cost.csv")
    runs = pd.read_parquet(dose_results / "runs.parquet").set_index(["label", "seed"]).sort_index()

    def extra(label: str, column: str) -> pd.Series:
        return runs.loc[label, column] - runs.loc["baseline", column]  # by seed

    costly = ("talent-incentives", "collaborative-fund")
    curve = {m: [0.0, extra(f"{m}@0.5", "public_cost").mean(), extra(m, "public_cost").mean()] for m in costly}
    assert all(max(c) > 0 for c in curve.values())
    amount = min(max(c) for c in curve.values())
    assert table.amount.unique() == pytest.approx([amount])
    for m in costly:
        c = curve[m]
        i = next(k for k in range(2) if min(c[k], c[k + 1]) <= amount <= max(c[k], c[k + 1]) and c[k] != c[k + 1])
        w = (amount - c[i]) / (c[i + 1] - c[i])
        diffs = [extra(f"{m}@0.5", "value_added") * 0.0, extra(f"{m}@0.5", "value_added"), extra(m, "value_added")]
        effect = (1 - w) * diffs[i] + w * diffs[i + 1]
        half = stats.t.ppf(0.975, 2) * effect.std(ddof=1) / np.sqrt(3)
        row = table[(table.measure == m) & (table.metric == "value_added")].iloc[0]
        assert row.status == "interpolated" and row.dose == pytest.approx([0.0, 0.5][i] + w * 0.5)  # doses 0, 0.5, 1
        assert (row.effect, row.effect_ci_low, row.effect_ci_high) == pytest.approx(
            (effect.mean(), effect.mean() - half, effect.mean() + half), rel=1e-9, abs=1e-9
        )
        assert row.per_cost == pytest.approx(effect.mean() / amount, rel=1e-9, abs=1e-12)
    # autonomy spends nothing of its own (its outlay is oversight given up): at its own setting, not at the amount
    auto = table[(table.measure == "autonomy") & (table.metric == "value_added")].iloc[0]
    assert auto.status.startswith("no public cost of its own") and auto.dose == 1.0
    assert auto.effect == pytest.approx(extra("autonomy", "value_added").mean(), rel=1e-9, abs=1e-9)


def test_equal_cost_amount_can_be_chosen(dose_results: Path, tmp_path: Path) -> None:
    run = _cli("report", str(dose_results), "-o", str(tmp_path / "e.html"), "--equal-cost", "12.5")
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(tmp_path / "e-equal-cost.csv")
    assert (table.amount == 12.5).all()
    assert "Effects at equal public cost (12.5 亿元)" in (tmp_path / "e.html").read_text(encoding="utf-8")
    for bad in ("0", "-3", "nan", "1e9"):  # 1e9: beyond every measure's largest dose (never extrapolated)
        run = _cli("report", str(dose_results), "-o", str(tmp_path / "f.html"), "--equal-cost", bad)
        assert run.returncode == 2 and "--equal-cost" in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) <= 3
