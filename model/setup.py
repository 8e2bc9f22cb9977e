"""Initialisation from the start year's real statistics (model-spec §6)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import rules
from .agents import firm, fund, platform, talent
from .agents.platform import DEMO_BASE, ENG_CENTER, KEY_LAB, SERVICE_PLATFORM
from .data import StartState, start_state, trend, value_in
from .params import LEVERS
from .regions import FIELDS, JJJ

if TYPE_CHECKING:
    from .model import JJJModel
    from .params import Params

KEY_LAB_BUDGET_WEIGHT = 1.5
"""Budget of a key lab relative to an engineering centre (assumption)."""
BASE_YEAR = 2014
"""The first year of the statistics: the year ``contract_value_unit`` and the propensity to patent refer to."""
PLATFORM_STAFF_SHARE = 0.4
"""Share of R&D FTE working at the modelled platforms; the rest work in firms (assumption)."""
FIRM_VA_SHARE = 0.25
"""Share of GDP produced by high-tech enterprises (assumption)."""
HOME_SHARE = 0.7
"""Share of talents whose hukou is in the region they work in (assumption)."""
OTHER_BRANCH_SHARE = 0.05
"""Share of Tianjin and Hebei firms with a branch in each other JJJ region (assumption)."""
ZGC_BRANCH_SPLIT = np.array([4173.0, 4643.0]) / 8816.0
"""Tianjin / Hebei split of ZGC branches in 2020 (jjj_statistics.csv)."""
DEMO_SLOT_BUDGET = 0.05
"""Public budget per real pilot slot, 100m CNY per quarter (assumption)."""
SERVICE_PLATFORM_BUDGET = 0.1
"""Public budget of one service platform, 100m CNY per quarter (assumption)."""


def initialise(m: JJJModel) -> None:
    """Build all agents and calibrate regional research productivity to the start year."""
    p, s = m.p, start_state(int(m.p.start_year))
    m.start = s
    m.fte_per_agent = p.talent_unit / p.scale
    # regional exogenous trends: each region's deviation from the JJJ trend of 2014-2020 (data.trend), per
    # quarter, added to the JJJ-wide budget_growth and talent_growth (Tianjin's R&D fell while Hebei's grew)
    m.budget_growth_dev = _trend_deviation("rd_expenditure")
    m.talent_growth_dev = _trend_deviation("rd_personnel_fte_total")
    _talent(m, s)
    _research_platforms(m, s)
    _firms(m, s)
    _staff(m)
    _calibrate_research(m, s)
    _reach(m)
    _pipeline(m)
    _shared_key_labs(m)
    _demo_bases(m)
    _service_platforms(m)
    _funds(m)
    m.wage = p.wage.copy()
    g = m.platform.group
    m.shared_lab = np.bincount(g, minlength=len(g))[g] > 1


def _count(x: float, scale: float) -> int:
    """Agents standing for x real units at this scale: at least one where x > 0."""
    return max(1, round(x * scale)) if x > 0 else 0


def _talent(m: JJJModel, s: StartState) -> None:
    n = np.array([round(x / m.p.talent_unit * m.p.scale) for x in s.rd_fte])
    region = np.repeat(np.arange(3), n).astype(np.int8)
    rows = talent.add(
        m,
        m.rng,
        region,
        skill=m.rng.lognormal(-0.125, 0.5, region.size),
        field=m.rng.integers(0, m.n_fields, region.size),
    )
    away = m.rng.random(rows.size) > HOME_SHARE
    m.talent.home[rows[away]] = (region[away] + m.rng.integers(1, 4, away.sum())) % 4


def _research_platforms(m: JJJModel, s: StartState) -> None:
    p = m.p
    for r in range(3):
        n_lab, n_eng = _count(s.key_labs[r], p.scale), _count(p.eng_centers[r], p.scale)
        kind = np.r_[np.full(n_lab, KEY_LAB), np.full(n_eng, ENG_CENTER)]
        weight = np.where(kind == KEY_LAB, KEY_LAB_BUDGET_WEIGHT, 1.0)
        budget = p.platform_budget_share * s.rd_expenditure[r] / 4.0 * weight / weight.sum()
        _add_platforms(m, r, kind, m.rng.integers(0, m.n_fields, kind.size), budget, instruments=weight)


def _add_platforms(
    m: JJJModel,
    region: int | np.ndarray,
    kind: np.ndarray,
    field: np.ndarray,
    budget: np.ndarray | float,
    instruments: np.ndarray | float = 0.0,
    capacity: np.ndarray | int = 0,
) -> np.ndarray:
    research = (kind == KEY_LAB) | (kind == ENG_CENTER)
    effort = platform.regime_weights("uniform_quantity", kind, 0.0)
    rows = m.platform.append(
        kind.size,
        region=region,
        kind=kind,
        field=field,
        research=research,
        alive=True,
        budget=budget,
        productivity=1.0,
        efficiency_z=m.rng.standard_normal(kind.size),
        instruments=instruments,
        quality_effort=(effort[:, 1] + effort[:, 2]) / effort[:, :3].sum(axis=1),
        capacity=capacity,
    )
    m.platform.group[rows] = rows
    m.add_agents(platform.Platform, rows)
    return rows


def _trend_deviation(indicator: str) -> np.ndarray:
    """Each region's annual log-linear trend of ``indicator`` minus the JJJ sum's, 2014-2020, per quarter
    (Outside 0)."""
    jjj, regions = trend(indicator)
    return np.r_[(regions - jjj) / 4.0, 0.0]


def _firms(m: JJJModel, s: StartState) -> None:
    p = m.p
    n = np.array([_count(x / p.firm_unit, p.scale) for x in s.high_tech_firms])
    m.ref_productivity = np.ones(4)
    m.ref_size = np.r_[FIRM_VA_SHARE * s.gdp / 4.0 / n, 1.0]
    # technology purchases per unit of value added: the region's absorbed contract turnover over the
    # value added of its firms (derived from the statistics of the start year)
    m.tech_share = np.r_[s.contract_absorbed / (FIRM_VA_SHARE * s.gdp), 0.0]
    # ... as a log gap to Beijing's that closes at demand_convergence (JJJModel.tech_intensity); Outside buys
    # nothing through firm agents (its purchases are license_outside's)
    m.demand_gap = np.r_[np.log(m.tech_share[:3] / m.tech_share[0]), 0.0]
    m.buys_technology = np.r_[1.0, 1.0, 1.0, 0.0]
    # a seller region's mean contract value relative to Beijing's in the start year (registration statistics),
    # as a log gap that closes at contract_size_convergence (JJJModel.seller_size); Outside's offers: no gap
    mean_size = s.contract_output / s.contract_count
    m.contract_size_gap = np.r_[np.log(mean_size / mean_size[0]), 0.0]
    # the unit value is Beijing's of the data's first year (2014); a later start begins at that year's observed
    # Beijing mean, and M(t) carries the growth from there
    first = start_state(BASE_YEAR)
    m.contract_unit = m.p.contract_value_unit * mean_size[0] / (first.contract_output[0] / first.contract_count[0])
    # a seller region's contracts per invention patent relative to Beijing's in the start year (its technology
    # market's reach: transfer offices, brokers, registration), as a log gap that closes at the same speed
    # (JJJModel.seller_access); Outside: no gap
    per_patent = s.contract_count / s.invention_patents
    m.seller_access_gap = np.r_[np.log(per_patent / per_patent[0]), 0.0]
    # JJJ's contracts per invention patent (in the first year's units, patents deflated by the propensity to
    # patent) in the start year over the first year's: the rest of China's demand per result on offer at the
    # start (market.outside_means), so that a later start begins where the market was then, as the contract unit does
    m.outside_rate = float(
        (s.contract_count.sum() / (s.invention_patents.sum() / propensity_to_patent(m.p, s.year)))
        / (first.contract_count.sum() / (first.invention_patents.sum() / propensity_to_patent(m.p, first.year)))
    )
    region = np.repeat(np.arange(3), n).astype(np.int8)
    rows = firm.add(m, m.rng, region, m.rng.integers(0, m.n_fields, region.size))
    zgc = value_in("zgc_branches_in_tj_hb_stock", "Beijing->Tianjin+Hebei", s.year)
    share = np.r_[0.0, np.minimum(zgc * ZGC_BRANCH_SPLIT / s.high_tech_firms[0], 1.0)]
    for dest in range(3):
        chance = np.where(region == 0, share[dest], OTHER_BRANCH_SHARE)
        has = (m.rng.random(rows.size) < chance) & (region != dest)
        firm.add_subsidiaries(m, m.rng, rows[has], np.full(has.sum(), dest))
    m.start_firms = np.bincount(region, minlength=3).astype(float)  # own firms: the base of the capacity (§7.5)


def _staff(m: JJJModel) -> None:
    """Give each region's talents jobs: a share at platforms (by budget), the rest at firms (by size)."""
    t, pl, fm = m.talent, m.platform, m.firm
    m.staff_per_size = np.zeros(4)
    m.skill_per_size = np.ones(4)
    for r in range(3):
        who = m.rng.permutation(np.flatnonzero(t.region == r))
        n_pl = round(PLATFORM_STAFF_SHARE * who.size)
        prow = np.flatnonzero(pl.research & (pl.region == r))
        frow = np.flatnonzero(fm.region == r)
        at_pl = np.repeat(prow, m.rng.multinomial(n_pl, pl.budget[prow] / pl.budget[prow].sum()))
        at_fm = np.repeat(frow, m.rng.multinomial(who.size - n_pl, fm.size[frow] / fm.size[frow].sum()))
        t.employer_kind[who[:n_pl]], t.employer[who[:n_pl]] = talent.PLATFORM, at_pl
        t.employer_kind[who[n_pl:]], t.employer[who[n_pl:]] = talent.FIRM, at_fm
        t.field[who[:n_pl]] = pl.field[at_pl]
        t.field[who[n_pl:]] = fm.field[at_fm]
        pl.staff_per_budget[prow] = (n_pl / prow.size) / pl.budget[prow].mean()
        m.staff_per_size[r] = (who.size - n_pl) / fm.size[frow].sum()
        m.skill_per_size[r] = t.skill[who[n_pl:]].sum() / fm.size[frow].sum()  # the staffing norm (x = 1)
    firm.update_absorptive(m)
    m.ref_productivity = np.r_[m.mean_productivity()[:3], 1.0]


