"""Golden-file regression: a fixed small run must reproduce ``tests/data/golden_baseline.json``.

The file stores its own configuration (written by ``tools/refresh_golden.py``), so this test reruns exactly
what was recorded. When the model's output changes on purpose, run ``make golden`` and commit the file.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import pytest
from jjjsim.model import RunResult, run

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_baseline.json"
REL = 1e-9
HOW_TO_REFRESH = "if the change is intended, run `make golden` and commit tests/data/golden_baseline.json"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def fresh(golden) -> RunResult:
    c = golden["config"]
    return run(c["scenario"], seed=c["seed"], overrides=c["overrides"], steps=c["steps"])


def _same(recorded: float | None, value: float) -> bool:
    if recorded is None:  # NaN is stored as null
        return math.isnan(value)
    return math.isclose(value, recorded, rel_tol=REL, abs_tol=1e-12)


def _mismatches(recorded: dict[str, list | float | None], fresh: dict[str, list | float]) -> list[str]:
    out = []
    for key, want in recorded.items():
        got = fresh[key]
        pairs = zip(want, got, strict=True) if isinstance(want, list) else [(want, got)]
        bad = [(i, w, g) for i, (w, g) in enumerate(pairs) if not _same(w, g)]
        if bad:
            i, w, g = bad[0]
            where = f"{key}[step {i}]" if isinstance(want, list) else key
            out.append(f"{where}: golden {w!r}, now {g!r}")
    return out


def test_golden_summary(golden, fresh):
    assert set(fresh.summary) == set(golden["summary"]), (
        f"summary keys changed: added {sorted(set(fresh.summary) - set(golden['summary']))}, "
        f"removed {sorted(set(golden['summary']) - set(fresh.summary))}; {HOW_TO_REFRESH}"
    )
    bad = _mismatches(golden["summary"], fresh.summary)
    assert not bad, "summary differs from the golden run:\n  " + "\n  ".join(bad) + f"\n{HOW_TO_REFRESH}"


def test_golden_series(golden, fresh):
    s = fresh.series
    now = {
        f"{name}.{region}": s.loc[s.region == region, name].tolist()
        for name, by_region in golden["region_series"].items()
        for region in by_region
    }
    now |= {name: fresh.model_series[name].tolist() for name in golden["model_series"]}
    recorded = {f"{n}.{r}": v for n, by_region in golden["region_series"].items() for r, v in by_region.items()}
    recorded |= golden["model_series"]
    assert all(len(v) == golden["config"]["steps"] + 1 for v in recorded.values())
    bad = _mismatches(recorded, now)
    assert not bad, "per-step series differ from the golden run:\n  " + "\n  ".join(bad) + f"\n{HOW_TO_REFRESH}"


def test_golden_digest(golden, fresh):
    env = golden["environment"]
    here = {**fresh.meta["versions"], "python": fresh.meta["python"], "machine": platform.machine()}
    if {k: here.get(k) for k in env if k != "jjjsim"} != {k: v for k, v in env.items() if k != "jjjsim"}:
        pytest.skip(f"bit-level digest is only compared in the environment that wrote it ({env})")
    assert fresh.digest() == golden["digest"], f"the outputs changed at bit level; {HOW_TO_REFRESH}"
