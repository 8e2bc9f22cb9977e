"""The ``jjjsim`` command line, run for real in a subprocess (``python -m jjjsim`` and the console script).

Runs are kept small (4 quarters at scale 0.05). Bad input must end with exit status 2 and one line on
stderr that starts with ``error:`` and names the file (or ``--set`` / ``scenario``) and the key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from jjjsim.model.params import LEVERS, REGISTRY

REPO = Path(__file__).resolve().parents[2]
SCENARIO_DIR = REPO / "scenarios"
SCRIPT = Path(sys.executable).parent / "jjjsim"
REGIONS = ("Beijing", "Tianjin", "Hebei", "Outside")
SMALL = ("--steps", "4", "--set", "scale=0.05")
STEPS = 4
OUTPUTS = (
    "series.parquet",
    "model_series.parquet",
    "flows_contract_value.csv",
    "flows_contract_count.csv",
    "flows_talent_moves.csv",
    "manifest.json",
)


def _env() -> dict[str, str]:
    """The caller's environment, without forced colour, and a narrow console so that wrapping would show."""
    env = dict(os.environ)
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE"):
        env.pop(key, None)
    env["COLUMNS"] = "60"  # shorter than every error message: a wrapped message would span several lines
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def jjjsim(*args: str, cwd: Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the command line (``python -m jjjsim``, or the console script) in ``cwd``."""
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "jjjsim"]
    return subprocess.run(
        [*cmd, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert a command succeeded (showing its output if not) and return it."""
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def manifest(folder: Path) -> dict[str, Any]:
    """The manifest a run wrote into ``folder``."""
    return json.loads((folder / "manifest.json").read_text())


def table_rows(text: str) -> list[list[list[str]]]:
    """Body rows of a rich box table (rows ruled off by lines): per row, per column, the cell's lines."""
    rows: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.rstrip().strip("│").split("│")]
            if current is None:
                current = [[] for _ in cells]
            for acc, cell in zip(current, cells, strict=True):
                if cell:
                    acc.append(cell)
        elif line.startswith(("├", "└")) and current is not None:
            rows.append(current)
            current = None
    return rows


def joined(lines: list[str]) -> str:
    """A wrapped cell's text on one line."""
    return " ".join(" ".join(lines).split())


# ---- happy path ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One small baseline run through ``python -m jjjsim``: the finished process and its output folder."""
    cwd = tmp_path_factory.mktemp("baseline")
    proc = ok(jjjsim("run", "baseline", *SMALL, "--out", "out", "-q", cwd=cwd))
    return proc, cwd / "out"