def propensity_to_patent(p: Params, year: float) -> float:
    """Granted invention patents per result record (x ``result_unit``) in ``year``, relative to BASE_YEAR:
    exp(``patent_propensity_growth`` x (year - BASE_YEAR)) (ODD §8)."""
    return math.exp(p.patent_propensity_growth * (year - BASE_YEAR))


def _calibrate_research(m: JJJModel, s: StartState) -> None:
    """Set regional research productivity A_r so that, with every lever at its baseline default, expected
    results match start-year invention patents; the scenario's own levers then act on top of that."""
    pl, p = m.platform, m.p
    m.knowledge = np.r_[s.invention_patents, 0.0]  # provisional, for the spillover term
    m.knowledge_ref = m.knowledge[:3].sum()
    m.use_params(p.replace({k: v.default for k, v in LEVERS.items()}, where="calibration"))
    lam, skill, count = platform.expected_output(m)
    lam *= 1.0 - platform.duplication(m)
    m.use_params(p)
    # results in base-year units: a later start's patents include the growth of the propensity to patent since
    # BASE_YEAR (the measurement equation of the patents counterpart), which is no growth of research output
    target = s.invention_patents / propensity_to_patent(p, s.year) / 4.0 / p.result_unit * p.scale
    for r in range(3):
        here = pl.region == r
        pl.productivity[here] = target[r] / lam[here].sum()
    mean_skill = np.divide(skill, count, where=count > 0, out=np.ones_like(skill))
    gain = 1.0 + p.quality_effort_gain * pl.quality_effort
    m.quality_norm = float(np.average(mean_skill * gain, weights=np.maximum(lam, 1e-12)))
    m.knowledge = np.r_[target, 0.0] / p.knowledge_decay  # steady state of mean quality 1
    m.knowledge_ref = m.knowledge[:3].sum()


