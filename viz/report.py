"""``jjjsim report``: one self-contained HTML file from a results folder (plotly.js inlined: opens offline).

The report has a title, the experiment's description and design, a summary table and the figures the
folder's data supports, each with a one-line caption saying what it shows. Figures are built from
aggregated tables (means and bands across seeds), never from every run's raw series, so a 15-scenario,
30-seed experiment gives a file of a few megabytes.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jjjsim.experiments import dose as dose_mod
from jjjsim.experiments.results import Results, load_results
from jjjsim.model.errors import ConfigError
from jjjsim.model.indicators import KEY_METRICS, KEY_SERIES, indicator

from . import figures
from .theme import Lang, metric_title, series_title

SHARE_INDICATORS: tuple[str, ...] = ("talent_fte", "value_added", "contract_value_sold")
FLOWS: tuple[str, ...] = ("contract_value", "talent_moves")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}


@dataclass
class Section:
    """One figure of the report with its heading and one-line caption (and, for some, a plain explanation and a
    table below the figure, and the full table written as ``<report>-<key>.csv``)."""

    key: str
    title: str
    caption: str
    figure: go.Figure
    note: str = ""
    table: pd.DataFrame | None = None
    csv: pd.DataFrame | None = None


def _fmt(x: float, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    text = f"{x:+,.3g}" if signed else f"{x:,.3g}"
    return text if abs(x) < 999.5 else (f"{x:+,.0f}" if signed else f"{x:,.0f}")  # 1,235, not 1.23e+03


def _metrics(res: Results, wanted: Sequence[str] | None = None) -> list[str]:
    have = set(res.metrics())
    missing = [m for m in wanted or () if m not in have]
    if missing:
        raise ConfigError(str(res.folder), "--metric", f"a summary metric of these runs ({', '.join(sorted(have))})",
                          missing[0])  # fmt: skip
    return [m for m in (wanted or KEY_METRICS) if m in have]


def summary_table(res: Results, comparison: pd.DataFrame | None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """The report's table: per scenario (or design point) and key metric, mean and, against the baseline,
    the paired difference with its 95 % interval and relative change."""
    metrics = _metrics(res, metrics)
    if comparison is not None and len(comparison):
        doses = res.doses()
        if doses is not None:  # the measures at their own settings; the other doses have their own sections
            comparison = comparison[~comparison.scenario.isin(doses.scenario[doses.dose != 1])]
        rows = []
        for r in comparison[comparison.metric.isin(metrics)].itertuples():
            diff = "" if r.scenario == res.baseline else f"{_fmt(r.diff, True)} [{_fmt(r.diff_ci_low, True)}, "
            diff += "" if r.scenario == res.baseline else f"{_fmt(r.diff_ci_high, True)}]"
            change = "" if r.scenario == res.baseline or not np.isfinite(r.rel_change) else f"{r.rel_change:+.1%}"
            star = "*" if r.scenario != res.baseline and bool(r.significant) else ""
            rows.append((r.scenario, metric_title(r.metric), _fmt(r.mean), diff + star, change))
        return pd.DataFrame(rows, columns=["scenario", "metric", "mean", "difference vs baseline [95 % CI]", "change"])
    means = res.runs.groupby("label", sort=False)[metrics].mean().reindex(res.labels)
    points = [c for c in res.runs.columns if c.startswith("point.")]
    if points:
        means = res.runs.groupby("label", sort=False)[points].first().join(means)
    means.columns = [metric_title(c, unit=False) for c in means.columns]
    return means.reset_index().rename(columns={"label": "point"})


def _best(comparison: pd.DataFrame, metric: str, baseline: str | None) -> str:
    rows = comparison[(comparison.metric == metric) & (comparison.scenario != baseline)].dropna(subset=["diff"])
    if rows.empty:
        return ""
    top = rows.loc[rows.rel_change.abs().idxmax()] if rows.rel_change.notna().any() else rows.iloc[0]
    sig = "significant after Holm correction" if bool(top.significant) else "not significant after Holm correction"
    return f" Largest change: {top.scenario}, {top.rel_change:+.1%} ({sig})."


def _ci(mean: float, lo: float, hi: float) -> str:
    """``+1.2 [+0.3, +2.1]``; a ratio whose interval is unbounded (extra cost not clearly above zero) says so."""
    if mean is None or not np.isfinite(mean):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{_fmt(mean, True)} [unbounded]"
    return f"{_fmt(mean, True)} [{_fmt(lo, True)}, {_fmt(hi, True)}]"


DOSE_NOTE = (
    "How to read this: each measure was run at several doses, multiples of its change from the baseline (dose 1 is "
    "its own setting in its scenario file, 0.5 half that change, 2 twice it; whole-number levers are rounded, and "
    "an on/off switch such as the evaluation regime has dose 1 only), always on the baseline's seeds, so every "
    "difference is paired seed by seed. The first figure shows how each outcome responds as a measure is scaled "
    "up; the second puts every measure on one axis of extra public cost (the money all measures together cost the "
    "government over the run, against the baseline), so that the steeper a line, the more a measure buys per 亿元. "
    "The table below the second figure gives, per dose, the extra cost and the outcome gained per 亿元 of it, "
    "with Fieller's 95 % interval "
    "(none where the extra cost is not clearly above zero, as the ratio is then unbounded)."
)
EQUAL_NOTE = (
    "How to read this: the measures cost very different amounts at their own settings, so their effects there are "
    "not comparable. Here every measure is scaled to the same extra public cost over the run, {amount} 亿元{why}. "
    "The dose that costs that much on average is found between the two tested doses around it (dose 0, the "
    "baseline, costs nothing extra), and the effect there is interpolated seed by seed along a straight line "
    "between those doses; its 95 % interval is across the paired seeds. A measure that bends sharply between its "
    "tested doses should be run at more doses before its number is trusted. A measure that spends no public money of "
    'its own (autonomy, for one) has no dose "at a given cost", nor has an on/off switch (the evaluation regime) a '
    "dose to scale: both are shown at their own setting. Measures that do not reach the amount within their largest "
    "dose are listed as such, never extrapolated."
)


def _dose_sections(res: Results, metrics: list[str], amount: float | None, add: Callable[..., None]) -> None:
    """The dose-response and equal-cost sections of a scenario design with doses."""
    tables = res.dose_tables(metrics, amount)
    if tables is None:
        return
    chosen = amount is not None
    response, equal = tables
    outcomes = [m for m in metrics if m != "public_cost"]
    amount = equal.attrs.get("amount", np.nan)
    rows = []
    for r in response[response.metric == outcomes[0]].itertuples() if outcomes else ():
        row = {
            "measure": r.measure,
            "dose": f"{r.dose:g}",
            "lever settings": r.change,
            "extra public cost (亿元) [95 % CI]": _ci(r.extra_cost, r.extra_cost_ci_low, r.extra_cost_ci_high),
        }
        for m in outcomes[:3]:
            x = response[(response.scenario == r.scenario) & (response.metric == m)].iloc[0]
            row[f"{metric_title(m, unit=False)} per 亿元 [95 % CI]"] = _ci(
                x.gain_per_cost, x.gain_per_cost_ci_low, x.gain_per_cost_ci_high
            )
        rows.append(row)
    add(
        "dose-response",
        "Dose-response of each measure",
        "Paired difference from the baseline against the dose of each measure (0 = the baseline, 1 = its own "
        "setting), with 95 % intervals across seeds; hover for the lever settings and the extra public cost.",
        lambda: figures.dose_response(response, metrics),
        note=DOSE_NOTE,
        csv=response,
    )
    if not outcomes:
        return
    add(
        "cost-response",
        "Effects against extra public cost",
        "Paired difference from the baseline against the mean extra public cost of each measure at each dose "
        "(both with 95 % intervals); the dashed line is the common cost of the equal-cost comparison below.",
        lambda: figures.cost_response(response, outcomes, amount),
        table=pd.DataFrame(rows),
    )
    if not np.isfinite(amount):  # no measure has a public cost of its own
        return
    if not (equal.status == dose_mod.INTERPOLATED).any():
        top = max((c for pts in equal.attrs["curves"].values() for _, c in pts), default=np.nan)
        raise ConfigError(
            "report", "--equal-cost", f"an extra public cost some measure reaches (at most {_fmt(top)} 亿元)", amount
        )
    own = equal[equal.status.isin(dose_mod.AT_OWN)].measure.unique()
    why = (
        " (chosen for this report)"
        if chosen
        else ": the largest amount every measure with a public cost of its own reaches within its tested doses"
    )
    table = []
    for measure, g in equal.groupby("measure", sort=False):
        g = g.set_index("metric")
        first = g.iloc[0]
        row = {
            "measure": measure,
            "dose": f"{first.dose:.3g}" if np.isfinite(first.dose) else "–",
            "how": f"{first.status} (doses {first.segment})" if first.segment else first.status,
        }
        for m in outcomes[:4]:
            x = g.loc[m]
            row[f"Δ {metric_title(m, unit=False)} [95 % CI]"] = _ci(x.effect, x.effect_ci_low, x.effect_ci_high)
        table.append(row)
    add(
        "equal-cost",
        f"Effects at equal public cost ({_fmt(amount)} 亿元)",
        f"Each measure's paired difference from the baseline when scaled to {_fmt(amount)} 亿元 of extra public "
        "cost over the run, with its 95 % interval across seeds"
        + (
            f"; open diamonds: at its own setting ({', '.join(own)}: no public cost of its own, or an on/off switch)."
            if len(own)
            else "."
        ),
        lambda: figures.equal_cost(equal, outcomes),
        note=EQUAL_NOTE.format(amount=_fmt(amount), why=why),
        table=pd.DataFrame(table),
        csv=equal,
    )


def sections(
    res: Results, lang: Lang = "en", metrics: Sequence[str] | None = None, equal_cost: float | None = None
) -> tuple[list[Section], pd.DataFrame | None]:
    """The figures the folder's data supports, in reading order, and the comparison table (scenario designs).

    ``equal_cost``: the common extra public cost (亿元) at which a design with doses compares its measures
    (default: the largest every measure with a public cost of its own reaches within its doses)."""
    out: list[Section] = []
    comparison = None
    metrics = _metrics(res, metrics)
    names = res.point_names()  # readable grid points in legends and menus

    def add(key: str, title: str, caption: str, build: Callable[[], go.Figure], **extra: object) -> None:
        fig = build()
        if fig is not None and len(fig.data):
            key = re.sub(r"[^A-Za-z0-9_.]+", "-", key).strip("-")  # id, file
            out.append(Section(key, title, caption, fig, **extra))  # type: ignore[arg-type]

    if res.design == "scenarios" and res.baseline is not None and len(res.labels) > 1:
        comparison = res.comparison(metrics)
        doses = res.doses()
        shown = comparison  # with doses: the measures at their own settings (the doses have their own sections)
        if doses is not None:
            shown = comparison[~comparison.scenario.isin(doses.scenario[doses.dose != 1])]
            shown.attrs.update(comparison.attrs)
        add(
            "forest",
            "Effect of each scenario against the baseline",
            "Paired difference from the baseline (same seeds) with its 95 % confidence interval, per metric; "
            "filled markers are significant after Holm correction."
            + (" Measures at their own settings (dose 1)." if doses is not None else "")
            + _best(shown, metrics[0], res.baseline),
            lambda: figures.forest(shown, metrics),
        )
        if "public_cost" in metrics and "gain_per_cost" in comparison:
            add(
                "cost",
                "Cost effectiveness",
                "Outcome gained per 亿元 of extra public money (paired difference of the outcome over the paired "
                "difference of public cost, Fieller's 95 % interval), for the outcomes where more is better; "
                "scenarios that cost no more than the baseline are left out. Read as a comparison at equal cost, "
                "this assumes an effect in proportion to the money spent; a design with doses (experiment E7) "
                "checks that and compares the measures at one common cost.",
                lambda: figures.cost_effectiveness(shown, [m for m in metrics if indicator(m).better > 0]),
            )
        if doses is not None and "public_cost" in res.runs:
            _dose_sections(res, metrics, equal_cost, add)
    if res.has_series:
        bands = res.bands(list(dict.fromkeys(KEY_SERIES + SHARE_INDICATORS)))
        bands["scenario"] = bands["scenario"].map(lambda s: names.get(s, s))
        for ind in KEY_SERIES:
            add(
                f"time-{ind}",
                f"{series_title(ind, unit=False)} over time",
                f"{series_title(ind)} by region and scenario: mean across seeds, shaded band the central 90 % of "
                "seeds.",
                partial(figures.time_bands, bands, ind, lang=lang),
            )
        scen = [s for s in (res.baseline, "all-measures") if s in res.labels] or [
            names.get(res.labels[0], res.labels[0])
        ]
        for s in scen:
            add(
                f"shares-{s}",
                f"Regional balance: {s}",
                f"Shares of Beijing, Tianjin and Hebei in R&D personnel, value added and contract value sold over "
                f"time ({s}, mean across seeds).",
                partial(figures.regional_shares, bands, SHARE_INDICATORS, scenario=s, lang=lang),
            )
    if res.has_flows:
        flows = res.flows()
        flows["scenario"] = flows["scenario"].map(lambda s: names.get(s, s))
        for flow, what in (("contract_value", "technology-contract value (亿元)"), ("talent_moves", "talent moves")):
            add(
                f"sankey-{flow}",
                f"Flows between regions: {what}",
                f"Origin → destination {what} over the run, mean across seeds; pick the scenario in the menu.",
                partial(figures.sankey, flows, flow=flow, lang=lang),
            )
        if res.has_series:
            last = bands[(bands.step == bands.step.max()) & (bands.indicator == "value_added")]
            s = res.baseline or names.get(res.labels[0], res.labels[0])
            add(
                "map",
                f"Map of the region: {s}",
                "Regions at their real positions, sized by value added in the last quarter; lines show "
                "technology-contract value between them over the run.",
                lambda: figures.region_map(last, flows, "value_added", "contract_value", s, lang=lang),
            )
    if res.levers and res.design == "grid":
        for m in metrics[:4]:
            if len(res.levers) == 1:
                add(
                    f"response-{m}",
                    f"Response of {metric_title(m, unit=False)} to {metric_title(res.levers[0], unit=False)}",
                    "Mean across seeds at each lever value, band the central 90 % of seeds.",
                    partial(figures.lever_response, res.runs, res.levers[0], m),
                )
            else:
                add(
                    f"heatmap-{m}",
                    f"{metric_title(m, unit=False)} over two levers",
                    "Mean across seeds at each pair of lever values (other levers of the grid averaged over).",
                    partial(figures.lever_heatmap, res.runs, res.levers[0], res.levers[1], m),
                )
    if res.levers and res.design == "lhs":
        for m in metrics[:2]:
            for lever in res.levers:
                add(
                    f"response-{m}-{lever}",
                    f"{metric_title(m, unit=False)} against {metric_title(lever, unit=False)}",
                    "Each design point's mean across seeds against this lever (the others vary too).",
                    partial(figures.lever_response, res.runs, lever, m),
                )
    if res.design in ("sobol", "morris"):
        for m in metrics[:4]:
            idx = res.sensitivity(m)
            if idx is None or idx.empty:
                continue
            what = "first-order and total Sobol indices" if res.design == "sobol" else "Morris μ* and σ"
            add(
                f"sensitivity-{m}",
                f"Sensitivity of {metric_title(m, unit=False)}",
                f"{what.capitalize()} of each lever, with 95 % confidence intervals (SALib).",
                partial(figures.sensitivity_bars, idx, m),
            )
    return out, comparison


CSS = """
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif; margin: 0; color: #222;
       background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: white; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 2.2em; font-size: 1.25em; }
