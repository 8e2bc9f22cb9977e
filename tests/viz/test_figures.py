"""The figures: built from the fixtures' tables, with the expected traces, titles, colours and languages, and
never a NaN among the plotted values."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from jjjsim.experiments.results import Results, load_results
from jjjsim.model.indicators import indicator
from jjjsim.viz import figures, theme
from jjjsim.viz.figures import series_title
from jjjsim.viz.theme import REGION_COLORS, lever_title, metric_title

SCENARIOS = ["baseline", "talent-incentives", "collaborative-fund"]
ZH = {"Beijing": "北京", "Tianjin": "天津", "Hebei": "河北", "Outside": "其他地区"}


@pytest.fixture(scope="module")
def scen(scenario_results: Path) -> Results:
    return load_results(scenario_results)


@pytest.fixture(scope="module")
def bands(scen: Results) -> pd.DataFrame:
    return scen.bands(["value_added", "talent_fte", "contract_value_sold", "results"])


@pytest.fixture(scope="module")
def flows(scen: Results) -> pd.DataFrame:
    return scen.flows()


@pytest.fixture(scope="module")
def comparison(scen: Results) -> pd.DataFrame:
    return scen.comparison(["value_added", "results", "contract_value", "public_cost", "collab_fund_roi"])


def _values(fig: go.Figure) -> Iterator[tuple[str, object]]:
    """Every plotted coordinate array of every trace (x, y, z, Sankey link values, error bars)."""
    for trace in fig.data:
        for key in ("x", "y", "z"):
            v = getattr(trace, key, None)
            if v is not None:
                yield f"{trace.name}.{key}", v
        link = getattr(trace, "link", None)
        if link is not None and link.value is not None:
            yield f"{trace.name}.link.value", link.value
        for err in ("error_x", "error_y"):
            e = getattr(trace, err, None)
            if e is not None and e.array is not None:
                yield f"{trace.name}.{err}", e.array
                if e.arrayminus is not None:
                    yield f"{trace.name}.{err}minus", e.arrayminus


def _no_nan(fig: go.Figure) -> None:
    for where, values in _values(fig):
        flat = np.asarray(values, dtype=object).ravel()
        for v in flat:
            assert not (isinstance(v, float | np.floating) and math.isnan(v)), f"NaN in {where}"


def _themed(fig: go.Figure) -> None:
    assert fig.layout.template.layout.font.family == theme.FONT and fig.layout.title.text


def _titles(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# ---- series ---------------------------------------------------------------------------------------------------


def test_time_bands_one_subplot_per_region_two_traces_per_scenario(bands: pd.DataFrame) -> None:
    fig = figures.time_bands(bands, "talent_fte")
    _themed(fig)
    _no_nan(fig)
    assert _titles(fig) == ["Beijing", "Tianjin", "Hebei", "Outside"]
    assert len(fig.data) == 2 * 3 * 4 and all(t.type == "scatter" for t in fig.data)
    lines = [t for t in fig.data if t.fill is None]
    shaded = [t for t in fig.data if t.fill == "toself"]
    assert len(lines) == len(shaded) == 12
    assert [t.name for t in lines if t.showlegend] == SCENARIOS
    colors = theme.scenario_colors(SCENARIOS)
    assert all(t.line.color == colors[t.name] for t in lines) and colors["baseline"] == theme.BASELINE_COLOR
    assert fig.layout.yaxis.title.text == series_title("talent_fte") == "R&D personnel (FTE)"
    assert fig.layout.xaxis3.title.text == "Year"
    beijing = bands[(bands.scenario == "baseline") & (bands.region == "Beijing") & (bands.indicator == "talent_fte")]
    first = lines[0]
    assert list(first.x) == list(beijing.year) and list(first.y) == pytest.approx(list(beijing["mean"]))
    x_fill = np.asarray(shaded[0].x)
    assert len(x_fill) == 2 * len(beijing) and x_fill.min() == 2023.0


def test_time_bands_selection_language_and_all_zero_regions(bands: pd.DataFrame) -> None:
    fig = figures.time_bands(bands, "results", scenarios=["talent-incentives"], regions=["Hebei", "Beijing"], lang="zh")
    assert _titles(fig) == ["北京", "河北"] and len(fig.data) == 2 * 2
    assert {t.name for t in fig.data if t.fill is None} == {"talent-incentives"}
    assert fig.data[1].line.color == theme.scenario_colors(SCENARIOS)["talent-incentives"]  # as with all scenarios
    fig = figures.time_bands(bands, "value_added")  # Outside has no value added: no empty panel
    assert "Outside" not in _titles(fig)
    with pytest.raises(ValueError, match="no_such"):
        figures.time_bands(bands, "no_such")


def test_nan_in_the_tables_is_never_plotted(bands: pd.DataFrame, comparison: pd.DataFrame, flows) -> None:
    spoilt = bands.copy()
    spoilt.loc[spoilt.index[::7], "mean"] = np.nan
    spoilt.loc[spoilt.index[::5], "hi"] = np.nan
    _no_nan(figures.time_bands(spoilt, "talent_fte"))
    _no_nan(figures.regional_shares(spoilt, scenario="baseline"))
    comp = comparison.copy()
    comp.loc[comp.index[::3], ["diff", "diff_ci_low"]] = np.nan
    _no_nan(figures.forest(comp))
    _no_nan(figures.cost_effectiveness(comp))
    fl = flows.copy()
    fl.loc[fl.index[::4], "value"] = np.nan
    _no_nan(figures.sankey(fl))
    _no_nan(figures.region_map(spoilt, fl, "talent_fte", scenario="baseline"))


def test_regional_shares_stack_to_a_hundred_in_region_colours(bands: pd.DataFrame) -> None:
    inds = ("talent_fte", "value_added", "contract_value_sold")
    fig = figures.regional_shares(bands, inds, scenario="collaborative-fund")
    _themed(fig)
    _no_nan(fig)
    assert len(fig.data) == 3 * 3 and _titles(fig) == [series_title(i, unit=False) for i in inds]
    assert [t.name for t in fig.data[:3]] == ["Beijing", "Tianjin", "Hebei"]
    assert all(t.line.color == REGION_COLORS[t.legendgroup] for t in fig.data)
    for j in range(3):
        stack = np.sum([np.asarray(t.y) for t in fig.data[3 * j : 3 * j + 3]], axis=0)
        assert stack == pytest.approx(100.0) and len({t.stackgroup for t in fig.data[3 * j : 3 * j + 3]}) == 1
    talent = bands[(bands.scenario == "collaborative-fund") & (bands.indicator == "talent_fte") & (bands.step == 8)]
    talent = talent.set_index("region")["mean"]
    hebei = fig.data[2]
    assert hebei.y[-1] == pytest.approx(100 * talent["Hebei"] / talent[["Beijing", "Tianjin", "Hebei"]].sum())
    zh = figures.regional_shares(bands, inds, scenario="baseline", lang="zh")
    assert [t.name for t in zh.data[:3]] == ["北京", "天津", "河北"]
    with pytest.raises(ValueError, match="nowhere"):
        figures.regional_shares(bands, inds, scenario="nowhere")


# ---- flows ----------------------------------------------------------------------------------------------------


def test_sankey_one_trace_per_scenario_with_a_menu(flows: pd.DataFrame) -> None:
    fig = figures.sankey(flows, "contract_value")
    _themed(fig)
    _no_nan(fig)
    assert [t.type for t in fig.data] == ["sankey"] * 3 and [t.name for t in fig.data] == SCENARIOS
    assert [t.visible for t in fig.data] == [True, False, False]
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == SCENARIOS
    assert [b.args[0]["visible"] for b in menu.buttons] == [[i == k for i in range(3)] for k in range(3)]
    base = fig.data[0]
    labels, colors = list(base.node.label), list(base.node.color)
    assert "Outside" in labels and all(colors[i] == REGION_COLORS[n] for i, n in enumerate(labels))
    src, dst = list(base.link.source), list(base.link.target)
    assert all(labels[s] != labels[d] for s, d in zip(src, dst, strict=True))  # no flows within a region
    want = flows[
        (flows.scenario == "baseline") & (flows.flow == "contract_value") & (flows.origin != flows.destination)
    ]
    want = want[want.value > 0]
    assert sorted(base.link.value) == pytest.approx(sorted(want.value))
    inside = figures.sankey(flows, "contract_value", scenarios=["baseline"], internal=True)
    assert len(inside.data) == 1 and not inside.layout.updatemenus
    assert sum(inside.data[0].link.value) > sum(base.link.value)


def test_sankey_in_chinese(flows: pd.DataFrame) -> None:
    fig = figures.sankey(flows, "talent_moves", lang="zh")
    assert set(fig.data[0].node.label) <= set(ZH.values()) and "北京" in fig.data[0].node.label
    assert "Talent moves" in fig.layout.title.text


def test_region_map_nodes_at_their_places_and_edges_by_flow(bands: pd.DataFrame, flows: pd.DataFrame) -> None:
    fig = figures.region_map(bands, flows, "talent_fte", "contract_value", "baseline")
    _themed(fig)
    _no_nan(fig)
    layout = fig.to_plotly_json()["layout"]
    assert all(t.type == "scatter" for t in fig.data) and not {"geo", "map", "mapbox"} & set(layout)
    nodes = {t.name: t for t in fig.data if "text" in t.mode}
    assert list(nodes) == ["Beijing", "Tianjin", "Hebei", "Outside"]
    assert (nodes["Beijing"].x[0], nodes["Beijing"].y[0]) == (116.41, 39.90)
    assert (nodes["Tianjin"].x[0], nodes["Tianjin"].y[0]) == (117.20, 39.13)
    assert (nodes["Hebei"].x[0], nodes["Hebei"].y[0]) == (114.51, 38.04)
    assert "schematic" in nodes["Outside"].text[0]
    assert all(t.marker.color == REGION_COLORS[name] for name, t in nodes.items())
    last = bands[(bands.scenario == "baseline") & (bands.indicator == "talent_fte") & (bands.step == 8)]
    big = last.set_index("region")["mean"].idxmax()
    assert max(nodes.values(), key=lambda t: t.marker.size).name == big
    edges = [t for t in fig.data if "text" not in t.mode]
    cv = flows[(flows.scenario == "baseline") & (flows.flow == "contract_value") & (flows.origin != flows.destination)]
    cv = cv[cv.value > 0]
    assert len(edges) == len(cv)
    by_name = {t.name: t.line.width for t in edges}
    ordered = cv.sort_values("value")
    widths = [by_name[f"{o} → {d}"] for o, d in zip(ordered.origin, ordered.destination, strict=True)]
    assert widths == sorted(widths) and widths[-1] > widths[0]
    assert fig.layout.xaxis.title.text.startswith("Longitude") and fig.layout.yaxis.title.text.startswith("Latitude")
    zh = figures.region_map(bands, flows, "talent_fte", "contract_value", "baseline", lang="zh")
    assert {t.name for t in zh.data if "text" in t.mode} == set(ZH.values())


def test_a_region_has_one_colour_in_every_figure(bands: pd.DataFrame, flows: pd.DataFrame) -> None:
    shares = {t.legendgroup: t.line.color for t in figures.regional_shares(bands, scenario="baseline").data}
    sk = figures.sankey(flows).data[0].node
    sankey = dict(zip(sk.label, sk.color, strict=True))
    mapped = {t.name: t.marker.color for t in figures.region_map(bands, flows, "results").data if "text" in t.mode}
    for region in ("Beijing", "Tianjin", "Hebei"):
        assert shares[region] == sankey[region] == mapped[region] == REGION_COLORS[region]
    assert sankey["Outside"] == mapped["Outside"] == REGION_COLORS["Outside"]


# ---- comparison -----------------------------------------------------------------------------------------------


def test_forest_one_panel_per_metric_scenarios_against_zero(comparison: pd.DataFrame) -> None:
    metrics = ["value_added", "results", "public_cost"]
    fig = figures.forest(comparison, metrics)
    _themed(fig)
    _no_nan(fig)
    assert all(t.type == "scatter" and t.mode == "markers" for t in fig.data)
    symbols = {t.name: t.marker.symbol for t in fig.data}
    assert symbols == {"significant after Holm": "circle", "not significant": "circle-open"}  # both in the fixture
    panels = [a.text for a in fig.layout.annotations]  # each panel titled above it
    assert panels == [f"Δ {metric_title(m, unit=False)}<br>({indicator(m).unit})" for m in metrics]
    plotted = [(y, x) for t in fig.data for y, x in zip(t.y, t.x, strict=True)]
    assert len(plotted) == 2 * 3 and {y for y, _ in plotted} == {"talent-incentives", "collaborative-fund"}
    row = comparison[(comparison.scenario == "collaborative-fund") & (comparison.metric == "public_cost")].iloc[0]
    assert row["diff"] in [x for t in fig.data if t.xaxis == "x3" for x in t.x]
    for t in fig.data:
        sig = comparison.set_index(["scenario", "metric"]).significant
        axis_metric = metrics[int(t.xaxis[1:] or 1) - 1]
        assert all(bool(sig[(y, axis_metric)]) == (t.name == "significant after Holm") for y in t.y)
        assert (np.asarray(t.error_x.array) >= 0).all() and (np.asarray(t.error_x.arrayminus) >= 0).all()
    zero_lines = [s for s in fig.layout.shapes if s.x0 == 0 and s.x1 == 0]
    assert len(zero_lines) == 3


def test_cost_effectiveness_shows_gain_per_extra_cost(comparison: pd.DataFrame) -> None:
    fig = figures.cost_effectiveness(comparison, ["value_added", "results"])
    _themed(fig)
    _no_nan(fig)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    rows = comparison[(comparison.metric == "value_added") & (comparison.extra_cost > 0)].dropna(
        subset=["gain_per_cost"]
    )
    bar = fig.data[0]
    assert list(bar.y) == list(rows.scenario) and list(bar.x) == pytest.approx(list(rows.gain_per_cost))
    # error bars: the ratio's Fieller interval (none drawn where it is unbounded: the cost's own interval reaches 0)
    hi = (rows.gain_per_cost_ci_high - rows.gain_per_cost).fillna(0.0)
    assert list(bar.error_x.array) == pytest.approx(list(hi))
    # a comparison without those columns: the outcome's interval over the mean extra cost
    old = figures.cost_effectiveness(comparison.drop(columns=["gain_per_cost_ci_low", "gain_per_cost_ci_high"]))
    hi = rows.diff_ci_high / rows.extra_cost - rows.gain_per_cost
    assert list(old.data[0].error_x.array) == pytest.approx(list(hi))
    colors = theme.scenario_colors(SCENARIOS)
    assert list(bar.marker.color) == [colors[s] for s in rows.scenario]
    assert (
        fig.layout.annotations[0].text == f"{metric_title('value_added', unit=False)}<br>(亿元 over the run per 亿元)"
    )
    free = comparison.copy()
    free["extra_cost"] = 0.0
    with pytest.raises(ValueError, match="costs more"):
        figures.cost_effectiveness(free)


# ---- doses and equal cost -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dose_tables(dose_results: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = load_results(dose_results).dose_tables(["value_added", "results", "public_cost"])
    assert tables is not None
    return tables


def test_dose_response_lines_start_at_the_baseline(dose_tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    response, _ = dose_tables
    fig = figures.dose_response(response, ["value_added", "public_cost"])
    _themed(fig)
    _no_nan(fig)
    assert len(fig.data) == 2 * 3 and [t.name for t in fig.data if t.showlegend] == [
        "talent-incentives",
        "collaborative-fund",
        "autonomy",
    ]
    for trace in fig.data:
        assert list(trace.x) == [0.0, 0.5, 1.0] and trace.y[0] == 0.0  # dose 0 is the baseline: no difference
    rows = response[(response.measure == "talent-incentives") & (response.metric == "public_cost")]
    cost = fig.data[3]
    assert list(cost.y[1:]) == pytest.approx(list(rows["diff"]))
    assert list(cost.error_y.array[1:]) == pytest.approx(list(rows.diff_ci_high - rows["diff"]))
    assert fig.layout.xaxis.title.text == figures.DOSE_AXIS


def test_cost_response_puts_every_measure_on_the_cost_axis(dose_tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    response, equal = dose_tables
    amount = equal.attrs["amount"]
    fig = figures.cost_response(response, ["value_added", "results"], amount)
    _themed(fig)
    _no_nan(fig)
    rows = response[(response.measure == "collaborative-fund") & (response.metric == "value_added")]
    fund = next(t for t in fig.data if t.name == "collaborative-fund")
    assert list(fund.x) == pytest.approx([0.0, *rows.extra_cost]) and list(fund.y) == pytest.approx(
        [0.0, *rows["diff"]]
    )
    assert list(fund.error_x.array[1:]) == pytest.approx(list(rows.extra_cost_ci_high - rows.extra_cost))
    lines = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert len(lines) == 2 and all(s.x0 == s.x1 == amount for s in lines)  # the common cost, in each panel


def test_equal_cost_forest(dose_tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, equal = dose_tables
    fig = figures.equal_cost(equal, ["value_added", "results"])
    _themed(fig)
    _no_nan(fig)
    scaled = [t for t in fig.data if t.marker.symbol == "circle"]
    own = [t for t in fig.data if t.marker.symbol == "diamond-open"]
    assert len(scaled) == len(own) == 2 and set(own[0].y) == {"autonomy"}  # no public cost of its own
    rows = equal[(equal.metric == "value_added") & (equal.status == "interpolated")]
    assert list(scaled[0].y) == list(rows.measure) and list(scaled[0].x) == pytest.approx(list(rows.effect))
    assert f"{equal.attrs['amount']:,.4g} 亿元" in fig.layout.title.text
    with pytest.raises(ValueError, match="no measure reaches"):
        figures.equal_cost(equal.assign(effect=np.nan))


# ---- lever designs --------------------------------------------------------------------------------------------


def test_lever_response_mean_and_band_against_the_lever(grid_results: Path) -> None:
    runs = load_results(grid_results).runs
    fig = figures.lever_response(runs, "fund_size", "value_added")
    _themed(fig)
    _no_nan(fig)
    band, line = fig.data
    assert band.fill == "toself" and line.mode == "lines+markers"
    means = runs.groupby("point.fund_size").value_added.mean()
    assert list(line.x) == [0, 600] and list(line.y) == pytest.approx(list(means))
    assert max(band.y) >= max(line.y) and min(band.y) <= min(line.y)
    assert fig.layout.xaxis.title.text == lever_title("fund_size")
    assert fig.layout.yaxis.title.text == metric_title("value_added")
    split = figures.lever_response(runs, "fund_size", "value_added", by="talent_incentive.Hebei")
    lines = [t for t in split.data if t.fill is None]
    assert len(lines) == 2 and all(len(t.x) == 2 for t in lines)


def test_lever_heatmap_cells_are_means(grid_results: Path) -> None:
    runs = load_results(grid_results).runs
    fig = figures.lever_heatmap(runs, "fund_size", "talent_incentive.Hebei", "results")
    _themed(fig)
    _no_nan(fig)
    (hm,) = fig.data
    assert hm.type == "heatmap" and list(hm.x) == ["0", "600"] and list(hm.y) == ["0", "10"]
    want = runs.pivot_table(index="point.talent_incentive.Hebei", columns="point.fund_size", values="results")
    assert np.asarray(hm.z, dtype=float) == pytest.approx(want.to_numpy())
    assert fig.layout.xaxis.title.text == lever_title("fund_size")
    assert fig.layout.yaxis.title.text == lever_title("talent_incentive.Hebei")
    assert hm.colorbar.title.text == metric_title("results")
    holed = runs[~((runs["point.fund_size"] == 600) & (runs["point.talent_incentive.Hebei"] == 10))]
    z = figures.lever_heatmap(holed, "fund_size", "talent_incentive.Hebei", "results").data[0].z
    assert z[1][1] is None and z[0][0] is not None  # a blank cell, not a NaN


def test_sensitivity_bars_for_sobol_and_morris(sobol_results: Path, morris_results: Path) -> None:
    idx = load_results(sobol_results).sensitivity("value_added")
    fig = figures.sensitivity_bars(idx, "value_added")
    _themed(fig)
    _no_nan(fig)
    assert [t.type for t in fig.data] == ["bar", "bar"] and [t.name for t in fig.data] == ["first order S1", "total ST"]
    ranked = idx.sort_values("ST", ascending=False)  # largest first
    names = [lever_title(p) for p in ranked.parameter]
    assert sorted(names) == sorted([lever_title("fund_size"), lever_title("instrument_sharing")])
    assert all(list(t.y) == names for t in fig.data)
    assert list(fig.data[1].x) == pytest.approx(list(ranked.ST))
    assert list(fig.data[0].error_x.array) == pytest.approx(list(ranked.S1_conf.fillna(0)))
    assert "Sobol" in fig.layout.xaxis.title.text and "largest" not in fig.layout.title.text
    morris_idx = load_results(morris_results).sensitivity("value_added")
    morris = figures.sensitivity_bars(morris_idx, "value_added")
    _no_nan(morris)
    assert morris.data[0].name.startswith("μ*") and morris.data[1].name.startswith("σ")
    assert metric_title("value_added") in morris.layout.xaxis.title.text
    # a long screening shows its largest inputs only, and says so
    top = figures.sensitivity_bars(morris_idx, "value_added", top=1)
    best = morris_idx.loc[morris_idx.mu_star.idxmax(), "parameter"]
    assert list(top.data[0].y) == [lever_title(best)] and f"1 largest of {len(morris_idx)}" in top.layout.title.text


def test_figures_stay_small(bands: pd.DataFrame, flows: pd.DataFrame, comparison: pd.DataFrame) -> None:
    figs = [
        figures.time_bands(bands, "value_added"),
        figures.sankey(flows),
        figures.forest(comparison),
        figures.regional_shares(bands),
    ]
    assert all(len(f.to_json()) < 200_000 for f in figs)
