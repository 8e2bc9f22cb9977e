"""The interoperability examples run as scripts at their tiniest size and give finite indices and outcomes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _script(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _numbers(line: str) -> list[float]:
    out = []
    for tok in line.replace(",", "").split():
        try:
            out.append(float(tok))
        except ValueError:
            continue
    return out


def test_salib_direct_gives_finite_sobol_indices() -> None:
    out = _script("salib_direct.py", "--n", "4", "--steps", "2")
    lines = out.splitlines()
    assert lines[0].startswith("Sobol' indices of value_added (3 inputs, N = 4)")
    assert lines[1].split() == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    rows = {line.split()[0]: _numbers(line) for line in lines[2:]}
    assert set(rows) == {"fund_size", "talent_network", "instrument_sharing"}
    assert all(len(v) == 4 and np.isfinite(v).all() for v in rows.values())


def test_ema_workbench_drives_the_model() -> None:
    if importlib.util.find_spec("ema_workbench") is None:
        pytest.skip("ema_workbench is not installed (pip install ema_workbench; it belongs to the dev extras)")
    out = _script("ema_workbench_example.py", "--scenarios", "2", "--policies", "2", "--steps", "2")
    lines = out.splitlines()
    assert lines[0] == "4 experiments; outcomes (mean by policy):"
    assert lines[1].split()[:3] == ["value_added", "results", "cross_region_contract_value"]
    assert lines[2].split() == ["policy"]
    rows = [_numbers(" ".join(line.split()[1:])) for line in lines[3:]]  # without the policy's name
    assert len(rows) == 2 and all(len(r) == 5 and np.isfinite(r).all() and r[0] > 0 for r in rows)
