"""The report's and the app's figures: pure functions from the tables of :mod:`jjjsim.experiments.results` to plotly
figures.

Every figure takes the house look from :mod:`jjjsim.viz.theme` (a region has one colour everywhere, the baseline is
grey, scenarios take the palette in the experiment's order), its axis titles from the indicator catalogue and the
parameter registry, and plots only finite values (NaN rows are dropped, never drawn). Figures hold aggregated data
(means and bands across seeds), so a report of many scenarios and seeds stays small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jjjsim.model.indicators import SERIES, indicator
from plotly.subplots import make_subplots

from . import theme
from .theme import (
    Lang,
    lever_title,
    metric_title,
    ordered_regions,
    region_color,
    region_name,
    rgba,
    scenario_colors,
    series_title,
)

__all__ = [
    "COORDINATES",
    "FLOW_TITLES",
    "cost_effectiveness",
    "cost_response",
    "dose_response",
    "equal_cost",
    "forest",
    "lever_heatmap",
    "lever_response",
    "region_map",
    "regional_shares",
    "sankey",
    "sensitivity_bars",
    "series_title",
    "time_bands",
]

COORDINATES: dict[str, tuple[float, float]] = {  # (longitude °E, latitude °N)
    "Beijing": (116.41, 39.90),
    "Tianjin": (117.20, 39.13),
    "Hebei": (114.51, 38.04),  # Shijiazhuang, the provincial capital
    "Outside": (112.70, 39.40),  # schematic: off to the west, not a real place
}
"""Where :func:`region_map` draws each region."""

FLOW_TITLES: dict[str, str] = {
    "contract_value": "Technology-contract value (亿元 over the run)",
    "contract_count": "Technology contracts (contracts over the run)",
    "talent_moves": "Talent moves (agents over the run)",
}
"""Titles of the flow matrices (origin = seller or region left, destination = buyer or region joined)."""

_TEXT: dict[str, dict[Lang, str]] = {
    "year": {"en": "Year", "zh": "年份"},
    "share": {"en": "Share of Jing-Jin-Ji (%)", "zh": "京津冀占比 (%)"},
    "lon": {"en": "Longitude (°E)", "zh": "经度 (°E)"},
    "lat": {"en": "Latitude (°N)", "zh": "纬度 (°N)"},
    "outside": {"en": "Outside Jing-Jin-Ji<br>(schematic position)", "zh": "其他地区<br>（示意位置）"},
}


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} table has no column(s) {missing} (columns: {list(df.columns)})")


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = 2 if n == 4 else max(1, min(n, max_cols))
    return math.ceil(n / cols), cols


def _band(x: list, lo: list, hi: list, color: str, alpha: float, name: str, group: str) -> go.Scatter:
    """A shaded band from ``lo`` to ``hi`` over ``x`` (no line, no hover, no legend entry of its own)."""
    return go.Scatter(
        x=list(x) + list(x)[::-1],
        y=list(hi) + list(lo)[::-1],
        fill="toself",
        mode="lines",
        fillcolor=rgba(color, alpha),
        line=dict(width=0),
        hoverinfo="skip",
        name=name,
        legendgroup=group,
        showlegend=False,
    )


def _year_ticks(fig: go.Figure, years: pd.Series) -> None:
    """Ticks on whole years (quarters are fractional years), as 2024 rather than 2,024."""
    span = float(years.max() - years.min()) if len(years) else 0.0
    fig.update_xaxes(tickformat="d", tick0=0, dtick=max(1, math.ceil(span / 12)))


def _pct(level: float) -> str:
    return f"{level * 100:g} %"


def _baseline_of(comparison: pd.DataFrame, baseline: str | None) -> str:
    """The comparison's baseline: given, recorded by Results.comparison, or its first rows' scenario."""
    if baseline is not None:
        return baseline
    return str(comparison.attrs.get("baseline") or comparison["scenario"].iloc[0])


def _metrics_and_scenarios(
    comparison: pd.DataFrame, df: pd.DataFrame, metrics: Sequence[str] | None, base: str, none: str
) -> tuple[list[str], dict[str, str], list[str]]:
    """The metrics to draw (those asked for, in order, that ``df``, the comparison's usable rows, has; all of
    them by default), the scenario colours, and the scenarios ``df`` has besides the baseline, in colour order.
    No metric raises ValueError with ``none``."""
    have = set(df["metric"])
    picked = [m for m in (metrics if metrics is not None else dict.fromkeys(df["metric"])) if m in have]
    if not picked:
        raise ValueError(none)
    colors = scenario_colors(dict.fromkeys(comparison["scenario"]), base)
    return picked, colors, [s for s in colors if s != base and s in set(df["scenario"])]


def _value_text(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float | np.number) else str(v)


def _point_col(runs: pd.DataFrame, lever: str) -> str:
    for col in (f"point.{lever}", lever):
        if col in runs.columns:
            return col
    raise ValueError(f"runs table has no column for lever {lever!r} (point.{lever})")


# ---- series ---------------------------------------------------------------------------------------------------


def time_bands(
    bands: pd.DataFrame,
    indicator: str,
    scenarios: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    lang: Lang = "en",
    baseline: str | None = "baseline",
) -> go.Figure:
    """An indicator over time (quarters as fractional years), one subplot per region (by default those where it
    is not zero throughout): each scenario's mean across seeds as a line, the band of :meth:`Results.bands`
    (central 90 % of seeds by default) shaded."""
    _require(bands, ("scenario", "region", "year", "step", "indicator", "mean", "lo", "hi"), "bands")
    df = bands[bands["indicator"] == indicator].dropna(subset=["year", "mean", "lo", "hi"])
    if "per quarter" in getattr(SERIES.get(indicator), "unit", ""):
        df = df[df["step"] > 0]  # step 0 is the initial state: no quarter's activity to show yet
    if df.empty:
        raise ValueError(f"no values of {indicator!r} in the bands (indicators: {sorted(set(bands['indicator']))})")
    colors = scenario_colors(dict.fromkeys(bands["scenario"]), baseline)
    have = set(df["scenario"])
    scen = [s for s in (scenarios if scenarios is not None else colors) if s in have]
    if regions is None:  # every region with something to show (Outside has no value added, say)
        regions = list(df.loc[df[["mean", "lo", "hi"]].ne(0).any(axis=1), "region"].unique())
    regs = [r for r in ordered_regions(regions) if r in set(df["region"])]
    if not scen or not regs:
        raise ValueError(f"none of the scenarios {scenarios} or regions {regions} has values of {indicator!r}")
    nrows, ncols = _grid(len(regs))
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[region_name(r, lang) for r in regs],
        shared_xaxes=True,
        horizontal_spacing=0.1,
        vertical_spacing=0.14 if nrows > 1 else 0.1,
    )
    band = _pct(bands.attrs.get("level", 0.9))
    shown: set[str] = set()
    for i, region in enumerate(regs):
        row, col = i // ncols + 1, i % ncols + 1
        for s in scen:
            d = df[(df["region"] == region) & (df["scenario"] == s)].sort_values("step")
            if d.empty:
                continue
            color = colors[s]
            fig.add_trace(
                _band(d["year"].to_list(), d["lo"].to_list(), d["hi"].to_list(), color, 0.16, f"{s} ({band} band)", s),
                row=row,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=d["year"],
                    y=d["mean"],
                    mode="lines",
                    line=dict(color=color, width=2.4 if s == baseline else 1.8),
                    name=s,
                    legendgroup=s,
                    showlegend=s not in shown,
                    customdata=d[["lo", "hi"]].to_numpy(),
                    hovertemplate=f"{s}<br>%{{x:.2f}}: %{{y:,.4g}} [%{{customdata[0]:,.4g}}, "
                    f"%{{customdata[1]:,.4g}}]<extra>{region_name(region, lang)}</extra>",
                ),
                row=row,
                col=col,
            )
            shown.add(s)
        if col == 1:
            fig.update_yaxes(title_text=series_title(indicator), row=row, col=col)
    for col in range(1, ncols + 1):
        fig.update_xaxes(title_text=_TEXT["year"][lang], row=nrows, col=col)
    _year_ticks(fig, df["year"])
    title = f"{series_title(indicator, unit=False)}: mean across seeds, {band} band"
    return theme.apply(fig, title, height=140 + 300 * nrows)


def regional_shares(
    bands: pd.DataFrame,
    indicators: Sequence[str] = ("talent_fte", "value_added", "contract_value_sold"),
    scenario: str = "baseline",
    lang: Lang = "en",
) -> go.Figure:
    """Shares of Beijing, Tianjin and Hebei in Jing-Jin-Ji's total over time (stacked to 100 %), one subplot per
    indicator, from one scenario's means across seeds."""
    _require(bands, ("scenario", "region", "year", "indicator", "mean"), "bands")
    jjj = ordered_regions(outside=False)
    df = bands[(bands["scenario"] == scenario) & bands["region"].isin(jjj)].dropna(subset=["year", "mean"])
    if df.empty:
        raise ValueError(f"no values of scenario {scenario!r} in the bands (scenarios: {sorted(set(bands.scenario))})")
    missing = [i for i in indicators if i not in set(df["indicator"])]
    if missing:
        raise ValueError(f"indicator(s) {missing} not in the bands of {scenario!r}")
    fig = make_subplots(
        rows=1,
        cols=len(indicators),
        shared_yaxes=True,
        subplot_titles=[series_title(i, unit=False) for i in indicators],
    )
    for j, ind in enumerate(indicators):
        wide = df[df["indicator"] == ind].pivot_table(index="year", columns="region", values="mean")
        total = wide.sum(axis=1)
        share = wide[total > 0].div(total[total > 0], axis=0).mul(100.0).dropna()
        for region in ordered_regions(share.columns, outside=False):
            color = region_color(region)
            fig.add_trace(
                go.Scatter(
                    x=share.index,
                    y=share[region],
                    mode="lines",
                    stackgroup=f"shares{j}",
                    line=dict(width=0.6, color=color),
                    fillcolor=rgba(color, 0.75),
                    name=region_name(region, lang),
                    legendgroup=region,
                    showlegend=j == 0,
                    hovertemplate=f"{region_name(region, lang)}: %{{y:.1f}} %<extra>%{{x:.2f}}</extra>",
                ),
                row=1,
                col=j + 1,
            )
        fig.update_xaxes(title_text=_TEXT["year"][lang], row=1, col=j + 1)
    _year_ticks(fig, df["year"])
    fig.update_yaxes(range=[0, 100], row=1, col=1, title_text=_TEXT["share"][lang])
    return theme.apply(fig, f"Regional shares over time: {scenario}", height=420)


