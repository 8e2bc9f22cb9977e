"""Indicators over time, by region and scenario: bands across seeds and regional shares."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from jjjsim.model.indicators import SERIES
from plotly.subplots import make_subplots

from .. import theme
from ..theme import (
    Lang,
    ordered_regions,
    region_color,
    region_name,
    rgba,
    scenario_colors,
    series_title,
)
from ._common import _TEXT, _band, _grid, _pct, _require, _year_ticks

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
