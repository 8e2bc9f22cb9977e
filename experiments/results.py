"""From a results folder (``jjjsim sweep``) to the aggregated tables the report and the app plot.

:func:`load_results` reads the manifest and the table of finished runs and re-resolves the experiment from the
definition the manifest keeps (no need for the original TOML file), so runs come in the experiment's order with
their labels even where two design points are the same simulation (one stored run). :class:`Results` then gives
bands across seeds of the per-region series, mean flow matrices, the paired comparison with the baseline and the
SALib sensitivity indices of Sobol' and Morris designs. Only Parquet and JSON are read; nothing runs a model.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import REGISTRY
from jjjsim.model.regions import REGIONS
from jjjsim.model.timeline import describe as describe_change

from .compare import compare
from .definition import Experiment, measure_change
from .store import read_folder

__all__ = ["BAND_COLUMNS", "FLOW_COLUMNS", "Results", "load_results"]

BAND_COLUMNS = ("scenario", "region", "step", "year", "indicator", "mean", "lo", "hi", "n")
FLOW_COLUMNS = ("scenario", "flow", "origin", "destination", "value", "n")
FLOW_NAMES = ("contract_value", "contract_count", "talent_moves")
_KEYS = ("step", "year", "region")
_NOT_METRICS = ("seed", "steps")
_READ_ERRORS = (OSError, ValueError, pa.ArrowException)


@dataclass
class Results:
    """The finished runs of one experiment and what its folder kept (series, flows)."""

    folder: Path
    manifest: dict[str, Any]
    name: str
    description: str
    design: str
    """``"scenarios"``, ``"grid"``, ``"lhs"``, ``"sobol"`` or ``"morris"``."""
    runs: pd.DataFrame
    """One row per finished run (label, seed), in the experiment's order."""
    labels: list[str]
    """Scenario or design-point labels with at least one finished run, in the experiment's order."""
    baseline: str | None
    """``"baseline"`` if a scenario of a scenario design, else its first scenario (with doses: always the first,
    their reference; None if it has no finished run); None for lever designs."""
    levers: list[str]
    """The levers a lever design varies (``point.*`` columns without the prefix); [] for scenario designs."""
    has_series: bool
    has_flows: bool
    experiment: Experiment | None = field(default=None, repr=False)
    """The experiment re-resolved from the manifest's definition (None if it no longer resolves)."""

    def point_names(self) -> dict[str, str]:
        """Readable names of a grid's or a Morris/Sobol design's points (``fund_size=300, autonomy=0.6``), by label;
        empty for scenario designs (their labels are names already) and Latin hypercubes (too many digits)."""
        cols = [f"point.{lever}" for lever in self.levers if f"point.{lever}" in self.runs]
        if not cols or self.design == "lhs":
            return {}
        first = self.runs.groupby("label", sort=False)[cols].first()

        def text(v: object) -> str:
            return f"{v:g}" if isinstance(v, float) else str(v)

        return {
            str(label): ", ".join(f"{c.removeprefix('point.')}={text(v)}" for c, v in row.items())
            for label, row in first.iterrows()
        }

    def timelines(self) -> pd.DataFrame:
        """The dated lever changes of each scenario (or design point) that has a timeline: one row per change
        (``scenario``, ``change``, ``source``), in the experiment's order; empty without one (or when the
        experiment no longer resolves)."""
        rows: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for spec in self.experiment.runs if self.experiment is not None else ():
            if spec.label in seen or spec.label not in self.labels:
                continue
            seen.add(spec.label)
            rows += [(spec.label, describe_change(e), e["source"]) for e in spec.params.values.get("timeline", ())]
        return pd.DataFrame(rows, columns=["scenario", "change", "source"])

    def doses(self) -> pd.DataFrame | None:
        """The dose of each dosed label of a scenario design with ``doses``: ``scenario``, ``measure``, ``dose``,
        ``change`` (the lever settings at that dose, as text) and ``levers`` (the levers changed, a tuple), in
        the experiment's order; None for other designs (or when the experiment no longer resolves)."""
        if self.experiment is None or self.design != "scenarios" or self.baseline is None:
            return None
        ref = next((s for s in self.experiment.runs if s.label == self.baseline), None)
        rows, seen = [], set()
        for spec in self.experiment.runs:
            if spec.dose is None or spec.label in seen or spec.label not in self.labels or ref is None:
                continue
            seen.add(spec.label)
            change = measure_change(ref.params, spec.params)
            levers = tuple(
                lever for n, v in change.items() for lever in ([f"{n}.{k}" for k in v] if isinstance(v, dict) else [n])
            )
            text = "; ".join(
                ", ".join(f"{n}.{k} = {_text(x)}" for k, x in v.items()) if isinstance(v, dict) else f"{n} = {_text(v)}"
                for n, v in change.items()
            )
            rows.append((spec.label, spec.measure, float(spec.dose), text, levers))
        if not rows:
            return None
        return pd.DataFrame(rows, columns=["scenario", "measure", "dose", "change", "levers"])

    def metrics(self) -> list[str]:
        """The numeric summary columns of the runs (not seed, steps or design-point columns)."""
        return [
            c
            for c in self.runs.columns
            if c not in _NOT_METRICS
            and not c.startswith("point.")
            and pd.api.types.is_numeric_dtype(self.runs[c])
            and not pd.api.types.is_bool_dtype(self.runs[c])
        ]

    # ---- series -------------------------------------------------------------------------------------------
    def series_indicators(self) -> list[str]:
        """The numeric per-region indicators of the kept series (empty without series)."""
        for path in self._files("series"):
            try:
                schema = pq.read_schema(path)
            except _READ_ERRORS:
                continue
            return [
                f.name
                for f in schema
                if f.name not in (*_KEYS, "run_id") and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
            ]
        return []

    def bands(self, indicators: Sequence[str] | None = None, level: float = 0.90) -> pd.DataFrame:
        """Per scenario, region, step and indicator: mean across seeds, the central ``level`` band and n.

        Reads the series one scenario at a time (only the indicators asked for), so memory holds one
        scenario's runs, never the whole folder. Unreadable series files are skipped (n counts the runs used);
        cells without any value are left out. ``attrs["level"]`` records the band's level.
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        available = self.series_indicators()
        inds = list(dict.fromkeys(indicators)) if indicators is not None else available
        unknown = [i for i in inds if i not in available]
        if unknown and available:
            raise ConfigError(
                str(self.folder / "series"), "indicators", f"series indicators ({', '.join(available)})", unknown
            )
        if not inds or not available:
            return _empty(BAND_COLUMNS, level)
        q_lo, q_hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
        parts = []
        for label, ids in self._ids_by_label():
            df = self._read_many("series", ids, [*_KEYS, *inds])
            if df is None:
                continue
            df["region"] = df["region"].astype(str)
            g = df.melt(id_vars=list(_KEYS), value_vars=inds, var_name="indicator").groupby(
                ["region", "step", "year", "indicator"], sort=False
            )["value"]
            agg = pd.DataFrame({"mean": g.mean(), "lo": g.quantile(q_lo), "hi": g.quantile(q_hi), "n": g.count()})
            parts.append(agg.reset_index().assign(scenario=label))
        if not parts:
            return _empty(BAND_COLUMNS, level)
        out = pd.concat(parts, ignore_index=True)
        out = out[out["n"] > 0]
        out = _ordered(out, scenario=self.labels, region=list(REGIONS), indicator=inds, by=["step"])
        out["n"] = out["n"].astype(int)
        out.attrs["level"] = level
        return out[list(BAND_COLUMNS)]

    # ---- flows --------------------------------------------------------------------------------------------
    def flows(self) -> pd.DataFrame:
        """Origin x destination flows over the run per scenario and flow: mean across seeds and n."""
        parts = []
        for label, ids in self._ids_by_label():
            df = self._read_many("flows", ids, ["origin", "destination", "value", "flow"])
            if df is not None:
                parts.append(df.assign(scenario=label))
        if not parts:
            return _empty(FLOW_COLUMNS)
        df = pd.concat(parts, ignore_index=True)
        out = (
            df.groupby(["scenario", "flow", "origin", "destination"], sort=False)["value"]
            .agg(value="mean", n="count")
            .reset_index()
        )
        flows = [*FLOW_NAMES, *sorted(set(out["flow"]) - set(FLOW_NAMES))]
        out = _ordered(out, scenario=self.labels, flow=flows, origin=list(REGIONS), destination=list(REGIONS))
        return out[list(FLOW_COLUMNS)]

    # ---- comparison and sensitivity -------------------------------------------------------------------------
    def comparison(self, metrics: Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        """Paired comparison of every scenario (or design point) with :attr:`baseline` (the first label for
        lever designs): :func:`jjjsim.experiments.compare.compare`; ``attrs`` record the level and baseline."""
        baseline = self.baseline or self.labels[0]
        runs = self.runs.rename(columns={"label": "scenario"})
        try:
            out = compare(
                runs, baseline=baseline, metrics=list(metrics) if metrics is not None else self.metrics(), level=level
            )
        except ValueError as err:
            raise ConfigError(
                str(self.folder), "runs", "runs that pair by seed with the baseline's for a comparison", str(err)
            ) from None
        out.attrs.update(level=level, baseline=baseline)
        return out

    def dose_tables(
        self,
        metrics: Sequence[str] | None = None,
        amount: float | None = None,
        level: float = 0.95,
        cost: str = "public_cost",
    ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The dose-response and the equal-cost tables of a scenario design with doses
        (:func:`jjjsim.experiments.dose.dose_response` with the lever settings of each dose in ``change``, and
        :func:`jjjsim.experiments.dose.equal_cost` of every metric but the cost, measures without a public cost of
        their own found by :func:`~jjjsim.experiments.dose.no_cost_measures`, on/off switches those of choice
        levers only); None without doses or a cost column. ``amount`` is the common extra cost (default: the
        largest every costly measure reaches)."""
        from .dose import dose_response, equal_cost, no_cost_measures

        doses = self.doses()
        if doses is None or cost not in self.runs or self.baseline is None:
            return None
        runs = self.runs.rename(columns={"label": "scenario"})
        metrics = list(metrics) if metrics is not None else self.metrics()
        levers: dict[str, Collection[str]] = {
            str(m): set().union(*g["levers"]) for m, g in doses.groupby("measure", sort=False)
        }
        try:
            response = dose_response(runs, doses, baseline=self.baseline, metrics=metrics, cost=cost, level=level)
            free = no_cost_measures(runs, doses, levers, baseline=self.baseline)
            switches = [
                m for m, lv in levers.items() if all(REGISTRY[x.partition(".")[0]].kind == "choice" for x in lv)
            ]
            equal = equal_cost(
                runs,
                doses,
                baseline=self.baseline,
                metrics=[m for m in metrics if m != cost],
                cost=cost,
                amount=amount,
                free=free,
                switches=[m for m in switches if m not in free],
                level=level,
            )
        except ValueError as err:
            raise ConfigError(
                str(self.folder), "runs", "dosed runs that pair by seed with the baseline's", str(err)
            ) from None
        response = response.merge(doses[["scenario", "change"]], on="scenario", how="left")
        response.attrs.update(level=level, baseline=self.baseline)
        return response, equal

    def sensitivity(self, metric: str) -> pd.DataFrame | None:
        """Sensitivity indices of ``metric`` for a Sobol' or Morris design (None for other designs):
        :func:`jjjsim.experiments.sensitivity.from_results`, the one implementation.

        Each design point's value is its mean across seeds. Sobol' (SALib ``sobol.analyze``, second order as
        sampled): one row per lever with ``parameter, S1, S1_conf, ST, ST_conf``; Morris (``morris.analyze``):
        ``parameter, mu_star, mu_star_conf, sigma, mu``; confidence intervals at 95 % (bootstrap, fixed seed).
        """
        if self.design not in ("sobol", "morris"):
            return None
        from .sensitivity import from_results

        return from_results(self, metric)

    # ---- helpers ------------------------------------------------------------------------------------------
    def _files(self, sub: str) -> list[Path]:
        ids = dict.fromkeys(self.runs["run_id"])
        return [p for p in (self.folder / sub / f"{i}.parquet" for i in ids) if p.exists()]

    def _ids_by_label(self) -> list[tuple[str, list[str]]]:
        groups = self.runs.groupby("label", sort=False)["run_id"]
        return [(str(label), list(dict.fromkeys(ids))) for label, ids in groups]

    def _read_many(self, sub: str, ids: list[str], columns: list[str]) -> pd.DataFrame | None:
        """The given runs' files of ``sub`` (those that exist and read), as one frame, or None."""
        tables = []
        for run_id in ids:
            path = self.folder / sub / f"{run_id}.parquet"
            if not path.exists():
                continue
            try:
                tables.append(pq.read_table(path, columns=columns).to_pandas())
            except (*_READ_ERRORS, KeyError):
                continue
        return pd.concat(tables, ignore_index=True) if tables else None


