"""E5: MSM calibration and validation — the quick fit improves, targets and tables come from the data file, CRN."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jjjsim.experiments.calibration import calibrate, default_config, load_config, validate
from jjjsim.experiments.calibration.config import PENALTY
from jjjsim.experiments.calibration.moments import COUNTERPARTS, Observations, default_data_file
from jjjsim.experiments.calibration.objective import Objective
from jjjsim.experiments.sweep import executor
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import REGISTRY


def _csv_rows(path: Path) -> dict[tuple[str, str, str], float]:
    """The statistics file read independently of the package: (indicator, region, year) -> value."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            (r["indicator"], r["region"], r["year"]): float(r["value"].lstrip("><~"))
            for r in csv.DictReader(fh)
            if re.fullmatch(r"[><~]?[0-9.]+", r["value"])
        }


@pytest.fixture(scope="module")
def quick_fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The quick calibration from a start moved away from the estimate (the config's starts are the published
    estimate, which a two-generation search at scale 0.25 need not improve on): adopt_barrier from 1."""
    out = tmp_path_factory.mktemp("calibration")
    text = default_config().read_text(encoding="utf-8")
    moved = text.replace("[parameters.adopt_barrier]\nstart = 5.313", "[parameters.adopt_barrier]\nstart = 1.0", 1)
    assert moved != text
    config = out.parent / "moved-start.toml"
    config.write_text(moved, encoding="utf-8")
    return out, calibrate(config, out, quick=True, workers=2)


@pytest.fixture(scope="module")
def quick_validation(quick_fit: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validation")
    from jjjsim.viz.validation import write_figures

    validate(quick_fit[0], out, quick=True, workers=2, png=False, figures=write_figures)
    return out


def test_quick_calibration_lowers_the_objective_within_bounds(quick_fit: tuple[Path, dict[str, Any]]) -> None:
    out, fit = quick_fit
    assert fit["objective_optimum"] < fit["objective_start"]
    cfg = load_config(out.parent / "moved-start.toml", quick=True)
    assert list(fit["parameters"]) == [e.key for e in cfg.parameters]
    for e in cfg.parameters:
        row = fit["parameters"][e.key]
        lo, hi = REGISTRY[e.name].bounds
        assert lo <= e.lower <= row["estimate"] <= e.upper <= hi
        assert np.isfinite(row["std_error"]) and row["std_error"] >= 0
    assert set(fit["moments"]) == {m.name for m in cfg.moments}
    for name in ("fit.json", "registry_update.json", "manifest.json", "moments.csv", "parameters.csv"):
        assert (out / name).stat().st_size > 0, name
    update = json.loads((out / "registry_update.json").read_text())
    assert update["quick"] is True and set(update["parameters"]) == set(fit["parameters"])
    assert all(v["calibration_id"] == fit["calibration_id"] for v in update["parameters"].values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config_sha256"] == cfg.digest and manifest["seeds"] == list(cfg.seeds)
    assert manifest["versions"]["numpy"] and manifest["started"] <= manifest["finished"]
    # every candidate was scored on the same seeds, and the best one logged is the reported optimum
    evaluations = pd.read_csv(out / "evaluations.csv")
    assert evaluations.objective.min() == pytest.approx(fit["objective_optimum"])


def test_observed_moments_are_read_from_the_data_file(tmp_path: Path) -> None:
    source = default_data_file()
    rows = _csv_rows(source)
    cfg = load_config()
    obj = Objective(cfg, Observations(cfg.data), pool=None)  # type: ignore[arg-type]
    observed = dict(zip([m.name for m in cfg.moments], obj.observed_raw, strict=True))
    assert observed["bj_tjhb_2017"] == rows[("bj_to_tj_hb_tech_contract_value", "Beijing->Tianjin+Hebei", "2017")]
    assert (
        observed["bj_tjhb_share_of_bj_outflow"]
        == rows[("bj_to_tj_hb_share_of_bj_tech_contract_outflow", "Beijing->Tianjin+Hebei", "2014-2020")]
    )
    assert observed["zgc_branches_2020"] == rows[("zgc_branches_in_tj_hb_stock", "Beijing->Tianjin+Hebei", "2020")]
    out = [rows[("tech_contract_turnover_output", r, "2020")] for r in ("Beijing", "Tianjin", "Hebei")]
    assert observed["output_share_bj_2020"] == pytest.approx(out[0] / sum(out), rel=1e-12)
    fte = ("rd_personnel_fte_total", "Tianjin")
    growth = np.log(rows[(*fte, "2020")] / rows[(*fte, "2014")]) / 6
    assert observed["fte_growth_tj"] == pytest.approx(growth, rel=1e-12)

    # a copy of the data file with one value changed, named by a copy of the config, changes that moment only
    copy = tmp_path / "stats.csv"
    text = source.read_text(encoding="utf-8")
    prefix = "Beijing->Tianjin+Hebei,2017,bj_to_tj_hb_tech_contract_value,"
    line = next(x for x in text.splitlines() if x.startswith(prefix))
    copy.write_text(text.replace(line, line.replace(",152.2,", ",300,")), encoding="utf-8")
    conf = tmp_path / "calibration.toml"
    conf.write_text(f'data = "{copy}"\n' + default_config().read_text(encoding="utf-8"), encoding="utf-8")
    cfg2 = load_config(conf)
    obj2 = Objective(cfg2, Observations(cfg2.data), pool=None)  # type: ignore[arg-type]
    changed = {m.name for m, a, b in zip(cfg.moments, obj.observed_raw, obj2.observed_raw, strict=True) if a != b}
    assert changed == {"bj_tjhb_2017"} and obj2.observed_raw[0] == 300.0


def test_validation_table_is_generated_from_the_data_file(quick_validation: Path) -> None:
    table = pd.read_csv(quick_validation / "validation_rows.csv", dtype={"year": str})
    rows = _csv_rows(default_data_file())
    for r in table.itertuples(index=False):
        if r.region == "JJJ" and (r.indicator, r.region, r.year) not in rows:
            continue
        assert r.observed == rows[(r.indicator, r.region, r.year)], (r.indicator, r.region, r.year)
        last = int(r.year[-4:])
        assert r.period == ("fitted" if last <= 2020 else "out-of-sample")
    assert {"fitted", "out-of-sample"} <= set(table.period)
    # every observed row with a counterpart in 2014-2023 (stocks to 2024) is in the table
    wanted = {
        k
        for k in rows
        if k[0] in COUNTERPARTS
        and (k[1] in COUNTERPARTS[k[0]].regions or k[1] == "JJJ")
        and int(k[2][:4]) >= 2014
        and int(k[2][-4:]) <= (2024 if COUNTERPARTS[k[0]].kind == "stock" else 2023)
    }
    assert wanted == set(zip(table.indicator, table.region, table.year, strict=True))
    series = pd.read_csv(quick_validation / "validation_series.csv")
    assert {"fitted_mape_pct", "fitted_bias_pct", "fitted_coverage", "start_mape_pct"} <= set(series.columns)
    assert (quick_validation / "validation.html").read_text(encoding="utf-8").count("<script src=") == 0


def test_common_random_numbers_give_the_same_objective_twice() -> None:
    cfg = load_config(quick=True)
    # scale 0.25: at 0.2 no quick seed has a 2017 Beijing -> Tianjin+Hebei contract, and its log moment is undefined
    cfg = dataclasses.replace(cfg, base=cfg.base.replace({"scale": 0.25}))
    with executor(1) as (pool, _):
        obj = Objective(cfg, Observations(cfg.data), pool)
        x0 = cfg.start()
        first = obj.simulate([x0])[0]
        obj.set_weights(first["sd_one"])
        again = obj.simulate([x0])[0]
        other = obj.simulate([x0 + 0.2 * (np.array(cfg.bounds)[:, 1] - x0)])[0]
    assert obj.value(first["transformed"]) < PENALTY  # every moment defined: a real comparison below
    assert obj.value(first["transformed"]) == obj.value(again["transformed"])
    assert obj.value(other["transformed"]) != obj.value(first["transformed"])


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("[parameters.outside_demand]", "[parameters.outside_demandd]"), "parameters.outside_demandd"),
        (("bounds = [0.5, 30.0]", "bounds = [0.5, 60.0]"), "parameters.outside_demand.bounds"),
        (("start = 11.839", "start = 45.0"), "parameters.outside_demand.start"),
        (("[parameters.outside_demand]", "[parameters.fund_size]"), "parameters.fund_size"),
        (('"bj_to_tj_hb_tech_contract_value"\n', '"gdp"\n'), "indicator"),
    ],
)
def test_bad_config_is_a_config_error_naming_file_and_key(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    text = default_config().read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    for quick in (False, True):  # the quick subset of parameters does not skip the checks of the others
        with pytest.raises(ConfigError) as err:
            load_config(path, quick=quick)
        assert err.value.where == str(path) and key in err.value.key


def test_registry_defaults_are_the_published_calibration_where_they_cite_it() -> None:
    """Every parameter the published calibration estimated cites it and has its value (rounded to 3 decimals) and
    standard error; the config's pinned start points are the values before that calibration, so that a rerun
    starts, weights and ends where the published one did (``jjjsim reproduce E5``)."""
    from jjjsim.model.registry import CALIBRATION_ID

    published = Path(__file__).parents[2] / "experiments" / "E5-calibration" / "published"
    update = json.loads((published / "registry_update.json").read_text(encoding="utf-8"))
    assert update["calibration_id"] == CALIBRATION_ID and update["quick"] is False
    cited = {n for n, p in REGISTRY.items() if CALIBRATION_ID in p.source}
    assert cited == set(update["parameters"])
    for name in cited:
        row, p = update["parameters"][name], REGISTRY[name]
        assert p.default == pytest.approx(round(row["value"], 3), abs=1e-12), name
        assert f"s.e. {row['std_error']:.3g}" in p.source, name
    assert "contract_value_unit" not in cited  # derived from the data, not estimated
    cfg = load_config()
    for e, start in zip(cfg.parameters, cfg.start(), strict=True):
        assert start == pytest.approx(update["parameters"][e.name]["previous_default"]), e.key


def test_the_fit_runs_historical_to_2020q4_with_its_whole_timeline() -> None:
    """The calibration's 28 quarters of ``historical`` keep the scenario's timeline as it is (no entry dropped): the
    entries after 2020Q4 are in the schedule, wait beyond the run, and the validation's 40 quarters follow them."""
    from jjjsim.model import timeline
    from jjjsim.model.scenario import load_scenario

    hist = load_scenario("historical").params
    for quick in (False, True):
        cfg = load_config(quick=quick)
        assert cfg.scenario == "historical" and cfg.steps == int(cfg.base.steps) == 28
        assert cfg.base.values["timeline"] == hist.values["timeline"], "the timeline is kept whole"
    last = int(cfg.base.start_year) * 4 + cfg.steps - 1
    assert timeline.quarter_label(last) == "2020Q4"
    later = [e for e in cfg.base.values["timeline"] if timeline.span(e)[0] > last]
    assert later, "historical has entries after the fitted years"
    path = timeline.path(cfg.base.replace({"steps": 40}, where="test"))
    assert not path.iloc[28].equals(path.iloc[40]), "the 40-quarter validation run follows them"


