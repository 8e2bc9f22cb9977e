"""Compiled loops of the transfer market (:func:`.firm._market`: the offers' slots, their adoption logits and the
deals) and of the partnership table (:class:`..partnerships.Ties`: merge, decay, drops and the picker's tables).

Each kernel makes, offer by offer, the same IEEE operations in the same order as the numpy form it stands for in
:mod:`.firm` or :mod:`..partnerships` (additions in the logit's order, sums in np.cumsum's and np.bincount's order,
the same divisions, comparisons and truncations, binary searches that find what ``np.searchsorted`` finds), so a
run gives the same numbers to the bit with or without it
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

from ..partnerships import KEY_BASE, KEY_SHIFT

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


@_jit
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


@_jit
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


@_jit
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


@_jit
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


@_jit
def block_exponents(
    logit: np.ndarray,
    tied: np.ndarray,
    tie_term: np.ndarray,
    tie0: float,
    inside: np.ndarray,
    z: np.ndarray,
    sd: float,
    half_var: float,
    boost: float,
    mandate_barrier: np.ndarray,
    pair: np.ndarray,
) -> np.ndarray:
    """The ties' term of :func:`.firm._block_decide` added to ``logit`` (in place: ``tie_term`` + logit for the
    offers ``tied``, logit + ``tie0`` for the others), and the arguments of its exponentials, in one array for one
    ``np.exp``: -logit (signing), sd x z - ``half_var`` (the contract's log-normal draw, ``z``: the block's normals),
    then for each offer ``inside``: -(logit + ``boost``) (with a fund) and -(logit + ``boost`` +
    ``mandate_barrier[pair]``) (under the collaborative fund's mandate)."""
    n, k, n_in = logit.size, z.shape[2], inside.size
    for t in range(tied.size):
        tie_term[t] += logit[tied[t]]
    for i in range(n):
        logit[i] += tie0
    for t in range(tied.size):
        logit[tied[t]] = tie_term[t]
    arg = np.empty(2 * n + 2 * n_in)
    for i in range(n):
        arg[i] = -logit[i]
        x = sd * z[i // k, 1, i % k]
        arg[n + i] = x - half_var
    for t in range(n_in):
        i = inside[t]
        x = logit[i] + boost
        arg[2 * n + t] = -x
        arg[2 * n + n_in + t] = -(x + mandate_barrier[pair[i]])
    return arg


@_jit
def block_deals(
    e: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    cross: np.ndarray,
    recertification: float,
    u: np.ndarray,
    budget: np.ndarray,
    ticket: np.ndarray,
    spent: float,
    inside: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rest of :func:`.firm._block_decide` from the exponentials ``e`` of :func:`block_exponents`: contract
    values (``mean`` x draw x the buyer's ``scale``) and costs (x ``recertification`` across regions), signing by
    the logit (draws ``u[:, 1]``) within the firm's ``budget`` (:func:`.firm._within_budget`, its running sum
    ``spent``), and the fund candidates, fresh if the firm signs nothing alone and the cost is within its budget +
    ``ticket``. Returns the running sum after the block, the own deals, the candidates, their mandate and fresh
    flags, and the values and costs of all offers."""
    n, k, n_in = mean.size, u.shape[2], inside.size
    value, cost = np.empty(n), np.empty(n)
    own = np.empty(n, dtype=np.int64)
    buys = np.zeros(budget.size, dtype=np.bool_)
    signed = np.zeros(n, dtype=np.bool_)
    n_own, cum = 0, spent
    for b in range(budget.size):
        base = cum  # C(s) - spend(s) of _within_budget: the running sum before the firm's offers
        for j in range(k):
            i = b * k + j
            v = mean[i] * e[n + i]
            v *= scale[b]
            value[i] = v
            cost[i] = v * recertification if cross[i] else v
            if not u[b, 1, j] < 1.0 / (e[i] + 1.0):
                continue
            cum += cost[i]
            if j == 0:
                base = cum - cost[i]
            before = cum - cost[i] - base
            if before + cost[i] <= budget[b]:
                own[n_own] = i
                n_own += 1
                buys[b] = signed[i] = True
    cand = np.empty(n_in, dtype=np.int64)
    mandate, fresh = np.empty(n_in, dtype=np.bool_), np.empty(n_in, dtype=np.bool_)
    n_cand = 0
    for t in range(n_in):
        i = inside[t]
        if signed[i]:
            continue
        b, draw = i // k, u[i // k, 1, i % k]
        tipped = draw < 1.0 / (e[2 * n + t] + 1.0)
        by_mandate = not tipped and cross[i] and draw < 1.0 / (e[2 * n + n_in + t] + 1.0)
        if tipped or by_mandate:
            reach = -np.inf if buys[b] else budget[b] + ticket[b]
            cand[n_cand], mandate[n_cand], fresh[n_cand] = i, by_mandate, reach >= cost[i]
            n_cand += 1
    return cum, own[:n_own], cand[:n_cand], mandate[:n_cand], fresh[:n_cand], value, cost


@_jit
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
