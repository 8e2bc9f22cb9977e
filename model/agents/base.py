"""Mesa agents as views of rows in the model's per-type arrays.

The state of every agent lives in a :class:`~jjjsim.model.table.Table` (one numpy column per
variable) so that the rules run as vector operations; each Mesa ``Agent`` reads and writes its own row
through properties. The ``Agent`` objects are made on demand, when the model's agents are looked at
(:meth:`JJJModel.sync_agents`), so that a step does no per-row Python work. AgentSet selection, grouping and
``get`` work as usual::

    model.agents_by_type[Talent].select(lambda t: t.region_name == "Hebei").agg("skill", np.mean)
"""

from __future__ import annotations

from typing import Any, ClassVar

import mesa

from ..regions import FIELDS, REGIONS
from ..table import Table


def column(name: str, doc: str) -> property:
    """A property that reads and writes this agent's row of column ``name``."""

    def get(self: RowAgent) -> Any:
        return self.table.cell(name, self.row).item()

    def put(self: RowAgent, value: Any) -> None:
        self.table.set_cell(name, self.row, value)

    return property(get, put, doc=doc)


class RowAgent(mesa.Agent):
    """A Mesa agent whose state is row ``row`` of the model table named by ``TABLE``."""

    TABLE: ClassVar[str] = ""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    @property
    def table(self) -> Table:
        """The per-type table this agent is a row of."""
        return getattr(self.model, self.TABLE)

    @property
    def region_name(self) -> str:
        """Name of the agent's region."""
        return REGIONS[self.table.cell("region", self.row)]

    @property
    def field_name(self) -> str:
        """Name of the agent's technology field (sector, for a firm)."""
        return FIELDS[self.table.cell("field", self.row)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.unique_id}, row={self.row}, region={self.region_name})"
