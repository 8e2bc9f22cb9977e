"""What the figures share: the house texts, region coordinates and flow titles, and small helpers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jjjsim.model.indicators import indicator
from plotly.subplots import make_subplots

from ..theme import (
    Lang,
    metric_title,
    rgba,
    scenario_colors,
)

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
