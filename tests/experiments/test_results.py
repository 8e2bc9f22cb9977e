"""The data layer: aggregation checked against sums by hand, the experiment's order, and bad folders refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.results import BAND_COLUMNS, FLOW_COLUMNS, Results, load_results
from jjjsim.experiments.store import definition_digest
from jjjsim.model.errors import ConfigError

SCENARIOS = ["baseline", "talent-incentives", "collaborative-fund"]


@pytest.fixture(scope="module")
def scen(scenario_results: Path) -> Results:
    return load_results(scenario_results)


def _raw(res: Results, sub: str, label: str) -> pd.DataFrame:
    ids = res.runs.loc[res.runs.label == label, "run_id"]
    return pd.concat([pd.read_parquet(res.folder / sub / f"{i}.parquet") for i in ids], ignore_index=True)


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


# ---- loading --------------------------------------------------------------------------------------------------


def test_scenario_folder_loads_in_experiment_order(scen: Results) -> None:
    assert scen.design == "scenarios" and scen.name == "viz-scenarios" and scen.description
    assert scen.labels == SCENARIOS and scen.baseline == "baseline" and scen.levers == []
    assert scen.has_series and scen.has_flows and scen.experiment is not None
    assert len(scen.runs) == 9 and list(dict.fromkeys(scen.runs.label)) == SCENARIOS
    assert (scen.runs.groupby("label").seed.nunique() == 3).all()
    assert list(scen.runs.run_id) == [s.run_id for s in scen.experiment.runs]
    metrics = scen.metrics()
    assert {"value_added", "public_cost", "talent_fte.Hebei"} <= set(metrics)
    assert not {"seed", "steps", "run_id", "label", "digest"} & set(metrics)


def test_lever_designs_have_levers_and_no_baseline(grid_results: Path, sobol_results: Path) -> None:
    grid = load_results(grid_results)
    assert grid.design == "grid" and grid.baseline is None
    assert grid.levers == ["fund_size", "talent_incentive.Hebei"] and not grid.has_flows
    assert grid.labels == ["point-0000", "point-0001", "point-0002", "point-0003"]
    points = grid.runs[["point.fund_size", "point.talent_incentive.Hebei"]].itertuples(index=False, name=None)
    assert sorted(points) == sorted([(f, t) for f in (0, 600) for t in (0, 10)] * 2)
    sobol = load_results(sobol_results)
    assert sobol.design == "sobol" and not sobol.has_series
    assert sobol.levers == ["fund_size", "instrument_sharing"] and "point.fund_size" not in sobol.metrics()


def test_runs_shared_by_design_points_appear_under_each(sobol_results: Path) -> None:
    """Sobol' points that round to the same parameters are one stored simulation, listed under every point."""
    res = load_results(sobol_results)
    files = len(list((sobol_results / "runs").glob("*.parquet")))
    assert len(res.labels) == len(res.runs) == 4 * (2 * 2 + 2)  # N (2D + 2) points, one seed
    assert res.runs.run_id.nunique() == files < len(res.runs)
    assert list(res.runs.label) == [s.label for s in res.experiment.runs]