# ---- flows ----------------------------------------------------------------------------------------------------


def _stack_positions(totals: pd.Series, gap: float = 0.06) -> list[float]:
    """Vertical centres (0 = top) of Sankey nodes stacked in the given order, heights proportional to totals."""
    free = max(0.1, 1.0 - gap * (len(totals) - 1))
    height = totals.to_numpy(dtype=float) / totals.sum() * free
    top = np.concatenate([[0.0], np.cumsum(height)[:-1]]) + gap * np.arange(len(totals))
    return np.clip(top + height / 2, 0.001, 0.999).tolist()


def _flow_title(flow: str) -> str:
    return FLOW_TITLES.get(flow, metric_title(flow))


def sankey(
    flows: pd.DataFrame,
    flow: str = "contract_value",
    scenarios: Sequence[str] | None = None,
    lang: Lang = "en",
    internal: bool = False,
) -> go.Figure:
    """Origin → destination flows between the regions (Outside included) over the run, mean across seeds: one
    Sankey per scenario, picked in a drop-down menu. Flows within a region are left out unless ``internal``
    (they dwarf the flows between regions)."""
    _require(flows, ("scenario", "flow", "origin", "destination", "value"), "flows")
    df = flows[(flows["flow"] == flow) & (flows["value"] > 0)].dropna(subset=["value"])
    if not internal:
        df = df[df["origin"] != df["destination"]]
    have = set(df["scenario"])
    scen = [s for s in (scenarios if scenarios is not None else dict.fromkeys(flows["scenario"])) if s in have]
    if not scen:
        raise ValueError(f"no positive {flow!r} flows for scenarios {scenarios} (flows: {sorted(set(flows.flow))})")
    fig = go.Figure()
    for k, s in enumerate(scen):
        d = df[df["scenario"] == s]
        out_total = d.groupby("origin")["value"].sum()
        in_total = d.groupby("destination")["value"].sum()
        sources, targets = ordered_regions(out_total.index), ordered_regions(in_total.index)
        nodes = [(r, "origin", out_total[r]) for r in sources] + [(r, "destination", in_total[r]) for r in targets]
        index = {(r, side): i for i, (r, side, _) in enumerate(nodes)}
        fig.add_trace(
            go.Sankey(
                name=s,
                visible=k == 0,
                valueformat=",.4g",
                arrangement="snap",
                node=dict(
                    label=[region_name(r, lang) for r, _, _ in nodes],
                    color=[region_color(r) for r, _, _ in nodes],
                    x=[0.001] * len(sources) + [0.999] * len(targets),
                    y=_stack_positions(out_total[sources]) + _stack_positions(in_total[targets]),
                    pad=18,
                    thickness=18,
                    line=dict(width=0),
                    customdata=[f"{region_name(r, lang)} ({side})" for r, side, _ in nodes],
                    hovertemplate="%{customdata}: %{value:,.4g}<extra></extra>",
                ),
                link=dict(
                    source=[index[(o, "origin")] for o in d["origin"]],
                    target=[index[(t, "destination")] for t in d["destination"]],
                    value=d["value"].tolist(),
                    color=[rgba(region_color(o), 0.45) for o in d["origin"]],
                    hovertemplate="%{source.label} → %{target.label}: %{value:,.4g}<extra></extra>",
                ),
            )
        )
    title = f"{_flow_title(flow)}, mean across seeds"
    if len(scen) > 1:
        buttons = [
            dict(
                label=s,
                method="update",
                args=[{"visible": [j == k for j in range(len(scen))]}, {"title.text": f"{title}: {s}"}],
            )
            for k, s in enumerate(scen)
        ]
        fig.update_layout(
            updatemenus=[
                dict(type="dropdown", buttons=buttons, active=0, x=1.0, xanchor="right", y=1.12, yanchor="top")
            ]
        )
    return theme.apply(fig, f"{title}: {scen[0]}", height=460)


