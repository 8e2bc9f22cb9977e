"""Figures of the validation against the statistics (experiment E5): observed against simulated series, and the
calibration moments (:func:`jjjsim.experiments.calibration.validate` computes the numbers and calls
:func:`write_figures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jjjsim.experiments.calibration.moments import COUNTERPARTS, Observations, Simulated
from jjjsim.experiments.calibration.validation import BAND, FIT_END, LABELS
from jjjsim.model.errors import ConfigError
from plotly.subplots import make_subplots

from .report import write_images
from .theme import BASELINE_COLOR, REGION_COLORS, apply, rgba

PANELS: dict[str, str] = {
    "tech_contract_turnover_output": "Technology-contract turnover by seller (亿元)",
    "tech_contract_turnover_absorbed": "Technology-contract turnover by buyer (亿元)",
    "patents_granted_invention": "Invention patents granted",
    "rd_personnel_fte_total": "R&D personnel (FTE)",
    "high_tech_enterprises_stock": "High-tech enterprises (stock)",
    "rd_expenditure": "R&D expenditure (亿元; model: platform budget / share)",
    "gdp_implied_by_rd_bulletin": "GDP (亿元; model: firm value added / 0.25)",
    "bj_to_tj_hb_tech_contract_value": "Beijing → Tianjin+Hebei contract value (亿元)",
    "zgc_branches_in_tj_hb_stock": "ZGC branches in Tianjin+Hebei",
}


def series_figure(indicator: str, obs: Observations, tables: dict[str, list[pd.Series]]) -> Any:
    """Observed values (filled: fitted years; open: out-of-sample) against each variant's mean and 90 % band."""
    regions = list(COUNTERPARTS[indicator].regions)
    fig = make_subplots(rows=1, cols=len(regions), subplot_titles=regions, horizontal_spacing=0.07)
    any_tab = next(iter(tables.values()))[0]
    years = sorted({y for (i, _, y) in any_tab.index if i == indicator})
    df = obs.frame
    for c, reg in enumerate(regions, start=1):
        color = REGION_COLORS.get(reg, REGION_COLORS["Beijing"])
        for variant, tabs in tables.items():
            v = np.array([[Simulated(t).value(indicator, reg, str(y)) for y in years] for t in tabs])
            lo, hi = np.quantile(v, BAND, axis=0)
            name = LABELS[variant]
            main = variant != "start"
            if main:
                band = go.Scatter(
                    x=years + years[::-1],
                    y=list(hi) + list(lo[::-1]),
                    fill="toself",
                    fillcolor=rgba(color, 0.15),
                    line=dict(width=0),
                    hoverinfo="skip",
                    name=f"{name}: 90 % band",
                    legendgroup="band",
                    showlegend=c == 1,
                )
                fig.add_trace(band, 1, c)
            line = dict(color=color if main else "#777", width=2)
            line["dash"] = "solid" if main else "dot"
            mean = go.Scatter(
                x=years, y=v.mean(axis=0), mode="lines", name=f"{name}: mean", line=line, legendgroup=variant,
                showlegend=c == 1,
            )  # fmt: skip
            fig.add_trace(mean, 1, c)
        d = df[(df.indicator == indicator) & (df.region == reg) & df.year.str.fullmatch(r"\d{4}")]
        d = d.assign(y=d.year.astype(int)).sort_values("y")
        start = years[0]
        for period, sub, symbol in (
            ("before the run", d[d.y < start], "x-thin-open"),
            ("fitted years", d[(d.y >= start) & (d.y <= FIT_END)], "circle"),
            ("out-of-sample", d[d.y > FIT_END], "circle-open"),
        ):
            if sub.empty:
                continue
            color = "#999" if period == "before the run" else "#111"
            marker = dict(color=color, symbol=symbol, size=8, line=dict(width=1.5, color=color))
            points = go.Scatter(
                x=sub.y, y=sub.value, mode="markers", name=f"observed, {period}", marker=marker, legendgroup=period,
                showlegend=c == 1,
            )  # fmt: skip
            fig.add_trace(points, 1, c)
        fig.add_vline(x=FIT_END + 0.5, line=dict(color="#999", dash="dash", width=1), row=1, col=c)
    apply(fig, PANELS.get(indicator, indicator) + " — observed vs simulated (dashed line: end of fitted years)",
          height=420)  # fmt: skip
    fig.update_layout(legend=dict(orientation="h", y=-0.18))
    return fig


def moments_figure(fit: dict[str, Any]) -> Any:
    """Each moment's standardised deviation (simulated − observed)·√w at the start point and the optimum."""
    names = list(fit["moments"])
    ts = [fit["moments"][n]["t_start"] for n in names]
    to = [fit["moments"][n]["t_optimum"] for n in names]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=ts, orientation="h", name=LABELS["start"], marker_color=BASELINE_COLOR))
    fig.add_trace(go.Bar(y=names, x=to, orientation="h", name="fitted", marker_color=REGION_COLORS["Beijing"]))
    for x in (-2, 2):
        fig.add_vline(x=x, line=dict(color="#999", dash="dot", width=1))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="(simulated − observed) × √weight")
    title = f"Calibration moments: J = {fit['objective_start']:.0f} at the start, {fit['objective_optimum']:.0f} fitted"
    apply(fig, title, height=160 + 22 * len(names))
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.12))
    return fig


def write_figures(
    obs: Observations, tables: dict[str, list[pd.Series]], fit: dict[str, Any] | None, out: Path, png: bool
) -> list[str]:
    """The validation figures of :func:`jjjsim.experiments.calibration.validate` (its ``figures``): one per
    observed series (:data:`PANELS`) and, for a fit, its moments, in ``out/validation.html`` and, with ``png``,
    PNGs for the docs (skipped with a printed reason where no browser can draw them). Returns the files written."""
    figs = {ind: series_figure(ind, obs, tables) for ind in PANELS}
    if fit:
        figs = {"moments": moments_figure(fit), **figs}
    return _write(out, {k.replace("_", "-"): f for k, f in figs.items()}, png)


def _write(out: Path, figs: dict[str, Any], png: bool) -> list[str]:
    html = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>jjjsim validation (E5)</title></head><body>"]
    for i, fig in enumerate(figs.values()):
        html.append(fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False))
    html.append("</body></html>")
    (out / "validation.html").write_text("\n".join(html), encoding="utf-8")
    written = ["validation.html"]
    if png:
        jobs = [(fig, out / f"validation-{key}.png", 1200, fig.layout.height or 500) for key, fig in figs.items()]
        try:
            write_images(jobs, "validation PNGs")
        except ConfigError as e:  # the HTML file holds every figure; the PNGs are for the docs
            print(f"validation: PNGs not written ({e}); validation.html has every figure")
            return written
        written += [f"validation-{k}.png" for k in figs]
    return written
