"""Shared fixtures: small, fast configurations of the model (scale 0.05-0.2, 8-20 quarters).

Every test builds its world from a fixed seed, so the suite is deterministic and each test can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from jjjsim.model import JJJModel, Params, RunResult, defaults, run

pytest_plugins = ["results_folders"]  # results folders of tiny sweeps (tests/results_folders.py)


@dataclass(frozen=True)
class Small:
    """The small configuration shared by the tests."""

    scale: float = 0.1
    """Agent-count multiplier (about 1,600 talents, 300 firms, 50 platforms)."""
    steps: int = 12
    """Quarters: three evaluation rounds (steps 4, 8, 12)."""
    seed: int = 7
    """Seed of the shared small run."""

    def params(self, **overrides: Any) -> Params:
        """Registry defaults at this scale and length, with further overrides (validated as user input)."""
        return defaults().replace({"scale": self.scale, "steps": self.steps, **overrides}, where="tests")


SMALL = Small()


@pytest.fixture(scope="session")
def small() -> Small:
    """The small configuration (scale, steps, seed and ``params(**overrides)``)."""
    return SMALL


@pytest.fixture
def make_model() -> Callable[..., JJJModel]:
    """Factory for a small ``JJJModel``: ``make_model(seed=0, **overrides)``, stepped by the caller.

    ``seed`` is an int or a ``numpy.random.SeedSequence`` (as ``run()`` builds it).
    """

    def build(seed: int | np.random.SeedSequence = 0, **overrides: Any) -> JJJModel:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        return JJJModel(SMALL.params(**overrides), rng=ss)

    return build


@pytest.fixture(scope="session")
def small_run() -> RunResult:
    """One small baseline run, shared by the tests that only read a finished result."""
    return run("baseline", seed=SMALL.seed, overrides={"scale": SMALL.scale}, steps=SMALL.steps)