def region_map(
    values: pd.DataFrame,
    flows: pd.DataFrame,
    indicator: str,
    flow: str = "contract_value",
    scenario: str = "baseline",
    lang: Lang = "en",
    step: int | None = None,
) -> go.Figure:
    """A schematic map (lon/lat axes, no tiles): each region a node at its real position (Hebei at Shijiazhuang,
    Outside drawn off to the west) with area proportional to ``indicator`` (a bands table's mean at ``step``, by
    default its last), arrows between regions with width proportional to the flow over the run."""
    _require(values, ("scenario", "region", "indicator", "mean"), "values")
    _require(flows, ("scenario", "flow", "origin", "destination", "value"), "flows")
    v = values[(values["scenario"] == scenario) & (values["indicator"] == indicator)].dropna(subset=["mean"])
    if "step" in v.columns and not v.empty:
        v = v[v["step"] == (v["step"].max() if step is None else step)]
    size = v.groupby("region")["mean"].mean()
    f = flows[
        (flows["scenario"] == scenario)
        & (flows["flow"] == flow)
        & (flows["origin"] != flows["destination"])
        & (flows["value"] > 0)
    ].dropna(subset=["value"])
    regs = [r for r in ordered_regions(set(size.index) | set(f["origin"]) | set(f["destination"])) if r in COORDINATES]
    if not regs:
        raise ValueError(f"no values of {indicator!r} or {flow!r} flows for scenario {scenario!r}")
    fig = go.Figure()
    top = float(f["value"].max()) if len(f) else 1.0
    for o, d, value in f[["origin", "destination", "value"]].itertuples(index=False):
        if o not in COORDINATES or d not in COORDINATES:
            continue
        (x0, y0), (x1, y1) = COORDINATES[o], COORDINATES[d]
        length = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        ox, oy = -uy * 0.07, ux * 0.07  # each direction on its own side of the line between the nodes
        fig.add_trace(
            go.Scatter(
                x=[x0 + ux * 0.25 + ox, x1 - ux * 0.32 + ox],
                y=[y0 + uy * 0.25 + oy, y1 - uy * 0.32 + oy],
                mode="lines+markers",
                line=dict(color=rgba(region_color(o), 0.7), width=1.0 + 11.0 * value / top),
                marker=dict(symbol="arrow", angleref="previous", size=[0, 10 + 8 * value / top], color=region_color(o)),
                name=f"{region_name(o, lang)} → {region_name(d, lang)}",
                hovertemplate=f"{region_name(o, lang)} → {region_name(d, lang)}: {value:,.4g}<extra></extra>",
                showlegend=False,
            )
        )
    peak = float(size.clip(lower=0).max()) if len(size) else 0.0
    for r in regs:
        value = float(size.get(r, np.nan))
        area = value / peak if peak > 0 and np.isfinite(value) and value > 0 else 0.0
        label = _TEXT["outside"][lang] if r == "Outside" else region_name(r, lang)
        hover = f"{region_name(r, lang)}: {value:,.4g}" if np.isfinite(value) else region_name(r, lang)
        x, y = COORDINATES[r]
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers+text",
                marker=dict(
                    size=14 + 56 * math.sqrt(area),
                    color=region_color(r),
                    line=dict(color="white", width=1.5),
                    symbol="circle-dot" if r == "Outside" else "circle",
                ),
                text=[label],
                textposition="top center" if r == "Outside" else "bottom center",
                name=region_name(r, lang),
                hovertemplate=f"{hover}<extra></extra>",
                showlegend=False,
            )
        )
    mid_lat = math.radians(39.0)
    fig.update_xaxes(title_text=_TEXT["lon"][lang], range=[111.8, 118.3], showgrid=True)
    fig.update_yaxes(
        title_text=_TEXT["lat"][lang], range=[37.3, 40.6], scaleanchor="x", scaleratio=1 / math.cos(mid_lat)
    )
    theme.apply(fig, f"Map of the region: {scenario}", height=580)
    fig.update_layout(
        title_subtitle_text=f"Node area: {series_title(indicator)}; arrow width: {_flow_title(flow)}; "
        "means across seeds",
        margin_t=90,
    )
    return fig


