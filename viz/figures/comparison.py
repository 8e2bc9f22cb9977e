"""Paired comparisons with the baseline: the forest plot and cost-effectiveness."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import theme
from ..theme import (
    metric_title,
)
from ._common import (
    _baseline_of,
    _interval_markers,
    _metrics_and_scenarios,
    _panels,
    _panels_height,
    _pct,
    _require,
    _two_lines,
)

# ---- comparison -----------------------------------------------------------------------------------------------


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
