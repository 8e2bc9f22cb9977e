"""The simulation: parameters, agents, rules, the Mesa model and ``run()``."""

from .model import JJJModel
from .params import LEVERS, REGISTRY, ConfigError, Params, defaults
from .run import RunResult, run

__all__ = ["LEVERS", "REGISTRY", "ConfigError", "JJJModel", "Params", "RunResult", "defaults", "run"]