def _text(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _empty(columns: Sequence[str], level: float | None = None) -> pd.DataFrame:
    out = pd.DataFrame(
        {c: pd.Series(dtype=float if c in ("mean", "lo", "hi", "value", "year") else object) for c in columns}
    )
    if level is not None:
        out.attrs["level"] = level
    return out


def _ordered(df: pd.DataFrame, by: Sequence[str] = (), **orders: list[str]) -> pd.DataFrame:
    """``df`` sorted by the given columns in the given orders (values not listed last), then by ``by``."""
    keys = {c: df[c].map({v: i for i, v in enumerate(order)}).fillna(len(order)) for c, order in orders.items()}
    tmp = df.assign(**{f"_k_{c}": k for c, k in keys.items()})
    cols = [f"_k_{c}" for c in orders] + list(by)
    return tmp.sort_values(cols, kind="stable").drop(columns=[f"_k_{c}" for c in orders]).reset_index(drop=True)


# ---- loading --------------------------------------------------------------------------------------------------


def load_results(folder: str | Path) -> Results:
    """Read a results folder written by ``jjjsim sweep``: the runs every reader sees
    (:func:`jjjsim.experiments.store.read_folder`: the run files in runs/ that are runs of the experiment, and
    runs.parquet only where it holds exactly those; stray files are ignored and listed in ``runs.attrs``).
    The manifest's ``runs_done`` and ``runs_failed`` are those counted here.

    Raises:
        ConfigError: the folder is missing or not a folder, has no manifest.json, an unreadable one, one that is
            not an object or was edited by hand (its digest is not its definition's), an unreadable failure
            record, or no finished run can be read (a corrupt runs.parquet falls back to the run files in runs/).
    """
    contents = read_folder(folder)
    folder, manifest = contents.folder, dict(contents.manifest)
    definition = manifest["definition"]
    table = contents.runs
    if table.empty:
        failed = len(contents.failures)
        found = "a corrupt runs.parquet and no readable run file" if contents.consolidated == "corrupt" else "none"
        raise ConfigError(
            str(folder),
            "runs",
            "at least one finished run (runs.parquet or runs/*.parquet)",
            found + (f" ({failed} failed)" if failed else ""),
        )
    exp = contents.experiment
    runs = _in_experiment_order(table, exp) if exp is not None else None
    if runs is None or runs.empty:  # the definition no longer resolves to the runs that were made
        exp, runs = None, _stored_order(table, definition)
    runs.attrs["stray"] = list(contents.stray)
    manifest.update(runs_done=len(table), runs_failed=len(contents.failures))
    labels = [str(x) for x in dict.fromkeys(runs["label"])]
    design = definition["design"]["kind"]
    baseline = ("baseline" if "baseline" in labels else labels[0]) if design == "scenarios" else None
    if design == "scenarios" and "doses" in definition["design"] and exp is not None:
        baseline = exp.runs[0].label if exp.runs[0].label in labels else None  # the reference of the doses
    return Results(
        folder=folder,
        manifest=manifest,
        name=str(manifest.get("name", definition.get("name", folder.name))),
        description=str(manifest.get("description", "")),
        design=design,
        runs=runs,
        labels=labels,
        baseline=baseline,
        levers=[c.removeprefix("point.") for c in runs.columns if c.startswith("point.")],
        has_series=any((folder / "series").glob("*.parquet")),
        has_flows=any((folder / "flows").glob("*.parquet")),
        experiment=exp,
    )


def _in_experiment_order(table: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    """One row per run of the experiment that finished, in its order and with its label (a run shared by two
    design points, being the same simulation, is stored once and appears under each)."""
    by_id = table.set_index("run_id")
    specs = [s for s in exp.runs if s.run_id in by_id.index]
    out = by_id.loc[[s.run_id for s in specs]].reset_index()
    out["label"] = [s.label for s in specs]
    return out


def _stored_order(table: pd.DataFrame, definition: dict[str, Any]) -> pd.DataFrame:
    """The stored rows, scenarios in the definition's order, design points by label."""
    order = [Path(str(s)).stem for s in definition["design"].get("scenarios", [])]
    labels = order + sorted(set(table["label"]) - set(order))
    return _ordered(table, label=labels)
