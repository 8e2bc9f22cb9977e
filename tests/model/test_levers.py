"""Every lever moves its documented outcome the documented way, and the trade-offs of model-spec §5 are real.

Each lever goes from its registry default to the setting of its single-measure scenario file (read from the
file, so tests and scenarios cannot diverge), all else at the baseline. Base and policy runs share a seed
(common random numbers); the paired differences over seeds are tested one-sided with
``scipy.stats.ttest_rel`` at p < 0.01, in the direction ``effect`` x sign(lever change) of the registry.
Runs are cached per (seed, scale, steps, overrides), so the baseline is run once per seed, and the seeds of a
parameter set run in parallel on up to two processes.

The fast design (the default test run) is sized by measured power: with common random numbers the paired
differences are small, so 16 seeds at scale 0.2 over 24 quarters resolve the levers with margin (the weakest,
Tianjin's talent incentive, at t = 4.1, p = 5e-4; two levers have a design of their own, ``OWN_DESIGN``;
docs/ODD.md §7.0 lists every p-value), in about a quarter of the CPU time of the earlier 30 seeds x 0.3 x 32
quarters (230 against 890 CPU-seconds). The slow design (``-m slow``) is the full one.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import workers
from jjjsim.model.params import LEVERS, Param
from jjjsim.model.runner import run
from jjjsim.model.scenario import builtin_names, load_scenario
from scipy import stats

ALPHA = 0.01


@dataclass(frozen=True)
class Design:
    """Paired-seed design: seeds 0..seeds-1, agent scale, quarters per run."""

    seeds: int
    scale: float
    steps: int


FAST = Design(seeds=16, scale=0.2, steps=24)
SLOW = Design(seeds=30, scale=0.5, steps=40)
DESIGNS = [pytest.param(FAST, id="fast"), pytest.param(SLOW, id="slow", marks=pytest.mark.slow)]
OWN_DESIGN: dict[Design, dict[str, Design]] = {
    FAST: {
        "demo_base_capacity": Design(seeds=12, scale=0.5, steps=24),
        "fund_cross_region_share": Design(seeds=16, scale=0.5, steps=8),
        "service_platforms": Design(seeds=24, scale=0.5, steps=40),
    },
    SLOW: {"fund_cross_region_share": Design(seeds=30, scale=0.5, steps=8)},
}
"""Levers tested with a design of their own (measured power, docs/ODD.md §7.0).

Demonstration bases: at scale 0.2 a region has 4-6 pilot slots (18-24 in the scenario), and the transformation
rate of ~4,000 results moves by 0.8 points with a paired SD of 0.8: t = 3-8 over 16 seeds, depending on the
seeds. At scale 0.5 it is resolved far more sharply, t = 10-11 over 12 seeds (seeds 0-11 and 16-27).

The collaborative fund's mandate is measured over its first 8 quarters, also in the slow design. The fund places
86 (100m CNY) in 8 quarters (it deploys 20 % of its capital a quarter), and raising the mandate from 0.3 to 0.6
moves about 49 of project money (with the private co-investment) to cross-region sellers: +29.5 (SE 5.5) of
cross-region contract value in 8 quarters, 2.5 % of it. From the second year on the yearly evaluation tournament
turns the small differences in platform income between paired runs into rank changes whose consequences add
noise of about 2 % of the whole market's cross-region value by year 8 (paired SD 13 after 8 quarters, 260 after
32, scale 0.3; at 40 quarters the slow design gives t = 1.3), so a gain that stays in level is resolved only
while it is a large share of the flow (docs/ODD.md §7.4). At scale 0.5 the fund's deals are less lumpy (24 in
its first quarter, 9 at scale 0.2): t = 5.4 and 8.5 over 16 seeds (seeds 0-15, 16-31), against 5.4 and 2.2 at
scale 0.2.

Service platforms: after the Hebei revision of issue 10 and its recalibration (`adopt_intercept` at 2, firms sign
nearly every offer they examine) their logit boost to cross-region offers moves less: +101.7 (SE 52.9) of
cross-region contract value over the fast design, p = 0.037. At scale 0.5 over 40 quarters it is resolved: +338
(SE 54), p = 1e-6 over seeds 0-23, and +285 (SE 65), p = 1e-4 over seeds 24-47 (24 seeds at 0.5 x 24 quarters
gave p = 4e-5 and 0.03 on the two sets)."""


def design_for(lever: str, design: Design) -> Design:
    """The design a lever is tested with under ``design``: its own where it has one (``OWN_DESIGN``)."""
    return OWN_DESIGN.get(design, {}).get(lever, design)


# ---- runs ---------------------------------------------------------------------------------------------


_RUNS: dict[tuple[int, float, int, str], dict[str, float] | BaseException] = {}


def _key(design: Design, seed: int, overrides: dict[str, Any]) -> tuple[int, float, int, str]:
    return seed, design.scale, design.steps, json.dumps(overrides, sort_keys=True)


@pytest.fixture(scope="module", autouse=True)
def _worker_processes() -> Iterator[None]:
    """Shut the worker processes down when this module's tests are done."""
    yield
    workers.shutdown()