# ---- comparison -----------------------------------------------------------------------------------------------


def _two_lines(prefix: str, metric: str, suffix: str = "") -> str:
    """A panel title: the metric's label, then its unit on a second line (long titles would collide)."""
    unit = indicator(metric).unit
    return f"{prefix}{metric_title(metric, unit=False)}" + (f"<br>({unit}{suffix})" if unit else suffix)


def _panels_height(nrows: int, n_scenarios: int) -> int:
    return 110 + nrows * (95 + 26 * n_scenarios)


def _panels(titles: list[str], n_scenarios: int) -> tuple[go.Figure, int, int]:
    """Small multiples sharing the scenario axis, each titled above (titles never collide with the next row)."""
    nrows, ncols = _grid(len(titles))
    gap = 90 / _panels_height(nrows, n_scenarios)  # pixels between rows, as a share of the height
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        shared_yaxes="all",
        horizontal_spacing=0.06,
        vertical_spacing=min(gap, 0.9 / max(nrows - 1, 1)),
        subplot_titles=titles,
    )
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(t=110))  # room for the figure's title above the two-line panel titles
    return fig, nrows, ncols


def _interval_markers(
    part: pd.DataFrame,
    cols: tuple[str, ...],
    colors: dict[str, str],
    *,
    symbol: str,
    name: str,
    group: str,
    legend: bool,
    hover: str,
) -> go.Scatter:
    """Point estimates with asymmetric interval bars, one marker per row of ``part``: ``cols`` = (x, y label,
    interval low, interval high, further hover columns...); colour by the y label."""
    x, y, lo, hi = cols[:4]
    return go.Scatter(
        x=part[x],
        y=part[y],
        mode="markers",
        marker=dict(
            color=[colors[s] for s in part[y]],
            size=10,
            symbol=symbol,
            line=dict(width=2, color=[colors[s] for s in part[y]]),
        ),
        error_x=dict(
            type="data",
            symmetric=False,
            array=(part[hi] - part[x]).fillna(0.0).to_numpy(),
            arrayminus=(part[x] - part[lo]).fillna(0.0).to_numpy(),
            color="#777",
            thickness=1.4,
            width=4,
        ),
        name=name,
        legendgroup=group,
        showlegend=legend,
        customdata=part[[lo, hi, *cols[4:]]].to_numpy(),
        hovertemplate=hover,
    )


