"""Lever designs: the response to one lever, heat maps of two, and sensitivity indices."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import theme
from ..theme import (
    lever_title,
    metric_title,
)
from ._common import _band, _pct, _point_col, _require, _value_text

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