def test_experiment_reloads_from_the_manifest_without_its_toml(sobol_results: Path, tmp_path: Path) -> None:
    folder = _copy(sobol_results, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["definition_file"] = str(tmp_path / "gone" / "sobol.toml")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    res = load_results(folder)
    assert res.experiment is not None and res.experiment.problem["names"] == ["fund_size", "instrument_sharing"]
    assert res.sensitivity("value_added") is not None


def test_a_stale_or_corrupt_runs_parquet_falls_back_to_the_run_files(scenario_results: Path, tmp_path: Path) -> None:
    want = load_results(scenario_results).runs
    folder = _copy(scenario_results, tmp_path)
    stale = pd.read_parquet(folder / "runs.parquet").iloc[:4]
    stale.to_parquet(folder / "runs.parquet")
    pd.testing.assert_frame_equal(load_results(folder).runs, want)
    (folder / "runs.parquet").write_bytes(b"PAR1 not really")
    pd.testing.assert_frame_equal(load_results(folder).runs, want)
    (folder / "runs.parquet").unlink()
    pd.testing.assert_frame_equal(load_results(folder).runs, want)


def test_a_definition_that_no_longer_resolves_still_loads(scenario_results: Path, tmp_path: Path) -> None:
    folder = _copy(scenario_results, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["definition"]["overrides"]["scale"] = "no longer valid"
    manifest["digest"] = definition_digest(manifest["definition"])  # as written then (a hand edit is refused)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    res = load_results(folder)
    assert res.experiment is None and res.labels == SCENARIOS and len(res.runs) == 9


# ---- bad folders ----------------------------------------------------------------------------------------------


def _corrupt_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"name": "x", "definition": ')


def _list_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text("[1, 2]")


def _no_design(folder: Path) -> None:
    (folder / "manifest.json").write_text(json.dumps({"name": "x", "definition": {"steps": 8}}))


def _no_runs(folder: Path) -> None:
    (folder / "runs.parquet").unlink()
    shutil.rmtree(folder / "runs")


def _all_corrupt(folder: Path) -> None:
    for path in [folder / "runs.parquet", *(folder / "runs").glob("*.parquet")]:
        path.write_bytes(path.read_bytes()[:30])


@pytest.mark.parametrize(
    ("spoil", "where", "words"),
    [
        (_corrupt_manifest, "manifest.json", "readable JSON"),
        (_list_manifest, "manifest.json", "JSON object"),
        (_no_design, "manifest.json", "definition.design.kind"),
        (_no_runs, "", "at least one finished run"),
        (_all_corrupt, "", "corrupt runs.parquet"),
    ],
)
def test_a_bad_folder_is_a_config_error_naming_it(
    spoil: Callable[[Path], None], where: str, words: str, scenario_results: Path, tmp_path: Path
) -> None:
    folder = _copy(scenario_results, tmp_path)
    spoil(folder)
    with pytest.raises(ConfigError) as err:
        load_results(folder)
    text = str(err.value)
    assert str(folder) in text and where in text and words in text and "expected" in text


def test_missing_folder_file_and_folder_without_manifest(tmp_path: Path) -> None:
    cases = {tmp_path / "nowhere": "no such folder", tmp_path / "a-file": "a file", tmp_path / "empty": "manifest"}
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty").mkdir()
    for folder, found in cases.items():
        with pytest.raises(ConfigError, match="results folder") as err:
            load_results(folder)
        assert str(folder) in str(err.value) and found in str(err.value)


# ---- bands ----------------------------------------------------------------------------------------------------


def test_bands_equal_the_mean_and_quantiles_by_hand(scen: Results) -> None:
    bands = scen.bands(["talent_fte", "value_added"])
    assert list(bands.columns) == list(BAND_COLUMNS) and bands.attrs["level"] == 0.9
    assert set(bands.indicator) == {"talent_fte", "value_added"} and list(dict.fromkeys(bands.scenario)) == SCENARIOS
    raw = _raw(scen, "series", "talent-incentives")
    cell = raw[(raw.region == "Hebei") & (raw.step == 5)].value_added
    assert len(cell) == 3
    row = bands[(bands.scenario == "talent-incentives") & (bands.region == "Hebei") & (bands.step == 5)]
    row = row[row.indicator == "value_added"].iloc[0]
    assert row["mean"] == pytest.approx(cell.mean(), rel=1e-12)
    assert row["lo"] == pytest.approx(cell.quantile(0.05)) and row["hi"] == pytest.approx(cell.quantile(0.95))
    assert row["year"] == pytest.approx(raw.loc[raw.step == 5, "year"].iloc[0]) and row["n"] == 3


def test_bands_are_ordered_whole_and_contain_the_mean(scen: Results) -> None:
    bands = scen.bands(["results"])
    assert (bands.n == 3).all()
    assert (bands.lo <= bands["mean"] + 1e-9).all() and (bands["mean"] <= bands.hi + 1e-9).all()
    assert len(bands) == 3 * 4 * 9  # scenarios x regions x steps 0..8
    first = bands[bands.scenario == "baseline"]
    assert list(dict.fromkeys(first.region)) == ["Beijing", "Tianjin", "Hebei", "Outside"]
    assert list(first[first.region == "Beijing"].step) == list(range(9))
    narrow = scen.bands(["results"], level=0.5)
    assert (narrow.hi - narrow.lo <= bands.hi - bands.lo + 1e-9).all()


def test_bands_read_one_scenario_at_a_time(scen: Results, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, list[str]]] = []
    original = Results._read_many

    def spy(self: Results, sub: str, ids: list[str], columns: list[str]) -> pd.DataFrame | None:
        calls.append((len(ids), columns))
        return original(self, sub, ids, columns)

    monkeypatch.setattr(Results, "_read_many", spy)
    scen.bands(["wage"])
    assert len(calls) == 3 and all(n == 3 and "wage" in cols and "talent" not in cols for n, cols in calls)


def test_bands_without_series_or_with_unknown_indicators(sobol_results: Path, scen: Results) -> None:
    empty = load_results(sobol_results).bands(["value_added"])
    assert empty.empty and list(empty.columns) == list(BAND_COLUMNS)
    with pytest.raises(ConfigError, match="no_such_indicator") as err:
        scen.bands(["value_added", "no_such_indicator"])
    assert str(scen.folder / "series") in str(err.value)
    assert set(scen.bands().indicator) == set(scen.series_indicators()) and "talent_fte" in scen.series_indicators()


# ---- flows, comparison, sensitivity ---------------------------------------------------------------------------


def test_flows_are_means_across_seeds(scen: Results) -> None:
    flows = scen.flows()
    assert list(flows.columns) == list(FLOW_COLUMNS) and (flows.n == 3).all()
    assert set(flows.flow) == {"contract_value", "contract_count", "talent_moves"}
    assert len(flows) == 3 * 3 * 16  # scenarios x flows x origin-destination pairs
    raw = _raw(scen, "flows", "collaborative-fund")
    pick = (raw.flow == "contract_value") & (raw.origin == "Beijing") & (raw.destination == "Hebei")
    got = flows[(flows.scenario == "collaborative-fund") & (flows.flow == "contract_value")]
    got = got[(got.origin == "Beijing") & (got.destination == "Hebei")].value.item()
    assert got == pytest.approx(raw[pick].value.mean(), rel=1e-12)


def test_comparison_pairs_each_scenario_with_the_baseline(scen: Results) -> None:
    comp = scen.comparison(["value_added", "results", "public_cost"])
    assert len(comp) == 3 * 3 and list(dict.fromkeys(comp.scenario)) == SCENARIOS
    assert comp[comp.scenario == "baseline"]["diff"].isna().all() and comp.attrs["baseline"] == "baseline"
    runs = scen.runs.set_index(["label", "seed"]).value_added
    by_hand = (runs["talent-incentives"] - runs["baseline"]).mean()
    row = comp[(comp.scenario == "talent-incentives") & (comp.metric == "value_added")].iloc[0]
    assert row["diff"] == pytest.approx(by_hand) and row["n_pairs"] == 3
    assert {"extra_cost", "gain_per_cost", "p_holm"} <= set(comp.columns)
    assert set(scen.comparison().metric) == set(scen.metrics())


def test_comparison_that_cannot_pair_is_a_config_error(sobol_results: Path) -> None:
    res = load_results(sobol_results)  # one seed: nothing to pair
    with pytest.raises(ConfigError, match="pair") as err:
        res.comparison(["value_added"])
    assert str(sobol_results) in str(err.value)


def test_sobol_indices_per_lever(sobol_results: Path) -> None:
    res = load_results(sobol_results)
    idx = res.sensitivity("value_added")
    assert list(idx.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert list(idx.parameter) == ["fund_size", "instrument_sharing"]
    assert np.isfinite(idx[["S1", "ST"]].to_numpy()).all()
    again = res.sensitivity("value_added")
    pd.testing.assert_frame_equal(idx, again)  # bootstrap intervals with a fixed seed
    with pytest.raises(ConfigError, match="nonsense"):
        res.sensitivity("nonsense")


def test_morris_indices_and_none_for_other_designs(morris_results: Path, grid_results: Path, scen: Results) -> None:
    idx = load_results(morris_results).sensitivity("value_added")
    assert list(idx.columns) == ["parameter", "mu_star", "mu_star_conf", "sigma", "mu"]
    assert len(idx) == 2 and (idx.mu_star >= 0).all() and (idx.mu_star >= idx.mu.abs() - 1e-9).all()
    assert load_results(grid_results).sensitivity("value_added") is None
    assert scen.sensitivity("value_added") is None


def test_sensitivity_of_an_incomplete_design_is_a_config_error(sobol_results: Path, tmp_path: Path) -> None:
    folder = _copy(sobol_results, tmp_path)
    first = pd.read_parquet(folder / "runs.parquet").run_id.iloc[0]
    (folder / "runs" / f"{first}.parquet").unlink()
    (folder / "runs.parquet").unlink()
    res = load_results(folder)
    with pytest.raises(ConfigError, match="design points") as err:
        res.sensitivity("value_added")
    assert str(folder) in str(err.value)


def test_sensitivity_needs_the_definition_to_resolve(sobol_results: Path, tmp_path: Path) -> None:
    folder = _copy(sobol_results, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["definition"]["design"]["base"] = "no-such-scenario"
    manifest["digest"] = definition_digest(manifest["definition"])  # as written then (a hand edit is refused)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    res = load_results(folder)
    assert res.experiment is None and len(res.runs) == len(list((folder / "runs").glob("*.parquet")))
    with pytest.raises(ConfigError, match="manifest.json"):
        res.sensitivity("value_added")
