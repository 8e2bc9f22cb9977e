"""One look for every figure, the report and the app: region and scenario colours, labels, units, languages.

Colours are fixed per region (the same Beijing blue in every chart) and per scenario (the baseline is always
grey; the other scenarios take the palette in the order they are given, so one experiment's figures agree).
Axis titles come from the indicator catalogue (:mod:`jjjsim.model.indicators`) and the parameter registry.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Literal

import plotly.graph_objects as go
import plotly.io as pio
from jjjsim.model.indicators import REGION_NAMES_ZH, indicator
from jjjsim.model.params import LEVERS, REGISTRY
from jjjsim.model.regions import REGIONS
from plotly.colors import hex_to_rgb


def rgba(color: str, alpha: float) -> str:
    """A ``#rrggbb`` colour with opacity ``alpha``, as plotly's ``rgba(r,g,b,a)``."""
    r, g, b = hex_to_rgb(color)
    return f"rgba({r},{g},{b},{alpha})"


Lang = Literal["en", "zh"]

REGION_COLORS: dict[str, str] = {
    "Beijing": "#1f5aa6",  # blue
    "Tianjin": "#d1495b",  # red
    "Hebei": "#2e933c",  # green
    "Outside": "#8c8c8c",  # grey
}
BASELINE_COLOR = "#4d4d4d"
SCENARIO_PALETTE: tuple[str, ...] = (  # Okabe-Ito first (colour-blind safe), then Tableau
    "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2", "#d55e00", "#f0e442",
    "#4e79a7", "#f28e2b", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
)  # fmt: skip

BRIEF_GROUPS: dict[int, str] = {
    1: "Collaborative development",
    2: "Transformation of results",
    3: "Talent, capital and culture",
    4: "Platform governance and evaluation",
}
"""The brief's four groups of measures (``(group N)`` in each lever's ``measure``)."""

FONT = "Noto Sans, Noto Sans CJK SC, Helvetica Neue, Arial, sans-serif"
TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family=FONT, size=13, color="#222"),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(SCENARIO_PALETTE),
        xaxis=dict(showgrid=True, gridcolor="#e6e6e6", zeroline=False, linecolor="#999", ticks="outside"),
        yaxis=dict(showgrid=True, gridcolor="#e6e6e6", zeroline=False, linecolor="#999", ticks="outside"),
        legend=dict(bgcolor="rgba(255,255,255,0.8)"),
        margin=dict(l=70, r=30, t=60, b=60),
        hoverlabel=dict(font_family=FONT),
    )
)
pio.templates["jjjsim"] = TEMPLATE


def region_name(region: str, lang: Lang = "en") -> str:
    """A region's display name (``lang="zh"``: 北京, 天津, 河北, 其他地区)."""
    return REGION_NAMES_ZH.get(region, region) if lang == "zh" else region


def region_color(region: str) -> str:
    """The region's colour (grey for anything unknown)."""
    return REGION_COLORS.get(region, REGION_COLORS["Outside"])


def scenario_colors(labels: Iterable[str], baseline: str | None = "baseline") -> dict[str, str]:
    """A colour per scenario: the baseline grey, the others the palette in the order given (cycling)."""
    out: dict[str, str] = {}
    k = 0
    for label in labels:
        if label in out:
            continue
        if label == baseline:
            out[label] = BASELINE_COLOR
        else:
            out[label] = SCENARIO_PALETTE[k % len(SCENARIO_PALETTE)]
            k += 1
    return out


def metric_title(name: str, unit: bool = True) -> str:
    """An axis title for an output (``"Value added, Jing-Jin-Ji (亿元 over the run)"``) or a lever."""
    lever = name.removeprefix("point.")
    base = lever.partition(".")[0]
    if base in REGISTRY and (name.startswith("point.") or name not in _outputs()):
        return lever_title(lever, unit)
    ind = indicator(name)
    return f"{ind.label} ({ind.unit})" if unit and ind.unit else ind.label


def series_title(name: str, unit: bool = True) -> str:
    """An axis title for a per-step series (its per-quarter unit; :func:`metric_title` gives the summary's)."""
    from jjjsim.model.indicators import MODEL, SERIES

    ind = SERIES.get(name) or MODEL.get(name)
    if ind is None:
        return metric_title(name, unit)
    return f"{ind.label} ({ind.unit})" if unit and ind.unit else ind.label


def lever_title(name: str, unit: bool = True) -> str:
    """A lever's or parameter's label from the registry (``name.sub`` adds the region, pair or field)."""
    base, _, sub = name.partition(".")
    p = REGISTRY.get(base)
    if p is None:
        return name
    label = f"{p.label}, {sub}" if sub else p.label
    return f"{label} ({p.unit})" if unit and p.unit and p.unit != "-" else label


def lever_group(name: str) -> int:
    """The brief's group (1-4) of a lever, 0 where its measure names none."""
    m = re.search(r"\(group (\d)\)", REGISTRY[name.partition(".")[0]].measure)
    return int(m.group(1)) if m else 0


def levers_by_group() -> dict[str, list[str]]:
    """The levers, grouped and ordered as the brief groups its measures."""
    groups: dict[str, list[str]] = {title: [] for title in BRIEF_GROUPS.values()}
    for name in LEVERS:
        g = lever_group(name)
        groups.setdefault(BRIEF_GROUPS.get(g, "Other"), []).append(name)
    return {k: v for k, v in groups.items() if v}


def apply(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    """Give a figure the house template (and a title and height)."""
    fig.update_layout(template="jjjsim")
    if title is not None:
        fig.update_layout(title=dict(text=title, x=0.01, xanchor="left"))
    if height is not None:
        fig.update_layout(height=height)
    return fig


def ordered_regions(regions: Collection[str] | None = None, outside: bool = True) -> list[str]:
    """Regions in the model's order (Beijing, Tianjin, Hebei[, Outside]), keeping only those given."""
    keep = set(regions) if regions is not None else set(REGIONS)
    return [r for r in REGIONS if r in keep and (outside or r != "Outside")]


def _outputs() -> set[str]:
    from jjjsim.model.indicators import MODEL, SERIES, SUMMARY

    return set(SUMMARY) | set(SERIES) | set(MODEL)
