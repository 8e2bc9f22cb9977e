"""The live charts: indicators against the baseline, flows, one metric compared, and the status line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from dash import html
from jjjsim.model.indicators import KEY_SERIES, MODEL, SERIES, Indicator
from jjjsim.model.model import JJJModel
from jjjsim.model.params import LEVERS, REGISTRY
from jjjsim.model.regions import JJJ, REGIONS
from jjjsim.viz import theme
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    pass

from .limits import _MI, _RI, BETTER, FLOW_KINDS, RUN_COLOR, TOTALS, WORSE
from .sessions import Session


# ---- figures -------------------------------------------------------------------------------------
def _series_indicator(name: str) -> Indicator:
    return SERIES.get(name) or MODEL[name]


def _series_title(name: str, unit: bool = True) -> str:
    ind = _series_indicator(name)
    label = f"{ind.label}, Jing-Jin-Ji" if name in SERIES else ind.label
    return f"{label} ({ind.unit})" if unit and ind.unit else label


def quarter_dates(m: JJJModel) -> list[str]:
    """The first day of each recorded quarter (step 0 = 1 January of the start year), for a date axis."""
    start = int(m.p.start_year)
    return [f"{start + k // 4}-{3 * (k % 4) + 1:02d}-01" for k in range(m.recorder.n)]


def jjj_series(m: JJJModel, name: str) -> np.ndarray:
    """A series so far: a region indicator summed over Beijing, Tianjin and Hebei, or a model indicator."""
    rec = m.recorder
    if name in _RI:
        return rec.region[: rec.n, : len(JJJ), _RI[name]].sum(axis=1)
    return rec.model[: rec.n, _MI[name]]


def indicators_figure(run: JJJModel, base: JJJModel, lang: theme.Lang = "en") -> go.Figure:
    """Key indicators by region over time: this run (solid) and the baseline (dotted), region colours."""
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[f"{SERIES[k].label} ({SERIES[k].unit})" for k in KEY_SERIES],
        vertical_spacing=0.16,
        horizontal_spacing=0.09,
    )
    x = quarter_dates(run)
    mode = "lines" if len(x) > 1 else "markers"
    for i, name in enumerate(KEY_SERIES):
        row, col = divmod(i, 2)
        for r_i, region in enumerate(JJJ):
            color = theme.region_color(region)
            label = theme.region_name(region, lang)
            for m, suffix, dash, width in ((base, ", baseline", "dot", 1.5), (run, "", "solid", 2.2)):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=m.recorder.region[: m.recorder.n, r_i, _RI[name]],
                        name=label + suffix,
                        legendgroup=label + suffix,
                        showlegend=i == 0,
                        mode=mode,
                        line=dict(color=color, dash=dash, width=width),
                        meta=[name, region, "baseline" if suffix else "run"],
                    ),
                    row=row + 1,
                    col=col + 1,
                )
    fig.update_layout(uirevision="live", legend=dict(orientation="h", y=-0.12), margin=dict(t=50, b=40))
    fig.update_annotations(font_size=13)
    return theme.apply(fig, height=520)


def flows_figure(run: JJJModel, base: JJJModel, kind: str, lang: theme.Lang = "en") -> go.Figure:
    """Cumulative flows between regions (origin rows, destination columns) of this run; hover adds the
    baseline's value."""
    mult = run.fte_per_agent if kind == "talent_moves" else 1.0
    z = getattr(run.flows, kind) * mult
    zb = getattr(base.flows, kind) * (base.fte_per_agent if kind == "talent_moves" else 1.0)
    names = [theme.region_name(r, lang) for r in REGIONS]
    fmt = ",.0f" if kind != "contract_value" else ",.1f"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            customdata=zb,
            colorscale="Blues",
            zmin=0,
            texttemplate=f"%{{z:{fmt}}}",
            hovertemplate=f"%{{y}} → %{{x}}<br>this run %{{z:{fmt}}}<br>baseline %{{customdata:{fmt}}}<extra></extra>",
            colorbar=dict(thickness=12),
        )
    )
    fig.update_yaxes(autorange="reversed", title="from", showgrid=False)
    fig.update_xaxes(title="to", showgrid=False)
    fig.update_layout(uirevision="flows", margin=dict(l=90, r=20, t=60, b=60))
    return theme.apply(fig, title=f"{FLOW_KINDS[kind]} between regions since the start", height=560)


def compare_figure(run: JJJModel, base: JJJModel, metric: str) -> go.Figure:
    """This run against the baseline: one series over time (top), and key totals so far as % differences."""
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.58, 0.42],
        vertical_spacing=0.16,
        subplot_titles=[_series_title(metric), "This run against the baseline so far (% difference)"],
    )
    x = quarter_dates(run)
    mode = "lines" if len(x) > 1 else "markers"
    for m, name, color, dash in ((run, "This run", RUN_COLOR, None), (base, "Baseline", theme.BASELINE_COLOR, "dot")):
        fig.add_trace(
            go.Scatter(x=x, y=jjj_series(m, metric), name=name, mode=mode, line=dict(color=color, dash=dash)), 1, 1
        )
    labels, pct, colors = [], [], []
    for name, (label, summed) in TOTALS.items():
        a, b = jjj_series(run, name), jjj_series(base, name)
        a, b = (a[1:].sum(), b[1:].sum()) if summed else (a[-1], b[-1])
        d = 100.0 * (a / b - 1.0) if b else 0.0
        labels.append(label)
        pct.append(d)
        good = d * _series_indicator(name).better
        colors.append(BETTER if good > 0 else WORSE if good < 0 else theme.BASELINE_COLOR)
    fig.add_trace(
        go.Bar(
            x=pct,
            y=labels,
            orientation="h",
            marker_color=colors,
            showlegend=False,
            name="difference",
            texttemplate="%{x:+.1f}%",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:+.1f}%<extra></extra>",
        ),
        2,
        1,
    )
    span = max(1.0, *(abs(v) for v in pct)) * 1.35
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_xaxes(range=[-span, span], zeroline=True, zerolinecolor="#999", ticksuffix="%", row=2, col=1)
    fig.update_layout(
        uirevision=metric,
        legend=dict(x=0.01, xanchor="left", y=1.0, yanchor="top", orientation="h"),
        margin=dict(l=150, t=60, b=30),
    )
    fig.update_annotations(font_size=13)
    return theme.apply(fig, height=560)


def _status(s: Session, scale: float) -> list[Any]:
    n = s.run.steps
    year, q = int(s.run.p.start_year) + n // 4, n % 4 + 1
    out: list[Any] = [
        html.Span("Quarter "),
        html.Strong(str(n), id="live-step-count"),
        f" · {year} Q{q} · {s.scenario} · seed {s.seed} · scale {scale:g}",
    ]
    changed = [k for k in LEVERS if s.run.p.values[k] != s.baseline.p.values[k]]
    out.append(
        html.Div(
            f"Levers off the baseline: {', '.join(REGISTRY[k].label for k in changed)}."
            if changed
            else "Every lever at the baseline.",
            id="live-levers-changed",
            className="changed",
        )
    )
    if s.pending:
        names = ", ".join(REGISTRY[k].label for k in s.pending)
        out.append(
            html.Div(f"Set-up levers moved ({names}): press Reset to build the world with them.", className="pending")
        )
    return out
