"""Refresh the golden-file regression data on purpose (``make golden``).

Runs one fixed small configuration and writes ``tests/data/golden_baseline.json``: the configuration, the
run's summary, a few per-step series and the digest, numbers rounded to 10 significant digits.
``tests/model/test_golden.py`` reruns the configuration stored in the file and compares. Run this only when
a change of the model's output is intended, and commit the new file with that change.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

from jjjsim.model import RunResult, run

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden_baseline.json"
CONFIG = {"scenario": "baseline", "seed": 42, "overrides": {"scale": 0.1}, "steps": 12}
REGION_SERIES = ("talent", "results", "contract_value_sold", "value_added", "firms", "platform_budget")
MODEL_SERIES = ("fund_capital", "market_ready_stock", "theil_results", "public_cost")


def significant(x: float, digits: int = 10) -> float | None:
    """``x`` rounded to ``digits`` significant digits (None for NaN, which JSON cannot hold)."""
    x = float(x)
    return None if math.isnan(x) else float(f"{x:.{digits}g}")


def golden(result: RunResult) -> dict:
    """The golden record of a run."""
    series = result.series
    return {
        "config": CONFIG,
        "summary": {k: significant(v) for k, v in result.summary.items()},
        "region_series": {
            name: {
                str(r): [significant(v) for v in series.loc[series.region == r, name]]
                for r in series.region.cat.categories
            }
            for name in REGION_SERIES
        },
        "model_series": {name: [significant(v) for v in result.model_series[name]] for name in MODEL_SERIES},
        "digest": result.digest(),
        "environment": {**result.meta["versions"], "python": result.meta["python"], "machine": platform.machine()},
    }


def main() -> int:
    """Run the fixed configuration and write the golden file."""
    result = run(CONFIG["scenario"], seed=CONFIG["seed"], overrides=CONFIG["overrides"], steps=CONFIG["steps"])
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(golden(result), indent=1) + "\n")
    print(f"wrote {GOLDEN.relative_to(Path.cwd()) if GOLDEN.is_relative_to(Path.cwd()) else GOLDEN}")
    print(f"digest {result.digest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