def _reach(m: JJJModel) -> None:
    """The reach gap net of the pipeline's composition: the statistics give contracts per invention patent, the
    model meets results on offer, and a region's results on offer per result made differ from Beijing's
    (:func:`.agents.platform.offer_share`: about 1.4x Beijing's in Tianjin and in Hebei at scale 1 in 2014,
    whose research is less basic; the platform mix drawn at set-up moves it by a few per cent), so the
    start-year reach is the per-patent gap less that composition. Without it the first year sold 1.3x the
    contracts Hebei registered (issue 10). Where nothing is on offer at the start (no self-development: results
    reach the market only by piloting) the composition is undefined and left at 1."""
    m.offer_share = platform.offer_share(m)
    share = m.offer_share[:3]
    known = (share > 0) & (share[0] > 0)
    composition = np.divide(share, share[0], where=known, out=np.ones(3))
    m.seller_access_gap[:3] -= np.log(composition)


def _pipeline(m: JJJModel) -> None:
    """Results of the last ``result_life`` quarters (those not yet expired) in the pipeline at the start: born at
    the start-year rate, each advanced by self-development for its age (unlicensed ones only). The results on
    offer then start near their steady state whatever the life (with a fixed 24 quarters, a life of 80 left the
    pool of results on offer to build up over the whole run)."""
    for age in range(m.p.result_life, 0, -1):
        lam, skill, count = platform.expected_output(m)
        n = rules.poisson(m.rng.random(lam.size), lam * (1.0 - platform.duplication(m)))
        platform.create_results(m, m.rng, n, born=-age, skill=skill, count=count, age=age)