def test_the_closing_rates_in_the_registry_are_the_estimates_on_2014_2020() -> None:
    """experiments/calibration/gaps.py reproduces the registry's contract-size, demand and reach convergence
    rates from the statistics of 2014-2020 (and the model's start pipeline, for the reach)."""
    from jjjsim.experiments.calibration import gaps

    assert range(2014, 2021) == gaps.FIT  # never a year after 2020
    assert gaps.contract_size().rate == pytest.approx(REGISTRY["contract_size_convergence"].default, abs=5e-4)
    demand = REGISTRY["demand_convergence"].default
    assert gaps.demand("Hebei").rate == pytest.approx(demand["Hebei"], abs=5e-4)
    assert gaps.demand("Tianjin").rate == pytest.approx(demand["Tianjin"], abs=5e-4)  # at the bound 0
    composition = gaps.offer_composition()
    hebei, tianjin = gaps.reach("Hebei", composition[1]), gaps.reach("Tianjin", composition[0])
    reach = REGISTRY["reach_convergence"].default
    assert hebei.rate == pytest.approx(reach["Hebei"], abs=5e-4) and hebei.se < hebei.rate / 2
    assert tianjin.se > tianjin.rate  # Tianjin's own rate is not identified: it takes the joint one
    joint = gaps.closing_rate({**hebei.logs, **tianjin.logs}, high=0.5)
    assert joint.rate == pytest.approx(reach["Tianjin"], abs=5e-4)


def test_validation_figures_without_a_browser_skip_the_pngs_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Chrome/Chromium for kaleido: the HTML file is written and the PNGs are skipped with a printed reason,
    not a traceback at the end of a validation run."""
    import plotly.graph_objects as go
    from jjjsim.viz.validation import _write

    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    written = _write(tmp_path, {"x": go.Figure(go.Scatter(x=[0, 1], y=[1, 2]))}, png=True)
    assert written == ["validation.html"] and (tmp_path / "validation.html").exists()
    assert not list(tmp_path.glob("*.png"))
    out = capsys.readouterr().out
    assert "PNGs not written" in out and "apt-get install -y chromium" in out
