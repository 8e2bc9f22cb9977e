"""Talent: researchers, engineers and entrepreneurs who choose a region and an employer (model-spec §4.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import rules
from ..regions import DISTANCE_KM, OUTSIDE
from .base import RowAgent, column

if TYPE_CHECKING:
    from ..model import JJJModel

NONE, PLATFORM, FIRM = 0, 1, 2
"""Employer kinds."""

COLUMNS = {
    "region": (np.int8, ()),
    "home": (np.int8, ()),
    "field": (np.int8, ()),
    "skill": (np.float64, ()),
    "employer_kind": (np.int8, ()),
    "employer": (np.int64, ()),
    "dual": (np.int64, ()),
    "ties": (np.float64, (4,)),
    "alive": (np.bool_, ()),
    "arrived": (np.int32, ()),
}

CAREER_QUARTERS = 160
"""Longest time in the region given to a talent present at the start (40 years; see :func:`add`)."""


class Talent(RowAgent):
    """A researcher, engineer or entrepreneur standing for ``talent_unit / scale`` R&D FTE."""

    TABLE = "talent"
    region = column("region", "Region index (see regions.REGIONS).")
    home = column("home", "Hukou (home) region index.")
    field = column("field", "Primary technology field index.")
    skill = column("skill", "Skill (log-normal, mean ~1).")
    employer_kind = column("employer_kind", "0 none, 1 platform, 2 firm.")
    employer = column("employer", "Row of the employing platform or firm (-1 if none).")
    dual = column("dual", "Row of a platform in another region with a dual appointment, or -1.")
    arrived = column("arrived", "Quarter of the last move into the region (entry included; <= 0 before the start).")

    @property
    def ties(self) -> np.ndarray:
        """Counts of collaborators in each region."""
        return self.table.cell("ties", self.row).copy()


def relocate(m: JJJModel) -> None:
    """A quarter of living talents re-decide their region by conditional logit (model-spec §4.6)."""
    rng = m.stream("relocation")
    t, p = m.talent, m.p
    # draws are made for every row and then selected, so that each talent meets the same random numbers in
    # every scenario run with the same seed (common random numbers, row by row)
    decides = rng.random(len(t))
    taste = rules.gumbel_rows(rng, len(t), 4)
    deciders = np.flatnonzero(t.alive & (decides < p.decide_share))
    if deciders.size == 0:
        return
    choice = rules.choose(utility(m, deciders), taste(deciders))  # conditional logit
    origin = t.region[deciders]
    movers = choice != origin
    rows, dest, orig = deciders[movers], choice[movers], origin[movers]
    np.add.at(m.flows.talent_moves, (orig, dest), 1)
    # movers keep their ties and gain the former colleagues they leave behind (Agrawal et al. 2006)
    t.ties[rows, orig] += 1.5
    t.region[rows] = dest
    t.arrived[rows] = m.steps
    t.employer_kind[rows], t.employer[rows], t.dual[rows] = NONE, -1, -1


def incentive_eligible(m: JJJModel, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Whether each talent is paid its region's incentive: every resident (``talent_incentive_target`` =
    residents), or only one who moved into the region or entered it within the last ``incentive_years``."""
    t, p = m.talent, m.p
    arrived = t.arrived[rows]
    if p.talent_incentive_target == "residents":
        return np.ones(arrived.shape, dtype=bool)
    return m.steps - arrived < round(4 * p.incentive_years)


def utility(m: JJJModel, rows: np.ndarray) -> np.ndarray:
    """U_ir for the given talents over all four regions."""
    t, p = m.talent, m.p
    cur = t.region[rows]
    recognition = np.r_[np.full(3, p.talent_network), 0.0]
    incentive = np.r_[p.talent_incentive, 0.0]
    stays = (np.arange(4)[None, :] == cur[:, None]).astype(float)
    u = rules.talent_utility(
        wage=m.wage,
        skill=t.skill[rows],
        incentive=incentive,
        pull=np.r_[p.incentive_pull, 0.0],
        cost=p.cost_of_living,
        amenity=p.amenity,
        move_km=DISTANCE_KM[cur],
        barrier=m.barrier[cur] * ((cur[:, None] < OUTSIDE) & (np.arange(4) < OUTSIDE)),  # barriers within JJJ
        away_from_home=(np.arange(4)[None, :] != t.home[rows][:, None]).astype(float),
        recognition=recognition,
        ties=t.ties[rows],
        stays=stays,
        network_cut=p.network_moving_cut * p.talent_network * ((cur[:, None] < OUTSIDE) & (np.arange(4) < OUTSIDE)),
        size=np.r_[1.0, 1.0, 1.0, p.outside_alternatives],
        b=dict(
            wage=p.beta_wage,
            incentive=p.beta_incentive,
            cost=p.beta_cost,
            amenity=p.beta_amenity,
            distance=p.beta_distance,
            home=p.beta_home,
            ties=p.beta_ties,
            stay=p.stay_bonus,
        ),
    )
    # a mover-targeted subsidy: a move into any region is paid (the utility keeps I_r there), but staying is
    # paid only to a talent still within incentive_years of arriving
    unpaid = ~incentive_eligible(m, rows)
    u -= p.beta_incentive * (np.r_[p.incentive_pull, 0.0] * incentive)[None, :] * stays * unpaid[:, None]
    return u