def forest(comparison: pd.DataFrame, metrics: Sequence[str] | None = None, baseline: str | None = None) -> go.Figure:
    """Per metric, each scenario's mean paired difference from the baseline with its confidence interval (a
    forest plot: scenarios down the side, zero line dotted); filled markers are significant after Holm."""
    _require(comparison, ("scenario", "metric", "diff", "diff_ci_low", "diff_ci_high", "significant"), "comparison")
    base = _baseline_of(comparison, baseline)
    df = comparison[comparison["scenario"] != base].dropna(subset=["diff"])
    metrics, colors, scen = _metrics_and_scenarios(
        comparison, df, metrics, base, "no metric of the comparison has paired differences"
    )
    fig, nrows, ncols = _panels([_two_lines("Δ ", m) for m in metrics], len(scen))
    level = _pct(comparison.attrs.get("level", 0.95))
    shown: set[bool] = set()
    for i, m in enumerate(metrics):
        row, col = i // ncols + 1, i % ncols + 1
        d = df[df["metric"] == m]
        significant = d["significant"].fillna(False).astype(bool)
        for sig in (True, False):
            part = d[significant == sig]
            if part.empty:
                continue
            fig.add_trace(
                _interval_markers(
                    part,
                    ("diff", "scenario", "diff_ci_low", "diff_ci_high"),
                    colors,
                    symbol="circle" if sig else "circle-open",
                    name="significant after Holm" if sig else "not significant",
                    group=str(sig),
                    legend=sig not in shown,
                    hover="%{y}: %{x:+,.4g} [%{customdata[0]:+,.4g}, %{customdata[1]:+,.4g}]"
                    f"<extra>{metric_title(m, unit=False)}</extra>",
                ),
                row=row,
                col=col,
            )
            shown.add(sig)
        fig.add_vline(x=0, line=dict(color="#999", dash="dot", width=1), row=row, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=scen[::-1], type="category", automargin=True)
    title = f"Difference from {base}: mean paired difference across seeds, {level} CI"
    return theme.apply(fig, title, height=_panels_height(nrows, len(scen)))


def cost_effectiveness(
    comparison: pd.DataFrame, metrics: Sequence[str] | None = None, baseline: str | None = None
) -> go.Figure:
    """Outcome gained per 亿元 of extra public money (``gain_per_cost`` = paired difference / extra cost), per
    metric and scenario. Error bars: Fieller's interval of the ratio (``gain_per_cost_ci_low``/``_high``, the
    spread of both the outcome and the cost across seeds; none where the extra cost's own interval reaches zero);
    a comparison without those columns gets the interval of the outcome difference over the mean extra cost.
    Scenarios that cost no more than the baseline have no ratio and are left out."""
    _require(
        comparison, ("scenario", "metric", "diff_ci_low", "diff_ci_high", "extra_cost", "gain_per_cost"), "comparison"
    )
    base = _baseline_of(comparison, baseline)
    df = comparison[(comparison["scenario"] != base) & (comparison["extra_cost"] > 0)]
    df = df.dropna(subset=["gain_per_cost", "extra_cost"])
    metrics, colors, scen = _metrics_and_scenarios(
        comparison, df, metrics, base, "no metric of the comparison has a gain per extra cost (no scenario costs more?)"
    )
    fig, nrows, ncols = _panels([_two_lines("", m, " per 亿元") for m in metrics], len(scen))
    for i, m in enumerate(metrics):
        row, col = i // ncols + 1, i % ncols + 1
        d = df[df["metric"] == m]
        if "gain_per_cost_ci_low" in d:
            lo, hi = d["gain_per_cost_ci_low"], d["gain_per_cost_ci_high"]
        else:
            lo, hi = d["diff_ci_low"] / d["extra_cost"], d["diff_ci_high"] / d["extra_cost"]
        fig.add_trace(
            go.Bar(
                x=d["gain_per_cost"],
                y=d["scenario"],
                orientation="h",
                marker_color=[colors[s] for s in d["scenario"]],
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(hi - d["gain_per_cost"]).fillna(0.0).to_numpy(),
                    arrayminus=(d["gain_per_cost"] - lo).fillna(0.0).to_numpy(),
                    color="#555",
                    thickness=1.2,
                ),
                name=metric_title(m, unit=False),
                showlegend=False,
                customdata=np.column_stack([lo, hi, d["extra_cost"]]),
                hovertemplate="%{y}: %{x:+,.4g} per 亿元 [%{customdata[0]:+,.4g}, %{customdata[1]:+,.4g}]"
                "<br>extra cost %{customdata[2]:,.4g} 亿元<extra></extra>",
            ),
            row=row,
            col=col,
        )
        fig.add_vline(x=0, line=dict(color="#999", width=1), row=row, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=scen[::-1], type="category", automargin=True)
    level = _pct(comparison.attrs.get("level", 0.95))
    how = "Fieller" if "gain_per_cost_ci_low" in df else "of the gain over the mean extra cost"
    title = f"Gain per 亿元 of extra public cost vs {base} (bars: {level} CI, {how})"
    return theme.apply(fig, title, height=_panels_height(nrows, len(scen)))


