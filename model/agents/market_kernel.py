"""Compiled loops of the transfer market (:func:`.offers.examine`: the offers' slots, their adoption logits and the
deals); the partnership table's are in :mod:`..partnerships`, the switch in :mod:`..compiled`.

Each kernel makes, offer by offer, the same IEEE operations in the same order as the numpy form it stands for in
:mod:`.firm` (additions in the logit's order, sums in np.cumsum's and np.bincount's order, the same divisions,
comparisons and truncations, binary searches that find what ``np.searchsorted`` finds), so a run gives the same
numbers to the bit with or without it (``tests/model/test_fast_paths.py`` checks both forms on whole runs and on
single quarters). Transcendental functions (exp, log, log1p) stay in numpy in both forms.
"""

from __future__ import annotations

import numpy as np

from ..compiled import jit
from ..partnerships import KEY_BASE

KEY_MASK = KEY_BASE - 1
"""The platform part of a tie key (keys are firm x KEY_BASE + platform, :mod:`..partnerships`)."""


@jit
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
    """:func:`.offers._block_slots` for one block: ``u`` its uniforms (firm x kind x offer), ``rows`` its firm rows,
    ``region`` their regions; the local-search tables (``cum``, ``count``, ``first``, ``by_region``) of
    :func:`.offers.local_search`; the ties (``tie_key``, cumulative strengths ``tie_cum``, ``tie_first`` per firm) of
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
            # local search (offers.local_slots): seller region s, then a result among s's
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


@jit
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
    """The per-offer part of :func:`.offers._block_decide` up to the ties' term: each offer's result terms gathered by
    ``slot`` from the per-slot ``floats`` (quality, head, mean) and ``ints`` (field, origin, anchor, platform), the
    offers from the rest of China (``out``) set from ``q_out``, ``head_out``, ``mean_out`` and ``sector``, and the
    adoption logit summed in :func:`.offers._block_decide`'s order. Also the tie strength of each offer ``inside``
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


@jit
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
    """The ties' term of :func:`.offers._block_decide` added to ``logit`` (in place: ``tie_term`` + logit for the
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


@jit
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
    """The rest of :func:`.offers._block_decide` from the exponentials ``e`` of :func:`block_exponents`: contract
    values (``mean`` x draw x the buyer's ``scale``) and costs (x ``recertification`` across regions), signing by
    the logit (draws ``u[:, 1]``) within the firm's ``budget`` (:func:`.offers._within_budget`, its running sum
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
