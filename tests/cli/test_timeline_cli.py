"""``jjjsim run`` with policy timelines: bad entries end with one ``error:`` line and exit 2; good ones write the
lever path beside the series."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from jjjsim.cli import app

RUNNER = CliRunner()
HEAD = 'description = "A timeline."\nbase = "baseline"\n[params]\nscale = 0.05\nsteps = 4\n'
ENTRY = '[[timeline]]\nlever = "{lever}"\n{when}\nvalue = {value}\n'

BAD = {
    "an unknown lever": (
        ENTRY.format(lever="fund_sise", when='at = "2023Q2"', value=1),
        "timeline[0].lever",
        "did you mean 'fund_size'?",
    ),
    "a parameter": (
        ENTRY.format(lever="adopt_barrier", when='at = "2023Q2"', value=1),
        "timeline[0].lever",
        "only levers",
    ),
    "a bad date": (ENTRY.format(lever="fund_size", when='at = "2023-04"', value=1), "timeline[0].at", "YYYYQn"),
    "after the file's run": (
        ENTRY.format(lever="fund_size", when='at = "2024Q1"', value=1),
        "timeline[0].at",
        "a quarter of this scenario's run, 2023Q1 to 2023Q4",
    ),
    "before the file's run": (
        ENTRY.format(lever="fund_size", when='from = "2022Q4"\nto = "2023Q2"', value=1),
        "timeline[0].from",
        "a quarter of this scenario's run, 2023Q1 to 2023Q4",
    ),
    "to before from": (
        ENTRY.format(lever="autonomy", when='from = "2023Q3"\nto = "2023Q2"', value=0.5),
        "timeline[0].to",
        "from 2023Q3 on",
    ),
    "out of bounds": (ENTRY.format(lever="autonomy", when='at = "2023Q2"', value=3), "timeline[0].value", "[0, 1]"),
    "an overlap": (ENTRY.format(lever="autonomy", when='at = "2023Q2"', value=0.5) * 2, "timeline[1]", "no overlap"),
    "a missing value": ('[[timeline]]\nlever = "autonomy"\nat = "2023Q2"\n', "timeline[0].value", "nothing"),
    "an unknown key": (
        ENTRY.format(lever="autonomy", when='at = "2023Q2"\nnote = 1', value=0.5),
        "timeline[0].note",
        "one of lever",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_timelines_give_one_line(tmp_path: Path, case: str) -> None:
    body, key, fragment = BAD[case]
    f = tmp_path / "t.toml"
    f.write_text(HEAD + body)
    result = RUNNER.invoke(app, ["run", str(f), "-q", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert f"{f}: {key}:" in lines[0] and fragment in lines[0], lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "o").exists()


def test_a_shortened_run_stops_before_later_entries(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(
        HEAD
        + ENTRY.format(lever="autonomy", when='from = "2023Q2"\nto = "2023Q4"', value=0.6)
        + ENTRY.format(lever="fund_size", when='at = "2023Q4"', value=250.0)
    )
    for i, args in enumerate((["--steps", "3"], ["--set", "steps=3"])):
        out = tmp_path / f"o{i}"
        result = RUNNER.invoke(app, ["run", str(f), "-q", *args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        lv = pd.read_parquet(out / "levers.parquet")
        assert lv.autonomy.tolist() == pytest.approx([0.3, 0.3, 0.4, 0.5]), "the ramp applies up to 2023Q3"
        assert lv.fund_size.tolist() == [100.0] * 4, "the 2023Q4 step never takes effect"


def test_moving_the_start_past_an_entry_is_one_error(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(HEAD + "start_year = 2014\n" + ENTRY.format(lever="autonomy", when='at = "2014Q2"', value=0.5))
    result = RUNNER.invoke(app, ["run", str(f), "-q", "--set", "start_year=2015", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and line.startswith("error: --set: timeline[0].at:"), line
    assert "from the run's start, 2015Q1, on" in line and "found '2014Q2'" in line, line
    assert not (tmp_path / "o").exists()


def test_a_run_with_a_timeline_writes_its_lever_path(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(
        HEAD
        + ENTRY.format(lever="autonomy", when='from = "2023Q2"\nto = "2023Q3"', value=0.7)
        + ENTRY.format(lever="fund_size", when='at = "2023Q4"', value=250.0)
    )
    result = RUNNER.invoke(app, ["run", str(f), "-q", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lv = pd.read_parquet(tmp_path / "o" / "levers.parquet")
    assert lv.autonomy.tolist() == pytest.approx([0.3, 0.3, 0.5, 0.7, 0.7])
    assert lv.fund_size.tolist() == [100.0, 100.0, 100.0, 100.0, 250.0]
