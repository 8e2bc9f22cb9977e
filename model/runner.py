"""``run()``: the one entry point that the command line, sweeps, SALib and the app all call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .achievements import LICENSED
from .agents.fund import ACTIVE, COLLABORATIVE
from .budget import Budget
from .errors import check_seed
from .metrics import MODEL_INDICATORS, SUMMARY_YEAR, TRANSFER_WINDOW
from .model import JJJModel
from .observe import Observer
from .params import Params, defaults
from .policy import frame as lever_frame
from .provenance import versions
from .regions import JJJ, REGIONS
from .scenario import Scenario, load_scenario

FLOW_NAMES = ("contract_value", "contract_count", "talent_moves")


@dataclass
class RunResult:
    """Everything one run produced, with the parameters and seed that made it.

    Attributes:
        series: tidy per-step, per-region indicators (one row per step and region).
        model_series: per-step model-level indicators.
        flows: cumulative origin x destination matrices (rows: origin, columns: destination).
        summary: final indicators (flat name -> number).
        params: the resolved parameters; seed: the run's seed; scenario: its name.
        levers: the lever path the run followed, one row per step (``step``, ``year`` and one column per lever or
            ``lever.sub`` its timeline changes; only ``step`` and ``year`` without a timeline). Step 0 holds the
            values of the set-up, step k those in force in the quarter step k simulated (model/timeline.py).
    """

    series: pd.DataFrame
    model_series: pd.DataFrame
    flows: dict[str, pd.DataFrame]
    summary: dict[str, float]
    params: dict[str, Any]
    seed: int
    scenario: str = "custom"
    meta: dict[str, Any] = field(default_factory=dict)
    levers: pd.DataFrame = field(default_factory=pd.DataFrame)
    observed: dict[str, Any] = field(default_factory=dict)
    """What the run's observers (``run(observers=...)``, :mod:`.observe`) reported, by observer name."""

    @property
    def has_timeline(self) -> bool:
        """Whether the run followed a timeline (its lever path has a lever column)."""
        return len(self.levers.columns) > 2

    def digest(self) -> str:
        """A hash of every output table (bit-level reproducibility checks)."""
        h = hashlib.sha256()
        for df in (self.series, self.model_series, *self.flows.values()):
            _hash_frame(h, df)
        if self.has_timeline:  # a run without a timeline keeps the digest it had before timelines existed
            _hash_frame(h, self.levers)
        h.update(json.dumps(self.summary, sort_keys=True).encode())
        return h.hexdigest()

    def save(self, out: str | Path) -> Path:
        """Write series (Parquet), flow matrices (CSV), summary and a JSON manifest into ``out``; a run with a
        timeline also writes its lever path (``levers.parquet``, read back by :func:`read_levers`)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.series.to_parquet(out / "series.parquet", index=False)
        self.model_series.to_parquet(out / "model_series.parquet", index=False)
        if self.has_timeline:
            self.levers.to_parquet(out / "levers.parquet", index=False)
        for name, df in self.flows.items():
            df.to_csv(out / f"flows_{name}.csv")
        manifest = {
            "scenario": self.scenario,
            "seed": self.seed,
            "params": self.params,
            "summary": self.summary,
            "digest": self.digest(),
            **self.meta,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float))
        return out


def read_levers(folder: str | Path) -> pd.DataFrame:
    """The lever path a saved run followed (``levers.parquet``; only ``step`` and ``year`` from
    ``model_series.parquet`` for a run without a timeline)."""
    folder = Path(folder)
    if (folder / "levers.parquet").exists():
        return pd.read_parquet(folder / "levers.parquet")
    return pd.read_parquet(folder / "model_series.parquet", columns=["step", "year"])


def _hash_frame(h: Any, df: pd.DataFrame) -> None:
    """Feed a frame's shape, labels, dtypes and values to ``h``: numeric columns as one float64 block (exact for
    integers below 2**53; the dtypes are hashed too), categories as codes, anything else as text."""
    dtypes = list(df.dtypes)
    index = repr(df.index) if isinstance(df.index, pd.RangeIndex) else [str(i) for i in df.index]
    h.update(json.dumps([list(df.shape), [str(c) for c in df.columns], [str(t) for t in dtypes], index]).encode())
    numeric = [isinstance(t, np.dtype) and t.kind in "biuf" for t in dtypes]
    block = df if all(numeric) else df.select_dtypes("number")
    h.update(np.ascontiguousarray(block.to_numpy(dtype=np.float64)).tobytes())
    for name, dtype, is_number in zip(df.columns, dtypes, numeric, strict=True):
        if is_number:
            continue
        if isinstance(dtype, pd.CategoricalDtype):
            h.update(df[name].cat.codes.to_numpy().tobytes() + json.dumps(list(map(str, dtype.categories))).encode())
        else:
            h.update(json.dumps([str(v) for v in df[name]]).encode())


def resolve(scenario: str | Path | Scenario | Params | dict[str, Any] | None) -> tuple[str, Params]:
    """Name and parameters of a scenario given as a name, a path, a Scenario, Params or overrides."""
    if scenario is None:
        return "baseline", load_scenario("baseline").params
    if isinstance(scenario, Scenario):
        return scenario.name, scenario.params
    if isinstance(scenario, Params):
        return "custom", scenario
    if isinstance(scenario, dict):
        return "custom", defaults().replace(scenario, where="run() overrides")
    s = load_scenario(scenario)
    return s.name, s.params


def run(
    scenario: str | Path | Scenario | Params | dict[str, Any] | None = "baseline",
    seed: int = 0,
    steps: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    budget: Budget | None = None,
    observers: Sequence[Observer] = (),
) -> RunResult:
    """Run one simulation; a plain, picklable function of its arguments.

    Args:
        scenario: a scenario name or file, a :class:`Scenario`, a :class:`Params`, or a dict of
            overrides of the registry defaults.
        seed: the run's seed; all randomness comes from ``numpy.random.SeedSequence(seed)``.
        steps: quarters to run (default: the scenario's ``steps``).
        overrides: further parameter overrides (validated against the registry).
        progress: called as ``progress(step, steps)`` after every step.
        budget: caps on the run's agent-steps and memory (default :class:`Budget`); a run past a cap raises
            :class:`~.budget.BudgetExceeded` (a ConfigError: one line saying which cap and how to raise it).
        observers: named observers of the model's state (:class:`~.observe.Observer`, e.g.
            :class:`~.observe.YearlyStatistics`), called after the set-up and after every step; their results are
            in ``RunResult.observed``.
    """
    seed = check_seed(seed, "run()")
    name, params = resolve(scenario)
    if overrides:
        params = params.replace(overrides, where="overrides")
    if steps is not None:
        params = params.replace({"steps": steps}, where="steps")
    model = JJJModel(params, rng=np.random.SeedSequence(seed), budget=budget)
    n = int(params.steps)
    for ob in observers:
        ob.start(model)
    for k in range(n):
        model.step()
        for ob in observers:
            ob.step(model)
        if progress is not None:
            progress(k + 1, n)
    result = collect(model, name, seed)
    result.observed = {ob.name: ob.result(model) for ob in observers}
    return result


def collect(model: JJJModel, scenario: str, seed: int) -> RunResult:
    """Turn a finished model into a :class:`RunResult`."""
    series, model_series = model.recorder.frames(int(model.p.start_year))
    f = model.flows
    flows = {
        k: pd.DataFrame(
            getattr(f, k), index=pd.Index(REGIONS, name="origin"), columns=pd.Index(REGIONS, name="destination")
        )
        for k in FLOW_NAMES
    }
    return RunResult(
        series=series,
        model_series=model_series,
        flows=flows,
        summary=summarise(model, series, model_series),
        params=(model.lever_path.params if getattr(model, "lever_path", None) else model.p).to_dict(),
        seed=seed,
        scenario=scenario,
        meta=_meta(),
        levers=lever_frame(model),
    )


def _firm_weighted(values: pd.Series, firms: pd.Series) -> float:
    """Mean weighted by firms alive; NaN when no firm is left (a run at extreme parameters can lose them all)."""
    total = float(firms.sum())
    return float((values * firms).sum() / total) if total > 0 else float("nan")


def summarise(model: JJJModel, series: pd.DataFrame, ms: pd.DataFrame) -> dict[str, float]:
    """Final indicators of a run (cumulative over the run where a flow, last year where a level)."""
    run = series[series.step > 0]
    jjj = run[run.region.isin(JJJ)]
    last = series[series.step == series.step.max()].set_index("region")
    last_year = ms[ms.step > ms.step.max() - SUMMARY_YEAR]
    res = model.results
    cohorts = (res.born > 0) & (res.born <= model.steps - TRANSFER_WINDOW)
    licensed = cohorts & (res.status == LICENSED) & (res.licensed - res.born <= TRANSFER_WINDOW)
    f = model.flows
    bj_out = f.contract_value[0].sum() - f.contract_value[0, 0]
    fd, inv = model.fund, model.investments
    collab = np.isin(inv.fund, np.flatnonzero(fd.kind == COLLABORATIVE))
    closed = collab & (inv.status != ACTIVE)
    out: dict[str, float] = {
        "results": jjj.results.sum(),
        "results_quality": jjj.results_quality.sum(),
        "results_tianjin_hebei": jjj[jjj.region.isin(["Tianjin", "Hebei"])].results.sum(),
        "mean_result_quality": jjj.results_quality.sum() / max(jjj.results.sum(), 1),
        "duplicates": jjj.duplicates.sum(),
        "transformation_rate": licensed.sum() / max(cohorts.sum(), 1),
        "contract_value": f.contract_value[:3].sum(),
        "bj_to_tjhb_contract_value": f.contract_value[0, 1] + f.contract_value[0, 2],
        "bj_to_tjhb_share_of_bj_outflow": (f.contract_value[0, 1] + f.contract_value[0, 2]) / max(bj_out, 1e-12),
        "cross_region_contract_value": f.contract_value[:3, :3].sum() - np.trace(f.contract_value[:3, :3]),
        "value_added": jjj.value_added.sum(),
        "branches": last.loc[list(JJJ), "branches"].sum(),
        "theil_value_added": last_year.theil_value_added.mean(),
        "theil_results": last_year.theil_results.mean(),
        "collab_fund_invested": fd.invested[fd.kind == COLLABORATIVE].sum(),
        "collab_fund_roi": (inv.proceeds[closed].sum() / inv.amount[closed].sum() - 1.0) if closed.any() else np.nan,
        "collab_fund_expected_multiple": ms.collab_fund_expected_multiple.iloc[-1],
        "private_crowd_in": fd.crowd_in.sum(),
        "public_cost": ms.public_cost[ms.step > 0].sum(),
        "talent_moves": f.talent_moves.sum() - np.trace(f.talent_moves),
        "firm_entries": jjj.firm_entries.sum(),
        "spinoffs": jjj.spinoffs.sum(),
        "efficiency_spread": ms.efficiency_spread[(ms.step > 0) & (ms.step % 4 == 0)].mean(),  # at evaluations
        "productivity": _firm_weighted(last.loc[list(JJJ), "productivity"], last.loc[list(JJJ), "firms"]),
    }
    for name in MODEL_INDICATORS:  # each measure's public outlay over the run (they sum to public_cost)
        if name.startswith("cost."):
            out[name] = ms[name][ms.step > 0].sum()
    moves = f.talent_moves * model.fte_per_agent
    for i, r in enumerate(REGIONS):
        out[f"talent_fte.{r}"] = last.loc[r, "talent_fte"]
        out[f"talent_net_outflow.{r}"] = moves[i].sum() - moves[:, i].sum()  # FTE moved out less moved in
        if r != "Outside":
            out[f"results.{r}"] = jjj[jjj.region == r].results.sum()
            out[f"value_added_last_quarter.{r}"] = last.loc[r, "value_added"]
    return {k: float(v) for k, v in out.items()}


def _meta() -> dict[str, Any]:
    v = versions()
    return {"versions": {k: x for k, x in v.items() if k != "python"}, "python": v["python"],
            "model_indicators": list(MODEL_INDICATORS)}  # fmt: skip
