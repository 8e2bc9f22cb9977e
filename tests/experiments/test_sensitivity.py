"""The sensitivity pipeline recovers known indices (Ishigami) from the experiment loader's own designs, reads
results folders as the report does, exposes seed noise, and runs E4 end to end at its quick size."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments import sensitivity as sa
from jjjsim.experiments.definition import Experiment, load_experiment
from jjjsim.experiments.published import e4
from jjjsim.experiments.results import load_results
from jjjsim.experiments.sweep import sweep
from jjjsim.model.errors import ConfigError
from SALib.test_functions import Ishigami

A, B = 7.0, 0.1
# Ishigami (a = 7, b = 0.1), analytically: V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2
_V = A**2 / 8 + B * math.pi**4 / 5 + B**2 * math.pi**8 / 18 + 0.5
S1 = np.array([0.5 * (1 + B * math.pi**4 / 5) ** 2, A**2 / 8, 0.0]) / _V  # 0.314, 0.442, 0
S13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50) / _V  # 0.244
ST = S1 + np.array([S13, 0.0, S13])  # 0.558, 0.442, 0.244
# Morris on a 4-level grid (delta = 2/3 of the range, steps -pi <-> pi/3 and -pi/3 <-> pi), exactly:
#   x1: |sin step| = sqrt(3)/2, times (1 + b x3^4), x3^4 in {pi^4, (pi/3)^4} equally often;
#   x2: a |sin^2 step| = 7 * 3/4; x3: b |sin x1| |x3^4 step| with |sin x1| in {0, sqrt(3)/2}.
_D = 2 / 3
MU_STAR = np.array(
    [
        math.sqrt(3) / 2 * (1 + B * (math.pi**4 + (math.pi / 3) ** 4) / 2) / _D,  # 7.70
        A * 0.75 / _D,  # 7.875
        B * (math.sqrt(3) / 4) * (math.pi**4 - (math.pi / 3) ** 4) / _D,  # 6.25
    ]
)
MU = np.array([MU_STAR[0], 0.0, 0.0])
# sigma (population form): x1's effects take two values equally often, x2's are +-7.875, x3's are 0 half the time
# and +-2 * 6.25 otherwise
_EE1 = math.sqrt(3) / 2 * (1 + B * np.array([math.pi**4, (math.pi / 3) ** 4])) / _D
SIGMA = np.array([abs(_EE1[0] - _EE1[1]) / 2, MU_STAR[1], math.sqrt(0.5) * 2 * MU_STAR[2]])
# Three real levers with registry bounds [0, 1], mapped linearly onto [-pi, pi] (the registry allows no wider).
LEVERS = ["standards_recognition", "project_alignment", "chain_integration"]


def _experiment(tmp_path: Path, kind: str, samples: int) -> Experiment:
    path = tmp_path / f"ishigami-{kind}.toml"
    path.write_text(
        f'name = "ishigami-{kind}"\nsteps = 4\n[seeds]\nlist = [1]\n[outputs]\nseries = false\n'
        f'[design]\nkind = "{kind}"\nsamples = {samples}\nlevers = {json.dumps(LEVERS)}\n'
    )
    return load_experiment(path)


def _points(exp: Experiment) -> np.ndarray:
    """The design points of the experiment's runs (one seed: one run per point), in run order."""
    assert exp.problem is not None and exp.problem["bounds"] == [[0.0, 1.0]] * 3
    return np.array([[s.point[n] for n in LEVERS] for s in exp.runs])


def _ishigami(x01: np.ndarray) -> np.ndarray:
    return Ishigami.evaluate(-math.pi + 2 * math.pi * x01, A=A, B=B)