.lede { color: #444; line-height: 1.5; } .meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.86em; margin: 1em 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f2f2f2; } .caption { color: #444; font-size: 0.92em; margin: 0.2em 0 0.6em; }
.note { color: #333; font-size: 0.92em; line-height: 1.5; background: #f6f8fa; padding: 8px 12px; }
nav ul { columns: 2; font-size: 0.9em; } figure { margin: 0; }
"""


def _design_text(res: Results) -> str:
    d = res.manifest.get("definition", {})
    seeds = res.runs.seed.nunique() if len(res.runs) else 0
    scale = d.get("overrides", {}).get("scale")
    parts = [
        f"design: {res.design}",
        f"{len(res.labels)} {'scenarios' if res.design == 'scenarios' else 'design points'}",
        f"{seeds} seeds (common random numbers)",
        f"{d.get('steps', '?')} quarters",
    ]
    if scale is not None:
        parts.append(f"agent scale {scale}")
    if res.levers:
        parts.append("levers: " + ", ".join(metric_title(lever, unit=False) for lever in res.levers))
    done, failed = res.manifest.get("runs_done", len(res.runs)), res.manifest.get("runs_failed", 0)
    parts.append(f"{done} runs done, {failed} failed")
    return "; ".join(parts) + "."


def render(res: Results, secs: list[Section], table: pd.DataFrame, lang: Lang = "en") -> str:
    """The report's HTML text (plotly.js inlined once)."""
    from plotly.offline import get_plotlyjs

    versions = res.manifest.get("versions", {})
    meta = ", ".join(f"{k} {v}" for k, v in versions.items())
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(res.manifest.get("finished") or time.time()))
    body = [
        f"<h1>{html.escape(res.name)}</h1>",
        f"<p class='lede'>{html.escape(res.description)}</p>",
        f"<p class='meta'>{html.escape(_design_text(res))} Results folder: {html.escape(str(res.folder))}; "
        f"sweep finished {when}; {html.escape(meta)}.</p>",
        "<nav><ul>" + "".join(f"<li><a href='#{s.key}'>{html.escape(s.title)}</a></li>" for s in secs) + "</ul></nav>",
        "<h2 id='summary'>Summary</h2>",
        "<p class='caption'>"
        + (
            "Mean of each metric across seeds; difference from the baseline on the same seeds with its 95 % "
            "interval; * significant after Holm correction."
            + (
                " Measures at their own settings (dose 1); every dose is in the dose-response sections below."
                if res.doses() is not None
                else ""
            )
            if "change" in table
            else "Mean of each metric across seeds at each design point."
        )
        + "</p>",
        table.to_html(index=False, border=0, escape=True, na_rep="–"),
    ]
    timelines = res.timelines()
    if not timelines.empty:
        body += [
            "<h2 id='timelines'>Policy timelines</h2>",
            "<p class='caption'>The dated lever changes each scenario's runs followed (scenario files' "
            "[[timeline]] entries: steps from a quarter on, ramps reached in their last quarter), with their sources."
            "</p>",
            timelines.to_html(index=False, border=0, escape=True),
        ]
    for s in secs:
        div = s.figure.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=f"fig-{s.key}")
        note = f"<p class='note'>{html.escape(s.note)}</p>" if s.note else ""
        tab = s.table.to_html(index=False, border=0, escape=True, na_rep="–") if s.table is not None else ""
        body.append(
            f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>"
            f"<p class='caption'>{html.escape(s.caption)}</p>{note}<figure>{div}</figure>{tab}</section>"
        )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(res.name)} — jjjsim report</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><main>{''.join(body)}</main></body></html>"
    )


