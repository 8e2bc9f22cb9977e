"""The app's results page: the report's figures (:mod:`jjjsim.viz.figures`) for a sweep folder, redrawn for the
metric, scenarios and regions picked. Reads the folder's tables only (:mod:`jjjsim.experiments.results`); runs no model.

The pickers' values come from the client: each is checked against what the page offered (:class:`Offer`, made once
from the loaded folder) before anything is read or drawn, so a forged value is a one-line message and never a
file read, a cache entry or an error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component
from jjjsim.experiments.results import Results
from jjjsim.model.errors import ConfigError
from jjjsim.model.indicators import KEY_METRICS, KEY_SERIES
from jjjsim.model.regions import JJJ, REGIONS
from jjjsim.viz import figures, theme

GRAPH_CONFIG: Any = {"displaylogo": False, "toImageButtonOptions": {"scale": 2}}
MAX_DEFAULT_LABELS = 8
"""Scenarios (design points) selected at first: all of a scenario design's, the first few of a lever design's."""
FLOW_LABELS = {"contract_value": "Contract value", "talent_moves": "Talent moves", "contract_count": "Contracts"}


class Tables:
    """The aggregated tables of one results folder, read once and kept (bands per indicator, flows, comparisons)."""

    def __init__(self, res: Results) -> None:
        self.res = res
        self.names = res.point_names()  # grid points by their lever values in legends, as in the report
        self._cache: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _named(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.names:
            df = df.assign(scenario=df["scenario"].map(lambda s: self.names.get(s, s)))
        return df

    def _get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def bands(self, indicator: str) -> pd.DataFrame:
        """Bands across seeds of one series indicator."""
        return self._get(("bands", indicator), lambda: self._named(self.res.bands([indicator])))

    def flows(self) -> pd.DataFrame:
        """Mean flow matrices."""
        return self._get("flows", lambda: self._named(self.res.flows()))

    def comparison(self, metric: str) -> pd.DataFrame:
        """The paired comparison with the baseline over the report's key metrics and ``metric`` (the Holm family
        of the report, so a marker is filled here when it is filled there)."""
        have = self.res.metrics()
        family = tuple(dict.fromkeys([m for m in KEY_METRICS if m in have] + [metric]))
        return self._get(("comparison", family), lambda: self.res.comparison(list(family)))


@dataclass(frozen=True)
class Offer:
    """What the results page offers in each picker (the only values its callback accepts)."""

    metrics: tuple[str, ...]
    labels: tuple[str, ...]
    regions: tuple[str, ...]
    indicators: tuple[str, ...]
    flows: tuple[str, ...]
    levers: tuple[str, ...]

    @classmethod
    def of(cls, res: Results) -> Offer:
        return cls(
            metrics=tuple(res.metrics()),
            labels=tuple(res.labels),
            regions=tuple(REGIONS),
            indicators=tuple(res.series_indicators() if res.has_series else ()),
            flows=tuple(FLOW_LABELS),
            levers=tuple(res.levers),
        )

    def one(self, value: Any, options: Sequence[str], what: str) -> str | None:
        """``value`` if it is one of ``options`` (or None: nothing picked), else a ConfigError."""
        if value is None or isinstance(value, str) and value in options:
            return value
        shown = ", ".join(options[:12]) + (f" (and {len(options) - 12} more)" if len(options) > 12 else "")
        raise ConfigError("results page", what, f"one of {shown}" if options else "nothing (none offered)", value)

    def many(self, value: Any, options: Sequence[str], what: str) -> list[str] | None:
        """``value`` if it is a list of distinct ``options`` (or None), else a ConfigError."""
        if value is None:
            return None
        allowed = set(options)
        if not isinstance(value, list) or len(value) > len(allowed):
            raise ConfigError("results page", what, f"a list of at most {len(allowed)} of the offered", value)
        for v in value:
            if not isinstance(v, str) or v not in allowed:
                raise ConfigError("results page", what, "only offered values", v)
        if len(set(value)) < len(value):
            raise ConfigError("results page", what, "distinct values", "a repeated value")
        return value

    def check(
        self, metric: Any, labels: Any, regions: Any, indicator: Any, flow: Any, lever: Any
    ) -> tuple[str | None, list[str] | None, list[str] | None, str | None, str | None, str | None]:
        """The picks, each checked against this offer (ConfigError naming the first that is not)."""
        return (
            self.one(metric, self.metrics, "metric"),
            self.many(labels, self.labels, "scenarios"),
            self.many(regions, self.regions, "regions"),
            self.one(indicator, self.indicators, "indicator"),
            self.one(flow, self.flows, "flow"),
            self.one(lever, self.levers, "lever"),
        )


def layout(res: Results | None) -> html.Div:
    """The results page: pickers on the left, figures on the right (or how to open a folder)."""
    if res is None:
        return html.Div(
            [
                html.H2("No results folder"),
                html.P(
                    [
                        "Start the app with a folder written by a sweep to explore it here: ",
                        html.Code("jjjsim app --results results/brief-measures"),
                        ". The live model is on the ",
                        dcc.Link("Live model", href="/live"),
                        " page.",
                    ]
                ),
                *_controls_hidden(),
            ],
            className="empty-page",
            id="results-page",
        )
    metrics = res.metrics()
    metric = next((m for m in KEY_METRICS if m in metrics), metrics[0] if metrics else None)
    indicators = res.series_indicators() if res.has_series else []
    names = res.point_names()
    indicator = next((i for i in KEY_SERIES if i in indicators), indicators[0] if indicators else None)
    seeds = res.runs["seed"].nunique()
    return html.Div(
        [
            html.Aside(
                [
                    html.H2(res.name),
                    html.P(res.description, className="meta"),
                    html.P(
                        f"{res.design} design · {len(res.labels)} "
                        f"{'scenarios' if res.design == 'scenarios' else 'design points'} · {seeds} seeds · "
                        f"{len(res.runs)} runs · {res.folder}",
                        className="meta",
                    ),
                    *[
                        html.P(f"Policy timeline of {label}: " + "; ".join(g["change"]) + ".", className="meta")
                        for label, g in res.timelines().groupby("scenario", sort=False)
                    ],
                    html.Label("Metric", htmlFor="res-metric"),
                    dcc.Dropdown(
                        id="res-metric",
                        options=[{"label": theme.metric_title(m), "value": m} for m in metrics],
                        value=metric,
                        clearable=False,
                    ),
                    html.Label("Scenarios" if res.design == "scenarios" else "Design points", htmlFor="res-labels"),
                    dcc.Dropdown(
                        id="res-labels",
                        options=[{"label": names.get(s, s), "value": s} for s in res.labels],
                        value=res.labels[:MAX_DEFAULT_LABELS] if res.design != "scenarios" else res.labels,
                        multi=True,
                    ),
                    html.Div(
                        [
                            html.Label("Regions"),
                            dcc.Checklist(
                                id="res-regions",
                                options=[{"label": theme.region_name(r), "value": r} for r in REGIONS],
                                value=list(JJJ),
                                inline=True,
                            ),
                            html.Label("Indicator over time", htmlFor="res-indicator"),
                            dcc.Dropdown(
                                id="res-indicator",
                                options=[{"label": theme.metric_title(i), "value": i} for i in indicators],
                                value=indicator,
                                clearable=False,
                            ),
                        ],
                        style=None if res.has_series else {"display": "none"},
                    ),
                    html.Div(
                        [
                            html.Label("Flow"),
                            dcc.RadioItems(
                                id="res-flow",
                                options=[{"label": v, "value": k} for k, v in FLOW_LABELS.items()],
                                value="contract_value",
                                inline=True,
                            ),
                        ],
                        style=None if res.has_flows else {"display": "none"},
                    ),
                    html.Div(
                        [
                            html.Label("Lever", htmlFor="res-lever"),
                            dcc.Dropdown(
                                id="res-lever",
                                options=[{"label": theme.lever_title(lv), "value": lv} for lv in res.levers],
                                value=res.levers[0] if res.levers else None,
                                clearable=False,
                            ),
                        ],
                        style=None if res.levers else {"display": "none"},
                    ),
                ],
                className="picker",
            ),
            dcc.Loading(html.Section(id="res-figures", className="figures"), delay_show=300),
        ],
        className="results",
        id="results-page",
    )


def _controls_hidden() -> list[Any]:
    """The pickers' ids, hidden, so the page's callback has its inputs when there is no folder."""
    return [
        html.Div(
            [
                dcc.Input(id=i, type="hidden")
                for i in ("res-metric", "res-labels", "res-regions", "res-indicator", "res-flow", "res-lever")
            ]
            + [html.Div(id="res-figures")],
            style={"display": "none"},
        )
    ]


def _card(gid: str, title: str, build: Callable[[], go.Figure]) -> html.Div:
    """A titled figure, or a line saying why there is nothing to show."""
    try:
        fig = build()
    except (ValueError, ConfigError) as e:
        return html.Div([html.H3(title), html.P(f"Nothing to show: {e}", className="meta")], className="card")
    fig.update_layout(uirevision=gid)
    return html.Div([html.H3(title), dcc.Graph(id=gid, figure=fig, config=GRAPH_CONFIG)], className="card")


def cards(
    t: Tables,
    metric: str | None,
    labels: list[str] | None,
    regions: list[str] | None,
    indicator: str | None,
    flow: str | None,
    lever: str | None,
) -> list[Component]:
    """The figures the folder supports for the picks, in the report's reading order."""
    res = t.res
    if metric is None:
        return [html.P("The folder's runs have no numeric summary metric.", className="meta")]
    picked = [s for s in res.labels if s in (labels or [])]
    shown = [t.names.get(s, s) for s in picked]  # as the bands and flows name them
    out: list[Component] = []
    name = theme.metric_title(metric, unit=False)
    if res.design == "scenarios" and res.baseline is not None and len(res.labels) > 1:

        def compared() -> pd.DataFrame:
            comp = t.comparison(metric)
            keep = comp["scenario"].isin([*picked, res.baseline])
            out_ = comp[keep]
            out_.attrs.update(comp.attrs)
            return out_

        out.append(
            _card("res-forest", f"Effect on {name} against the baseline", lambda: figures.forest(compared(), [metric]))
        )
        if metric != "public_cost" and "public_cost" in res.metrics():
            out.append(
                _card(
                    "res-cost",
                    f"Cost effectiveness: {name} per 亿元 of extra public cost",
                    lambda: figures.cost_effectiveness(compared(), [metric]),
                )
            )
    against = f"{name} against {theme.lever_title(lever, unit=False)}" if lever else ""
    if res.design in ("grid", "lhs") and lever is not None:
        out.append(_card("res-response", against, lambda: figures.lever_response(res.runs, lever, metric)))
        others = [lv for lv in res.levers if lv != lever]
        if res.design == "grid" and others:
            out.append(
                _card(
                    "res-heatmap",
                    f"{name} over two levers",
                    lambda: figures.lever_heatmap(res.runs, lever, others[0], metric),
                )
            )
    if res.design in ("sobol", "morris"):

        def sensitivity() -> go.Figure:
            idx = res.sensitivity(metric)
            if idx is None or idx.empty:
                raise ValueError("no sensitivity indices for this metric")
            return figures.sensitivity_bars(idx, metric)

        out.append(_card("res-sensitivity", f"Sensitivity of {name}", sensitivity))
    if res.has_series and indicator is not None:
        out.append(
            _card(
                "res-bands",
                f"{theme.metric_title(indicator, unit=False)} over time",
                lambda: figures.time_bands(t.bands(indicator), indicator, scenarios=shown, regions=regions or None),
            )
        )
    if res.has_flows and flow is not None:
        out.append(
            _card(
                "res-sankey",
                f"Flows between regions: {FLOW_LABELS.get(flow, flow).lower()}",
                lambda: figures.sankey(t.flows(), flow=flow, scenarios=shown),
            )
        )
    return out


def register(app: Dash, res: Results | None) -> Tables | None:
    """Add the results page's callback to ``app`` (figures redrawn for the picks, each checked against what the
    page offers); returns the tables it reads (None without a folder)."""
    tables = Tables(res) if res is not None else None
    offer = Offer.of(res) if res is not None else None

    @app.callback(
        Output("res-figures", "children"),
        Input("res-metric", "value"),
        Input("res-labels", "value"),
        Input("res-regions", "value"),
        Input("res-indicator", "value"),
        Input("res-flow", "value"),
        Input("res-lever", "value"),
    )
    def update(
        metric: str | None,
        labels: list[str] | None,
        regions: list[str] | None,
        indicator: str | None,
        flow: str | None,
        lever: str | None,
    ) -> list[Any]:
        if tables is None or offer is None:
            return []
        try:
            picks = offer.check(metric, labels, regions, indicator, flow, lever)
        except ConfigError as e:
            return [html.P(f"Nothing to show: {e}", className="meta")]
        return cards(tables, *picks)

    return tables
