"""A growable struct-of-arrays: the hot-path storage behind agents and the achievement table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


class Table:
    """Rows of records, one numpy column per variable; rows are appended, never moved.

    Columns are read as views of the used rows (``table.skill`` is ``skill[:len(table)]``), so
    vectorised rules write straight into the state. Row indices stay valid for the table's life.
    """

    def __init__(self, columns: Mapping[str, tuple[Any, tuple[int, ...]]], capacity: int = 1024) -> None:
        """Args: columns: name -> (dtype, trailing shape); capacity: initial rows allocated."""
        self._spec = columns
        self._n = 0
        self._cols = {k: np.zeros((capacity, *shape), dtype=dt) for k, (dt, shape) in columns.items()}
        self.guard: Callable[[int], None] | None = None
        """Called with the bytes a growth would add, before allocating (the model's memory budget)."""

    @property
    def row_bytes(self) -> int:
        """Bytes of one row over all columns."""
        return sum(a.itemsize * (a.size // max(len(a), 1)) for a in self._cols.values())

    @property
    def nbytes(self) -> int:
        """Bytes allocated (capacity, not only the used rows)."""
        return sum(a.nbytes for a in self._cols.values())

    def __len__(self) -> int:
        return self._n

    def cell(self, name: str, row: int) -> np.ndarray:
        """Column ``name`` at ``row`` (a scalar array, or the row's trailing vector), as a view: the accessor
        of one agent's values (:class:`.agents.base.RowAgent`); ``table.name`` gives the whole used column."""
        return self._cols[name][row]

    def set_cell(self, name: str, row: int, value: Any) -> None:
        """Write ``value`` into column ``name`` at ``row``."""
        self._cols[name][row] = value

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is None or name not in cols:
            raise AttributeError(name)
        return cols[name][: self._n]

    def __setattr__(self, name: str, value: Any) -> None:
        cols = self.__dict__.get("_cols")
        if cols is not None and name in cols:  # augmented assignment (t.x *= 2) writes in place
            cols[name][: self._n] = value
        else:
            super().__setattr__(name, value)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def append(self, n: int, **values: Any) -> np.ndarray:
        """Append ``n`` rows (unset columns are zero) and return their indices."""
        cap = len(next(iter(self._cols.values())))
        if self._n + n > cap:
            new_cap = max(2 * (self._n + n), 1024)
            if self.guard is not None:
                self.guard((new_cap - cap) * self.row_bytes)
            for k, arr in self._cols.items():
                grown = np.zeros((new_cap, *arr.shape[1:]), dtype=arr.dtype)
                grown[: self._n] = arr[: self._n]
                self._cols[k] = grown
        rows = np.arange(self._n, self._n + n)
        self._n += n
        for k, v in values.items():
            if k not in self._cols:
                raise KeyError(f"unknown column {k!r}")
            self._cols[k][rows] = v
        return rows
