"""Policy timelines (model/timeline.py): parsing, validation, the path and the model following it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.definition import load_experiment, run_id
from jjjsim.model import policy, timeline
from jjjsim.model.agents import fund
from jjjsim.model.agents.platform import DEMO_BASE, SERVICE_PLATFORM
from jjjsim.model.model import JJJModel
from jjjsim.model.params import ConfigError, Params, defaults
from jjjsim.model.runner import read_levers, run
from jjjsim.model.scenario import load_scenario

SCALE = 0.05


def _file(tmp: Path, body: str, name: str = "t.toml", base: str = "baseline", params: str = "") -> Path:
    f = tmp / name
    f.write_text(f'description = "A test."\nbase = "{base}"\n[params]\n{params}\n{body}', encoding="utf-8")
    return f


def _entry(lever: str, value: str, at: str | None = "2023Q3", extra: str = "") -> str:
    when = f'at = "{at}"\n' if at else ""
    return f'[[timeline]]\nlever = "{lever}"\n{when}value = {value}\n{extra}'


def _error(tmp: Path, body: str, **kw: str) -> ConfigError:
    f = _file(tmp, body, **kw)
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    assert err.value.where == str(f), "the error names the file"
    assert "\n" not in str(err.value)
    return err.value


# ---- dates ---------------------------------------------------------------------------------------------------
def test_quarters_parse_and_print() -> None:
    assert timeline.parse_quarter("2015Q3", "f", "k") == 2015 * 4 + 2
    assert timeline.quarter_label(2015 * 4 + 2) == "2015Q3"
    for bad in ("2015-09", "2015Q5", "2015Q0", "15Q3", 2015, "2015q3", " 2015Q3"):
        with pytest.raises(ConfigError, match="YYYYQn"):
            timeline.parse_quarter(bad, "f", "k")


# ---- validation ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "key", "fragment"),
    [
        (_entry("fund_sise", "100"), "timeline[0].lever", "did you mean 'fund_size'?"),
        (_entry("adopt_barrier", "1"), "timeline[0].lever", "only levers have timelines"),
        (_entry("steps", "4"), "timeline[0].lever", "only levers have timelines"),
        (_entry("fund_size", "100", at="2023-07"), "timeline[0].at", "YYYYQn"),
        (_entry("fund_size", "100", at="2022Q4"), "timeline[0].at", "2023Q1 to 2032Q4"),
        (_entry("fund_size", "100", at="2033Q1"), "timeline[0].at", "2023Q1 to 2032Q4"),
        (
            _entry("fund_size", "100", at=None, extra='from = "2024Q1"\nto = "2023Q4"\n'),
            "timeline[0].to",
            "from 2024Q1 on",
        ),
        (_entry("fund_size", "100", extra='from = "2024Q1"\nto = "2024Q4"\n'), "timeline[0]", "not both"),
        (_entry("fund_size", "100", at=None, extra='from = "2024Q1"\n'), "timeline[0].to", "needs from and to"),
        (_entry("fund_size", "100", at=None), "timeline[0].at", "a quarter YYYYQn"),
        (_entry("fund_size", "5000"), "timeline[0].value", "[0, 2000]"),
        (_entry("fund_size", '"big"'), "timeline[0].value", "a number"),
        (
            _entry("barrier", '{ "Beijing-Tianjn" = 0.5 }'),
            "timeline[0].value.Beijing-Tianjn",
            "did you mean 'Beijing-Tianjin'?",
        ),
        (_entry("barrier", '{ "Beijing-Tianjin" = 1.5 }'), "timeline[0].value.Beijing-Tianjin", "[0, 1]"),
        (_entry("evaluation_regime", '"by_quality"'), "timeline[0].value", "differentiated"),
        (
            _entry("evaluation_regime", '"differentiated"', at=None, extra='from = "2024Q1"\nto = "2024Q4"\n'),
            "timeline[0].from",
            "a step (at) for the choice lever",
        ),
        ('[[timeline]]\nlever = "fund_size"\nat = "2024Q1"\n', "timeline[0].value", "nothing"),
        (_entry("fund_size", "100", extra='when = "soon"\n'), "timeline[0].when", "one of lever, at, from"),
        (_entry("fund_size", "100", extra="source = 3\n"), "timeline[0].source", "a text"),
        (_entry("fund_size", "100") + _entry("fund_size", "200"), "timeline[1]", "no overlap"),
        (
            _entry("fund_size", "100", at=None, extra='from = "2023Q2"\nto = "2024Q4"\n') + _entry("fund_size", "200"),
            "timeline[1]",
            "overlaps timeline[0]: fund_size = 100, ramp 2023Q2-2024Q4",
        ),
        (
            _entry("barrier", "0.5") + _entry("barrier", '{ "Tianjin-Hebei" = 0.4 }', at="2023Q3"),
            "timeline[1]",
            "barrier.Tianjin-Hebei",
        ),
        (
            _entry("shared_key_labs", "4") + _entry("shared_key_labs", "2", at="2024Q1"),
            "timeline[1].value",
            "can rise during a run, not fall",
        ),
    ],
)
def test_bad_entries_name_the_file_and_the_entry(tmp_path: Path, body: str, key: str, fragment: str) -> None:
    err = _error(tmp_path, body)
    assert err.key == key, str(err)
    assert fragment in str(err), str(err)


def test_different_sub_keys_and_back_to_back_entries_do_not_overlap(tmp_path: Path) -> None:
    body = (
        _entry("barrier", '{ "Beijing-Tianjin" = 0.5 }')
        + _entry("barrier", '{ "Tianjin-Hebei" = 0.4 }')
        + _entry("fund_size", "200", at=None, extra='from = "2023Q1"\nto = "2023Q2"\n')
        + _entry("fund_size", "300")
    )
    tl = load_scenario(_file(tmp_path, body)).params.values["timeline"]
    assert [timeline.span(e)[0] for e in tl] == sorted(timeline.span(e)[0] for e in tl), "sorted by date"
    assert tl[0] == {"lever": "fund_size", "from": "2023Q1", "to": "2023Q2", "value": 200.0, "source": ""}


def test_a_timeline_in_params_or_not_an_array_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, "", params="timeline = []")
    assert err.key == "params.timeline"
    f = tmp_path / "top.toml"
    f.write_text('timeline = 3\nbase = "baseline"\n')
    with pytest.raises(ConfigError, match="an array of tables") as err:
        load_scenario(f)
    assert err.value.key == "timeline"


def test_a_child_adds_to_its_base_and_an_overlap_names_the_child(tmp_path: Path) -> None:
    _file(tmp_path, _entry("fund_size", "200"), name="base.toml")
    child = _file(tmp_path, _entry("autonomy", "0.5", at="2024Q1"), name="child.toml", base="base")
    tl = load_scenario(child).params.values["timeline"]
    assert [e["lever"] for e in tl] == ["fund_size", "autonomy"]
    err = _error(tmp_path, _entry("fund_size", "300"), name="bad.toml", base="base")
    assert err.key == "timeline[0]" and "the base's fund_size = 200 from 2023Q3" in str(err)


def test_a_shortened_run_stops_before_later_entries(tmp_path: Path) -> None:
    body = _entry("autonomy", "0.6", at=None, extra='from = "2023Q2"\nto = "2023Q4"\n') + _entry(
        "fund_size", "200", at="2024Q1"
    )
    params = load_scenario(_file(tmp_path, body, params=f"scale = {SCALE}\nsteps = 8")).params
    for where, short in (("--set", params.replace({"steps": 3}, where="--set")), ("run()", params)):
        r = run(short, seed=2, steps=3)
        assert r.params["timeline"] == params.values["timeline"], f"{where}: the schedule is kept whole"
        lv = r.levers.set_index("step")
        # the ramp is cut by the run's end: 2023Q2 and Q3 of three quarters to 0.6, never 0.6 itself
        assert lv.autonomy.tolist() == pytest.approx([0.3, 0.3, 0.4, 0.5]), where
        assert lv.fund_size.tolist() == [100.0] * 4, f"{where}: the 2024Q1 entry never takes effect"
        pd.testing.assert_frame_equal(r.levers, timeline.path(params).iloc[:4])


def test_an_entry_before_the_run_is_refused_when_the_start_moves(tmp_path: Path) -> None:
    f = _file(tmp_path, _entry("fund_size", "200", at="2014Q3"), params="start_year = 2014\nsteps = 8")
    params = load_scenario(f).params
    with pytest.raises(ConfigError) as err:
        params.replace({"start_year": 2015}, where="--set")
    assert err.value.where == "--set" and err.value.key == "timeline[0].at" and err.value.found == "2014Q3"
    assert "from the run's start, 2015Q1, on" in str(err.value) and "fund_size = 200 from 2014Q3" in str(err.value)
    with pytest.raises(ConfigError, match="at most 2113Q4, the end of a 400-quarter run"):
        params.replace({"timeline": [{"lever": "autonomy", "at": "2114Q1", "value": 0.5}]}, where="code")
    with pytest.raises(ConfigError, match="can rise during a run"):
        load_scenario(_file(tmp_path, _entry("shared_key_labs", "3"), name="labs.toml")).params.replace(
            {"shared_key_labs": 5}, where="--set"
        )


def test_a_child_may_shorten_its_base_but_its_own_entries_lie_in_its_own_run(tmp_path: Path) -> None:
    _file(tmp_path, _entry("fund_size", "200", at="2024Q3"), name="long.toml", params="steps = 8")
    short = load_scenario(_file(tmp_path, "", name="short.toml", base="long", params="steps = 4")).params
    assert short.values["timeline"][0]["at"] == "2024Q3" and timeline.path(short).fund_size.tolist() == [100.0] * 5
    err = _error(tmp_path, _entry("autonomy", "0.5", at="2024Q1"), name="bad.toml", base="long", params="steps = 4")
    assert err.key == "timeline[0].at" and "a quarter of this scenario's run, 2023Q1 to 2023Q4" in str(err)
    assert "autonomy = 0.5 from 2024Q1; start_year 2023, steps 4" in str(err)


def test_historical_to_2020q4_sees_exactly_the_entries_up_to_then() -> None:
    """The calibration's run of historical (28 quarters, 2014Q1-2020Q4) keeps the whole timeline: the entries up
    to 2020Q4 take effect, the later ones do not, and the quarters run are those of the full run."""
    p = load_scenario("historical").params.replace({"scale": SCALE}, where="test")
    end = 2020 * 4 + 3
    entries = p.values["timeline"]
    before = [e for e in entries if timeline.span(e)[1] <= end]
    assert len(before) < len(entries) and all(timeline.span(e)[0] > end for e in entries if e not in before)
    short, full = run(p, seed=0, steps=28), run(p, seed=0)
    cut = p.replace({"timeline": before}, where="test")  # the same run with the later entries dropped by hand
    expected = timeline.path(cut, 28)
    pd.testing.assert_frame_equal(short.levers[expected.columns], expected)
    for col in set(short.levers.columns) - set(expected.columns):  # levers only later entries change
        lever, _, sub = col.partition(".")
        assert (short.levers[col] == (p.values[lever][sub] if sub else p.values[lever])).all(), col
    pd.testing.assert_frame_equal(short.levers, full.levers.iloc[:29])
    for name in ("series", "model_series"):
        a, b = getattr(short, name), getattr(full, name)
        pd.testing.assert_frame_equal(a, b[b.step <= 28].reset_index(drop=True), check_categorical=False)
    assert not full.levers.iloc[-1].equals(full.levers.iloc[28]), "the full run does follow the later entries"


def test_the_default_has_no_timeline_and_keeps_the_ids() -> None:
    p = defaults()
    assert p.values["timeline"] == []
    without = Params({k: v for k, v in p.values.items() if k != "timeline"})
    assert p.digest() == without.digest(), "an empty timeline leaves Params.digest as it was"
    assert run_id(p, 1, 4) == run_id(without, 1, 4)
    assert p.replace({"timeline": [{"lever": "autonomy", "at": "2023Q2", "value": 0.5}]}).digest() != p.digest()
    p.values["timeline"].append("x")
    assert defaults().values["timeline"] == [], "defaults() gives a fresh list"


def test_sweeps_refuse_a_timeline_design_factor(tmp_path: Path) -> None:
    exp = tmp_path / "e.toml"
    exp.write_text('[seeds]\nlist = [1]\n[design]\nkind = "grid"\n[design.levers]\ntimeline = [[], []]\n')
    with pytest.raises(ConfigError) as err:
        load_experiment(exp)
    assert err.value.key == "design.levers" and "[[timeline]] entries of a scenario file" in str(err.value)


# ---- the path ------------------------------------------------------------------------------------------------
def test_levers_at_steps_and_ramps() -> None:
    p = defaults().replace(
        {
            "timeline": [
                {"lever": "autonomy", "from": "2023Q2", "to": "2023Q4", "value": 0.6},
                {"lever": "demo_base_capacity", "from": "2023Q1", "to": "2023Q4", "value": {"Hebei": 33}},
                {"lever": "fund_size", "at": "2024Q1", "value": 300.0},
            ]
        }
    )
    at = [timeline.levers_at(p, q) for q in range(6)]
    assert [a["autonomy"] for a in at] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.6, 0.6])  # 0.3 + 0.3 * (q - 1 + 1) / 3
    assert [a["demo_base_capacity"]["Hebei"] for a in at] == [31, 32, 32, 33, 33, 33]  # 30.75, 31.5, 32.25 rounded
    assert [a["fund_size"] for a in at] == [100.0] * 4 + [300.0] * 2
    assert timeline.levers_at(defaults(), 3) == {}


# ---- the model follows it ------------------------------------------------------------------------------------
def _params(entries: list[dict], steps: int = 8, **kw: object) -> Params:
    return defaults().replace({"scale": SCALE, "steps": steps, **kw, "timeline": entries}, where="test")


def test_a_ramp_and_a_step_on_the_recorded_path() -> None:
    p = _params(
        [
            {"lever": "barrier", "from": "2023Q2", "to": "2024Q1", "value": {"Beijing-Tianjin": 0.2}},
            {"lever": "talent_incentive", "at": "2023Q3", "value": {"Hebei": 6.0}},
        ]
    )
    r = run(p, seed=3)
    lv = r.levers.set_index("step")
    assert list(lv.columns) == ["year", "barrier.Beijing-Tianjin", "talent_incentive.Hebei"]
    # step k simulates quarter index k - 1 (2023Q1 = 0): the ramp's first change is in 2023Q2 = step 2
    assert lv["barrier.Beijing-Tianjin"].tolist() == pytest.approx([0.6, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2, 0.2, 0.2])
    assert lv["talent_incentive.Hebei"].tolist() == [2.0, 2.0, 2.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]
    pd.testing.assert_frame_equal(r.levers, timeline.path(p))
    assert r.params == p.to_dict(), "the run's params are the schedule, not the last values in force"
    # the incentive reached the model: Hebei's incentive payments jump in 2023Q3 (step 3)
    paid = r.series[r.series.region == "Hebei"].set_index("step").incentives_paid
    assert paid[3] / paid[2] > 2.5


def test_the_model_uses_the_values_in_force() -> None:
    p = _params([{"lever": "barrier", "at": "2023Q2", "value": 0.1}])
    m = JJJModel(p, rng=1)
    m.step()
    assert m.p.values["barrier"]["Beijing-Tianjin"] == 0.6 and m.barrier[0, 1] > 0.3
    m.step()
    assert m.p.values["barrier"] == dict.fromkeys(p.values["barrier"], 0.1)
    assert m.barrier[0, 1] < 0.15


def test_a_step_in_the_first_quarter_is_the_set_up() -> None:
    p = _params([{"lever": "fund_size", "at": "2023Q1", "value": 300.0}], steps=2)
    m = JJJModel(p, rng=1)
    collab = m.fund.kind == fund.COLLABORATIVE
    assert m.fund.capital[collab].tolist() == [300.0]
    assert policy.frame(m).fund_size.tolist() == [300.0]


def test_the_collaborative_fund_appears_in_2015q3_in_the_historical_run() -> None:
    p = load_scenario("historical").params.replace({"scale": SCALE}, where="test")
    m = JJJModel(p, rng=0)
    collab = lambda: np.flatnonzero(m.fund.kind == fund.COLLABORATIVE)  # noqa: E731
    assert collab().size == 0
    for _ in range(6):  # 2014Q1-2015Q2
        m.step()
    assert collab().size == 0
    m.step()  # step 7: 2015Q3
    k = collab()
    assert k.size == 1 and m.fund.committed[k[0]] == 100.0 and m.fund.inflows[k[0]] == 100.0
    for _ in range(10):  # to step 17: 2018Q1, the Guotou fund
        m.step()
    assert m.fund.committed[k[0]] == 110.0 and m.fund.inflows[k[0]] == 110.0


def test_demo_capacity_changes_add_slots_and_cut_them() -> None:
    p = _params(
        [
            {"lever": "demo_base_capacity", "at": "2023Q2", "value": {"Hebei": 90}},
            {"lever": "demo_base_capacity", "at": "2023Q4", "value": {"Hebei": 10}},
        ]
    )
    m = JJJModel(p, rng=2)
    pl = m.platform

    def hebei() -> int:
        return int(pl.capacity[(pl.kind == DEMO_BASE) & pl.alive & (pl.region == 2)].sum())

    assert hebei() == math.ceil(30 * SCALE)
    n_platforms = len(pl)
    m.step()
    m.step()  # 2023Q2
    assert hebei() == math.ceil(90 * SCALE) and m.demo_slots[2] == math.ceil(90 * SCALE)
    assert len(pl) > n_platforms, "new demo bases were built"
    m.step()
    m.step()  # 2023Q4
    assert hebei() == math.ceil(10 * SCALE) and m.demo_slots[2] == math.ceil(10 * SCALE)


def test_service_platforms_and_shared_labs_mid_run() -> None:
    p = _params(
        [
            {"lever": "service_platforms", "at": "2023Q2", "value": {"nev": 3}},
            {"lever": "service_platforms", "at": "2023Q3", "value": {"nev": 1}},
            {"lever": "shared_key_labs", "at": "2023Q2", "value": 20},
        ]
    )
    m = JJJModel(p, rng=4)
    assert m.service_platforms_by_field()[0] == 0 and not m.shared_lab.any()
    m.step()
    m.step()
    assert m.service_platforms_by_field()[0] == 3
    assert m.shared_lab.sum() == 3 * math.ceil(20 * SCALE), "one node per JJJ region a lab"
    m.step()
    assert m.service_platforms_by_field()[0] == 1
    assert (m.platform.kind == SERVICE_PLATFORM).sum() == 3, "retired platforms keep their rows, not alive"
    for _ in range(5):
        m.step()  # and the run goes on with them


def test_same_seed_same_outputs() -> None:
    p = _params(
        [
            {"lever": "fund_size", "at": "2023Q2", "value": 400.0},
            {"lever": "shared_key_labs", "at": "2023Q3", "value": 10},
            {"lever": "barrier", "from": "2023Q1", "to": "2023Q4", "value": 0.3},
        ]
    )
    assert run(p, seed=5).digest() == run(p, seed=5).digest()
    assert run(p, seed=5).digest() != run(p, seed=6).digest()


def test_no_entries_is_the_constant_run_bit_for_bit() -> None:
    p = defaults().replace({"scale": SCALE, "steps": 6}, where="test")
    constant = run(p, seed=7)
    assert run(p.replace({"timeline": []}), seed=7).digest() == constant.digest()
    assert not constant.has_timeline and list(constant.levers.columns) == ["step", "year"]
    # a timeline that sets the values already in force changes nothing but the recorded path
    same = run(p.replace({"timeline": [{"lever": "fund_size", "at": "2023Q3", "value": 100.0}]}), seed=7)
    for a, b in ((same.series, constant.series), (same.model_series, constant.model_series)):
        pd.testing.assert_frame_equal(a, b)
    assert json.dumps(same.summary) == json.dumps(constant.summary)  # NaN included


def test_a_saved_run_round_trips_its_path(tmp_path: Path) -> None:
    r = run(_params([{"lever": "autonomy", "from": "2023Q2", "to": "2023Q3", "value": 0.9}], steps=4), seed=1)
    folder = r.save(tmp_path / "out")
    assert (folder / "levers.parquet").exists()
    pd.testing.assert_frame_equal(read_levers(folder), r.levers)
    constant = run(defaults().replace({"scale": SCALE, "steps": 2}), seed=1).save(tmp_path / "constant")
    assert not (constant / "levers.parquet").exists()
    assert list(read_levers(constant).columns) == ["step", "year"]


def test_mid_run_changes_draw_from_their_own_stream() -> None:
    """Building shared labs mid-run draws from the timeline's stream, not the model's generator: the rest of the
    run keeps its random numbers (common random numbers with the constant run)."""
    constant = JJJModel(_params([], steps=4), rng=8)
    changed = JJJModel(_params([{"lever": "shared_key_labs", "at": "2023Q2", "value": 20}], steps=4), rng=8)
    for m in (constant, changed):
        m.step()
        m.step()
    assert changed.shared_lab.any() and not constant.shared_lab.any()
    assert changed.rng.bit_generator.state == constant.rng.bit_generator.state