def test_run_prints_indicator_table_by_region(baseline_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = baseline_run
    header = next(line for line in proc.stdout.splitlines() if "indicator" in line)
    positions = [header.find(r) for r in REGIONS]
    assert all(p > 0 for p in positions) and positions == sorted(positions), header
    assert "R&D talent (FTE)" in proc.stdout
    assert "Wrote series, flows and manifest to" in proc.stdout


def test_run_writes_series_flows_and_manifest(baseline_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, folder = baseline_run
    missing = [name for name in OUTPUTS if not (folder / name).is_file()]
    assert not missing, f"not written: {missing}"
    for name in ("contract_value", "contract_count", "talent_moves"):
        flows = pd.read_csv(folder / f"flows_{name}.csv", index_col=0)
        assert list(flows.index) == list(REGIONS) and list(flows.columns) == list(REGIONS)
        assert (flows.to_numpy() >= 0).all()


def test_manifest_records_scenario_seed_params_and_versions(
    baseline_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = baseline_run
    m = manifest(folder)
    assert m["scenario"] == "baseline"
    assert m["seed"] == 0
    assert set(m["params"]) == set(REGISTRY)
    assert m["params"]["scale"] == 0.05  # the --set override
    assert m["params"]["steps"] == STEPS  # the --steps override
    assert m["params"]["fund_size"] == REGISTRY["fund_size"].default
    for pkg in ("mesa", "numpy", "pandas", "jjjsim"):
        assert m["versions"][pkg] == version(pkg)
    assert m["code_version"].startswith(version("jjjsim"))
    assert len(m["digest"]) == 64


def test_series_parquet_has_one_row_per_step_and_region(
    baseline_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = baseline_run
    s = pd.read_parquet(folder / "series.parquet")
    assert not s.duplicated(["step", "region"]).any()
    assert set(s.region.astype(str)) == set(REGIONS)
    assert sorted(s.step.unique()) == list(range(STEPS + 1))  # the initial state and every quarter
    assert len(s) == (STEPS + 1) * len(REGIONS)
    ms = pd.read_parquet(folder / "model_series.parquet")
    assert sorted(ms.step) == list(range(STEPS + 1))


def test_same_command_twice_gives_the_same_digest(
    baseline_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, first = baseline_run
    ok(jjjsim("run", "baseline", *SMALL, "--out", "out", "-q", cwd=tmp_path))
    assert manifest(tmp_path / "out")["digest"] == manifest(first)["digest"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "series.parquet"), pd.read_parquet(first / "series.parquet")
    )


@pytest.mark.skipif(not SCRIPT.exists(), reason=f"no console script at {SCRIPT}")
def test_console_script_runs_the_same_model(
    baseline_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, first = baseline_run
    proc = ok(jjjsim("run", "baseline", *SMALL, "--out", "out", "-q", cwd=tmp_path, script=True))
    assert all(r in proc.stdout for r in REGIONS)
    assert manifest(tmp_path / "out")["digest"] == manifest(first)["digest"]


def test_scenario_given_as_toml_path(tmp_path: Path) -> None:
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "my-scenario.toml").write_text(
        'description = "A test scenario."\nbase = "baseline"\n\n[params]\n'
        "fund_size = 300.0\ntalent_incentive = { Hebei = 6.0 }\n"
    )
    ok(jjjsim("run", "scen/my-scenario.toml", *SMALL, "-q", cwd=tmp_path))
    m = manifest(tmp_path / "results" / "my-scenario-seed0")  # the default output folder
    assert m["scenario"] == "my-scenario"
    assert m["scenario_chain"] == ["my-scenario", "baseline"]
    assert m["params"]["fund_size"] == 300.0
    assert m["params"]["talent_incentive"] == {**REGISTRY["talent_incentive"].default, "Hebei": 6.0}
    assert m["params"]["scale"] == 0.05


# ---- listings -----------------------------------------------------------------------------------------------


def test_scenarios_lists_every_file_with_its_description(tmp_path: Path) -> None:
    proc = ok(jjjsim("scenarios", cwd=tmp_path))
    rows = {joined(r[0]): r for r in table_rows(proc.stdout)}
    files = sorted(SCENARIO_DIR.glob("*.toml"))
    assert files
    assert set(rows) == {f.stem for f in files}
    for f in files:
        data = tomllib.loads(f.read_text())
        assert joined(rows[f.stem][1]) == data.get("base", "-"), f.stem
        assert joined(rows[f.stem][2]) == joined([data["description"]]), f.stem


def _listed_parameters(stdout: str) -> dict[str, list[list[str]]]:
    """Rows of the ``levers`` table by parameter name (the first line of the name cell)."""
    return {r[0][0]: r for r in table_rows(stdout)}


def test_levers_lists_every_lever_with_its_unit(tmp_path: Path) -> None:
    rows = _listed_parameters(ok(jjjsim("levers", cwd=tmp_path)).stdout)
    missing = sorted(set(LEVERS) - set(rows))
    extra = sorted(set(rows) - set(LEVERS))
    assert not missing, f"levers missing from the listing: {missing}; listed instead: {extra}"
    assert set(rows) == set(LEVERS)
    for name, p in LEVERS.items():
        assert joined(rows[name][1]) == "lever", name
        assert joined(rows[name][2]) == p.unit, name


def test_levers_all_lists_every_registry_name(tmp_path: Path) -> None:
    rows = _listed_parameters(ok(jjjsim("levers", "--all", cwd=tmp_path)).stdout)
    missing = sorted(set(REGISTRY) - set(rows))
    extra = sorted(set(rows) - set(REGISTRY))
    assert not missing, f"names missing from the listing: {missing}; listed instead: {extra}"
    for name, p in REGISTRY.items():
        assert joined(rows[name][1]) == p.role, name
        assert joined(rows[name][2]) == p.unit, name


# ---- bad input ----------------------------------------------------------------------------------------------


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit status 2, nothing on stdout, no traceback, one ``error:`` line on stderr holding ``fragments``."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{proc.stderr}"
    line = lines[0]
    assert line.startswith("error:"), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


DYM = "did you mean"
BAD_INPUT: list[tuple[str, list[str], dict[str, str | bytes | None], list[str]]] = [
    # (id, arguments after `run`, files to create in cwd (None: a directory), expected fragments)
    ("unknown-scenario", ["baselin"], {}, ["scenario", "baselin", f"{DYM} 'baseline'"]),
    ("unknown-lever-set", ["baseline", "--set", "fund_sise=3"], {}, ["--set", "fund_sise", f"{DYM} 'fund_size'"]),
    (
        "unknown-key-in-file",
        ["unk.toml"],
        {"unk.toml": 'base = "baseline"\n[params]\nfund_sise = 3\n'},
        ["unk.toml", "fund_sise", f"{DYM} 'fund_size'"],
    ),
    (
        "unknown-top-level-key-in-file",
        ["top.toml"],
        {"top.toml": 'base = "baseline"\nparms = {}\n'},
        ["top.toml", "parms", f"{DYM} 'params'"],
    ),
    ("string-for-number-set", ["baseline", "--set", "fund_size=abc"], {}, ["--set", "fund_size", "number", "'abc'"]),
    (
        "string-for-number-file",
        ["ty.toml"],
        {"ty.toml": 'base = "baseline"\n[params]\nfund_size = "300"\n'},
        ["ty.toml", "fund_size", "number", "'300'"],
    ),
    ("out-of-bounds-set", ["baseline", "--set", "fund_size=99999"], {}, ["--set", "fund_size", "[0, 2000]"]),
    (
        "out-of-bounds-region-set",
        ["baseline", "--set", "talent_incentive.Hebei=31"],
        {},
        ["--set", "talent_incentive.Hebei", "[0, 30]"],
    ),
    (
        "out-of-bounds-file",
        ["oob.toml"],
        {"oob.toml": 'base = "baseline"\n[params]\nshared_key_labs = 41\n'},
        ["oob.toml", "shared_key_labs", "[0, 40]"],
    ),
    ("out-of-bounds-steps", ["baseline", "--steps", "0"], {}, ["--steps", "steps"]),
    (
        "unknown-choice-set",
        ["baseline", "--set", "evaluation_regime=differentiatd"],
        {},
        ["--set", "evaluation_regime", f"{DYM} 'differentiated'"],
    ),
    (
        "unknown-region-set",
        ["baseline", "--set", "talent_incentive.Hebie=3"],
        {},
        ["--set", "talent_incentive.Hebie", f"{DYM} 'Hebei'"],
    ),
    (
        "unknown-region-file",
        ["reg.toml"],
        {"reg.toml": 'base = "baseline"\n[params]\ntalent_incentive = { Hebie = 3.0 }\n'},
        ["reg.toml", "talent_incentive.Hebie", f"{DYM} 'Hebei'"],
    ),
    (
        "missing-base",
        ["nobase.toml"],
        {"nobase.toml": 'description = "x"\nbase = "baselin"\n'},
        ["nobase.toml", "base", "'baselin'", f"{DYM} 'baseline'"],
    ),
    ("extends-itself", ["selfref.toml"], {"selfref.toml": 'base = "selfref"\n'}, ["selfref.toml", "base", "itself"]),
    (
        "base-cycle",
        ["a.toml"],
        {"a.toml": 'base = "b"\n', "b.toml": 'base = "a"\n'},
        ["b.toml", "base", "itself"],
    ),
    ("missing-file", ["missing.toml"], {}, ["missing.toml", "(file)"]),
    ("directory", ["x.toml"], {"x.toml": None}, ["x.toml", "(file)"]),
    ("invalid-toml", ["bad.toml"], {"bad.toml": 'base = "baseline"\n[params\n'}, ["bad.toml", "(file)", "TOML"]),
    ("invalid-utf8", ["utf.toml"], {"utf.toml": b'base = "baseline"\n\xff\xfe = 1\n'}, ["utf.toml", "(file)"]),
    ("set-without-equals", ["baseline", "--set", "fund_size"], {}, ["--set", "fund_size", "key=value"]),
    ("set-without-key", ["baseline", "--set", "=3"], {}, ["--set", "=3", "key=value"]),
]


@pytest.mark.parametrize(("args", "files", "fragments"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gives_one_line_and_exit_2(
    tmp_path: Path, args: list[str], files: dict[str, str | bytes | None], fragments: list[str]
) -> None:
    for name, content in files.items():
        path = tmp_path / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    assert_one_line_error(jjjsim("run", *args, cwd=tmp_path), *fragments)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root (and Windows) can read a file whatever its mode bits; the invalid-UTF-8 and directory cases "
    "cover unreadable files instead",
)
def test_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "secret.toml"
    path.write_text('base = "baseline"\n')
    path.chmod(0)
    try:
        assert_one_line_error(jjjsim("run", "secret.toml", cwd=tmp_path), "secret.toml", "(file)")
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("value", ["[/]", "[bold]x", "[red]"])
def test_user_text_in_error_is_printed_verbatim(tmp_path: Path, value: str) -> None:
    """Text the user typed is echoed literally, not read as console markup."""
    assert_one_line_error(
        jjjsim("run", "baseline", "--set", f"fund_size={value}", cwd=tmp_path), "--set", "fund_size", repr(value)
    )


def test_path_with_brackets_is_named_verbatim(tmp_path: Path) -> None:
    (tmp_path / "[b]").mkdir()
    (tmp_path / "[b]" / "s.toml").write_text('base = "no-such-scenario"\n')
    assert_one_line_error(jjjsim("run", "[b]/s.toml", cwd=tmp_path), str(Path("[b]/s.toml")), "base")
