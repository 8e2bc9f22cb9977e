"""Fixtures of the experiment tests: the quick version of E4, run once for the tests that read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from jjjsim.experiments.published import reproduce


@pytest.fixture(scope="session")
def quick_e4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of ``jjjsim reproduce E4 --quick`` (Morris over 12 inputs, then Sobol' over the top 4; 2 workers),
    shared by the reproduce test and E4's own checks: the run takes the longest of the quick versions."""
    return reproduce("E4", tmp_path_factory.mktemp("e4") / "E4", quick=True, workers=2)
