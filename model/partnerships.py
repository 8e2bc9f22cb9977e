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

import numpy as np

KEY_BASE = 1 << 32
"""Keys are firm row x KEY_BASE + platform row (rows stay below 2^32)."""
TIE_FLOOR = 0.05
"""Ties weaker than this are dropped (assumption: below a twentieth of one contract's trace)."""


class Ties:
    """A sparse set of weighted (firm, platform) ties."""

    def __init__(self) -> None:
        self.key = np.zeros(0, dtype=np.int64)
        self.strength = np.zeros(0)

    def __len__(self) -> int:
        return int(self.key.size)

    @property
    def firm(self) -> np.ndarray:
        return self.key // KEY_BASE

    @property
    def platform(self) -> np.ndarray:
        return self.key % KEY_BASE

    @property
    def nbytes(self) -> int:
        return int(self.key.nbytes + self.strength.nbytes)

    def decay(self, rate: float) -> None:
        """Strength x (1 - rate); ties below the floor are dropped."""
        self.strength *= 1.0 - rate
        keep = self.strength >= TIE_FLOOR
        self.key, self.strength = self.key[keep], self.strength[keep]

    def add(self, firm: np.ndarray, platform: np.ndarray, amount: np.ndarray | float) -> None:
        """Add ``amount`` to the ties (firm, platform), creating those that do not exist."""
        if firm.size == 0:
            return
        keys = firm.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        amount = np.broadcast_to(np.asarray(amount, dtype=float), keys.shape)
        new, inv = np.unique(keys, return_inverse=True)  # only the new keys are sorted, not the whole table
        add = np.bincount(inv, amount, minlength=new.size)
        pos = np.searchsorted(self.key, new)
        found = pos < self.key.size
        found[found] = self.key[pos[found]] == new[found]
        self.strength[pos[found]] += add[found]
        ins = ~found
        self.key = np.insert(self.key, pos[ins], new[ins])
        self.strength = np.insert(self.strength, pos[ins], add[ins])

    def get(self, firm: np.ndarray, platform: np.ndarray) -> np.ndarray:
        """Strength of each (firm, platform) pair (0 where there is no tie)."""
        keys = firm.astype(np.int64) * KEY_BASE + platform.astype(np.int64)
        if self.key.size == 0:
            return np.zeros(keys.shape)
        i = np.minimum(np.searchsorted(self.key, keys), self.key.size - 1)
        return np.where(self.key[i] == keys, self.strength[i], 0.0)

    def drop_firms(self, firms: np.ndarray) -> None:
        """Remove the ties of firms that left the model."""
        if firms.size and self.key.size:
            keep = ~np.isin(self.firm, firms)
            self.key, self.strength = self.key[keep], self.strength[keep]

    def pick_partner(self, firm: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each firm, a partner platform drawn in proportion to tie strength with the uniform ``u``
        (-1 for a firm with no ties)."""
        out = np.full(firm.size, -1, dtype=np.int64)
        if self.key.size == 0 or firm.size == 0:
            return out
        owner = self.firm
        start = np.searchsorted(owner, firm, side="left")
        end = np.searchsorted(owner, firm, side="right")
        has = end > start
        cum = np.cumsum(self.strength)
        base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
        total = cum[np.maximum(end - 1, 0)] - base
        target = base + u * total
        i = np.searchsorted(cum, target, side="right")
        i = np.clip(i, start, np.maximum(end - 1, start))
        out[has] = self.platform[i[has]]
        return out