@pytest.fixture(scope="module")
def sobol_design(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    """The loader's Sobol' design over the three levers, N = 1024 (8,192 points, one seed)."""
    return _experiment(tmp_path_factory.mktemp("ishigami"), "sobol", 1024)


def test_sobol_recovers_ishigami_through_the_loader_design(sobol_design: Experiment) -> None:
    exp = sobol_design
    x = _points(exp)
    assert x.shape == (1024 * 8, 3)
    y = _ishigami(x)
    idx = sa.indices("sobol", exp.problem, None, y)
    assert list(idx.columns) == list(sa.SOBOL_COLUMNS) and list(idx.parameter) == LEVERS
    np.testing.assert_allclose(idx.S1, S1, atol=0.05)
    np.testing.assert_allclose(idx.ST, ST, atol=0.05)
    assert (idx.S1_conf < 0.1).all() and (idx.ST_conf < 0.1).all()
    assert (np.abs(idx.S1 - S1) < idx.S1_conf + 0.01).all() and (np.abs(idx.ST - ST) < idx.ST_conf + 0.01).all()
    s2 = sa.second_order(exp.problem, y).set_index(["parameter_1", "parameter_2"])["S2"]
    assert s2[(LEVERS[0], LEVERS[2])] == pytest.approx(S13, abs=0.08)
    assert abs(s2[(LEVERS[0], LEVERS[1])]) < 0.08 and abs(s2[(LEVERS[1], LEVERS[2])]) < 0.08
    # negative control: outputs out of design order must not pass the same checks
    shuffled = sa.indices("sobol", exp.problem, None, np.random.default_rng(0).permutation(y))
    assert np.abs(shuffled.S1 - S1).max() > 0.2 or np.abs(shuffled.ST - ST).max() > 0.2


def test_morris_recovers_ishigami_through_the_loader_design(tmp_path: Path) -> None:
    exp = _experiment(tmp_path, "morris", 400)
    x = _points(exp)
    assert x.shape == (400 * 4, 3)
    y = _ishigami(x)
    idx = sa.indices("morris", exp.problem, x, y)
    assert list(idx.columns) == list(sa.MORRIS_COLUMNS)
    np.testing.assert_allclose(idx.mu_star, MU_STAR, atol=0.8)
    np.testing.assert_allclose(idx.mu, MU, atol=1.0)
    np.testing.assert_allclose(idx.sigma, SIGMA, atol=0.8)
    assert idx.mu_star[1] == pytest.approx(MU_STAR[1], rel=1e-9)  # x2's effects are all +-7.875 exactly
    assert min(idx.mu_star[0], idx.mu_star[1]) > idx.mu_star[2]  # x3 ranks last
    assert (idx.mu_star_conf < 1.0).all()
    shuffled = sa.indices("morris", exp.problem, x, np.random.default_rng(0).permutation(y))
    assert np.abs(shuffled.mu_star - MU_STAR).max() > 1.0 or np.abs(shuffled.mu - MU).max() > 1.0


def test_seed_noise_is_averaged_and_reported_per_seed(sobol_design: Experiment) -> None:
    exp = sobol_design
    f = _ishigami(_points(exp))
    sd = 2.0
    y = f[:, None] + sd * np.random.default_rng(3).standard_normal((f.size, 4))  # 4 "seeds" of noise
    assert sa.noise_share(y) == pytest.approx(sd**2 / (_V + sd**2), abs=0.03)
    pooled = sa.indices("sobol", exp.problem, None, y)  # averaged over seeds: noise variance / 4
    np.testing.assert_allclose(pooled.S1, S1 * _V / (_V + sd**2 / 4), atol=0.06)
    per_seed = sa.by_seed("sobol", exp.problem, None, y, seeds=[11, 12, 13, 14])
    assert list(per_seed.columns) == ["seed", *sa.SOBOL_COLUMNS] and len(per_seed) == 12
    spread = sa.seed_spread(per_seed).set_index(["parameter", "index"])
    assert set(spread.index.get_level_values("index")) == {"S1", "ST"}
    assert (spread.n_seeds == 4).all() and (spread.seed_sd > 0).all()
    assert spread.loc[(LEVERS[1], "S1"), "seed_mean"] == pytest.approx(S1[1] * _V / (_V + sd**2), abs=0.08)
    assert sa.noise_share(np.column_stack([f, f])) == 0.0


def test_bad_arrays_are_refused(tmp_path: Path) -> None:
    exp = _experiment(tmp_path, "morris", 4)
    x = _points(exp)
    y = _ishigami(x)
    with pytest.raises(ValueError, match="x"):
        sa.indices("morris", exp.problem, None, y)
    with pytest.raises(ValueError, match="trajectory"):
        sa.indices("morris", exp.problem, x[:-1], y[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        sa.indices("morris", exp.problem, x, np.where(np.arange(y.size) == 3, np.nan, y))
    with pytest.raises(ValueError, match="design"):
        sa.indices("lhs", exp.problem, x, y)


def test_rank_inputs_keeps_what_matters_for_any_outcome() -> None:
    def frame(mu: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"parameter": ["a", "b", "c", "d"], "mu_star": mu})

    ranked = sa.rank_inputs({"y1": frame([10.0, 5.0, 0.1, 0.0]), "y2": frame([0.0, 0.2, 0.001, 0.4])}, top=2)
    assert list(ranked.parameter) == ["a", "d", "b", "c"]  # d leads y2, so it beats b (half of y1's lead)
    assert list(ranked.chosen) == [True, True, False, False]
    assert ranked.score.iloc[0] == 1.0 and ranked["rel.y2"].iloc[1] == 1.0


SWEEP = """
name = "sa-tiny"
steps = 4
[seeds]
list = [1, 2]
[outputs]
series = false
[overrides]
scale = 0.02
[design]
kind = "{kind}"
samples = {samples}
levers = ["fund_size", "talent_incentive.Hebei"]
"""


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny real sweeps: Sobol' N = 4 (24 points) and Morris 3 trajectories (9 points), two seeds each."""
    out = {}
    for kind, samples in (("sobol", 4), ("morris", 3)):
        base = tmp_path_factory.mktemp(f"sa-{kind}")
        path = base / f"{kind}.toml"
        path.write_text(SWEEP.format(kind=kind, samples=samples))
        assert sweep(load_experiment(path), base / "results", workers=1).failed == 0
        out[kind] = base / "results"
    return out


def test_from_results_is_what_the_report_shows(tiny_folders: dict[str, Path]) -> None:
    for kind, folder in tiny_folders.items():
        res = load_results(folder)
        idx = sa.from_results(res, "value_added")
        pd.testing.assert_frame_equal(idx, res.sensitivity("value_added"))
        d = sa.design_outputs(res, "value_added")
        assert d.y.shape == (len(d.labels), 2) and np.isfinite(d.y).all() and d.seeds == (1, 2)
        by_hand = res.runs.groupby("label", sort=False)["value_added"].mean().reindex(list(d.labels))
        np.testing.assert_allclose(d.y.mean(axis=1), by_hand.to_numpy())
        per_seed = sa.from_results(res, "value_added", per_seed=True)
        assert list(per_seed.seed.unique()) == [1, 2] and len(per_seed) == 4
        if kind == "morris":  # x holds the values the runs used (whole-number levers rounded)
            first = res.runs.drop_duplicates("label").set_index("label")
            np.testing.assert_allclose(d.x[:, 0], first.loc[list(d.labels), "point.fund_size"].to_numpy())


def test_from_results_refuses_what_it_cannot_analyse(tiny_folders: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nonsense"):
        sa.from_results(load_results(tiny_folders["sobol"]), "nonsense")
    with pytest.raises(ConfigError, match="no such folder"):
        load_results(tmp_path / "missing").sensitivity("value_added")


def test_blocks_with_a_missing_run_can_be_left_out(tiny_folders: dict[str, Path], tmp_path: Path) -> None:
    for kind, folder in tiny_folders.items():
        copy = tmp_path / kind
        shutil.copytree(folder, copy)
        res = load_results(copy)
        d = sa.design_outputs(res, "value_added")
        size = len(d.labels) // d.blocks
        first = res.runs[res.runs.seed == 1]
        once = first.run_id.map(first.run_id.value_counts()) == 1  # a run only one design point uses
        label, gone = first.loc[once, ["label", "run_id"]].iloc[-1]
        (copy / "runs" / f"{gone}.parquet").unlink()
        (copy / "runs.parquet").unlink()
        res = load_results(copy)
        kept = sa.design_outputs(res, "value_added", drop_incomplete=True)
        assert kept.dropped == 1 and len(kept.labels) == len(d.labels) - size
        block = d.labels.index(label) // size
        assert kept.labels == d.labels[: block * size] + d.labels[(block + 1) * size :] and np.isfinite(kept.y).all()
        idx = sa.from_results(res, "value_added", drop_incomplete=True)
        assert idx.attrs == {"dropped": 1, "blocks": d.blocks} and len(idx) == 2
        assert np.isfinite(sa.from_results(res, "value_added").iloc[:, 1]).all()  # the other seed stands in


def test_reproduce_e4_quick_runs_both_stages(quick_e4: Path) -> None:
    out = quick_e4
    summary = json.loads((out / "summary.json").read_text())
    chosen = json.loads((out / "chosen.json").read_text())["chosen"]
    assert chosen == summary["chosen"] and len(chosen) == 4
    ranking = pd.read_csv(out / "ranking.csv")
    assert list(ranking.parameter[:4]) == chosen and ranking.score.is_monotonic_decreasing
    assert load_experiment(out / "sobol.toml").problem["names"] == chosen
    morris = pd.read_csv(out / "morris_indices.csv")
    sobol = pd.read_csv(out / "sobol_indices.csv")
    assert set(morris.outcome) == set(sobol.outcome) == set(e4.E4_OUTCOMES)
    assert set(sobol.parameter) == set(chosen) and np.isfinite(sobol[["S1", "ST"]].to_numpy()).all()
    assert len(pd.read_csv(out / "sobol_s2.csv")) == len(e4.E4_OUTCOMES) * 6
    assert (out / "sobol_by_seed.csv").is_file() and (out / "morris_by_seed.csv").is_file()
    for name in ("morris", "sobol"):
        assert (out / f"{name}.html").stat().st_size > 100_000
    names = load_experiment(out / "morris.toml").problem["names"]
    assert len(names) == e4.E4_QUICK["morris_inputs"] and summary["runs"]["morris"] == 2 * 2 * (len(names) + 1)
    assert json.loads((out / "summary.json").read_text())["chosen"] == chosen


@pytest.mark.parametrize("stage", ["morris", "sobol"])
def test_e4_ranges_lie_within_the_registry_and_hold_its_defaults(stage: str) -> None:
    """Every range of E4's designs lies within the registry's bounds (the loader refuses it otherwise) and holds the
    input's default, so the screening is around the baseline (model v2 gave some inputs new units and defaults)."""
    from jjjsim.experiments.definition import builtin_dir
    from jjjsim.model.params import REGISTRY

    exp = load_experiment(builtin_dir() / "E4-sensitivity" / f"{stage}.toml")
    assert exp.problem is not None
    outside = []
    for name, (lo, hi) in zip(exp.problem["names"], exp.problem["bounds"], strict=True):
        base, _, sub = name.partition(".")
        default = REGISTRY[base].default
        values = [default[sub]] if sub else list(default.values()) if isinstance(default, dict) else [default]
        outside += [(name, v, (lo, hi)) for v in values if not lo <= v <= hi]
    assert outside == [], outside
