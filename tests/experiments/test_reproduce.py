"""``jjjsim reproduce``: every published experiment's quick version runs and writes its reports and tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from jjjsim.experiments.published import PUBLISHED, reproduce
from jjjsim.model.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_quick_version_writes_its_reports_and_tables(key: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """(E4, the longest, is the session's shared quick run: :func:`quick_e4`.)"""
    folder = (
        request.getfixturevalue("quick_e4") if key == "E4" else reproduce(key, tmp_path / key, quick=True, workers=1)
    )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["experiment"] == key and manifest["quick"] is True and manifest["versions"]["jjjsim"]
    outputs = manifest["outputs"]
    reports = outputs.get("reports") or {}
    for html in reports.values() if isinstance(reports, dict) else reports:
        text = Path(html).read_text(encoding="utf-8")
        assert "Plotly.newPlot(" in text and "<script src=" not in text
    tables = outputs.get("tables") or []
    assert tables, "an experiment produces tables"
    for name in tables:
        path = folder / name if not Path(name).is_absolute() else Path(name)
        assert path.exists() and path.stat().st_size > 0, name
        if path.suffix == ".csv":
            assert len(pd.read_csv(path)) > 0, name
    assert (ROOT / "experiments" / PUBLISHED[key].folder / "README.md").exists()


def test_e2_interaction_is_the_paired_double_difference(tmp_path: Path) -> None:
    """The interaction contrast in E2's table equals the one computed by hand from the run table."""
    folder = reproduce("E2", tmp_path / "e2", quick=True, workers=1)
    runs = pd.read_parquet(folder / "grid" / "runs.parquet")
    table = pd.read_csv(folder / "interaction.csv").set_index("metric")
    f, t = "point.fund_size", "point.talent_incentive.Hebei"
    cell = {
        (a, b): runs[(runs[f] == a) & (runs[t] == b)].set_index("seed")["value_added"]
        for a in (runs[f].min(), runs[f].max())
        for b in (runs[t].min(), runs[t].max())
    }
    (a0, a1), (b0, b1) = (runs[f].min(), runs[f].max()), (runs[t].min(), runs[t].max())
    by_hand = (cell[(a1, b1)] - cell[(a0, b1)] - cell[(a1, b0)] + cell[(a0, b0)]).mean()
    assert table.loc["value_added", "interaction"] == pytest.approx(by_hand, rel=1e-9, abs=1e-9)


def test_unknown_experiment_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="E9.*one of E1, E2"):
        reproduce("E9", tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "jjjsim", "reproduce", "E9", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2 and run.stderr.startswith("error:") and "Traceback" not in run.stderr
