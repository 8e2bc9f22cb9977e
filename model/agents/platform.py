"""Innovation platforms: key labs, engineering centres, service platforms, demo bases (model-spec §3-4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import binom

from .. import rules
from ..achievements import EXPIRED, LICENSED, MARKET_READY, NEW, PILOTING
from ..regions import OUTSIDE
from .base import RowAgent, column

if TYPE_CHECKING:
    from ..model import JJJModel

KEY_LAB, ENG_CENTER, SERVICE_PLATFORM, DEMO_BASE = range(4)
KINDS = ("key_lab", "eng_center", "service_platform", "demo_base")
OUTPUT_TRL = {KEY_LAB: 2, ENG_CENTER: 4}
"""Lowest TRL of a new result by platform type (key labs 2-3, engineering centres 4-5; model-spec §3)."""

COLUMNS = {
    "region": (np.int8, ()),
    "kind": (np.int8, ()),
    "field": (np.int8, ()),
    "group": (np.int64, ()),
    "research": (np.bool_, ()),
    "alive": (np.bool_, ()),
    "budget": (np.float64, ()),
    "budget_dev": (np.float64, ()),  # budget above its exogenous path, left by past evaluations
    "productivity": (np.float64, ()),
    "efficiency_z": (np.float64, ()),
    "instruments": (np.float64, ()),
    "quality_effort": (np.float64, ()),
    "expertise": (np.float64, ()),
    "score": (np.float64, ()),
    "capacity": (np.int64, ()),
    "staff_per_budget": (np.float64, ()),
    # indicators accumulated since the last evaluation
    "n_results": (np.float64, ()),
    "quality_sum": (np.float64, ()),
    "income": (np.float64, ()),
    "hires": (np.float64, ()),
}


class Platform(RowAgent):
    """A high-level innovation platform; ``kind_name`` says which of the four types."""

    TABLE = "platform"
    region = column("region", "Region index of this node.")
    kind = column("kind", "0 key_lab, 1 eng_center, 2 service_platform, 3 demo_base.")
    field = column("field", "Primary technology field index.")
    budget = column("budget", "Budget, 100m CNY per quarter.")
    budget_dev = column("budget_dev", "Budget above its exogenous path left by past evaluations, 100m CNY/quarter.")
    quality_effort = column("quality_effort", "Effort share on quality rather than quantity (0-1).")
    expertise = column("expertise", "Field expertise gained from piloting feedback.")
    score = column("score", "Latest evaluation score.")
    capacity = column("capacity", "Pilot slots (demo bases).")
    group = column("group", "Row of the lead node; nodes of one shared key lab share it.")

    @property
    def kind_name(self) -> str:
        """Platform type name."""
        return KINDS[self.kind]

    @property
    def shared(self) -> bool:
        """Whether this node belongs to a multi-region shared key lab."""
        g = self.table.group
        return bool((g == self.group).sum() > 1)


def efficiency(m: JJJModel) -> np.ndarray:
    """Mean-one efficiency multiplier whose spread grows with autonomy: exp(s z - s^2/2), s = sd * a."""
    s = m.p.autonomy_efficiency_sd * m.p.autonomy
    return np.exp(s * m.platform.efficiency_z - s * s / 2)


def staff_skill(m: JJJModel) -> tuple[np.ndarray, np.ndarray]:
    """Sum of staff skill and number of staff by platform row (dual appointments count phi)."""
    t, n = m.talent, len(m.platform)
    emp = t.alive & (t.employer_kind == 1)
    skill = np.bincount(t.employer[emp], t.skill[emp], minlength=n).astype(float)  # int64 when no one is employed
    count = np.bincount(t.employer[emp], minlength=n).astype(float)
    dual = t.alive & (t.dual >= 0)
    skill += m.p.dual_effort_share * np.bincount(t.dual[dual], t.skill[dual], minlength=n)
    return skill, count


def instrument_access(m: JJJModel) -> np.ndarray:
    """Own instrument hours net of what is shared, plus a share of the hours others offer nearby."""
    pl, s = m.platform, m.p.instrument_sharing
    own = pl.instruments * (1.0 - m.p.instrument_owner_loss * s)
    offered = np.bincount(pl.region, pl.instruments * s * pl.research, minlength=4)
    pool = m.spill_w.T @ offered  # hours reaching each region, weighted by distance and barrier
    users = np.maximum(np.bincount(pl.region, pl.research, minlength=4), 1)
    return own + (pool / users)[pl.region]


def expected_output(m: JJJModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lambda by platform row (zero for non-research), staff skill sum, and staff count."""
    pl, p = m.platform, m.p
    skill, count = staff_skill(m)
    h = (skill + p.instrument_weight * instrument_access(m)) * pl.research
    b = pl.budget * (1.0 - rules.overhead(p.autonomy, p.overhead_base, p.autonomy_overhead_cut))
    h_g = np.bincount(pl.group, h, minlength=len(pl))[pl.group]
    b_g = np.bincount(pl.group, b * pl.research, minlength=len(pl))[pl.group]
    spill = m.spillover()[pl.region]
    s_g = (np.bincount(pl.group, spill, minlength=len(pl)) / np.maximum(np.bincount(pl.group, minlength=len(pl)), 1))[
        pl.group
    ]
    lam = rules.research_rate(
        b_g, h_g, s_g, pl.productivity * efficiency(m), p.budget_elasticity, p.staff_elasticity, p.spillover_strength
    )
    lam *= (1.0 - p.quality_effort_cost * pl.quality_effort) * np.divide(h, h_g, where=h_g > 0, out=np.zeros_like(h))
    return lam * pl.research * pl.alive, skill, count


