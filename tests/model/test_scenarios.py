"""Scenario files: the built-ins load and describe themselves, all-measures is exactly the union of the
single-measure files, and base chains resolve or fail naming the file and the key ``base``."""

from __future__ import annotations

from pathlib import Path

import pytest
from jjjsim.model import ConfigError, run, timeline
from jjjsim.model.params import LEVERS
from jjjsim.model.scenario import builtin_names, list_scenarios, load_scenario

NOT_A_SINGLE_MEASURE = {"baseline", "all-measures", "historical"}


def _single_measure_names() -> list[str]:
    return [n for n in builtin_names() if n not in NOT_A_SINGLE_MEASURE]


def test_every_builtin_scenario_loads_and_describes_itself():
    scenarios = list_scenarios()
    assert [s.name for s in scenarios] == builtin_names()
    assert {"baseline", "all-measures"} <= {s.name for s in scenarios}
    for s in scenarios:
        assert len(s.description.split()) >= 5, f"{s.name}: description"
        if s.name == "baseline":
            assert s.chain == ("baseline",)
        else:
            assert len(s.chain) >= 2 and s.chain[0] == s.name, f"{s.name} names a base"
            assert s.chain[-1] == "baseline"
            assert s.overrides, f"{s.name} overrides something"


def test_there_are_15_single_measure_scenarios():
    """The brief's 13 measures, the relocation of non-capital functions and Hebei's firm cultivation (issue 10)."""
    names = _single_measure_names()
    assert len(names) == 15, names
    assert all(load_scenario(n).chain == (n, "baseline") for n in names)


def test_all_measures_is_the_union_of_the_single_measures():
    union: dict[str, object] = {}
    for name in _single_measure_names():
        for key, value in load_scenario(name).overrides.items():
            assert union.setdefault(key, value) == value, f"{name} sets {key} differently from another file"
    all_measures = load_scenario("all-measures")
    assert all_measures.overrides == union
    assert all_measures.params == load_scenario("baseline").params.replace(union)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_scenario_file_can_extend_a_builtin(tmp_path):
    f = _write(
        tmp_path / "bold.toml", 'description = "More autonomy still."\nbase = "autonomy"\n[params]\nfund_size = 500\n'
    )
    s = load_scenario(f)
    assert s.name == "bold" and s.chain == ("bold", "autonomy", "baseline")
    assert s.params.fund_size == 500.0 and s.params.autonomy == 0.7
    assert s.params == load_scenario("autonomy").params.replace({"fund_size": 500})
    result = run(f, seed=1, overrides={"scale": 0.05}, steps=2)
    assert result.scenario == "bold" and result.params["fund_size"] == 500.0


def test_a_base_beside_the_file_comes_before_a_builtin(tmp_path):
    _write(tmp_path / "autonomy.toml", 'description = "Local autonomy."\nbase = "baseline"\n[params]\nautonomy = 0.9\n')
    f = _write(tmp_path / "child.toml", 'description = "Child."\nbase = "autonomy"\n')
    assert load_scenario(f).params.autonomy == 0.9


def test_a_base_given_as_a_file_name_is_found_beside_the_file(tmp_path):
    _write(tmp_path / "parent.toml", 'description = "Parent."\nbase = "baseline"\n[params]\nautonomy = 0.9\n')
    f = _write(tmp_path / "child.toml", 'description = "Child."\nbase = "parent.toml"\n')
    assert load_scenario(f).params.autonomy == 0.9


def test_a_scenario_that_extends_itself_fails_naming_file_and_key(tmp_path):
    f = _write(tmp_path / "loop.toml", 'description = "Loops."\nbase = "loop"\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    assert err.value.key == "base" and err.value.where == str(f)
    assert str(f) in str(err.value) and "base" in str(err.value)


def test_a_cycle_of_two_files_fails_naming_the_file_that_closes_it(tmp_path):
    a = _write(tmp_path / "a.toml", 'description = "A."\nbase = "b"\n')
    b = _write(tmp_path / "b.toml", 'description = "B."\nbase = "a"\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(a)
    assert err.value.key == "base" and err.value.where == str(b)


def test_a_missing_base_fails_naming_file_and_key(tmp_path):
    f = _write(tmp_path / "orphan.toml", 'description = "Orphan."\nbase = "autonomi"\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    assert err.value.key == "base" and err.value.where == str(f)
    assert "did you mean 'autonomy'?" in str(err.value)


def test_bad_parameters_in_a_file_name_the_file(tmp_path):
    f = _write(tmp_path / "typo.toml", 'description = "Typo."\nbase = "baseline"\n[params]\nautonmy = 0.5\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    assert err.value.where == str(f) and err.value.key == "autonmy"
    assert "did you mean 'autonomy'?" in str(err.value)


def test_unknown_top_level_keys_are_rejected(tmp_path):
    f = _write(tmp_path / "top.toml", 'description = "Top."\nbase = "baseline"\n[parmas]\nautonomy = 0.5\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(f)
    assert err.value.key == "parmas" and "did you mean 'params'?" in str(err.value)


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_runs(name):
    result = run(name, seed=0, overrides={"scale": 0.05}, steps=2)  # a timeline's later entries wait: no error
    assert result.scenario == name
    assert len(result.model_series) == 3 and len(result.levers) == 3


def test_historical_is_the_documented_timeline_to_the_baselines_start():
    """Every entry has a source and the timeline reaches 2023; in 2023Q1, the baseline's first quarter, the
    historical run's levers are the baseline's but for the fund (110 with the Guotou fund, the baseline's 100 is the
    2015 fund only) and Hebei's firm cultivation (1 from its 2017-2020 plan; a 2023 start has those firms in its
    start stock); the two 2023Q3 measures (barriers, chain integration) come after the baseline's start."""
    hist, base = load_scenario("historical").params, load_scenario("baseline").params
    entries = hist.values["timeline"]
    assert all(e["source"] for e in entries)
    assert all("assumption" in e["source"] or "jjj_statistics.csv" in e["source"] for e in entries)
    assert {timeline.span(e)[0] // 4 for e in entries} >= {2015, 2017, 2018, 2023}
    assert int(hist.start_year) == 2014 and int(hist.steps) == 40

    def differ(quarter: int) -> set[str]:
        now = hist.replace(timeline.levers_at(hist, quarter), where="test")
        return {n for n in LEVERS if now.values[n] != base.values[n]}

    assert differ(4 * (2023 - 2014)) == {"fund_size", "firm_cultivation"}
    assert differ(39) == {"fund_size", "firm_cultivation", "barrier", "chain_integration"}
    assert timeline.levers_at(hist, 4 * (2016 - 2014))["firm_cultivation"]["Hebei"] == 0.0  # before the plan
    assert timeline.levers_at(hist, 4 * (2020 - 2014) + 3)["firm_cultivation"]["Hebei"] == 1.0  # its target, 2020Q4