# ---- doses and equal cost -------------------------------------------------------------------------------------

DOSE_AXIS = "Dose (multiple of the measure's change from the baseline)"
COST_AXIS = "Extra public cost (亿元 over the run)"


def _dose_panels(
    table: pd.DataFrame, metrics: Sequence[str] | None, x: str, what: str, ci: tuple[str, str] | None = None
) -> tuple[go.Figure, list[str], dict[str, str], int]:
    """Panels per metric of a dose table, one line per measure through the origin (dose 0 is the baseline)."""
    _require(table, ("measure", "dose", "metric", "diff", "diff_ci_low", "diff_ci_high", x), "dose")
    df = table.dropna(subset=["diff", x])
    have = list(dict.fromkeys(df["metric"]))
    picked = [m for m in (metrics if metrics is not None else have) if m in have]
    if not picked:
        raise ValueError(f"no metric of the dose table has paired differences to plot against {what}")
    colors = scenario_colors(dict.fromkeys(table["measure"]), None)
    nrows, ncols = _grid(len(picked), 2)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[_two_lines("Δ ", m) for m in picked],
        horizontal_spacing=0.1,
        vertical_spacing=min(0.9 / max(nrows - 1, 1), 110 / (120 + 330 * nrows)),
    )
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(t=110))  # room for the figure's title above the two-line panel titles
    for i, m in enumerate(picked):
        row, col = i // ncols + 1, i % ncols + 1
        for measure, d in df[df["metric"] == m].groupby("measure", sort=False):
            pts = pd.DataFrame(
                {
                    "x": d[x],
                    "y": d["diff"],
                    "lo": d["diff_ci_low"],
                    "hi": d["diff_ci_high"],
                    "dose": d["dose"],
                    "cost": d.get("extra_cost", np.nan),
                    "change": d.get("change", ""),
                    "clo": d[ci[0]] if ci else np.nan,
                    "chi": d[ci[1]] if ci else np.nan,
                }
            ).sort_values("dose")
            single = len(pts) == 1  # one dose (an on/off switch): a point, no line from the baseline implied
            if not single:  # dose 0 is the baseline itself: no difference, no extra cost
                origin = dict(x=0.0, y=0.0, lo=0.0, hi=0.0, dose=0.0, cost=0.0, change="baseline", clo=0.0, chi=0.0)
                pts = pd.concat([pd.DataFrame([origin]), pts], ignore_index=True)
            bars = dict(type="data", symmetric=False, color=colors[measure], thickness=1.2, width=3)
            fig.add_trace(
                go.Scatter(
                    x=pts["x"],
                    y=pts["y"],
                    mode="markers" if single else "lines+markers",
                    line=dict(color=colors[measure], width=2),
                    marker=dict(size=7, color=colors[measure]),
                    error_y=dict(bars, array=(pts.hi - pts.y).fillna(0.0), arrayminus=(pts.y - pts.lo).fillna(0.0)),
                    error_x=dict(
                        bars, array=(pts.chi - pts.x).fillna(0.0), arrayminus=(pts.x - pts.clo).fillna(0.0), width=0
                    )
                    if ci
                    else None,
                    name=str(measure),
                    legendgroup=str(measure),
                    showlegend=i == 0,
                    customdata=pts[["dose", "cost", "lo", "hi", "change"]].to_numpy(dtype=object),
                    hovertemplate=f"{measure}, dose %{{customdata[0]}}: Δ %{{y:+,.4g}} "
                    "[%{customdata[2]:+,.4g}, %{customdata[3]:+,.4g}]<br>extra cost %{customdata[1]:,.4g} 亿元"
                    f"<br>%{{customdata[4]}}<extra>{metric_title(m, unit=False)}</extra>",
                ),
                row=row,
                col=col,
            )
        fig.add_hline(y=0, line=dict(color="#999", dash="dot", width=1), row=row, col=col)
    fig.update_xaxes(title_text=what, title_font_size=11)
    return fig, picked, colors, 120 + 330 * nrows


