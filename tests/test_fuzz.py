"""Property-based fuzzing (hypothesis) of what a user or a file hands the program: scenario files, ``--set``
values and experiment files.

Every case ends in one of two ways: a successful, bounded run (or a resolved experiment), or exit status 2
with exactly one line that starts with ``error:`` — never a traceback, never a hang. Each case runs under an
alarm of :data:`CASE_SECONDS`; runs are capped by a small work budget, so that even a valid scenario at the
registry's extremes ends quickly (with the budget's one line).
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jjjsim.experiments.definition import DESIGNS, MAX_RUNS, load_experiment
from jjjsim.model.params import REGISTRY, ConfigError
from typer.testing import CliRunner

from jjjsim.cli import app

CASE_SECONDS = 60
"""Longest a single case may take (a run is capped far below this by its budget)."""
BUDGET = ("--max-agent-steps", "400000", "--max-memory", "256")
NAMES = sorted(REGISTRY)
SUBKEYS = sorted({k for p in REGISTRY.values() for k in p.keys})
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
"""Derandomised: the same cases on every run, so CI is stable; raise max_examples locally to search further."""


class Hang(Exception):
    """A case ran past CASE_SECONDS."""


@contextmanager
def alarm(seconds: int = CASE_SECONDS) -> Iterator[None]:
    def on_alarm(_sig: int, _frame: Any) -> None:
        raise Hang(f"case took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---- values --------------------------------------------------------------------------------------------------
def _in_bounds(name: str) -> st.SearchStrategy[Any]:
    p = REGISTRY[name]
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    lo, hi = p.bounds or (0.0, 1.0)
    if p.kind == "int":
        return st.integers(int(math.ceil(lo)), int(min(hi, lo + 1000)))
    return st.floats(lo, hi, allow_nan=False)


WILD = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(10**300, 10**305),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.booleans(),
    st.lists(st.integers(-5, 5), max_size=4),
    st.dictionaries(st.sampled_from([*SUBKEYS, "Mars", ""]), st.integers(-3, 30), max_size=3),
)
"""Values of the wrong type, sign, size or shape."""


@st.composite
def param_tables(draw: st.DrawFn) -> dict[str, Any]:
    """A [params] table: registry names with in-bounds or wild values, some unknown names."""
    out: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from(NAMES), st.sampled_from(["nosuch", "fund-size", "talent_incentive.x"])))
        wild = name not in REGISTRY or draw(st.integers(0, 5)) == 0
        out[name] = draw(WILD) if wild else draw(_in_bounds(name))
    return out


def _toml(data: dict[str, Any]) -> str:
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError, OverflowError):  # e.g. NaN keys or values TOML cannot write: write raw text
        return "\n".join(f"{k} = {v!r}" for k, v in data.items())


RAW_TEXT = st.one_of(
    st.just(""),
    st.just("[params\nfund_size = 3"),
    st.just("a = " + "[" * 2000 + "]" * 2000),
    st.just("[params]\nfund_size = 1" + "0" * 400),
    st.just('base = "baseline"\nbase = "x"'),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.text(max_size=200),
)
"""Files that are not a scenario at all: empty, broken, deep, huge numbers, duplicate keys, noise."""


@st.composite
def scenario_files(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(RAW_TEXT)
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["description"] = draw(st.one_of(st.text(max_size=40), st.integers()))
    if draw(st.booleans()):
        data["base"] = draw(st.sampled_from(["baseline", "all-measures", "nosuch", "/dev/zero", "../x", 3]))
    if draw(st.integers(0, 3)):
        data["params"] = draw(param_tables())
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(["param", "parameters", "steps"]))] = 1
    return _toml(data)


def _one_error_line(result: Any, case: str) -> None:
    """Exit 0, or exit 2 with one line starting with ``error:``; never an exception escaping."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {case!r}: {result.exception!r}") from result.exception
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        return
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert result.exit_code == 2, (case, result.exit_code, result.output[-500:])
    assert len(lines) == 1 and lines[0].startswith("error:"), (case, result.output[-500:])


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@FUZZ
@given(text=scenario_files(), steps=st.integers(1, 3))
def test_scenario_files(runner: CliRunner, tmp_path: Path, text: str, steps: int) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    args = ["run", str(path), "--steps", str(steps), "-q", "--out", str(tmp_path / "out"), *BUDGET]
    start = time.monotonic()
    with alarm():
        result = runner.invoke(app, args)
    _one_error_line(result, text[:200])
    assert time.monotonic() - start < CASE_SECONDS


