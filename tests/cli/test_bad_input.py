"""Each input that gave a traceback, a hang or a silent default now ends with exit 2 and one ``error:`` line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jjjsim.cli import app

RUNNER = CliRunner()


def _files(tmp: Path) -> dict[str, tuple[str, str]]:
    """Case name -> (scenario argument, text the error line must hold)."""
    deep = tmp / "deep.toml"
    deep.write_text("a = " + "[" * 2000 + "]" * 2000)
    huge = tmp / "huge.toml"
    huge.write_text("[params]\nfund_size = 1" + "0" * 400 + "\n")
    empty = tmp / "empty.toml"
    empty.write_text("")
    big = tmp / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    fifo = tmp / "pipe.toml"
    os.mkfifo(fifo)
    return {
        "nested 2,000 deep": (str(deep), "nested at most 32 deep"),
        "a 400-digit integer": (str(huge), "an integer of about 401 digits"),
        "an empty scenario": (str(empty), "an empty file"),
        "over 1 MiB": (str(big), "at most 1 MiB"),
        "/dev/zero": ("/dev/zero", "a regular scenario file"),
        "a FIFO (would block)": (str(fifo), "a regular scenario file"),
        "a folder": (str(tmp), "a regular scenario file"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "nested 2,000 deep",
        "a 400-digit integer",
        "an empty scenario",
        "over 1 MiB",
        "/dev/zero",
        "a FIFO (would block)",
        "a folder",
    ],
)
def test_bad_scenario_files_give_one_line(tmp_path: Path, case: str) -> None:
    arg, text = _files(tmp_path)[case]
    result = RUNNER.invoke(app, ["run", arg, "--steps", "1", "-q", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], lines


@pytest.mark.parametrize("seed", ["-1", str(2**63), str(2**64 + 5)])
def test_seeds_outside_what_is_stored_are_refused_before_the_run(tmp_path: Path, seed: str) -> None:
    result = RUNNER.invoke(app, ["run", "baseline", "--steps", "1", "-q", "--seed", seed, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: command line: --seed: expected a whole number from 0 to")
    assert not (tmp_path / "o").exists()


def test_a_seed_list_above_2_to_the_63_is_refused_in_an_experiment(tmp_path: Path) -> None:
    exp = tmp_path / "e.toml"
    exp.write_text(f'[seeds]\nlist = [1, {2**64 + 1}]\n[design]\nkind = "scenarios"\nscenarios = ["baseline"]\n')
    result = RUNNER.invoke(app, ["sweep", str(exp), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2 and "seeds.list" in result.output, result.output


def test_control_characters_in_a_key_stay_on_one_line(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["run", "baseline", "--steps", "1", "-q", "--set", "\x1e\n=1"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
