"""Flows between regions: the Sankey diagram and the map."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import theme
from ..theme import (
    Lang,
    metric_title,
    ordered_regions,
    region_color,
    region_name,
    rgba,
    series_title,
)
from ._common import _TEXT, COORDINATES, FLOW_TITLES, _require

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
