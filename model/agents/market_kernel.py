"""Compiled loops of the transfer market (:func:`.firm._market`): the offers' slots and their adoption logits.

Each kernel makes, offer by offer, the same IEEE operations in the same order as the numpy form it stands for in
:mod:`.firm` (additions in the logit's order, the same divisions, comparisons and truncations, binary searches that
find what ``np.searchsorted`` finds), so a run gives the same numbers to the bit with or without it
(``tests/model/test_fast_paths.py`` checks both forms on whole runs and on single quarters). The kernels are
compiled by numba where it is installed (the ``fast`` extra), once per machine (cached next to this file, or in
``NUMBA_CACHE_DIR``); without numba, or with ``JJJSIM_NUMBA=0`` in the environment, the numpy form runs.
Transcendental functions (exp, log, log1p) stay in numpy in both forms.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..partnerships import KEY_BASE

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (found without importing it: numba and LLVM cost ~100 MB, paid only on first use)."""
ENABLED = HAVE_NUMBA and os.environ.get("JJJSIM_NUMBA", "1") != "0"
"""Whether :mod:`.firm` uses these kernels (numba installed, not switched off by ``JJJSIM_NUMBA=0``)."""

KEY_MASK = KEY_BASE - 1
"""The platform part of a tie key (keys are firm x KEY_BASE + platform, :mod:`..partnerships`)."""
_compiled: dict[str, Callable[..., Any]] = {}


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by numba on its first call (numba imported then), the plain function where numba is absent."""

    def call(*args: Any) -> Any:
        kernel = _compiled.get(fn.__name__)
        if kernel is None:
            if not HAVE_NUMBA:
                kernel = fn
            else:
                import numba

                kernel = numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
            _compiled[fn.__name__] = kernel
        return kernel(*args)

    call.__doc__, call.__name__, call.__wrapped__ = fn.__doc__, fn.__name__, fn  # type: ignore[attr-defined]
    return call


@_jit
def block_slots(
    u: np.ndarray,
    rows: np.ndarray,
    region: np.ndarray,
    size: int,
    share_out: float,
    share_partner: float,
    cum: np.ndarray,
    count: np.ndarray,
    first: np.ndarray,
    by_region: np.ndarray,
    use_ties: bool,
    tie_key: np.ndarray,
    tie_cum: np.ndarray,
    tie_first: np.ndarray,
    p_count: np.ndarray,
    p_first: np.ndarray,
    p_by_origin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`.firm._block_slots` for one block: ``u`` its uniforms (firm x kind x offer), ``rows`` its firm rows,
    ``region`` their regions; the local-search tables (``cum``, ``count``, ``first``, ``by_region``) of
    :func:`.firm.local_search`; the ties (``tie_key``, cumulative strengths ``tie_cum``, ``tie_first`` per firm) of
    :meth:`.Ties.picker`; results on offer by platform (``p_count``, ``p_first``, ``p_by_origin``)."""
    n_firms, k = u.shape[0], u.shape[2]
    slot = np.full(n_firms * k, size, dtype=np.int64)
    inside = np.empty(n_firms * k, dtype=np.int64)
    if size == 0:
        return slot, inside[:0]
    n_in, cols, last = 0, cum.shape[1], tie_first.size - 1
    for b in range(n_firms):
        r = region[b]
        for j in range(k):
            if not u[b, 2, j] >= share_out:
                continue
            i = b * k + j
            inside[n_in] = i
            n_in += 1
            pick = u[b, 0, j]
            # local search (firm.local_slots): seller region s, then a result among s's
            s = 0
            for c in range(cols - 1):
                if pick >= cum[r, c]:
                    s += 1
            s = min(s, cols - 1)
            lo = cum[r, s - 1] if s > 0 else 0.0
            width = cum[r, s] - lo
            n = count[s]
            within = np.int64(np.floor((pick - lo) / (width if width > 0 else 1.0) * np.float64(n)))
            pos = first[s] + min(max(within, 0), max(n - 1, 0))
            slot[i] = by_region[min(pos, by_region.size - 1)]
            # a partner platform's result instead (Ties.picker, then the partner's results on offer)
            if not (use_ties and u[b, 4, j] < share_partner):
                continue
            f = rows[b]
            start, end = tie_first[min(f, last)], tie_first[min(f + 1, last)]
            if end <= start:
                continue
            base = tie_cum[start - 1] if start > 0 else 0.0
            total = tie_cum[end - 1] - base
            target = base + u[b, 5, j] * total
            a, z = start, end  # np.searchsorted(tie_cum, target, "right") within [start, end)
            while a < z:
                mid = (a + z) // 2
                if tie_cum[mid] <= target:
                    a = mid + 1
                else:
                    z = mid
            partner = tie_key[min(max(a, start), end - 1)] & KEY_MASK
            n_p = p_count[partner]
            if n_p > 0:
                slot[i] = p_by_origin[p_first[partner] + min(np.int64(pick * np.float64(n_p)), n_p - 1)]
    return slot, inside[:n_in]


