"""Experiment definitions: runs, common seeds, stable ids, the designs, and clear errors on bad input."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from jjjsim.experiments.definition import Experiment, Keep, load_experiment, run_id
from jjjsim.model.params import REGISTRY, ConfigError
from jjjsim.model.scenario import builtin_names, load_scenario

SEEDS = "[seeds]\nlist = [11, 12]\n"


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def design(tmp_path: Path, body: str, seeds: str = SEEDS, extra: str = "") -> Experiment:
    return load_experiment(write(tmp_path, f"steps = 8\n{extra}{seeds}[design]\n{body}"))


def points(exp: Experiment) -> list[dict]:
    """Design points in order (one per point, not per run)."""
    return [r.point for r in exp.runs[:: len(exp.seeds)]]


# ---- the built-in brief-measures experiment ------------------------------------------------------------------


@pytest.fixture(scope="module")
def brief() -> Experiment:
    return load_experiment("brief-measures")


def test_brief_measures_compares_baseline_every_single_measure_and_all(brief: Experiment) -> None:
    expected = sorted(set(builtin_names()) - {"historical"})
    labels = list(dict.fromkeys(r.label for r in brief.runs))
    # the 13 measures of the brief, the relocation of non-capital functions and Hebei's firm cultivation (model v2:
    # both in all-measures), all-measures
    assert len(labels) == 17 and sorted(labels) == expected and labels[0] == "baseline"
    assert brief.design == "scenarios" and brief.problem is None
    assert len(brief.seeds) == 30 and len(brief.runs) == 17 * 30
    assert brief.steps == 40 and brief.keep == Keep(series=True, flows=True, every=1)  # the report plots both
    assert brief.name == "brief-measures" and brief.description
    assert all(r.point == {} for r in brief.runs)


def test_brief_measures_runs_are_resolved_scenarios_with_the_overrides(brief: Experiment) -> None:
    for r in brief.runs[:: len(brief.seeds)]:
        want = load_scenario(r.label).params.replace({"scale": 0.2, "steps": 40})
        assert r.params == want and r.steps == 40 and r.params.steps == 40


def test_same_seeds_in_every_scenario(brief: Experiment) -> None:
    by_label: dict[str, list[int]] = {}
    for r in brief.runs:
        by_label.setdefault(r.label, []).append(r.seed)
    assert all(seeds == list(brief.seeds) for seeds in by_label.values())


def test_seeds_are_spawned_from_the_root(brief: Experiment) -> None:
    children = np.random.SeedSequence(20260226).spawn(30)
    assert brief.seeds == tuple(int(c.generate_state(1)[0]) for c in children)
    assert len(set(brief.seeds)) == 30


def test_run_ids_stable_and_unique(brief: Experiment) -> None:
    again = load_experiment("brief-measures")
    assert [r.run_id for r in again.runs] == [r.run_id for r in brief.runs]
    assert again.digest == brief.digest
    assert len({r.run_id for r in brief.runs}) == len(brief.runs)
    r = brief.runs[0]
    assert r.run_id == run_id(r.params, r.seed, r.steps) and len(r.run_id) == 16


def test_load_by_path_equals_load_by_name(brief: Experiment) -> None:
    by_path = load_experiment(Path(brief.path))
    assert [r.run_id for r in by_path.runs] == [r.run_id for r in brief.runs]


def test_digest_changes_with_the_file(tmp_path: Path) -> None:
    text = f'{SEEDS}[design]\nkind = "scenarios"\nscenarios = ["baseline"]\n'
    a = load_experiment(write(tmp_path, text))
    b = load_experiment(write(tmp_path, text + "# a comment\n"))
    c = load_experiment(write(tmp_path, text.replace("12]", "13]")))
    assert a.digest == b.digest != c.digest
    assert a.definition["seeds"]["list"] == [11, 12]


def test_scenario_paths_are_relative_to_the_experiment_file(tmp_path: Path) -> None:
    (tmp_path / "sc").mkdir()
    write(tmp_path, 'base = "baseline"\n[params]\nfund_size = 500.0\n', "sc/big-fund.toml")
    exp = design(tmp_path, 'kind = "scenarios"\nscenarios = ["baseline", "sc/big-fund.toml"]\n')
    assert [r.label for r in exp.runs] == ["baseline", "baseline", "big-fund", "big-fund"]
    assert exp.runs[2].params.fund_size == 500.0 and exp.steps == 8


def test_steps_default_to_the_scenarios(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, f'{SEEDS}[design]\nkind = "scenarios"\nscenarios = ["baseline"]\n'))
    assert exp.steps == 40 and exp.keep == Keep()


# ---- designs -------------------------------------------------------------------------------------------------


def test_grid_is_the_full_factorial_with_int_rounding(tmp_path: Path) -> None:
    exp = design(
        tmp_path,
        'kind = "grid"\n[design.levers]\nfund_size = [100, 300]\nshared_key_labs = [2.4, 5.6, 8]\n'
        'talent_incentive.Hebei = [2, 6]\nevaluation_regime = ["uniform_quantity", "differentiated"]\n',
    )
    pts = points(exp)
    assert len(pts) == 2 * 3 * 2 * 2 and len(exp.runs) == len(pts) * 2
    grid = itertools.product([100.0, 300.0], [2, 6, 8], [2.0, 6.0], ["uniform_quantity", "differentiated"])
    names = ["fund_size", "shared_key_labs", "talent_incentive.Hebei", "evaluation_regime"]
    assert pts == [dict(zip(names, combo, strict=True)) for combo in grid]
    assert all(isinstance(p["fund_size"], float) and isinstance(p["shared_key_labs"], int) for p in pts)
    r = exp.runs[2 * 7]  # point-0007: fund 100, labs 6, Hebei 6, differentiated
    assert r.label == "point-0007" and r.params.shared_key_labs == 6 and isinstance(r.params.shared_key_labs, int)
    assert r.params.values["talent_incentive"] == {"Beijing": 1.0, "Tianjin": 2.0, "Hebei": 6.0}
    assert r.params.evaluation_regime == "differentiated" and exp.problem is None


def test_lhs_points_lie_within_bounds_and_are_stratified(tmp_path: Path) -> None:
    n = 20
    body = (
        f'kind = "lhs"\nsamples = {n}\nlevers = ["fund_size", "talent_incentive.Hebei", "autonomy"]\n'
        "[design.bounds]\nfund_size = [50, 500]\n"
    )
    exp = design(tmp_path, body, seeds="[seeds]\ncount = 3\nroot = 5\n")
    bounds = {"fund_size": (50.0, 500.0), "talent_incentive.Hebei": (0.0, 30.0), "autonomy": (0.0, 1.0)}
    assert exp.problem == {"num_vars": 3, "names": list(bounds), "bounds": [list(b) for b in bounds.values()]}
    pts = points(exp)
    assert len(pts) == n and len(exp.runs) == 3 * n
    for name, (lo, hi) in bounds.items():
        x = np.array([p[name] for p in pts])
        assert ((x >= lo) & (x <= hi)).all()
        strata = np.floor((x - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))  # each stratum hit once per lever
    assert exp.runs[3].params.values["talent_incentive"]["Hebei"] == pts[1]["talent_incentive.Hebei"]
    again = design(tmp_path, body, seeds="[seeds]\ncount = 3\nroot = 5\n")
    other = design(tmp_path, body, seeds="[seeds]\ncount = 3\nroot = 6\n")
    assert points(again) == pts != points(other)


def test_sobol_gives_saltelli_sample_size(tmp_path: Path) -> None:
    n, d = 8, 3
    exp = design(
        tmp_path,
        f'kind = "sobol"\nsamples = {n}\nlevers = ["fund_size", "autonomy", "shared_key_labs"]\n',
    )
    pts = points(exp)
    assert len(pts) == n * (2 * d + 2) and len(exp.runs) == len(pts) * 2  # calc_second_order=True
    assert exp.problem is not None and exp.problem["num_vars"] == d and "sample_scaled" not in exp.problem
    assert all(isinstance(p["shared_key_labs"], int) and 0 <= p["shared_key_labs"] <= 40 for p in pts)
    assert all(0 <= p["autonomy"] <= 1 for p in pts)
    assert [r.label for r in exp.runs[:4]] == ["point-0000", "point-0000", "point-0001", "point-0001"]


def test_morris_gives_trajectories_of_d_plus_one(tmp_path: Path) -> None:
    n, d = 5, 2
    exp = design(tmp_path, f'kind = "morris"\nsamples = {n}\nlevels = 6\nlevers = ["fund_size", "autonomy"]\n')
    pts = points(exp)
    assert len(pts) == n * (d + 1)
    autonomy = {round(p["autonomy"], 9) for p in pts}
    assert autonomy <= {round(k / 5, 9) for k in range(6)}  # on the 6-level grid


def test_a_bare_per_key_lever_sets_every_sub_key(tmp_path: Path) -> None:
    exp = design(tmp_path, 'kind = "grid"\n[design.levers]\ntalent_incentive = [3]\n')
    assert exp.runs[0].params.values["talent_incentive"] == {"Beijing": 3.0, "Tianjin": 3.0, "Hebei": 3.0}


def test_overrides_apply_to_every_run_and_merge_sub_keys(tmp_path: Path) -> None:
    exp = design(
        tmp_path,
        'kind = "scenarios"\nscenarios = ["baseline", "talent-incentives"]\n',
        extra='[overrides]\nscale = 0.3\n"talent_incentive.Beijing" = 4\n',
    )
    assert all(r.params.scale == 0.3 for r in exp.runs)
    assert exp.runs[-1].params.values["talent_incentive"] == {"Beijing": 4.0, "Tianjin": 4.0, "Hebei": 6.0}


def test_same_params_and_seed_give_the_same_run_id(tmp_path: Path) -> None:
    a = design(tmp_path, 'kind = "grid"\n[design.levers]\nfund_size = [100]\n')
    b = design(tmp_path, 'kind = "scenarios"\nscenarios = ["baseline"]\n')
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    assert math.isclose(a.runs[0].params.fund_size, 100.0)


# ---- doses of measures ---------------------------------------------------------------------------------------------

DOSES = 'kind = "scenarios"\nscenarios = ["baseline", {measures}]\ndoses = {doses}\n'


def dosed(tmp_path: Path, measures: str, doses: str = "[0.5, 1, 2]") -> Experiment:
    return design(tmp_path, DOSES.format(measures=measures, doses=doses))


def test_doses_scale_each_measure_from_the_baseline(tmp_path: Path) -> None:
    exp = dosed(tmp_path, '"talent-incentives", "shared-key-labs"', "[2, 0.25, 1]")
    labels = list(dict.fromkeys(r.label for r in exp.runs))
    assert labels == [
        "baseline",
        "talent-incentives@0.25",
        "talent-incentives",
        "talent-incentives@2",
        "shared-key-labs@0.25",
        "shared-key-labs",
        "shared-key-labs@2",
    ]  # the reference once, then each measure's doses ascending
    by = {r.label: r for r in exp.runs[:: len(exp.seeds)]}
    assert by["baseline"].dose is None and by["baseline"].measure == ""
    assert (by["talent-incentives@0.25"].measure, by["talent-incentives@0.25"].dose) == ("talent-incentives", 0.25)
    # talent subsidy 2 -> 4 in Tianjin, 2 -> 6 in Hebei, Beijing unchanged at 1
    ti = {k: by[k].params.values["talent_incentive"] for k in ("talent-incentives@0.25", "talent-incentives@2")}
    assert ti["talent-incentives@0.25"] == {"Beijing": 1.0, "Tianjin": 2.5, "Hebei": 3.0}
    assert ti["talent-incentives@2"] == {"Beijing": 1.0, "Tianjin": 6.0, "Hebei": 10.0}
    # a whole-number lever is rounded: 0 -> 10 key labs at dose 0.25 is 2.5, i.e. 3
    assert by["shared-key-labs@0.25"].params.shared_key_labs == 3
    assert by["shared-key-labs@2"].params.shared_key_labs == 20
    # every other parameter is the baseline's; dose 1 is exactly the scenario (same run as a plain comparison)
    base = by["baseline"].params.values
    assert {k for k, v in by["talent-incentives@2"].params.values.items() if v != base[k]} == {"talent_incentive"}
    plain = design(tmp_path, 'kind = "scenarios"\nscenarios = ["baseline", "talent-incentives"]\n')
    assert by["talent-incentives"].run_id == plain.runs[len(plain.seeds)].run_id
    assert len(exp.runs) == 7 * len(exp.seeds) and all(r.point == {} for r in exp.runs)


def test_a_switch_runs_once_and_a_dose_beyond_the_bounds_is_left_out(tmp_path: Path) -> None:
    # autonomy 0.3 -> 0.7: dose 2 would be 1.1, beyond the registry's [0, 1]; the evaluation regime is a choice
    exp = dosed(tmp_path, '"autonomy", "differentiated-evaluation", "all-measures"')
    labels = list(dict.fromkeys(r.label for r in exp.runs))
    assert labels == ["baseline", "autonomy@0.5", "autonomy", "differentiated-evaluation", "all-measures@0.5",
                      "all-measures"]  # fmt: skip
    half = next(r for r in exp.runs if r.label == "all-measures@0.5").params
    assert half.autonomy == pytest.approx(0.5) and half.evaluation_regime == "differentiated"  # a choice is on
    beyond = r"design\.doses: expected at least one dose.*dose 2: autonomy would be 1\.1; dose 2\.5: autonomy .* 1\.3"
    with pytest.raises(ConfigError, match=beyond):
        dosed(tmp_path, '"autonomy"', "[2.5, 2]")


def test_design_size_counts_the_doses(tmp_path: Path) -> None:
    from jjjsim.experiments.definition import design_size

    data = {"seeds": {"count": 3, "root": 1}, "design": {"kind": "scenarios", "scenarios": ["a", "b", "c"]}}
    assert design_size(data) == (3, 3)
    data["design"]["doses"] = [0.5, 1, 2, 3]
    assert design_size(data) == (1 + 2 * 4, 3)


@pytest.mark.parametrize(
    ("doses", "measures", "match"),
    [
        ("[]", '"autonomy"', "a non-empty list of doses > 0"),
        ("[0, 1]", '"autonomy"', "a non-empty list of doses > 0"),
        ('["1"]', '"autonomy"', "a non-empty list of doses > 0"),
        ("[1, 1.0]", '"autonomy"', "distinct doses"),
        ("[1]", '"historical"', "measures that change levers of baseline only.*historical changes start_year"),
    ],
)
def test_bad_doses_are_clear_errors(tmp_path: Path, doses: str, measures: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        dosed(tmp_path, measures, doses)
    with pytest.raises(ConfigError, match="a reference scenario and at least one measure"):
        design(tmp_path, 'kind = "scenarios"\nscenarios = ["baseline"]\ndoses = [1]\n')


# ---- bad input ---------------------------------------------------------------------------------------------------

SC = 'kind = "scenarios"\nscenarios = ["baseline"]\n'
LHS = 'kind = "lhs"\nsamples = 4\n'

BAD = {
    "unknown top-level key": ("", SEEDS + "[design]\n" + SC + "[output]\nseries = false\n", "output", "outputs"),
    "unknown design kind": ("", SEEDS + '[design]\nkind = "gird"\n', "design.kind", "grid"),
    "unknown design key": ("", SEEDS + '[design]\nkind = "grid"\nlever = {}\n', "design.lever", "levers"),
    "key of another kind": ("", SEEDS + '[design]\nkind = "grid"\nsamples = 3\n', "design.samples", ""),
    "no design": ("", SEEDS, "design", ""),
    "unknown scenario": (
        "",
        SEEDS + '[design]\nkind = "scenarios"\nscenarios = ["baseline", "cultur"]\n',
        "design.scenarios",
        "culture",
    ),
    "missing scenario file": (
        "",
        SEEDS + '[design]\nkind = "scenarios"\nscenarios = ["nope.toml"]\n',
        "design.scenarios",
        "",
    ),
    "duplicate scenario": (
        "",
        SEEDS + '[design]\nkind = "scenarios"\nscenarios = ["culture", "culture"]\n',
        "design.scenarios",
        "",
    ),
    "empty scenario list": ("", SEEDS + '[design]\nkind = "scenarios"\nscenarios = []\n', "design.scenarios", ""),
    "unknown base": (
        "",
        SEEDS + '[design]\nkind = "grid"\nbase = "basline"\n[design.levers]\nautonomy = [0.5]\n',
        "design.base",
        "baseline",
    ),
    "unknown lever": (
        "",
        SEEDS + '[design]\nkind = "grid"\n[design.levers]\nfund_sise = [1]\n',
        "design.levers",
        "fund_size",
    ),
    "unknown sub-key": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["talent_incentive.Hebie"]\n',
        "design.levers",
        "talent_incentive.Hebei",
    ),
    "sub-key of a scalar": ("", SEEDS + "[design]\n" + LHS + 'levers = ["fund_size.Hebei"]\n', "design.levers", ""),
    "steps as a lever": ("", SEEDS + "[design]\n" + LHS + 'levers = ["steps"]\n', "design.levers", ""),
    "choice in a sampled design": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["evaluation_regime"]\n',
        "design.levers",
        "",
    ),
    "lever twice": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["talent_incentive", "talent_incentive.Hebei"]\n',
        "design.levers",
        "",
    ),
    "empty lever list": ("", SEEDS + "[design]\n" + LHS + "levers = []\n", "design.levers", ""),
    "bounds outside the registry's": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["autonomy"]\n[design.bounds]\nautonomy = [0.2, 1.5]\n',
        "design.bounds.autonomy",
        "",
    ),
    "bounds reversed": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["autonomy"]\n[design.bounds]\nautonomy = [0.8, 0.2]\n',
        "design.bounds.autonomy",
        "",
    ),
    "bounds of a lever not in the design": (
        "",
        SEEDS + "[design]\n" + LHS + 'levers = ["autonomy"]\n[design.bounds]\nautonomi = [0.2, 0.8]\n',
        "design.bounds.autonomi",
        "autonomy",
    ),
    "empty grid list": (
        "",
        SEEDS + '[design]\nkind = "grid"\n[design.levers]\nfund_size = []\n',
        "design.levers.fund_size",
        "",
    ),
    "grid value outside the registry's": (
        "",
        SEEDS + '[design]\nkind = "grid"\n[design.levers]\nautonomy = [0.5, 2]\n',
        "design.levers.autonomy",
        "",
    ),
    "grid values equal after rounding": (
        "",
        SEEDS + '[design]\nkind = "grid"\n[design.levers]\nshared_key_labs = [2.2, 1.8]\n',
        "design.levers.shared_key_labs",
        "",
    ),
    "bad choice in a grid": (
        "",
        SEEDS + '[design]\nkind = "grid"\n[design.levers]\nevaluation_regime = ["differentiatd"]\n',
        "design.levers.evaluation_regime",
        "differentiated",
    ),
    "samples = 0": ("", SEEDS + '[design]\nkind = "lhs"\nsamples = 0\nlevers = ["autonomy"]\n', "design.samples", ""),
    "sobol samples not a power of 2": (
        "",
        SEEDS + '[design]\nkind = "sobol"\nsamples = 6\nlevers = ["autonomy"]\n',
        "design.samples",
        "",
    ),
    "odd morris levels": (
        "",
        SEEDS + '[design]\nkind = "morris"\nsamples = 2\nlevels = 3\nlevers = ["autonomy"]\n',
        "design.levels",
        "",
    ),
    "seeds = 0": ("", "[seeds]\ncount = 0\nroot = 1\n[design]\n" + SC, "seeds.count", ""),
    "seed count without root": ("", "[seeds]\ncount = 3\n[design]\n" + SC, "seeds.root", ""),
    "empty seed list": ("", "[seeds]\nlist = []\n[design]\n" + SC, "seeds.list", ""),
    "duplicate seeds": ("", "[seeds]\nlist = [1, 2, 1]\n[design]\n" + SC, "seeds.list", ""),
    "negative seed": ("", "[seeds]\nlist = [-1]\n[design]\n" + SC, "seeds.list", ""),
    "count and list": ("", "[seeds]\ncount = 2\nroot = 1\nlist = [1]\n[design]\n" + SC, "seeds", ""),
    "no seeds": ("", "[design]\n" + SC, "seeds", ""),
    "unknown seeds key": ("", "[seeds]\ncont = 2\nroot = 1\n[design]\n" + SC, "seeds.cont", "count"),
    "steps = 0": ("steps = 0\n", SEEDS + "[design]\n" + SC, "steps", ""),
    "every = 0": ("[outputs]\nevery = 0\n", SEEDS + "[design]\n" + SC, "outputs.every", ""),
    "series not a bool": ("[outputs]\nseries = 1\n", SEEDS + "[design]\n" + SC, "outputs.series", ""),
    "summary off": ("[outputs]\nsummary = false\n", SEEDS + "[design]\n" + SC, "outputs.summary", ""),
    "unknown override": ("[overrides]\nscael = 0.2\n", SEEDS + "[design]\n" + SC, "overrides.scael", "scale"),
    "override out of bounds": ("[overrides]\nscale = 90\n", SEEDS + "[design]\n" + SC, "overrides.scale", ""),
    "steps in overrides": ("[overrides]\nsteps = 8\n", SEEDS + "[design]\n" + SC, "overrides.steps", ""),
    "override of a design lever": (
        '[overrides]\n"talent_incentive.Hebei" = 3\n',
        SEEDS + "[design]\n" + LHS + 'levers = ["talent_incentive"]\n',
        "overrides.talent_incentive.Hebei",
        "",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_the_file_and_key(tmp_path: Path, case: str) -> None:
    head, text, key, hint = BAD[case]
    path = write(tmp_path, head + text)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    err = info.value
    assert err.where == str(path) and err.key == key, str(err)
    assert str(path) in str(err) and key in str(err)
    if hint:
        assert f"did you mean '{hint}'" in err.hint


def test_bad_files_and_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_experiment(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_experiment(write(tmp_path, "steps = = 3\n"))
    with pytest.raises(ConfigError, match="did you mean 'brief-measures'"):
        load_experiment("brief-measure")


def test_a_bad_scenario_file_is_reported_through_the_experiment(tmp_path: Path) -> None:
    write(tmp_path, "[params]\nfund_size = -5\n", "bad.toml")
    path = write(tmp_path, SEEDS + '[design]\nkind = "scenarios"\nscenarios = ["bad.toml"]\n')
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert info.value.where == str(path) and info.value.key == "design.scenarios"
    assert "bad.toml" in info.value.hint and "fund_size" in info.value.hint


def test_registry_bounds_are_the_default_bounds(tmp_path: Path) -> None:
    exp = design(tmp_path, 'kind = "morris"\nsamples = 2\nlevers = ["demo_base_capacity.Hebei"]\n')
    assert exp.problem is not None and exp.problem["bounds"] == [
        list(map(float, REGISTRY["demo_base_capacity"].bounds))
    ]
    assert Counter(type(p["demo_base_capacity.Hebei"]) for p in points(exp)) == Counter({int: 4})