def start_trl(kind: np.ndarray) -> np.ndarray:
    """Lowest TRL of a new result of platforms of ``kind`` (OUTPUT_TRL; one more step is drawn at creation)."""
    return np.where(kind == KEY_LAB, OUTPUT_TRL[KEY_LAB], OUTPUT_TRL[ENG_CENTER])


def offer_share(m: JJJModel) -> np.ndarray:
    """Expected share of a region's results that are on offer at the start (Outside: 1): of the results made in
    the last ``result_life`` quarters at the start-year rate, those that self-development has brought to
    market-ready and that have not expired (the pipeline of :func:`setup._pipeline`, in expectation). A key
    lab's result starts at TRL 2 or 3, an engineering centre's at 4 or 5 (:func:`create_results`), so a region
    whose research is more basic holds fewer results on offer per result made."""
    p = m.p
    lam = expected_output(m)[0] * (1.0 - duplication(m))
    start = start_trl(m.platform.kind)
    ages = np.arange(1, p.result_life)  # on offer while younger than result_life (market.on_offer)
    ready = np.zeros(lam.size)
    for extra in (0, 1):  # the start TRL's draw of 0 or 1 step
        need = p.market_ready_trl - start - extra
        ready += 0.5 * binom.sf(need[:, None] - 1, ages[None, :], p.self_development_hazard).sum(axis=1)
    region = m.platform.region
    made = np.bincount(region, lam * p.result_life, minlength=4)[:3]
    offered = np.bincount(region, lam * ready, minlength=4)[:3]
    return np.r_[np.divide(offered, made, where=made > 0, out=np.ones(3)), 1.0]


def duplication(m: JJJModel) -> np.ndarray:
    """Share of each platform's results that duplicate same-field work in other JJJ regions."""
    pl = m.platform
    live = pl.research & pl.alive
    cnt = np.zeros((4, m.n_fields))
    np.add.at(cnt, (pl.region[live], pl.field[live]), 1)
    other = cnt[:3].sum(axis=0)[pl.field] - cnt[pl.region, pl.field]
    overlap = 1.0 - np.exp(-other / m.p.duplication_overlap_scale)
    return rules.duplication_share(m.p.project_alignment, overlap, m.p.duplication_base)