def _run_seeds(design: Design, overrides: dict[str, Any]) -> None:
    """Run every seed of the design for one parameter set (in parallel) and cache summaries or errors."""
    todo = [s for s in range(design.seeds) if _key(design, s, overrides) not in _RUNS]
    ov = {"scale": design.scale, **overrides}
    futures = {s: workers.pool().submit(run, "baseline", seed=s, steps=design.steps, overrides=ov) for s in todo}
    for s, fut in futures.items():
        err = fut.exception()
        _RUNS[_key(design, s, overrides)] = err if err is not None else fut.result().summary


def summaries(design: Design, overrides: dict[str, Any] | None = None) -> list[dict[str, float]]:
    """Run summaries of the baseline plus ``overrides``, one per seed of the design (cached)."""
    overrides = overrides or {}
    _run_seeds(design, overrides)
    out = []
    for seed in range(design.seeds):
        r = _RUNS[_key(design, seed, overrides)]
        if isinstance(r, BaseException):
            raise RuntimeError(f"run with {overrides} (seed {seed}, {design}) failed: {r!r}") from r
        out.append(r)
    return out


def column(runs: list[dict[str, float]], key: str) -> np.ndarray:
    """One summary indicator over the seeds; every value must be a finite number."""
    x = np.array([s[key] for s in runs], dtype=float)
    bad = np.flatnonzero(~np.isfinite(x))
    assert bad.size == 0, f"{key} is not finite in {bad.size} of {x.size} runs (seeds {bad.tolist()})"
    return x


@dataclass(frozen=True)
class Paired:
    """A one-sided paired t-test of policy against base."""

    label: str
    direction: int
    mean: float
    se: float
    p: float
    base_mean: float

    @property
    def ok(self) -> bool:
        return bool(self.p < ALPHA)  # a NaN p-value (no variation at all) fails

    def __str__(self) -> str:
        want = "rise" if self.direction > 0 else "fall"
        return (
            f"{self.label}: expected to {want}; mean paired difference {self.mean:+.4g} "
            f"(SE {self.se:.3g}, base mean {self.base_mean:.4g}), one-sided p = {self.p:.3g}"
        )


def paired(label: str, policy: np.ndarray, base: np.ndarray, direction: int) -> Paired:
    """Test that ``policy - base`` is > 0 (direction +1) or < 0 (direction -1) over paired seeds."""
    d = policy - base
    p = stats.ttest_rel(policy, base, alternative="greater" if direction > 0 else "less").pvalue
    return Paired(label, direction, float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), float(p), base.mean())


# ---- levers and their single-measure scenario files ---------------------------------------------------


WITHOUT_A_FILE: dict[str, Any] = {"talent_incentive_target": "movers"}
"""Levers that are a choice of how another measure is delivered, not a measure of their own, and so have no
single-measure scenario file: the setting tested (paying only arrivals lowers the public cost of the baseline's
talent incentive)."""


@functools.cache
def policy_settings() -> dict[str, tuple[str, Any]]:
    """lever -> (scenario name, setting) from the scenario file that sets the lever with the fewest other
    settings; files that set anything but levers (e.g. the historical run) are not policy measures."""
    found: dict[str, list[tuple[int, str, Any]]] = {}
    for name in builtin_names():
        ov = load_scenario(name).overrides
        if not ov or not set(ov) <= set(LEVERS):
            continue
        for lever, value in ov.items():
            found.setdefault(lever, []).append((len(ov), name, value))
    out = {}
    for lever, options in found.items():
        options.sort(key=lambda o: o[0])
        if len(options) > 1 and options[1][0] == options[0][0]:
            raise AssertionError(f"{lever}: no single-measure scenario, tie between {options[0][1]}, {options[1][1]}")
        out[lever] = options[0][1:]
    for lever, setting in WITHOUT_A_FILE.items():
        out.setdefault(lever, (f"{lever} = {setting}, no file", setting))
    return out


