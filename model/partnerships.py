"""Persistent partnerships between firms and platforms (buyer-seller ties), in the spirit of SKIN's partnerships.

A tie (firm f, platform p) has a strength: it is formed or reinforced by every contract between them and by the
talent network (a firm's R&D staff with collaborators in another region bring the firm in touch with that
region's platforms), it decays every quarter and is dropped below ``TIE_FLOOR``. Ties are kept as a sparse,
sorted table of keys ``f * KEY_BASE + p``, so memory and work are linear in the ties, not in firms x platforms.

What flows through a tie (:mod:`.agents.firm`): a firm looks first at its partners' results (a share
``partner_search_share`` of its offers, partner chosen in proportion to strength), and a partner's offer has a
higher adoption logit, ``partner_trust`` x ln(1 + strength): trust and a known counterpart lower the cost of a
deal (Gilbert, Ahrweiler & Pyka 2001 SKIN; Uzzi 1996 on embedded ties).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Literal

import numpy as np

from . import compiled
from .compiled import jit

KEY_SHIFT = 32
KEY_BASE = 1 << KEY_SHIFT
"""Keys are firm row x KEY_BASE + platform row (rows stay below 2^32)."""
TIE_FLOOR = 0.05
"""Ties weaker than this are dropped (assumption: below a twentieth of one contract's trace)."""


class Ties:
    """A sparse set of weighted (firm, platform) ties."""

    def __init__(self) -> None:
        self.key = np.zeros(0, dtype=np.int64)
        self.strength = np.zeros(0)
        self.guard: Callable[[int], None] | None = None
        """Called with the bytes the table is about to grow by (the model's memory budget), before it grows."""
        self._tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """:meth:`picker_tables` of the table as it is, where :meth:`decay_add` made them (None: not made)."""
        self._slack: tuple[np.ndarray | None, int] = (None, 0)
        """Bytes allocated beyond the table by the compiled merge, and the key array they belong to."""

    def __len__(self) -> int:
        return int(self.key.size)

    @property
    def firm(self) -> np.ndarray:
        """Firm row of each tie (non-decreasing: the table is sorted by key)."""
        return self.key >> KEY_SHIFT

    @property
    def platform(self) -> np.ndarray:
        """Platform row of each tie."""
        return self.key & (KEY_BASE - 1)

    @property
    def nbytes(self) -> int:
        """Bytes the table holds (with the room a compiled merge left at its end)."""
        slack = self._slack[1] if self._slack[0] is self.key else 0
        return int(self.key.nbytes + self.strength.nbytes) + slack

    def decay(self, rate: float) -> None:
        """Strength x (1 - rate); ties below the floor are dropped."""
        self._tables = None
        kernels = _kernels()
        if kernels is not None:
            self.key, self.strength = kernels.tie_decay(self.key, self.strength, 1.0 - rate, TIE_FLOOR)
            return
        self.strength *= 1.0 - rate
        keep = np.flatnonzero(self.strength >= TIE_FLOOR)
        if keep.size < self.key.size:
            self.key, self.strength = self.key[keep], self.strength[keep]

    def add(self, firm: np.ndarray, platform: np.ndarray, amount: np.ndarray | float) -> None:
        """Add ``amount`` to the ties (firm, platform), creating those that do not exist."""
        if firm.size == 0:
            return
        self._tables = None
        keys = firm.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        amount = np.broadcast_to(np.asarray(amount, dtype=float), keys.shape)
        kernels = _kernels()
        if kernels is not None:  # the same sums, and one merge of the sorted new keys into the table
            self._update(kernels, keys, amount, 1.0, -np.inf, False)
            return
        new, inv = np.unique(keys, return_inverse=True)  # only the new keys are sorted, not the whole table
        add = np.bincount(inv, amount, minlength=new.size)
        pos = np.searchsorted(self.key, new)
        found = pos < self.key.size
        found[found] = self.key[pos[found]] == new[found]
        self.strength[pos[found]] += add[found]
        ins = np.flatnonzero(~found)
        if ins.size == 0:
            return
        if self.guard is not None:
            self.guard(ins.size * (self.key.itemsize + self.strength.itemsize))
        # merge the sorted new keys into the sorted table: the i-th new key lands at its insertion point + i
        at = pos[ins] + np.arange(ins.size)
        old = np.ones(self.key.size + ins.size, dtype=bool)
        old[at] = False
        key, strength = np.empty(old.size, dtype=np.int64), np.empty(old.size)
        key[old], strength[old] = self.key, self.strength
        key[at], strength[at] = new[ins], add[ins]
        self.key, self.strength = key, strength

    def decay_add(self, rate: float, firm: np.ndarray, platform: np.ndarray, amount: np.ndarray | float) -> None:
        """:meth:`decay` then :meth:`add`: with the compiled loops one pass over the table, which also makes the
        :meth:`picker_tables` of the result (the market that follows searches them)."""
        kernels = _kernels()
        if kernels is None or firm.size == 0:
            self.decay(rate)
            self.add(firm, platform, amount)
            return
        keys = firm.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        amount = np.broadcast_to(np.asarray(amount, dtype=float), keys.shape)
        self._update(kernels, keys, amount, 1.0 - rate, TIE_FLOOR, True)

    def _update(
        self, kernels: ModuleType, keys: np.ndarray, amount: np.ndarray, factor: float, floor: float, tables: bool
    ) -> None:
        """The compiled :meth:`decay_add` (factor 1, floor -inf: :meth:`add` alone); the memory budget is asked
        for the ties created before the table is replaced."""
        order = np.argsort(keys, kind="stable")
        new, add = kernels.tie_sums(keys[order], amount[order])
        key, strength, n_ins = kernels.tie_update(self.key, self.strength, factor, floor, new, add)
        if n_ins and self.guard is not None:
            self.guard(n_ins * (self.key.itemsize + self.strength.itemsize))
        self.key, self.strength = key, strength
        self._slack = (key, (new.size - n_ins) * (key.itemsize + strength.itemsize))
        self._tables = (key, *kernels.tie_tables(key, strength)) if tables else None

    def get(self, firm: np.ndarray, platform: np.ndarray) -> np.ndarray:
        """Strength of each (firm, platform) pair (0 where there is no tie)."""
        keys = firm.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        if self.key.size == 0 or keys.size == 0:
            return np.zeros(keys.shape)
        i = _search(self.key, keys)
        i = np.minimum(i, self.key.size - 1)
        return np.where(self.key[i] == keys, self.strength[i], 0.0)

    def drop_firms(self, firms: np.ndarray) -> None:
        """Remove the ties of firms that left the model."""
        if firms.size == 0 or self.key.size == 0:
            return
        self._tables = None
        kernels = _kernels()
        if kernels is not None:
            self.key, self.strength = kernels.tie_drop(self.key, self.strength, firms.astype(np.int64))
            return
        gone = np.unique(firms).astype(np.int64) * KEY_BASE
        start, end = np.searchsorted(self.key, gone), np.searchsorted(self.key, gone + KEY_BASE)
        n = end - start  # each firm's ties are the run key[start:end]
        if n.sum() == 0:
            return
        drop = np.repeat(start - (np.cumsum(n) - n), n) + np.arange(n.sum())
        keep = np.ones(self.key.size, dtype=bool)
        keep[drop] = False
        self.key, self.strength = self.key[keep], self.strength[keep]

    def pick_partner(self, firm: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each firm, a partner platform drawn in proportion to tie strength with the uniform ``u``
        (-1 for a firm with no ties)."""
        return self.picker()(firm, u)

    def picker_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`picker` searches: the keys, the cumulative strengths over the table and, per firm f, the
        first of its ties (firm f's ties are ``first[f]:first[f + 1]``)."""
        if self._tables is not None:
            return self._tables
        key, kernels = self.key, _kernels()
        if kernels is not None:
            return (key, *kernels.tie_tables(key, self.strength))
        return key, np.cumsum(self.strength), np.concatenate(([0], np.cumsum(np.bincount(key >> KEY_SHIFT))))

    def picker(
        self, tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """:meth:`pick_partner` for any number of batches of firms while the table stays as it is (the cumulative
        strengths, over the whole table, are summed once; ``tables``: :meth:`picker_tables` if already made)."""
        key, cum, first = tables if tables is not None else self.picker_tables()

        def pick(firm: np.ndarray, u: np.ndarray) -> np.ndarray:
            out = np.full(firm.size, -1, dtype=np.int64)
            if key.size == 0 or firm.size == 0:
                return out
            last = first.size - 1  # firms past the last one with ties have none
            start, end = first[np.minimum(firm, last)], first[np.minimum(firm + 1, last)]
            has = np.flatnonzero(end > start)  # the firm's ties are key[start:end]
            start, end = start[has], end[has]
            base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
            total = cum[end - 1] - base
            i = _search(cum, base + u[has] * total, "right", start, end)
            out[has] = key[np.clip(i, start, end - 1)] & (KEY_BASE - 1)
            return out

        return pick


def _kernels() -> ModuleType | None:
    """This module, whose compiled loops (below) run if they are on (:data:`.compiled.ENABLED`), else None (the
    numpy forms of :class:`Ties`)."""
    return sys.modules[__name__] if compiled.ENABLED else None


def _search(
    table: np.ndarray,
    values: np.ndarray,
    side: Literal["left", "right"] = "left",
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> np.ndarray:
    """``np.searchsorted(table, values, side)`` where each answer is known to lie in the span of the values (or
    within ``lo``-``hi``): the search runs on that slice of the table only, which a batch of nearby values (one
    block of firms) keeps in the CPU cache."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = int(lo.min()) if lo is not None else int(np.searchsorted(table, values.min(), side))
    end = int(hi.max()) if hi is not None else int(np.searchsorted(table, values.max(), side))
    return np.searchsorted(table[start:end], values, side) + start


# ---- compiled loops (the same operations as the numpy forms above, in the same order) -----------------------


@jit
def tie_sums(keys: np.ndarray, amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of sorted ``keys`` with their ``amount`` summed in order (what :meth:`.Ties.add` gets
    from ``np.unique`` and ``np.bincount``)."""
    new, add = np.empty(keys.size, dtype=np.int64), np.empty(keys.size)
    n = 0
    for i in range(keys.size):
        if n > 0 and keys[i] == new[n - 1]:
            add[n - 1] += amount[i]
        else:
            new[n], add[n] = keys[i], 0.0 + amount[i]  # bincount's sums start at 0.0
            n += 1
    return new[:n], add[:n]


@jit
def tie_update(
    key: np.ndarray, strength: np.ndarray, factor: float, floor: float, new: np.ndarray, add: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """:meth:`.Ties.decay` then :meth:`.Ties.add` in one pass over the table: each tie's strength x ``factor``,
    dropped below ``floor`` (factor 1 and floor -inf: :meth:`.Ties.add` alone), then ``add`` added to the ties
    ``new`` (sorted, distinct), a tie just dropped or absent created with ``add``, merged in key order. Returns the
    table (views of arrays with room for all of ``new``) and how many ties were created; the arrays passed in are
    left as they are."""
    cap = key.size + new.size
    out_key, out_strength = np.empty(cap, dtype=np.int64), np.empty(cap)
    t, o, n_ins = 0, 0, 0
    for j in range(new.size + 1):
        end = j == new.size
        stop = new[j] if not end else 0
        while t < key.size and (end or key[t] < stop):
            d = strength[t] * factor
            if d >= floor:
                out_key[o], out_strength[o] = key[t], d
                o += 1
            t += 1
        if end:
            break
        x = add[j]
        if t < key.size and key[t] == stop:
            d = strength[t] * factor
            if d >= floor:
                x = d + add[j]
            else:
                n_ins += 1
            t += 1
        else:
            n_ins += 1
        out_key[o], out_strength[o] = stop, x
        o += 1
    return out_key[:o], out_strength[:o], n_ins


@jit
def tie_decay(key: np.ndarray, strength: np.ndarray, factor: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`.Ties.decay`: ``strength`` x ``factor`` in place, the ties below ``floor`` dropped (the same arrays if
    none is)."""
    kept = 0
    for i in range(strength.size):
        strength[i] *= factor
        kept += strength[i] >= floor
    if kept == strength.size:
        return key, strength
    out_key, out_strength = np.empty(kept, dtype=np.int64), np.empty(kept)
    o = 0
    for i in range(strength.size):
        if strength[i] >= floor:
            out_key[o], out_strength[o] = key[i], strength[i]
            o += 1
    return out_key, out_strength


@jit
def tie_tables(key: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative strengths and the first tie of each firm of :meth:`.Ties.picker_tables`."""
    cum = np.empty(strength.size)
    firms = (key[-1] >> KEY_SHIFT) + 1 if key.size else 0
    first = np.zeros(firms + 1, dtype=np.int64)
    for i in range(strength.size):
        cum[i] = cum[i - 1] + strength[i] if i > 0 else strength[i]
    f = 0  # the keys are sorted: firm f's ties start where the firm part first exceeds f - 1
    for i in range(key.size):
        owner = key[i] >> KEY_SHIFT
        while f < owner:
            f += 1
            first[f] = i
    for g in range(f + 1, firms + 1):
        first[g] = key.size
    return cum, first


@jit
def tie_drop(key: np.ndarray, strength: np.ndarray, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`.Ties.drop_firms`: the table without the ties of ``firms`` (the same arrays if they have none)."""
    owners = (key[-1] >> KEY_SHIFT) + 1 if key.size else 0
    gone = np.zeros(owners, dtype=np.bool_)
    for f in firms:
        if 0 <= f < owners:
            gone[f] = True
    kept = 0
    for i in range(key.size):
        kept += not gone[key[i] >> KEY_SHIFT]
    if kept == key.size:
        return key, strength
    out_key, out_strength = np.empty(kept, dtype=np.int64), np.empty(kept)
    o = 0
    for i in range(key.size):
        if not gone[key[i] >> KEY_SHIFT]:
            out_key[o], out_strength[o] = key[i], strength[i]
            o += 1
    return out_key, out_strength
