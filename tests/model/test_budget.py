"""A run's cost is bounded whatever its parameters: the work and memory budget, and pilot assignment that is
linear in the candidates.

Each case reproduces a failure of the unbounded model: ``--steps 400`` at the defaults grew to 28 M result
records and 2.3 GB by quarter 130 and never finished in 600 s; levers and behavioural parameters at their maxima
made 20 M results in quarter 6, whose pilot assignment (bases x candidates) then took 287 s.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from jjjsim.model import Budget, BudgetExceeded, JJJModel, run
from jjjsim.model.achievements import NEW, PILOTING
from jjjsim.model.agents import platform
from jjjsim.model.params import REGISTRY, ConfigError
from jjjsim.model.scenario import load_scenario

JJJSIM = Path(sys.executable).parent / "jjjsim"
CORNER = {
    n: p.bounds[1]
    for n, p in REGISTRY.items()
    if p.role in ("lever", "uncertainty") and p.kind != "choice" and p.bounds
}
"""Every lever and behavioural parameter at its upper bound: the corner where the research loop ran away (before
issue 10 bounded it; tests/model/test_corners.py) and where the firm population still does (about 18 % a quarter)."""


@pytest.fixture
def hang_guard():
    """Fail (rather than hang) a case that takes over two minutes."""

    def on_alarm(*_: object) -> None:
        raise AssertionError("took longer than 120 s: the run is not bounded")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_budget_checks_its_own_values():
    for bad in (0, -1, 1.5, True, "10", 10**13):
        with pytest.raises(ConfigError, match="agent_steps"):
            Budget(agent_steps=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="memory_mb"):
        Budget(memory_mb=0)


def test_a_run_too_large_from_the_start_is_refused_before_it_steps():
    t0 = time.perf_counter()
    with pytest.raises(BudgetExceeded, match=r"at least [\d,]+ \([\d,]+ at the start x 400 quarters\)") as err:
        run("baseline", steps=400, overrides={"scale": 0.1}, budget=Budget(agent_steps=500_000))
    assert "--max-agent-steps" in str(err.value) and "\n" not in str(err.value)
    assert time.perf_counter() - t0 < 10


def test_a_run_that_grows_past_its_work_budget_stops_with_one_line(hang_guard):
    budget = Budget(agent_steps=3_000_000)
    with pytest.raises(BudgetExceeded, match=r"by quarter (\d+)") as first:
        run("baseline", steps=400, overrides={"scale": 0.1}, budget=budget)
    with pytest.raises(BudgetExceeded) as again:  # the guard reads model state only: same seed, same quarter
        run("baseline", steps=400, overrides={"scale": 0.1}, budget=budget)
    assert str(first.value) == str(again.value)
    assert "raise the cap on purpose with --max-agent-steps" in str(first.value)


def test_work_is_the_sum_of_agents_and_records_held(make_model):
    m = make_model(0)
    held = []
    for _ in range(3):
        m.step()
        held.append(m.holding())
    assert m.work == sum(held)
    alive = sum(int(getattr(m, t).alive.sum()) for t in ("talent", "platform", "firm", "fund"))
    assert held[-1] == alive + len(m.results) + len(m.ties)


def test_a_table_is_not_grown_past_the_memory_budget():
    p = load_scenario("baseline").params.replace({"scale": 0.1})
    m = JJJModel(p, rng=np.random.SeedSequence(0), budget=Budget(memory_mb=64))
    held = m.table_bytes()
    with pytest.raises(BudgetExceeded, match="needed to grow the results table"):
        m.reserve("results", (64 << 20) - held + 1)
    before = len(m.results)
    m.results.guard = lambda extra: m.budget.check_memory(64 << 20, extra, "results")  # a table that is full
    with pytest.raises(BudgetExceeded, match="--max-memory"):
        m.results.append(m.results.nbytes // m.results.row_bytes + 1)
    assert len(m.results) == before  # nothing was appended


def test_the_runaway_corner_ends_in_seconds_with_one_line(hang_guard):
    t0 = time.perf_counter()
    with pytest.raises(BudgetExceeded) as err:  # a cap of 2 M agent-steps: about a default run at scale 1
        run("baseline", overrides=CORNER, steps=40, budget=Budget(agent_steps=2_000_000))
    assert "\n" not in str(err.value)
    assert time.perf_counter() - t0 < 60  # 287 s for quarter 6 alone before the run budget


def test_cli_run_past_the_budget_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [
            JJJSIM,
            "run",
            "baseline",
            "--steps",
            "400",
            "--set",
            "scale=0.1",
            "--max-agent-steps",
            "3000000",
            "-q",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run budget: agent-steps"), proc.stderr[-2000:]
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_run_400_quarters_at_the_defaults_stops_at_the_default_budget(tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run(
        [JJJSIM, "run", "baseline", "--steps", "400", "-q", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2 and "error: run budget" in proc.stderr, proc.stderr[-2000:]
    assert time.perf_counter() - t0 < 300


# ---- pilot assignment ------------------------------------------------------------------------------------------
def _free_all_slots(m: JJJModel) -> None:
    """Send every pilot back to the candidates, so that each base has its whole capacity free."""
    res = m.results
    res.status[res.status == PILOTING] = NEW


def _assign(m: JJJModel, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    res = m.results
    before = res.status.copy()
    platform.assign_pilots(m, np.random.default_rng(seed))
    newly = np.flatnonzero((before != PILOTING) & (res.status == PILOTING))
    return newly, res.base[newly]


def test_pilots_fill_free_slots_once_each(make_model):
    m = make_model(3)
    m.step()
    _free_all_slots(m)
    pl, res = m.platform, m.results
    busy = np.bincount(res.base[res.status == PILOTING], minlength=len(pl))
    cand = (res.status == NEW) & (res.trl >= m.p.market_ready_trl - 2)
    free = np.where((pl.kind == platform.DEMO_BASE) & pl.alive, np.maximum(pl.capacity - busy, 0), 0)
    rows, bases = _assign(m)
    assert rows.size == len(set(rows.tolist())) == min(free.sum(), cand.sum()) > 0
    assert cand[rows].all()
    assert np.all(np.bincount(bases, minlength=len(pl)) <= free)
    assert np.array_equal(res.anchor[rows], pl.region[bases])


def test_pilots_prefer_low_barriers_and_skip_closed_borders(make_model):
    m = make_model(4)
    m.step()
    _free_all_slots(m)
    pl, res = m.platform, m.results
    m.barrier = np.ones((4, 4)) - np.eye(4)  # only results of a base's own region can be weighted above zero
    rows, bases = _assign(m)
    own = res.region[rows] == pl.region[bases]
    cand = (res.status == NEW) & (res.trl >= m.p.market_ready_trl - 2)
    for b in np.unique(bases):
        others_left = (cand & (res.region == pl.region[b]) & (res.status != PILOTING)).any()
        if others_left:  # a base takes a closed-border result only once its own region's are gone
            assert own[bases == b].all()


def test_pilot_assignment_is_reproducible(make_model):
    a, b = make_model(5), make_model(5)
    a.step()
    b.step()
    _free_all_slots(a)
    _free_all_slots(b)
    assert [x.tolist() for x in _assign(a, 9)] == [x.tolist() for x in _assign(b, 9)]