SET_ITEMS = st.one_of(
    st.sampled_from(NAMES).flatmap(lambda n: _in_bounds(n).map(lambda v: f"{n}={tomli_w.dumps({'v': v})[4:].strip()}")),
    st.builds(
        lambda n, v: f"{n}={v}",
        st.sampled_from([*NAMES, "talent_incentive.Hebei", "x.y", ""]),
        st.one_of(
            st.text(max_size=20),
            st.integers().map(str),
            st.floats().map(repr),
            st.just("[" * 500 + "]" * 500),
            st.just("{Hebei=2, Mars=3}"),
            st.just("1" + "0" * 5000),
        ),
    ),
    st.text(max_size=40),
)


@FUZZ
@given(
    items=st.lists(SET_ITEMS, min_size=1, max_size=3), seed=st.one_of(st.integers(0, 5), st.integers(-(2**70), 2**70))
)
def test_set_values(runner: CliRunner, tmp_path: Path, items: list[str], seed: int) -> None:
    args = ["run", "baseline", "--steps", "1", "-q", "--seed", str(seed), "--out", str(tmp_path / "o"), *BUDGET]
    for item in items:
        args += ["--set", item]
    with alarm():
        result = runner.invoke(app, args)
    if result.exit_code not in (0, 2) and "--seed" in result.output:  # typer's own usage error for a non-int
        return
    _one_error_line(result, " ".join(items)[:200])


@st.composite
def experiment_files(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(RAW_TEXT)
    data: dict[str, Any] = {}
    seeds = draw(st.sampled_from(["count", "list", "none", "wild"]))
    if seeds == "count":
        data["seeds"] = {"count": draw(st.one_of(st.integers(1, 3), st.integers(10**6, 10**12))), "root": 1}
    elif seeds == "list":
        data["seeds"] = {"list": draw(st.lists(st.one_of(st.integers(0, 9), st.integers(2**63, 2**70)), max_size=4))}
    elif seeds == "wild":
        data["seeds"] = draw(WILD)
    if draw(st.booleans()):
        data["steps"] = draw(st.one_of(st.integers(1, 3), WILD))
    if draw(st.integers(0, 3)) == 0:
        data["overrides"] = draw(param_tables())
    kind = draw(st.sampled_from([*DESIGNS, "nosuch"]))
    design: dict[str, Any] = {"kind": kind}
    levers = draw(
        st.lists(
            st.sampled_from(
                ["fund_size", "autonomy", "talent_incentive.Hebei", "nosuch", "steps", "evaluation_regime"]
            ),
            max_size=3,
            unique=True,
        )
    )
    if kind == "scenarios":
        names = st.sampled_from(["baseline", "autonomy", "culture", "nosuch", "/dev/zero"])
        design["scenarios"] = draw(st.lists(names, max_size=3))
        if draw(st.booleans()):  # measures at doses of their change: tiny, huge, negative, beyond the bounds
            doses = st.one_of(st.floats(-1.0, 1e6), st.sampled_from([0.5, 1, 2, 1e308, 5e-324]))
            design["doses"] = draw(st.one_of(st.lists(doses, max_size=4), WILD))
    elif kind == "grid":
        size = draw(st.sampled_from([2, 3, 10_000]))
        design["levers"] = {n: list(range(size)) for n in levers}
    else:
        design["levers"] = levers
        design["samples"] = draw(st.one_of(st.integers(1, 8), st.sampled_from([2**20, 2**30]), WILD))
    data["design"] = design
    return _toml(data)


@FUZZ
@given(text=experiment_files())
def test_experiment_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    with alarm():
        try:
            exp = load_experiment(path)
        except ConfigError as err:
            message = str(err)
            assert "\n" not in message and message.startswith(str(path)), message
            assert len(message) < 2000, message[:300]
            event("refused")
            return
    event("resolved")
    assert 0 < len(exp.runs) <= MAX_RUNS