@_jit
def block_logit(
    slot: np.ndarray,
    floats: np.ndarray,
    ints: np.ndarray,
    out: np.ndarray,
    q_out: np.ndarray,
    head_out: np.ndarray,
    mean_out: np.ndarray,
    sector: np.ndarray,
    k: int,
    rows: np.ndarray,
    region: np.ndarray,
    sector_base: np.ndarray,
    absorptive: np.ndarray,
    group_region: np.ndarray,
    novelty_fit: np.ndarray,
    distance: np.ndarray,
    barrier: np.ndarray,
    service: np.ndarray,
    anchored: np.ndarray,
    backed: float,
    n_fields: int,
    outside: int,
    inside: np.ndarray,
    tie_key: np.ndarray,
    tie_strength: np.ndarray,
    tie_first: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The per-offer part of :func:`.firm._block_decide` up to the ties' term: each offer's result terms gathered by
    ``slot`` from the per-slot ``floats`` (quality, head, mean) and ``ints`` (field, origin, anchor, platform), the
    offers from the rest of China (``out``) set from ``q_out``, ``head_out``, ``mean_out`` and ``sector``, and the
    adoption logit summed in :func:`.firm._block_decide`'s order. Also the tie strength of each offer ``inside``
    with its platform (:meth:`.Ties.get`; ``tie_first`` per firm as in :meth:`.Ties.picker_tables`, so that the
    search runs over the firm's own ties). Returns quality, mean, field, origin, platform, cross, pair,
    sector_field, logit and the strengths."""
    n = slot.size
    quality, mean, logit = np.empty(n), np.empty(n), np.empty(n)
    field, origin = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    platform, pair = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    sector_field, cross = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.bool_)
    head, anchor = np.empty(n), np.empty(n, dtype=np.int64)
    for i in range(n):
        s = slot[i]
        quality[i], head[i], mean[i] = floats[s, 0], floats[s, 1], floats[s, 2]
        field[i], origin[i], anchor[i], platform[i] = ints[s, 0], ints[s, 1], ints[s, 2], ints[s, 3]
    for t in range(out.size):
        i = out[t]
        quality[i], head[i], mean[i], field[i] = q_out[t], head_out[t], mean_out[t], sector[i]
    for i in range(n):
        b = i // k
        loc = region[b]
        o = origin[i]
        c = o != loc and o < outside
        cross[i] = c
        pr = o * 4 + loc
        pair[i] = pr
        sf = sector_base[b] + field[i]
        sector_field[i] = sf
        x = head[i] + absorptive[b]
        x += novelty_fit[sf, 0]
        x += novelty_fit[sf, 1]
        x -= distance[pr]
        x -= barrier[(16 if group_region[b] == o else 0) + pr]
        x += service[(n_fields if c else 0) + field[i]]
        x += anchored[1] if anchor[i] == loc else anchored[0]
        x += backed
        logit[i] = x
    strength = np.zeros(inside.size)
    last = tie_first.size - 1
    if tie_key.size > 0:
        for t in range(inside.size):
            i = inside[t]
            f = rows[i // k]
            key = f * KEY_BASE + platform[i]
            a, end = tie_first[min(f, last)], tie_first[min(f + 1, last)]  # the firm's ties (keys are unique)
            n_ties = end - a
            if n_ties <= 0:
                continue
            while n_ties > 1:  # branch-free binary search: the last of the firm's keys <= key
                half = n_ties >> 1
                a = a + half if tie_key[a + half] <= key else a
                n_ties -= half
            if tie_key[a] == key:
                strength[t] = tie_strength[a]
    return quality, mean, field, origin, platform, cross, pair, sector_field, logit, strength
