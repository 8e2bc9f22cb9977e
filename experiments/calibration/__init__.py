"""Calibration by the method of simulated moments and validation against the statistics (experiment E5).

- :func:`calibrate`: MSM fit of behavioural parameters to 2014-2020 moments (``calibration.toml``).
- :func:`validate`: the historical run with the fitted values against every observed series, 2014-2023.

``jjjsim reproduce E5`` runs both (:mod:`jjjsim.experiments.published.e5`).
"""

from __future__ import annotations

from .config import default_config, load_config
from .msm import calibrate, fitted_overrides
from .validation import validate

__all__ = ["calibrate", "default_config", "fitted_overrides", "load_config", "validate"]
