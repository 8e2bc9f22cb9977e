"""Small real results folders, built once per session by tiny sweeps through the real experiment API (fixtures of
the results, report and app tests; loaded by tests/conftest.py).

``scenario_results``: baseline, talent-incentives and collaborative-fund, 3 seeds, 8 quarters, series and flows.
``grid_results``: fund_size x talent_incentive.Hebei, 2 x 2, 2 seeds, series. ``sobol_results``: Sobol' over two
levers, N = 4 (24 points), 1 seed, no series. ``morris_results``: Morris over two levers, 3 trajectories, 1 seed.
``dose_results``: three measures at doses 0.5 and 1 against the baseline, 3 seeds, no series.
All at agent scale 0.05 (a few seconds in all).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jjjsim.experiments.definition import load_experiment
from jjjsim.experiments.sweep import sweep

STEPS, SCALE = 8, 0.05

SCENARIOS = """
name = "viz-scenarios"
description = "Baseline and two measures, three seeds (results and viz tests)."
[seeds]
count = 3
root = 41
[outputs]
series = true
flows = true
[design]
kind = "scenarios"
scenarios = ["baseline", "talent-incentives", "collaborative-fund"]
"""

GRID = """
name = "viz-grid"
description = "Fund size x talent incentive in Hebei, 2 x 2, two seeds (viz tests)."
[seeds]
list = [5, 6]
[outputs]
series = true
flows = false
[design]
kind = "grid"
[design.levers]
fund_size = [0, 600]
"talent_incentive.Hebei" = [0, 10]
"""

SOBOL = """
name = "viz-sobol"
description = "Sobol' design over two levers, N = 4, one seed (viz tests)."
[seeds]
list = [3]
[outputs]
series = false
[design]
kind = "sobol"
samples = 4
levers = ["fund_size", "instrument_sharing"]
"""

MORRIS = """
name = "viz-morris"
description = "Morris design over two levers, three trajectories, one seed (viz tests)."
[seeds]
list = [4]
[outputs]
series = false
[design]
kind = "morris"
samples = 3
levers = ["fund_size", "instrument_sharing"]
"""


DOSES = """
name = "viz-doses"
description = "Three measures at two doses against the baseline, three seeds (viz tests)."
[seeds]
count = 3
root = 43
[outputs]
series = false
[design]
kind = "scenarios"
scenarios = ["baseline", "talent-incentives", "collaborative-fund", "autonomy"]
doses = [0.5, 1]
"""


def _build(factory: pytest.TempPathFactory, name: str, text: str) -> Path:
    base = factory.mktemp(f"viz-{name}")
    toml = base / f"{name}.toml"
    toml.write_text(f"steps = {STEPS}\n{text}\n[overrides]\nscale = {SCALE}\n")
    out = base / "results"
    report = sweep(load_experiment(toml), out, workers=1)
    assert report.failed == 0, f"fixture sweep {name} had failed runs"
    return out


@pytest.fixture(scope="session")
def scenario_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of a scenario design (baseline + 2 scenarios, 3 seeds, series and flows kept)."""
    return _build(tmp_path_factory, "scenarios", SCENARIOS)


@pytest.fixture(scope="session")
def grid_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of a 2 x 2 grid over fund_size and talent_incentive.Hebei, 2 seeds, series kept."""
    return _build(tmp_path_factory, "grid", GRID)


@pytest.fixture(scope="session")
def sobol_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of a Sobol' design over fund_size and instrument_sharing (N = 4, 24 points), 1 seed."""
    return _build(tmp_path_factory, "sobol", SOBOL)


@pytest.fixture(scope="session")
def morris_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of a Morris design over fund_size and instrument_sharing (3 trajectories), 1 seed."""
    return _build(tmp_path_factory, "morris", MORRIS)


@pytest.fixture(scope="session")
def dose_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of a scenario design with doses: talent-incentives, collaborative-fund and autonomy at doses
    0.5 and 1 against the baseline, 3 seeds, no series."""
    return _build(tmp_path_factory, "doses", DOSES)
