"""Doses and equal cost: dose-response, cost-response and the effects at one common extra public cost."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import theme
from ..theme import (
    metric_title,
    scenario_colors,
)
from ._common import _grid, _interval_markers, _panels, _panels_height, _pct, _require, _two_lines

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