def research(m: JJJModel) -> None:
    """Research: Poisson-many results per platform, quality from staff, effort and expertise (§4.1)."""
    rng = m.stream("research")
    # next quarter's efficiency shocks: one per platform row from a child of the research stream, so that a row's
    # shock does not depend on how many rows (demo bases, shared labs) a scenario has (common random numbers)
    eps = rng.spawn(1)[0].standard_normal(len(m.platform))
    pl = m.platform
    lam, skill, count = expected_output(m)
    dup = duplication(m)
    u_new, u_dup = rng.random((2, len(pl)))  # one uniform per platform row: common random numbers
    n_new = rules.poisson(u_new, lam * (1.0 - dup))
    m.tally.duplicates += np.bincount(pl.region, rules.poisson(u_dup, lam * dup), minlength=4)
    rows, quality = create_results(m, rng, n_new, born=m.steps, skill=skill, count=count)
    np.add.at(pl.n_results, rows, 1.0)
    np.add.at(pl.quality_sum, rows, quality)
    m.knowledge += np.bincount(pl.region[rows], quality, minlength=4)
    pl.efficiency_z[:] = rules.efficiency_shock(pl.efficiency_z, eps, m.p.efficiency_persistence)


def create_results(
    m: JJJModel, rng: np.random.Generator, n: np.ndarray, born: int, skill: np.ndarray, count: np.ndarray, age: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Append ``n[p]`` results of platform row p: quality from staff skill, quality effort and expertise
    (log-normal, mean one at the start), TRL by platform type, advanced by ``age`` quarters of
    self-development (up to market-ready). Returns the origin rows and the qualities."""
    pl, p = m.platform, m.p
    m.reserve("results", 2 * int(n.sum()) * m.results.row_bytes)  # the new rows and their working arrays
    rows = np.repeat(np.arange(len(pl)), n)
    mean_skill = np.divide(skill, count, where=count > 0, out=np.ones_like(skill))[rows]
    sd = p.quality_sd
    quality = (
        rng.lognormal(-sd * sd / 2, sd, rows.size)
        * mean_skill
        * (1.0 + p.quality_effort_gain * pl.quality_effort[rows])
        * (1.0 + pl.expertise[rows])
        / m.quality_norm
    )
    trl = start_trl(pl.kind[rows]) + rng.integers(0, 2, rows.size)
    if age:
        trl = np.minimum(trl + rng.binomial(age, p.self_development_hazard, rows.size), p.market_ready_trl)
    status = np.where(trl >= p.market_ready_trl, MARKET_READY, NEW)
    m.results.append(
        rows.size,
        field=pl.field[rows],
        quality=quality,
        trl=trl,
        origin=rows,
        region=pl.region[rows],
        born=born,
        status=status,
        base=-1,
        anchor=-1,
        buyer=-1,
    )
    return rows, quality


def pilot(m: JJJModel) -> None:
    """Piloting: demo bases take TRL 4-5 results and advance them with hazard h (§4.2) to one TRL past
    market-ready (demonstrated); others self-develop slowly up to market-ready; results past their life
    expire, some licensed Outside."""
    rng = m.stream("piloting")
    res, pl, p = m.results, m.platform, m.p
    # one uniform per result row for its TRL step this quarter, piloted or not, and one for its pilot intake, from
    # child streams: a result meets the same draws whatever the number of bases, pilots and candidates (common
    # random numbers across demo-base settings)
    step_rng, pick_rng = rng.spawn(2)
    u = step_rng.random(len(res))
    piloting = np.flatnonzero(res.status == PILOTING)
    base = res.base[piloting]
    fit = 0.5 + 0.5 * m.similarity[pl.field[base], res.field[piloting]]
    up = u[piloting] < rules.pilot_hazard(p.pilot_hazard, 1.0 + pl.expertise[base], fit)
    res.trl[piloting[up]] += 1
    # each piloted step teaches the result's origin (iteration feeds back) and the base (learning by doing);
    # expertise saturates at expertise_max and depreciates
    learned = np.bincount(res.origin[piloting[up]], minlength=len(pl)) + np.bincount(base[up], minlength=len(pl))
    pl.expertise[:] = rules.expertise_update(
        pl.expertise, learned, p.expertise_gain, p.expertise_max, p.expertise_decay
    )
    new = np.flatnonzero(res.status == NEW)
    res.trl[new[u[new] < p.self_development_hazard]] += 1
    mr = p.market_ready_trl
    ready = np.flatnonzero(((res.status == NEW) & (res.trl >= mr)) | ((res.status == PILOTING) & (res.trl > mr)))
    res.status[ready] = MARKET_READY
    assign_pilots(m, pick_rng)
    expire(m, rng)


def assign_pilots(m: JJJModel, rng: np.random.Generator) -> None:
    """Fill free demo-base slots with candidate results, preferring fresh results, low barriers and good fit.

    Each base, visited in random order, draws its ``free`` pilots from the remaining candidates by weighted
    sampling without replacement, weight ``(1 - barrier) * fit * 2^(-age / pilot_intake_half_life)``
    (Efraimidis & Spirakis 2006: the largest keys ``log(u) / weight``): bases take the results labs have just
    completed. The base's part of the weight depends only on the candidate's (region, field) group, so each group
    is sorted by ``log(u) / freshness`` once and a base looks only at the next ``free`` candidates of each group:
    the cost is linear in the candidates, not bases x candidates. ``u`` is one uniform per result row.
    """
    res, pl, p = m.results, m.platform, m.p
    u = rng.random(len(res))  # one per result row, drawn first
    bases = np.flatnonzero((pl.kind == DEMO_BASE) & pl.alive)
    if bases.size == 0:
        return
    busy = np.bincount(res.base[res.status == PILOTING], minlength=len(pl))
    order = bases[rng.permutation(bases.size)]
    free = pl.capacity[order] - busy[order]
    order, free = order[free > 0], free[free > 0]
    cand = np.flatnonzero((res.status == NEW) & (res.trl >= p.market_ready_trl - 2))
    if order.size == 0 or cand.size == 0:
        return
    fresh = np.exp2(-(m.steps - res.born[cand]) / p.pilot_intake_half_life)
    with np.errstate(divide="ignore"):
        own_key = np.log(u[cand]) / fresh
    n_groups = 4 * m.n_fields
    group = res.region[cand].astype(np.int64) * m.n_fields + res.field[cand]
    sort = np.lexsort((-own_key, group))  # by group, then largest key first
    cand, own_key = cand[sort], own_key[sort]
    start = np.searchsorted(group[sort], np.arange(n_groups + 1))
    taken = np.zeros(n_groups, dtype=np.int64)
    g_region, g_field = np.divmod(np.arange(n_groups), m.n_fields)
    chosen_rows, chosen_base = [], []
    for b, k in zip(order.tolist(), free.tolist(), strict=True):
        weight = (1.0 - m.barrier[g_region, pl.region[b]]) * (0.5 + 0.5 * m.similarity[pl.field[b], g_field])
        pos = start[:-1, None] + taken[:, None] + np.arange(k)  # the next k candidates of each group
        ok = pos < start[1:, None]
        if not ok.any():
            break
        idx = pos[ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            key = own_key[idx] / np.repeat(weight, ok.sum(axis=1))
        pick = idx[np.argsort(-key, kind="stable")[:k]]  # stable: ties go to the earlier in a group, a prefix
        taken += np.bincount(np.searchsorted(start, pick, side="right") - 1, minlength=n_groups)
        chosen_rows.append(cand[pick])
        chosen_base.append(np.full(pick.size, b))
    if chosen_rows:
        rows, base = np.concatenate(chosen_rows), np.concatenate(chosen_base)
        res.status[rows], res.base[rows], res.anchor[rows] = PILOTING, base, pl.region[base]


def expire(m: JJJModel, rng: np.random.Generator) -> None:
    """Results older than their life expire; a share of market-ready ones is licensed Outside."""
    res, p = m.results, m.p
    old = np.flatnonzero((res.status <= MARKET_READY) & (m.steps - res.born >= p.result_life))
    ready = old[res.status[old] == MARKET_READY]
    out = ready[rng.random(ready.size) < p.outside_adoption]
    res.status[old] = EXPIRED
    if out.size:
        value = m.contract_value(out)
        res.status[out], res.buyer[out], res.licensed[out] = LICENSED, OUTSIDE, m.steps
        m.book_contracts(out, np.full(out.size, OUTSIDE), value, payer=None)


def evaluate(m: JJJModel) -> None:
    """Every 4 steps: score research platforms on the period's indicators, revert budgets part-way to their
    exogenous path, move budget from the bottom to the top of each type (budget-neutral), adjust effort (§4.7)."""
    pl, p = m.platform, m.p
    rows = np.flatnonzero(pl.research & pl.alive)
    per_budget = 1.0 / pl.budget[rows]  # output and income are judged relative to resources
    # realised efficiency: log results per unit budget over the period (autonomy widens it, model-spec §5)
    m.efficiency_spread = float(np.std(np.log((pl.n_results[rows] + 0.5) * per_budget)))
    ind = np.column_stack(
        [
            pl.n_results[rows] * per_budget,
            pl.quality_sum[rows] / np.maximum(pl.n_results[rows], 1),
            pl.income[rows] * per_budget,
            pl.hires[rows] * per_budget,
        ]
    )
    w = regime_weights(p.evaluation_regime, pl.kind[rows], p.evaluation_quality_weight)
    pl.score[rows] = rules.evaluation_score(ind, w, pl.kind[rows])
    # budgets first revert part-way to their exogenous path, then the budget-neutral tournament moves budget
    # from the bottom to the top of each type: no permanent winners, and each type's total is unchanged
    before = pl.budget[rows].copy()
    # regions grow at their own trends (§7.8), so a type's deviations from the path no longer sum to zero; that
    # common part joins the path (in proportion to budget), and reversion, like the tournament, keeps each type's
    # total
    kind, dev = pl.kind[rows], pl.budget_dev[rows]
    common = np.bincount(kind, dev) / np.maximum(np.bincount(kind, before), 1e-300)
    reverted, dev = rules.revert_budget(before, dev - before * common[kind], p.evaluation_reversion)
    after = rules.reallocate_budget(
        reverted,
        pl.score[rows],
        pl.kind[rows],
        p.evaluation_top_share,
        p.evaluation_bottom_share,
        p.evaluation_budget_change,
    )
    pl.budget[rows], pl.budget_dev[rows] = after, dev + (after - reverted)
    m.tally.evaluation_transfer = np.bincount(pl.region[rows], np.maximum(after - reverted, 0.0), minlength=4)
    m.tally.evaluation_net = np.bincount(pl.region[rows], after - before, minlength=4)
    target = (w[:, 1] + w[:, 2]) / (w[:, 0] + w[:, 1] + w[:, 2])
    pl.quality_effort[rows] += p.effort_adjustment * (target - pl.quality_effort[rows])
    for col in ("n_results", "quality_sum", "income", "hires"):
        getattr(pl, col)[:] = 0.0


def regime_weights(regime: str, kind: np.ndarray, quality_weight: float) -> np.ndarray:
    """Indicator weights (quantity, quality, transformation income, resource aggregation) by type.

    uniform_quantity: 0.7 / 0.1 / 0.1 / 0.1 for every type. differentiated: a share ``quality_weight``
    on quality (key labs) or on quality and income half each (engineering centres), the rest split
    between quantity and aggregation (assumption).
    """
    if regime == "uniform_quantity":
        return np.tile([0.7, 0.1, 0.1, 0.1], (kind.size, 1))
    q, rest = quality_weight, (1.0 - quality_weight) / 2
    lab = np.array([rest, q, 0.0, rest])
    eng = np.array([rest, q / 2, q / 2, rest])
    return np.where((kind == KEY_LAB)[:, None], lab, eng)