def _shared_key_labs(m: JJJModel) -> None:
    """Shared key labs at set-up (``shared_key_labs`` x scale, rounded up), staffed from the key labs."""
    pl, p = m.platform, m.p
    n = math.ceil(p.shared_key_labs * p.scale) if p.shared_key_labs else 0
    add_shared_key_labs(m, n, np.flatnonzero(pl.research & (pl.kind == KEY_LAB)))


def add_shared_key_labs(m: JJJModel, n: int, labs: np.ndarray) -> None:
    """Build ``n`` shared key labs: one node per JJJ region, pooled staff and budget, each node taking the mean
    budget, productivity and staffing of the key labs ``labs`` of its region and staff moved from them."""
    pl, t = m.platform, m.talent
    for _ in range(n):
        field = int(m.rng.integers(0, m.n_fields))
        rows = np.empty(3, dtype=np.int64)
        for r in range(3):
            here = labs[pl.region[labs] == r]
            rows[r] = _add_platforms(
                m, r, np.array([KEY_LAB]), np.array([field]), pl.budget[here].mean(), instruments=KEY_LAB_BUDGET_WEIGHT
            )[0]
            pl.productivity[rows[r]] = pl.productivity[here].mean()
            pl.staff_per_budget[rows[r]] = pl.staff_per_budget[here].mean()
            staff = np.flatnonzero(t.alive & (t.employer_kind == talent.PLATFORM) & np.isin(t.employer, here))
            move = m.rng.choice(staff, size=min(staff.size, max(1, staff.size // here.size)), replace=False)
            t.employer[move] = rows[r]
        pl.group[rows] = rows[0]


def _demo_bases(m: JJJModel) -> None:
    """Demo bases: pilot slots per region (ceil of capacity x scale), two slots per base."""
    slots = np.array([math.ceil(c * m.p.scale) if c > 0 else 0 for c in m.p.demo_base_capacity])
    m.demo_slots = np.r_[slots, 0]
    for r in range(3):
        n = math.ceil(slots[r] / 2)
        if n == 0:
            continue
        cap = np.full(n, slots[r] // n) + (np.arange(n) < slots[r] % n)
        _add_platforms(
            m, r, np.full(n, DEMO_BASE), np.arange(n) % len(FIELDS), cap * DEMO_SLOT_BUDGET / m.p.scale, capacity=cap
        )


def _service_platforms(m: JJJModel) -> None:
    """Service platforms: the lever's count per sector, placed in Tianjin, Hebei, Beijing in turn."""
    fields = np.repeat(np.arange(m.n_fields), m.p.service_platforms.astype(int))
    if fields.size:
        _add_platforms(
            m, (np.arange(fields.size) + 1) % 3, np.full(fields.size, SERVICE_PLATFORM), fields, SERVICE_PLATFORM_BUDGET
        )


def _funds(m: JJJModel) -> None:
    p = m.p
    for r in range(len(JJJ)):
        fund.add(m, fund.GUIDANCE, r, p.guidance_fund_capital[r])
        fund.add(m, fund.PRIVATE, r, p.private_vc_capital[r])
    if p.fund_size > 0:
        fund.add(m, fund.COLLABORATIVE, 0, p.fund_size, p.fund_cross_region_share)