def lever_change(p: Param, setting: Any) -> tuple[int, tuple[str, ...]]:
    """Sign of the move from the default to ``setting``, and the sub-keys it changes (per-key levers)."""
    if p.kind == "choice":
        assert setting != p.default, f"{p.name}: the scenario setting equals the default"
        return (1 if setting == p.choices[-1] else -1), ()
    if p.per:
        new = p.validate(setting, "test")
        diff = {k: new[k] - p.default[k] for k in p.keys if new[k] != p.default[k]}
        signs = {int(np.sign(v)) for v in diff.values()}
        assert len(signs) == 1, f"{p.name}: the scenario moves sub-keys both ways or not at all: {diff}"
        return signs.pop(), tuple(diff)
    assert setting != p.default, f"{p.name}: the scenario setting equals the default"
    return int(np.sign(setting - p.default)), ()


def outcome_keys(p: Param, changed: tuple[str, ...]) -> list[str]:
    """Summary keys of the lever's documented outcome (``<region>``: each region the scenario changes)."""
    if "<region>" in p.outcome:
        return [p.outcome.replace("<region>", r) for r in changed]
    return [p.outcome]


# ---- 1. every lever moves its outcome the documented way ---------------------------------------------


def lever_tests(lever: str, design: Design) -> list[Paired]:
    """Paired tests of one lever's documented outcome(s) under a design."""
    p = LEVERS[lever]
    settings = policy_settings()
    assert lever in settings, f"{lever}: no scenario file sets this lever (add its single-measure scenario)"
    scenario, setting = settings[lever]
    assert p.outcome and p.effect in (1, -1), f"{lever}: registry lacks outcome/effect"
    sign, changed = lever_change(p, setting)
    source = scenario if lever in WITHOUT_A_FILE else f"{scenario}.toml"
    base, policy = summaries(design), summaries(design, {lever: setting})
    return [
        paired(f"{lever} ({source}) -> {key}", column(policy, key), column(base, key), p.effect * sign)
        for key in outcome_keys(p, changed)
    ]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_lever_moves_its_outcome(lever: str, design: Design) -> None:
    results = lever_tests(lever, design_for(lever, design))
    failed = [str(r) for r in results if not r.ok]
    assert not failed, "\n".join(failed)


# ---- 2. trade-offs of model-spec §5 ------------------------------------------------------------------


def tradeoff_talent_pull(design: Design) -> list[Paired]:
    """Raising Hebei's talent incentive (to the top of its range, the rest at baseline: the direction of the
    mechanism, shown where it is strong enough to measure in a short run) pulls talent into Hebei and out of
    Beijing (Beijing's net outflow of talent, moves out less moves in, rises)."""
    hebei = {"talent_incentive": {"Hebei": LEVERS["talent_incentive"].bounds[1]}}
    base, policy = summaries(design), summaries(design, hebei)
    return [
        paired("Hebei incentive -> talent_fte.Hebei", *(column(x, "talent_fte.Hebei") for x in (policy, base)), 1),
        paired(
            "Hebei incentive -> talent_net_outflow.Beijing",
            *(column(x, "talent_net_outflow.Beijing") for x in (policy, base)),
            1,
        ),
    ]


def tradeoff_autonomy_spread(design: Design) -> list[Paired]:
    """Autonomy raises results but also widens the spread of platform efficiency."""
    setting = {"autonomy": policy_settings()["autonomy"][1]}
    base, policy = summaries(design), summaries(design, setting)
    return [paired(f"autonomy -> {k}", column(policy, k), column(base, k), 1) for k in ("results", "efficiency_spread")]


def tradeoff_fund_mandate(design: Design) -> list[Paired]:
    """A stronger cross-region mandate raises cross-region transfer but lowers the fund's expected return (over
    the mandate's horizon, as its lever test)."""
    setting = {"fund_cross_region_share": policy_settings()["fund_cross_region_share"][1]}
    design = design_for("fund_cross_region_share", design)
    base, policy = summaries(design), summaries(design, setting)
    return [
        paired(f"fund mandate -> {k}", column(policy, k), column(base, k), d)
        for k, d in (("cross_region_contract_value", 1), ("collab_fund_expected_multiple", -1))
    ]


TRADEOFFS = {
    "talent_pull": tradeoff_talent_pull,
    "autonomy_spread": tradeoff_autonomy_spread,
    "fund_mandate": tradeoff_fund_mandate,
}


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("tradeoff", list(TRADEOFFS))
def test_tradeoff(tradeoff: str, design: Design) -> None:
    results = TRADEOFFS[tradeoff](design)
    failed = [str(r) for r in results if not r.ok]
    assert not failed, "\n".join(failed)
