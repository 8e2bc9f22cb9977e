"""The simulation: parameters, agents, rules, the Mesa model and ``run()``.

Names are imported lazily, so that reading parameters or scenarios does not load Mesa and pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .budget import Budget, BudgetExceeded
    from .model import JJJModel
    from .params import LEVERS, REGISTRY, ConfigError, Params, defaults
    from .runner import RunResult, run

_WHERE = {
    "JJJModel": ".model",
    "Budget": ".budget",
    "BudgetExceeded": ".budget",
    "LEVERS": ".params",
    "REGISTRY": ".params",
    "ConfigError": ".params",
    "Params": ".params",
    "defaults": ".params",
    "RunResult": ".runner",
    "run": ".runner",
}
__all__ = [
    "LEVERS",
    "REGISTRY",
    "Budget",
    "BudgetExceeded",
    "ConfigError",
    "JJJModel",
    "Params",
    "RunResult",
    "defaults",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