def dose_response(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> go.Figure:
    """Per metric, each measure's paired difference from the baseline against its dose (0 = the baseline, 1 = the
    measure's own setting), with the confidence interval across seeds (a ``dose_response`` table of
    :mod:`jjjsim.experiments.dose`)."""
    fig, _, _, height = _dose_panels(table, metrics, "dose", DOSE_AXIS)
    level = _pct(table.attrs.get("level", 0.95))
    return theme.apply(fig, f"Dose-response: mean paired difference from the baseline, {level} CI", height=height)


def cost_response(table: pd.DataFrame, metrics: Sequence[str] | None = None, amount: float | None = None) -> go.Figure:
    """Per metric, each measure's paired difference from the baseline against its mean extra public cost at each
    dose, all measures on one cost axis (vertical bars: the outcome's interval, horizontal: the cost's); a dashed
    line marks the common cost ``amount`` of the equal-cost comparison."""
    fig, picked, _, height = _dose_panels(
        table, metrics, "extra_cost", COST_AXIS, ci=("extra_cost_ci_low", "extra_cost_ci_high")
    )
    if amount is not None and np.isfinite(amount):
        nrows, ncols = _grid(len(picked), 2)
        for i in range(len(picked)):
            fig.add_vline(
                x=amount, line=dict(color="#555", dash="dash", width=1), row=i // ncols + 1, col=i % ncols + 1
            )
    level = _pct(table.attrs.get("level", 0.95))
    title = f"Effect against extra public cost, per measure and dose ({level} CIs)"
    if amount is not None and np.isfinite(amount):
        title += f"; dashed: {amount:,.4g} 亿元"
    return theme.apply(fig, title, height=height)


def equal_cost(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> go.Figure:
    """Per metric, each measure's effect when scaled to the same extra public cost (an ``equal_cost`` table of
    :mod:`jjjsim.experiments.dose`), with its confidence interval across seeds; measures with no public cost of their
    own and on/off switches are drawn at their own setting as open diamonds, those that do not reach the cost are left
    out."""
    _require(table, ("measure", "metric", "status", "effect", "effect_ci_low", "effect_ci_high"), "equal-cost")
    from jjjsim.experiments.dose import AT_OWN

    df = table.dropna(subset=["effect"])
    have = list(dict.fromkeys(df["metric"]))
    picked = [m for m in (metrics if metrics is not None else have) if m in have]
    if not picked:
        raise ValueError("no measure reaches the common cost")
    colors = scenario_colors(dict.fromkeys(table["measure"]), None)
    measures = [m for m in colors if m in set(df["measure"])]
    amount = float(table["amount"].iloc[0]) if "amount" in table and len(table) else np.nan
    fig, nrows, ncols = _panels([_two_lines("Δ ", m) for m in picked], len(measures))
    shown: set[bool] = set()
    for i, m in enumerate(picked):
        row, col = i // ncols + 1, i % ncols + 1
        d = df[df["metric"] == m]
        for free in (False, True):
            part = d[d["status"].isin(AT_OWN) == free]
            if part.empty:
                continue
            fig.add_trace(
                _interval_markers(
                    part,
                    ("effect", "measure", "effect_ci_low", "effect_ci_high", "dose"),
                    colors,
                    symbol="diamond-open" if free else "circle",
                    name="at its own setting (no cost of its own, or an on/off switch)"
                    if free
                    else f"at {amount:,.4g} 亿元",
                    group=str(free),
                    legend=free not in shown,
                    hover="%{y}: %{x:+,.4g} [%{customdata[0]:+,.4g}, %{customdata[1]:+,.4g}] at dose "
                    f"%{{customdata[2]:.3g}}<extra>{metric_title(m, unit=False)}</extra>",
                ),
                row=row,
                col=col,
            )
            shown.add(free)
        fig.add_vline(x=0, line=dict(color="#999", dash="dot", width=1), row=row, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=measures[::-1], type="category", automargin=True)
    level = _pct(table.attrs.get("level", 0.95))
    title = f"Effect of each measure at the same extra public cost, {amount:,.4g} 亿元 over the run ({level} CI)"
    return theme.apply(fig, title, height=_panels_height(nrows, len(measures)))


# ---- lever designs --------------------------------------------------------------------------------------------


def lever_response(
    runs: pd.DataFrame, lever: str, metric: str, by: str | None = None, level: float = 0.90
) -> go.Figure:
    """A metric against one lever: mean across runs at each lever value with the central ``level`` band of the
    runs (seeds, and any other lever of the design pooled unless split into lines by ``by``)."""
    col = _point_col(runs, lever)
    by_col = _point_col(runs, by) if by is not None else None
    if metric not in runs.columns:
        raise ValueError(f"runs table has no metric {metric!r}")
    df = runs[[c for c in (col, by_col, metric) if c is not None]].dropna()
    if df.empty:
        raise ValueError(f"no finite values of {metric!r}")
    numeric = pd.api.types.is_numeric_dtype(df[col])
    groups = [(None, df)] if by_col is None else list(df.groupby(by_col, sort=True))
    q = ((1.0 - level) / 2.0, (1.0 + level) / 2.0)
    fig = go.Figure()
    for k, (key, part) in enumerate(groups):
        g = part.groupby(col, sort=numeric)[metric]
        stats = pd.DataFrame({"mean": g.mean(), "lo": g.quantile(q[0]), "hi": g.quantile(q[1]), "n": g.count()})
        x = stats.index.to_list()
        color = theme.SCENARIO_PALETTE[k % len(theme.SCENARIO_PALETTE)]
        name = "mean across seeds" if key is None else f"{lever_title(str(by), unit=False)} = {_value_text(key)}"
        if (stats["n"] > 1).any():
            fig.add_trace(
                _band(
                    x,
                    stats["lo"].to_list(),
                    stats["hi"].to_list(),
                    color,
                    0.18,
                    f"{name}: central {_pct(level)} of runs",
                    name,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=stats["mean"],
                mode="lines+markers",
                line=dict(color=color, width=2),
                name=name,
                legendgroup=name,
                customdata=stats[["lo", "hi", "n"]].to_numpy(),
                hovertemplate="%{x}: %{y:,.4g} [%{customdata[0]:,.4g}, %{customdata[1]:,.4g}], "
                "n = %{customdata[2]}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=lever_title(lever))
    fig.update_yaxes(title_text=metric_title(metric))
    title = f"{metric_title(metric, unit=False)} against {lever_title(lever, unit=False)}"
    return theme.apply(fig, title, height=440)


def lever_heatmap(runs: pd.DataFrame, lever_x: str, lever_y: str, metric: str) -> go.Figure:
    """A metric over two levers of a grid: the mean across runs in each cell (other levers pooled); cells
    without a run are left blank."""
    cx, cy = _point_col(runs, lever_x), _point_col(runs, lever_y)
    if metric not in runs.columns:
        raise ValueError(f"runs table has no metric {metric!r}")
    df = runs[[cx, cy, metric]].dropna()
    if df.empty:
        raise ValueError(f"no finite values of {metric!r}")
    mean = df.pivot_table(index=cy, columns=cx, values=metric, aggfunc="mean")
    count = df.pivot_table(index=cy, columns=cx, values=metric, aggfunc="count").reindex_like(mean).fillna(0)
    z = mean.astype(object).where(mean.notna(), None).to_numpy()

    fig = go.Figure(
        go.Heatmap(
            x=[_value_text(v) for v in mean.columns],
            y=[_value_text(v) for v in mean.index],
            z=z,
            customdata=count.to_numpy(),
            colorscale="Viridis",
            colorbar=dict(title=dict(text=metric_title(metric), side="right")),
            texttemplate="%{z:,.4~g}",
            hovertemplate="%{x}, %{y}: %{z:,.4g} (n = %{customdata})<extra></extra>",
            name=metric_title(metric, unit=False),
        )
    )
    fig.update_xaxes(title_text=lever_title(lever_x), type="category")
    fig.update_yaxes(title_text=lever_title(lever_y), type="category", automargin=True)
    return theme.apply(fig, f"{metric_title(metric, unit=False)}: mean across seeds", height=480)


def sensitivity_bars(indices: pd.DataFrame, metric: str, top: int | None = 25) -> go.Figure:
    """Sensitivity of a metric to each lever (levers down the side, largest first), with 95 % confidence intervals
    as error bars: first-order (S1) and total (ST) Sobol' indices, or Morris μ* (mean absolute elementary effect,
    per full range of the lever) and σ (the spread of the effects: interactions or non-linearity).

    ``top``: show only the levers with the largest ST or μ* (a Morris screening may have a hundred inputs);
    None shows all.
    """
    _require(indices, ("parameter",), "indices")
    if {"S1", "ST"} <= set(indices.columns):
        bars: tuple[tuple[str, str | None, str], ...] = (
            ("S1", "S1_conf", "first order S1"),
            ("ST", "ST_conf", "total ST"),
        )
        x_title = f"Sobol' index of {metric_title(metric, unit=False)} (share of variance)"
        main, main_name = "ST", "ST"
    elif {"mu_star", "sigma"} <= set(indices.columns):
        bars = (("mu_star", "mu_star_conf", "μ* (mean |elementary effect|)"), ("sigma", None, "σ (spread of effects)"))
        x_title = f"Elementary effect on {metric_title(metric)}"
        main, main_name = "mu_star", "μ*"
    else:
        raise ValueError(f"indices table has neither S1/ST nor mu_star/sigma (columns: {list(indices.columns)})")
    total = len(indices)
    indices = indices.sort_values(main, ascending=False, na_position="last", kind="stable")
    if top is not None and total > top:
        indices = indices.head(top)
    shown = "" if len(indices) == total else f" (the {len(indices)} largest of {total} by {main_name})"
    names = [lever_title(p) for p in indices["parameter"]]
    fig = go.Figure()
    for k, (col, conf, name) in enumerate(bars):
        ok = indices[col].notna().to_numpy()
        d = indices[ok]
        error = dict(type="data", array=d[conf].fillna(0.0).to_numpy(), color="#444") if conf in d.columns else None
        fig.add_trace(
            go.Bar(
                x=d[col],
                y=[n for n, keep in zip(names, ok, strict=True) if keep],
                orientation="h",
                name=name,
                marker_color=theme.SCENARIO_PALETTE[k + 4],
                error_x=error,
            )
        )
    fig.update_layout(barmode="group", legend=dict(traceorder="normal"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text="Lever", categoryorder="array", categoryarray=names[::-1], automargin=True)
    per_row = 70 if len(names) <= 12 else 44
    title = f"Sensitivity of {metric_title(metric, unit=False)}{shown}"
    return theme.apply(fig, title, height=160 + per_row * len(names))
