"""The Mesa model of the Jing-Jin-Ji innovation ecosystem: state, schedule and bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np
from mesa.agent import AgentSet

from . import achievements, policy, setup
from .agents import firm, fund, market, platform, talent
from .agents.base import RowAgent
from .budget import Budget
from .metrics import Recorder
from .params import REGISTRY, ConfigError, Params, defaults, validate
from .partnerships import Ties
from .regions import FIELDS, OUTSIDE, barrier_matrix, field_similarity, spillover_weights
from .table import Table

STREAMS = (
    "research",
    "piloting",
    "transfer",
    "outside",
    "funds",
    "exits",
    "production",
    "entry",
    "branches",
    "turnover",
    "network",
    "relocation",
    "hiring",
    "firm_relocation",
)
"""Processes with a random stream of their own (see :meth:`JJJModel.stream`)."""


def _zeros4() -> np.ndarray:
    return np.zeros(4)


@dataclass
class Tally:
    """Per-step counters by region (reset at the start of every step)."""

    duplicates: np.ndarray = field(default_factory=_zeros4)
    adoptions: np.ndarray = field(default_factory=_zeros4)
    """JJJ results licensed for the first time, by buyer region."""
    contracts: np.ndarray = field(default_factory=_zeros4)
    """Contracts (deals) signed by JJJ firms, by buyer region."""
    relocations: np.ndarray = field(default_factory=_zeros4)
    """Beijing firms that moved their headquarters here this quarter."""
    value_added: np.ndarray = field(default_factory=_zeros4)
    firm_exits: np.ndarray = field(default_factory=_zeros4)
    firm_entries: np.ndarray = field(default_factory=_zeros4)
    spinoffs: np.ndarray = field(default_factory=_zeros4)
    branches_opened: np.ndarray = field(default_factory=_zeros4)
    exits: np.ndarray = field(default_factory=_zeros4)
    incentives_paid: np.ndarray = field(default_factory=_zeros4)
    evaluation_transfer: np.ndarray = field(default_factory=_zeros4)
    """Gross research budget moved by this step's evaluation tournament, by the region of the platforms that gain
    it (100m CNY per quarter from now on; 0 between evaluations). Taken from the bottom platforms of the same type,
    so its net public cost is zero by construction."""
    evaluation_net: np.ndarray = field(default_factory=_zeros4)
    """Net change of research budgets by this step's evaluation (reversion plus tournament), by region (100m CNY
    per quarter); sums to zero over the regions."""


@dataclass
class Flows:
    """Cumulative origin x destination flows and money ledgers since the start of the run."""

    contract_value: np.ndarray = field(default_factory=lambda: np.zeros((4, 4)))
    contract_count: np.ndarray = field(default_factory=lambda: np.zeros((4, 4)))
    talent_moves: np.ndarray = field(default_factory=lambda: np.zeros((4, 4)))
    talent_entries: np.ndarray = field(default_factory=_zeros4)
    talent_exits: np.ndarray = field(default_factory=_zeros4)
    paid_by_firms: float = 0.0
    paid_by_outside: float = 0.0
    received_by_platforms: float = 0.0
    paid_to_outside: float = 0.0
    """Paid by JJJ firms to sellers in the rest of China."""
    recertification: float = 0.0


class JJJModel(mesa.Model):
    """Platforms, talent, firms and funds in Beijing, Tianjin, Hebei and Outside (model-spec §3-4).

    Args:
        params: a complete parameter set (default: the registry defaults).
        rng: seed or ``numpy.random.SeedSequence`` for the model's one generator.
        budget: caps on the run's agent-steps and table memory (:class:`~.budget.Budget`; default caps when
            None). A step past a cap raises :class:`~.budget.BudgetExceeded`.
    """

    n_fields = len(FIELDS)
    TABLES = ("talent", "platform", "firm", "fund", "results", "investments")
    """The model's tables (agents, result records, fund investments)."""

    def __init__(
        self,
        params: Params | None = None,
        rng: int | np.random.SeedSequence | None = None,
        budget: Budget | None = None,
    ) -> None:
        seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
        self._seed_root = (seq.entropy, tuple(seq.spawn_key))
        super().__init__(rng=np.random.default_rng(self._child_seed(0, 0)))  # set-up and Mesa's own draws
        self.p = params or defaults()
        p = self.p
        self.talent = Table(talent.COLUMNS, 4096)
        self.platform = Table(platform.COLUMNS, 512)
        self.firm = Table(firm.COLUMNS, 2048)
        self.fund = Table(fund.COLUMNS, 16)
        self.results = Table(achievements.COLUMNS, 8192)
        self.investments = Table(fund.INVESTMENT_COLUMNS, 1024)
        self._agents: dict[str, dict[int, RowAgent]] = {k: {} for k in ("talent", "platform", "firm", "fund")}
        self.budget = budget or Budget()
        self.work = 0
        """Agent-steps so far: living agents and result records, summed over the quarters run."""
        self.outside_reach_ref = 0.0
        """W_0 of market.outside_means: the rest of China's first non-empty weighted pool of JJJ results on offer
        times ``outside_rate``; its demand for JJJ technology, outside_demand contracts per unit of W_0, grows with
        M(t), not with the number of JJJ results."""
        self.outside_rate = 1.0
        """JJJ's contracts per invention patent (2014 units) in the start year over 2014's (set-up)."""
        for name in self.TABLES:
            getattr(self, name).guard = lambda extra, name=name: self.reserve(name, extra)
        self.use_params(self.p)
        self.similarity = field_similarity(self.n_fields)
        self.adoption_weights = dict(
            intercept=p.adopt_intercept,
            quality=p.adopt_quality,
            trl=p.adopt_trl,
            absorptive=p.adopt_absorptive,
            novelty=p.adopt_novelty,
            fit=p.adopt_fit,
            distance=p.adopt_distance,
            barrier=p.adopt_barrier,
            service=p.service_platform_effect,
            anchor=p.demo_anchor,
            funding=p.funding_boost,
        )
        self.ticket = p.fund_ticket / p.scale
        self.crowd_in = np.r_[p.crowd_in, 0.0]
        self.climate = np.zeros(4)
        self.efficiency_spread = np.nan  # set by each evaluation
        self.flows = Flows()
        self.tally = Tally()
        self.ties = Ties()
        self.ties.guard = lambda extra: self.reserve("ties", extra)
        policy.start(self)  # the levers in force in start_year Q1 (a timeline's first quarter)
        setup.initialise(self)
        self.recorder = Recorder(self, p.steps)
        self.recorder.record(self)
        self.budget.check_start(self.holding(), int(p.steps))

    # ---- the schedule ----------------------------------------------------------------------------
    def step(self) -> None:
        """One quarter: the nine processes of model-spec §4, in order."""
        policy.apply(self)  # levers in force this quarter (index self.steps - 1; model/policy.py)
        self.tally = Tally()
        platform.research(self)  # 1 research
        platform.pilot(self)  # 2 piloting
        market.adopt(self)  # 3 transfer (4: funds back deals here)
        fund.settle(self)  # 4 investment: fees, exits
        firm.produce(self)  # 5 firms
        firm.enter_exit(self)
        firm.open_branches(self)
        firm.relocate(self)
        talent.turnover(self)  # 6 talent
        talent.network(self)
        talent.relocate(self)
        talent.hire(self)
        if self.steps % 4 == 0:
            platform.evaluate(self)  # 7 evaluation (yearly)
        self.update_economy()  # 8 culture, wages, budgets, knowledge
        self.recorder.record(self)  # 9 collect
        held = self.holding()
        self.work += held
        self.budget.check_work(self.work, self.steps, held)

    def holding(self) -> int:
        """Living agents, result records and partnership ties: what one step's work is proportional to."""
        alive = sum(int(np.count_nonzero(t.alive)) for t in (self.talent, self.platform, self.firm, self.fund))
        return alive + len(self.results) + len(self.ties)

    def reserve(self, table: str, extra: int) -> None:
        """Check that ``extra`` more bytes for ``table`` stay within the memory budget (raises
        :class:`~.budget.BudgetExceeded` otherwise)."""
        self.budget.check_memory(self.table_bytes(), extra, table)

    def table_bytes(self) -> int:
        """Bytes allocated by the model's tables (their capacity): what the memory budget counts."""
        return sum(getattr(self, name).nbytes for name in self.TABLES) + self.ties.nbytes

    def update_economy(self) -> None:
        """Culture rises with commercial successes and decays (§4.8); wages track productivity;
        budgets grow; knowledge stocks depreciate; public cost of incentives is booked."""
        p = self.p
        success = self.tally.adoptions + self.tally.spinoffs
        per_firm = success / np.maximum(self.firm_counts(), 1) * 10.0
        self.climate = (1.0 - p.culture_decay) * self.climate + p.culture_learning_rate * per_firm
        self.climate[3] = 0.0
        rel = self.mean_productivity() / self.ref_productivity
        self.wage = p.wage * np.r_[rel[:3] ** p.wage_productivity_elasticity, 1.0]
        research = self.platform.research
        # the exogenous path (JJJ trend plus the region's deviation from it), and the deviation from that path
        growth = 1.0 + p.budget_growth + self.budget_growth_dev[self.platform.region[research]]
        self.platform.budget[research] *= growth
        self.platform.budget_dev[research] *= growth
        self.knowledge *= 1.0 - p.knowledge_decay
        # the spillover reference follows the JJJ knowledge stock's own trend (exponential smoothing)
        self.knowledge_ref += p.knowledge_reference_adjustment * (self.knowledge[:3].sum() - self.knowledge_ref)
        paid = self.talent.alive & talent.incentive_eligible(self)  # every resident, or recent arrivals only
        fte = np.bincount(self.talent.region[paid], minlength=4) * self.fte_per_agent
        self.tally.incentives_paid = np.r_[p.talent_incentive, 0.0] * fte / 4.0 * 1e-4

    def _child_seed(self, stream: int, step: int) -> np.random.SeedSequence:
        entropy, key = self._seed_root
        return np.random.SeedSequence(entropy, spawn_key=(*key, stream, step))

    def stream(self, process: str) -> np.random.Generator:
        """The random stream of one process in the current step.

        Each process draws from its own generator, derived from the run's seed, the process and the step, so
        that a lever which changes one process's draws leaves every other process's draws as they were: the
        common random numbers that make paired comparisons of scenarios sharp.
        """
        return np.random.default_rng(self._child_seed(1 + STREAMS.index(process), self.steps))

    def use_params(self, p: Params) -> None:
        """Adopt a parameter set and the quantities derived from it (barriers, spillover weights).

        The set is checked against the registry first (a :class:`Params` built by hand, e.g. by another tool,
        skips the checks of ``Params.replace``): a missing or out-of-range value raises :class:`ConfigError`.
        """
        missing = REGISTRY.keys() - p.values.keys()
        if missing:
            raise ConfigError(
                "model parameters", sorted(missing)[0], "every registry parameter (start from defaults())", "missing"
            )
        validate(p.values, "model parameters")
        self.p = p
        self.barrier = barrier_matrix(p.barrier, p.standards_recognition, p.recognition_barrier_cut)
        self.spill_w = spillover_weights(self.barrier, p.spillover_decay_km)

    # ---- helpers used by the processes -----------------------------------------------------------
    def spillover(self) -> np.ndarray:
        """S_r = sum_s w_rs K_s / K_ref: the knowledge stocks reaching region r (distance decay and barriers),
        relative to a reference that starts at the start-year Jing-Jin-Ji stock and follows its trend."""
        return self.spill_w @ self.knowledge / self.knowledge_ref

    def contract_mean(self, quality: np.ndarray, trl_above: np.ndarray, seller: np.ndarray | int) -> np.ndarray:
        """Mean value of one contract (100m CNY per deal at this scale) on results of ``quality``, ``trl_above``
        steps above market-ready, sold from region ``seller``: unit x M(t)^s x the seller region's size factor
        (:meth:`seller_size`) x quality x (1 + 0.25 x trl_above), s = ``contract_size_market_share``."""
        p = self.p
        grown = self.market_index() ** p.contract_size_market_share * self.seller_size()[seller]
        return self.contract_unit / p.scale * grown * quality * (1.0 + 0.25 * trl_above)

    def contract_value(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`contract_mean` of results ``rows`` (each sold from its own region)."""
        r = self.results
        return self.contract_mean(r.quality[rows], r.trl[rows] - self.p.market_ready_trl, r.region[rows])

    def seller_size(self) -> np.ndarray:
        """Mean contract size of each seller region relative to Beijing's (Outside: 1): the start-year gap
        exp(g_r) closing at ``contract_size_convergence`` a year, exp(g_r exp(-kappa t / 4)), t in quarters."""
        return self._closing(self.contract_size_gap)

    def _closing(self, gap: np.ndarray, rate: float | np.ndarray | None = None) -> np.ndarray:
        """exp(gap x exp(-kappa t / 4)): a start-year log gap to Beijing closing at ``rate`` a year (one rate or
        one per region; ``contract_size_convergence`` by default)."""
        kappa = self.p.contract_size_convergence if rate is None else rate
        return np.exp(gap * np.exp(-kappa * self.steps / 4.0))

    def tech_intensity(self) -> np.ndarray:
        """Technology purchases per unit of firm value added of each buyer region, theta_r(t) (Outside: 0): the
        start year's, theta_r(0) = theta_BJ(0) exp(d_r), with the log gap d_r to Beijing's closing at
        ``demand_convergence`` (lambda_r) a year, theta_BJ(0) exp(d_r exp(-lambda_r t / 4)), t in quarters (the
        diffusion of technology-market practice from the frontier region, the same form as :meth:`seller_size`)."""
        rate = np.r_[self.p.demand_convergence, 0.0]
        return self.tech_share[0] * self._closing(self.demand_gap, rate) * self.buys_technology

    def seller_access(self) -> np.ndarray:
        """Reach of each seller region's technology market relative to Beijing's (Outside: 1): how often its
        results on offer are met by buyers: contracts per result on offer, exp(a_r) at the start, the start year's
        contracts per invention patent relative to Beijing's over the pipeline's results on offer per result made
        relative to Beijing's (``setup._reach``), as a gap closing at the region's ``reach_convergence`` rho_r a
        year: exp(a_r exp(-rho_r t / 4)), t in quarters."""
        return self._closing(self.seller_access_gap, np.r_[self.p.reach_convergence, 0.0])

    def market_index(self) -> float:
        """The technology-market index M(t) = exp(g t), t in quarters since the start: the deepening of China's
        technology market that raises firms' technology budgets and the rest of China's demand alike."""
        return float(np.exp(self.p.tech_market_growth * self.steps))

    def tfp_frontier(self) -> float:
        """The TFP frontier F(t) = ``frontier_gap`` x exp(``frontier_growth`` x t / 4), t in quarters since the
        start, relative to the start-year mean TFP of the firms (1): the best practice that technology bought can
        raise a firm's TFP towards (:func:`.agents.market.adopt`)."""
        return float(self.p.frontier_gap * np.exp(self.p.frontier_growth * self.steps / 4.0))

    def book(
        self,
        origin: np.ndarray,
        buyer: np.ndarray,
        value: np.ndarray,
        seller: np.ndarray | None = None,
        payer: np.ndarray | None = None,
        cost: np.ndarray | None = None,
    ) -> None:
        """Record contracts, one per element: the seller's region ``origin`` (Outside for the rest of China),
        the buyer's region and the value. ``seller``: result rows (-1 for an Outside seller), whose platforms
        receive the value; ``payer``: buying firm rows (None: a buyer of the rest of China), who pay ``cost``
        (value plus re-certification across regions). Each deal stands for ``1 / scale`` real contracts."""
        f, res = self.flows, self.results
        cell = origin * 4 + buyer  # bincount, not np.add.at: the same sums, several times faster
        f.contract_value += np.bincount(cell, value, minlength=16).reshape(4, 4)
        f.contract_count += np.bincount(cell, minlength=16).reshape(4, 4) / self.p.scale
        if seller is not None:
            jjj = seller >= 0
            rows, v = (seller, value) if jjj.all() else (seller[jjj], value[jjj])
            self.platform.income += np.bincount(res.origin[rows], v, minlength=len(self.platform))
            res.value += np.bincount(rows, v, minlength=len(res))
            res.licences += np.bincount(rows, minlength=len(res)).astype(res.licences.dtype)
            f.received_by_platforms += v.sum()
        if payer is None:
            f.paid_by_outside += value.sum()
            return
        cost = value if cost is None else cost
        self.firm.tech_budget -= np.bincount(payer, cost, minlength=len(self.firm))
        f.paid_by_firms += cost.sum()
        f.recertification += (cost - value).sum()
        f.paid_to_outside += value[origin == OUTSIDE].sum()

    def book_contracts(
        self,
        rows: np.ndarray,
        buyer: np.ndarray,
        value: np.ndarray,
        payer: np.ndarray | None,
        cost: np.ndarray | None = None,
    ) -> None:
        """Record contracts on JJJ results ``rows`` (see :meth:`book`)."""
        self.book(self.results.region[rows].astype(np.int64), buyer, value, seller=rows, payer=payer, cost=cost)

    def vacancies(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Vacancy slots of each JJJ region: employer kind, employer row and wage offer, one entry per slot."""
        pl, fm, t, p = self.platform, self.firm, self.talent, self.p
        emp = t.alive & (t.employer_kind == talent.PLATFORM)
        staff = np.bincount(t.employer[emp], minlength=len(pl))
        emp = t.alive & (t.employer_kind == talent.FIRM)
        fstaff = np.bincount(t.employer[emp], minlength=len(fm))
        out = []
        for r in range(3):
            prow = np.flatnonzero(pl.alive & pl.research & (pl.region == r))
            pvac = np.maximum(np.round(pl.staff_per_budget[prow] * pl.budget[prow]) - staff[prow], 0).astype(int)
            poffer = 0.2 * p.autonomy_hiring * p.autonomy + 0.1 * pl.score[prow]
            frow = np.flatnonzero(fm.alive & (fm.region == r))
            target = np.round(fm.size[frow] * self.staff_per_size[r])
            fvac = np.maximum(target - fstaff[frow], 0).astype(int)
            # talent supply: while more talents are unemployed than there are vacancies, firms whose productivity
            # exceeds their wage cost (both relative to the start) post extra vacancies, up to vacancy_expansion
            # of their staff, for at most the excess (largest remainders: no random draw)
            excess = np.count_nonzero(t.alive & (t.region == r) & (t.employer_kind == talent.NONE))
            excess -= int(pvac.sum() + fvac.sum())
            profitable = fm.productivity[frow] / self.ref_productivity[r] > self.wage[r] / p.wage[r]
            cap = p.vacancy_expansion * np.maximum(fstaff[frow], target) * profitable
            if excess > 0 and cap.sum() > 0:
                share = cap * min(excess, cap.sum()) / cap.sum()
                extra = np.floor(share).astype(int)
                left = int(round(share.sum())) - extra.sum()
                extra[np.argsort(extra - share, kind="stable")[: max(left, 0)]] += 1
                fvac += extra
            foffer = 0.1 * np.log(fm.productivity[frow] / self.ref_productivity[r])
            kinds = np.r_[np.full(pvac.sum(), talent.PLATFORM), np.full(fvac.sum(), talent.FIRM)]
            rows = np.r_[np.repeat(prow, pvac), np.repeat(frow, fvac)]
            out.append((kinds, rows, np.r_[np.repeat(poffer, pvac), np.repeat(foffer, fvac)]))
        return out

    def service_platforms_by_field(self) -> np.ndarray:
        """Number of living service platforms in each field."""
        pl = self.platform
        live = pl.alive & (pl.kind == platform.SERVICE_PLATFORM)
        return np.bincount(pl.field[live], minlength=self.n_fields)

    def firm_counts(self) -> np.ndarray:
        """Living firm agents by region."""
        return np.bincount(self.firm.region[self.firm.alive], minlength=4)

    def mean_productivity(self) -> np.ndarray:
        """Mean TFP of living firms by region (the reference value where a region has none)."""
        fm = self.firm
        s = np.bincount(fm.region[fm.alive], fm.productivity[fm.alive], minlength=4)
        n = self.firm_counts()
        return np.where(n > 0, s / np.maximum(n, 1), self.ref_productivity)

    # ---- Mesa agent bookkeeping ------------------------------------------------------------------
    # Agents are created on demand: a row of an agent table is an agent while it is alive, and the Mesa ``Agent``
    # object fronting it is made (or removed) only when someone looks at the model's agents (``agents``,
    # ``agents_by_type``, ``agent_types``, :meth:`agent_of`). ``step()`` does no per-row Python work.
    AGENT_TYPES: dict[str, type[RowAgent]] = {
        "platform": platform.Platform,
        "talent": talent.Talent,
        "firm": firm.Firm,
        "fund": fund.Fund,
    }
    """The agent tables and the Mesa agent type fronting their rows, in the order their agents are made."""

    def add_agents(self, cls: type[RowAgent], rows: np.ndarray) -> None:
        """Note that rows of ``cls.TABLE`` entered the model (their agents are made on demand)."""
        self._agents_stale = True

    def remove_agents(self, table: str, rows: np.ndarray) -> None:
        """Note that rows of ``table`` left the model (their rows stay, marked not alive; agents go on demand)."""
        self._agents_stale = True

    def sync_agents(self) -> None:
        """Make the Mesa agents match the living rows: an agent for every living row that has none (in row order),
        removed for every row no longer alive. Only the rows that changed since the last call are visited."""
        if not getattr(self, "_agents_stale", False):
            return
        self._agents_stale = False
        for name, cls in self.AGENT_TYPES.items():
            reg, alive = self._agents[name], getattr(self, name).alive
            has = np.zeros(alive.size, dtype=bool)
            known = np.fromiter(reg.keys(), dtype=np.int64, count=len(reg))
            has[known] = True
            for row in np.flatnonzero(has & ~alive).tolist():
                reg.pop(row).remove()
            for row in np.flatnonzero(alive & ~has).tolist():
                reg[row] = cls(self, row)

    @property
    def agents(self) -> AgentSet:
        """All living agents (Mesa's AgentSet; the agents are made on demand, see :meth:`sync_agents`)."""
        self.sync_agents()
        return self._all_agents

    @agents.setter
    def agents(self, value: object) -> None:
        mesa.Model.agents.fset(self, value)  # Mesa's own refusal

    @property
    def agents_by_type(self) -> dict[type, AgentSet]:
        """Living agents by type (Mesa's AgentSets, made on demand)."""
        self.sync_agents()
        return self._agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """The agent types with agents in the model."""
        self.sync_agents()
        return list(self._agents_by_type)

    def agent_count(self) -> int:
        """Living agents, counted on the tables (no agent objects made): ``len(model.agents)``."""
        return sum(int(getattr(self, name).alive.sum()) for name in self.AGENT_TYPES)

    def agent_of(self, table: str, row: int) -> RowAgent:
        """The Mesa agent fronting a living row of a table."""
        self.sync_agents()
        return self._agents[table][row]