def write_report(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    png: str | Path | None = None,
    lang: Lang = "en",
    metrics: Sequence[str] | None = None,
    equal_cost: float | None = None,
) -> Path:
    """Write the report of a results folder (default ``<folder>/report.html``) and return its path.

    Args:
        folder: a results folder written by ``jjjsim sweep``.
        out: the HTML file to write.
        png: also write each figure as a PNG into this folder (kaleido, driving the system's Chromium).
        lang: ``"zh"`` for Chinese region names.
        metrics: the summary metrics of the table, forest plot, cost chart and lever figures (default:
            :data:`KEY_METRICS`, those the runs have).
        equal_cost: the common extra public cost (亿元) of a design with doses (default: the largest every
            measure with a public cost of its own reaches).
    """
    if equal_cost is not None and not (np.isfinite(equal_cost) and equal_cost > 0):
        raise ConfigError("report", "--equal-cost", "an extra public cost > 0 (亿元)", equal_cost)
    res = load_results(folder)
    secs, comparison = sections(res, lang, metrics, equal_cost)
    table = summary_table(res, comparison, metrics)
    path = Path(out) if out is not None else res.folder / "report.html"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(render(res, secs, table, lang), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise ConfigError(str(path), "-o", "a writable file", f"{type(e).__name__}: {e.strerror or e}") from None
    if comparison is not None:
        comparison.to_csv(path.with_name(path.stem + "-comparison.csv"), index=False)
    for s in secs:
        if s.csv is not None:
            s.csv.to_csv(path.with_name(f"{path.stem}-{s.key}.csv"), index=False)
    if png is not None:
        write_pngs(secs, Path(png))
    (path.with_name(path.stem + "-figures.json")).write_text(
        json.dumps([{"key": s.key, "title": s.title, "caption": s.caption} for s in secs], indent=1)
    )
    return path


def write_pngs(secs: list[Section], folder: Path) -> list[Path]:
    """Each figure as ``<key>.png``, 1,100 pixels wide and as tall as the figure is laid out in the report
    (:func:`write_images`)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(str(folder), "--png", "a writable folder", f"{type(e).__name__}: {e.strerror}") from None
    paths = [folder / f"{s.key}.png" for s in secs]
    jobs = [(s.figure, p, 1100, s.figure.layout.height or 600) for s, p in zip(secs, paths, strict=True)]
    write_images(jobs, "--png")
    return paths


def write_images(jobs: list[tuple[go.Figure, Path, int, int]], where: str) -> None:
    """Write plotly figures as PNGs, ``(figure, path, width, height)`` each, with kaleido, which drives
    Chrome/Chromium (the system's /usr/bin/chromium if ``BROWSER_PATH`` is not set). No browser: a ConfigError
    naming ``where`` and what to install."""
    if "BROWSER_PATH" not in os.environ:
        for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
            if Path(candidate).exists():
                os.environ["BROWSER_PATH"] = candidate
                break
    import logging

    import kaleido

    for name in ("choreographer", "kaleido", "logistro"):  # its browser driver logs recoverable hiccups with tracebacks
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        kaleido.write_fig_from_object_sync(
            [{"fig": fig, "path": str(path), "opts": {"width": w, "height": h}} for fig, path, w, h in jobs]
        )
    except Exception as e:  # noqa: BLE001 - kaleido raises several types when no browser can be started
        raise ConfigError(
            where,
            str(jobs[0][1].parent) if jobs else "",
            "Chrome or Chromium for kaleido (apt-get install -y chromium, or set BROWSER_PATH)",
            f"{type(e).__name__}: {e}",
        ) from None