def network(m: JJJModel) -> None:
    """The talent network forms cross-region ties and dual appointments; old ties fade (assumption)."""
    rng = m.stream("network")
    t, p = m.talent, m.p
    t.ties *= 1.0 - p.tie_decay
    m.ties_formed = 0.0  # talent-agent ties formed this quarter (public cost of the network, model/costs.py)
    alive = np.flatnonzero(t.alive & (t.region < OUTSIDE))
    if p.talent_network <= 0 or alive.size == 0:
        return
    u_tie, u_other, u_dual, u_end = rng.random((4, len(t)))  # per row: common random numbers
    new = rules.poisson(u_tie[alive], p.tie_formation * p.talent_network)
    m.ties_formed = float(new.sum())
    other = (t.region[alive] + 1 + (u_other[alive] < 0.5)) % 3
    t.ties[alive, other] += new  # one cell per talent (np.add.at's sums without its cost)
    ending = np.flatnonzero(t.dual >= 0)
    t.dual[ending[u_end[ending] < p.dual_end_rate]] = -1
    # dual appointments for platform staff at a platform of another JJJ region (share phi of effort)
    staff = alive[(t.employer_kind[alive] == PLATFORM) & (t.dual[alive] < 0)]
    get = staff[u_dual[staff] < p.dual_appointment_rate * p.talent_network]
    research = np.flatnonzero(m.platform.alive & m.platform.research)
    if get.size and research.size:
        pick = research[rng.integers(0, research.size, get.size)]
        ok = m.platform.region[pick] != t.region[get]
        t.dual[get[ok]] = pick[ok]


def hire(m: JJJModel) -> None:
    """Employers fill vacancies from the region's unemployed, best wage offer and score first."""
    rng = m.stream("hiring")
    t = m.talent
    priority = rng.random(len(t))
    for r, (kinds, rows, offer) in enumerate(m.vacancies()):  # a region's hires leave others' vacancies as they are
        pool = np.flatnonzero(t.alive & (t.region == r) & (t.employer_kind == NONE))
        if pool.size == 0 or rows.size == 0:
            continue
        slots = np.argsort(-(offer + rng.gumbel(size=offer.size) * 0.1), kind="stable")
        take = min(pool.size, slots.size)
        who = pool[np.argsort(priority[pool], kind="stable")[:take]]  # a fixed random queue per row
        t.employer_kind[who] = kinds[slots[:take]]
        t.employer[who] = rows[slots[:take]]
        hired_by_platform = kinds[slots[:take]] == PLATFORM
        np.add.at(m.platform.hires, rows[slots[:take]][hired_by_platform], 1.0)


def turnover(m: JJJModel) -> None:
    """Retirements leave the model; graduates enter in Jing-Jin-Ji (accounted in ``m.flows``)."""
    rng = m.stream("turnover")
    t, p = m.talent, m.p
    leaving = np.flatnonzero(t.alive & (rng.random(len(t)) < p.retirement_rate))  # a draw per row: see relocate
    np.add.at(m.flows.talent_exits, t.region[leaving], 1)
    t.alive[leaving] = False
    m.remove_agents("talent", leaving)
    counts = np.bincount(t.region[t.alive], minlength=4)[:3]
    rate = np.maximum(p.retirement_rate + p.talent_growth + m.talent_growth_dev[:3], 0.0)  # JJJ trend + region's
    entries = rules.poisson(rng.random(3), rate * counts)
    region = np.repeat(np.arange(3), entries).astype(np.int8)
    if region.size:
        add(
            m,
            rng,
            region,
            skill=rng.lognormal(-0.125, 0.5, region.size),
            field=rng.integers(0, m.n_fields, region.size),
        )
        np.add.at(m.flows.talent_entries, region, 1)


def add(m: JJJModel, rng: np.random.Generator, region: np.ndarray, skill: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Create talents (rows and Mesa agents), unemployed, with home ties in their region.

    An entrant arrives now. A talent present at the start (set-up, step 0) gets a time in the region from the
    steady state of entry and retirement, exponential at rate ``retirement_rate + talent_growth`` (plus the region's
    trend deviation) per quarter, by
    quantiles within its region (no random draw, so the set-up's draws are as before)."""
    ties = np.zeros((region.size, 4))
    ties[np.arange(region.size), region] = rng.poisson(5.0, region.size)
    arrived = np.full(region.size, m.steps, dtype=np.int32)
    if m.steps == 0:
        for r in np.unique(region):
            rate = max(m.p.retirement_rate + m.p.talent_growth + m.talent_growth_dev[r], 1.0 / CAREER_QUARTERS)
            here = np.flatnonzero(region == r)
            q = (np.arange(here.size) + 0.5) / here.size
            arrived[here] = -np.minimum(np.floor(-np.log1p(-q) / rate), CAREER_QUARTERS).astype(np.int32)
    rows = m.talent.append(
        region.size,
        region=region,
        home=region,
        field=field,
        skill=skill,
        employer_kind=NONE,
        employer=-1,
        dual=-1,
        ties=ties,
        alive=True,
        arrived=arrived,
    )
    m.add_agents(Talent, rows)
    return rows
