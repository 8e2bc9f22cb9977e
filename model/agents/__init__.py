"""Agent types. Each is a Mesa ``Agent`` whose state is one row of a per-type array table."""

from .firm import Firm
from .fund import Fund
from .platform import Platform
from .talent import Talent

__all__ = ["Firm", "Fund", "Platform", "Talent"]
