"""``jjjsim reproduce E1`` … ``E7``: regenerate a published experiment's results, report and tables into a folder.

Each experiment lives in ``experiments/E<k>-<name>/`` with a README (question, design, command, run time,
outputs) and its definition files. Reproducing one runs its sweeps through the ordinary sweep engine (so it
resumes after an interruption and runs locally or on Dask), writes each sweep's HTML report, computes the
experiment's own tables, and records everything in ``manifest.json``. ``quick=True`` runs a reduced version
(a few seeds, a tiny agent scale, few quarters) in well under a minute: it exercises the whole pipeline, but
its numbers are not the findings.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from jjjsim.model.param import ConfigError
from scipy import stats

from .compare import compare, holm, t_interval
from .definition import Experiment, builtin_dir, experiment_from_definition
from .store import _versions
from .sweep import load_runs, sweep

HERE = Path(__file__).parent
QUICK = {"seeds": 3, "scale": 0.02, "steps": 8}
"""The reduced size of every quick version: seeds, agent scale and quarters."""
QUICK_SAMPLES = {"lhs": 6, "sobol": 4, "morris": 2}
"""Design points (or base samples, trajectories) of a sampled design in its quick version."""


@dataclass(frozen=True)
class Published:
    """One published experiment: its id, folder, question and the function that reproduces it."""

    key: str
    folder: str
    question: str
    run: Callable[[Path, bool, int | None, str | None], dict[str, Any]]


# ---- shared steps ---------------------------------------------------------------------------------------------


def _definition(path: Path, quick: bool, **changes: Any) -> dict[str, Any]:
    """An experiment definition read from ``path``, reduced to the quick size if asked, with ``changes``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if quick:
        data["seeds"] = {"count": QUICK["seeds"], "root": data.get("seeds", {}).get("root", 1)}
        data["steps"] = QUICK["steps"]
        data.setdefault("overrides", {})["scale"] = QUICK["scale"]
        data["name"] = f"{data['name']}-quick"
        design = data.get("design", {})
        if design.get("kind") in ("lhs", "sobol", "morris"):
            design["samples"] = min(int(design["samples"]), QUICK_SAMPLES[design["kind"]])
    for key, value in changes.items():
        data[key] = value
    return data


def _prepare(data: dict[str, Any], out: Path, name: str) -> Experiment:
    """Write the definition into the output folder (so the folder describes itself) and resolve it."""
    path = out / f"{name}.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return experiment_from_definition(data, path)


Progress = Callable[[str, int, int, int], None]
"""Called as ``progress(sweep_name, done, failed, total)`` after each run of each sweep."""
_progress: list[Progress] = []  # the progress callback of the reproduce() call under way, if any


def _run_sweep(exp: Experiment, folder: Path, workers: int | None, dask: str | None) -> pd.DataFrame:
    tell = None
    if _progress:
        callback = _progress[-1]

        def tell(done: int, failed: int, total: int) -> None:
            callback(exp.name, done, failed, total)

    report = sweep(exp, folder, workers=workers, dask=dask, progress=tell)
    if report.failed:
        raise ConfigError(str(folder), "runs", "every run of the sweep to finish", f"{report.failed} failed runs")
    return load_runs(folder)


def _report(folder: Path, html: Path, metrics: list[str] | None = None) -> str:
    from jjjsim.viz.report import write_report

    return str(write_report(folder, html, metrics=metrics))


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", missing: str = "–", yes_no: bool = False) -> str:
    """A GitHub-flavoured markdown table (no extra dependency): numbers with ``floatfmt``, a NaN as ``missing``,
    booleans as yes/no with ``yes_no``."""
    cols = list(df.columns)

    def cell(v: Any) -> str:
        if yes_no and isinstance(v, bool | np.bool_):
            return "yes" if v else "no"
        if isinstance(v, float | np.floating):
            return missing if not np.isfinite(v) else format(v, floatfmt)
        return str(v)

    rows = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(rows) + "\n"


def _write_table(df: pd.DataFrame, out: Path, stem: str) -> list[str]:
    df.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.md").write_text(markdown_table(df), encoding="utf-8")
    return [f"{stem}.csv", f"{stem}.md"]


def _by_seed(runs: pd.DataFrame, label: str, metric: str) -> pd.Series:
    return runs[runs.label == label].set_index("seed")[metric]


def _ci_text(mean: float, lo: float, hi: float) -> str:
    return f"{mean:+,.4g} [{lo:+,.4g}, {hi:+,.4g}]"


# ---- E1: each measure of the brief against the baseline -------------------------------------------------------

E1_REGION_METRICS = ("value_added_last_quarter", "results", "talent_fte")


def e1(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E1: the brief-measures sweep, its report, and which measure helps which region, by how much, at what cost."""
    exp = _prepare(_definition(builtin_dir() / "brief-measures.toml", quick), out, "brief-measures")
    runs = _run_sweep(exp, out / "brief-measures", workers, dask).rename(columns={"label": "scenario"})
    regions = ("Beijing", "Tianjin", "Hebei")
    metrics = [f"{m}.{r}" for m in E1_REGION_METRICS for r in regions] + ["value_added", "public_cost"]
    table = compare(runs, baseline="baseline", metrics=metrics)
    files = _write_table(table, out, "comparison-by-region")
    rows = []
    for scenario in dict.fromkeys(table.scenario):
        if scenario == "baseline":
            continue
        sub = table[table.scenario == scenario].set_index("metric")
        row: dict[str, Any] = {"scenario": scenario}
        for m in E1_REGION_METRICS:
            for r in regions:
                x = sub.loc[f"{m}.{r}"]
                star = "*" if bool(x.significant) else ""
                row[f"{m} {r}"] = "–" if not np.isfinite(x.rel_change) else f"{x.rel_change:+.1%}{star}"
        row["extra public cost (亿元)"] = _ci_text(*sub.loc["public_cost", ["diff", "diff_ci_low", "diff_ci_high"]])
        gain, lo, hi = sub.loc["value_added", ["gain_per_cost", "gain_per_cost_ci_low", "gain_per_cost_ci_high"]]
        ci = f" [{lo:,.3g}, {hi:,.3g}]" if np.isfinite(lo) and np.isfinite(hi) else " [unbounded]"  # Fieller
        row["value added per extra 亿元 [95 % CI]"] = "–" if not np.isfinite(gain) else f"{gain:,.3g}{ci}"
        rows.append(row)
    files += _write_table(pd.DataFrame(rows), out, "which-measure-helps-which-region")
    return {
        "sweeps": {"brief-measures": "brief-measures"},
        "reports": {"brief-measures": _report(out / "brief-measures", out / "report-brief-measures.html")},
        "tables": files,
    }


# ---- E2 / E3: two-lever grids and their interaction -----------------------------------------------------------


def _interaction(
    runs: pd.DataFrame, a: str, b: str, lo_hi_a: tuple[Any, Any], lo_hi_b: tuple[Any, Any], metrics: list[str]
) -> pd.DataFrame:
    """Per metric, the paired 2x2 interaction contrast Y(a+, b+) - Y(a+, b-) - Y(a-, b+) + Y(a-, b-) across seeds
    with its 95 % t interval, and the two simple effects of ``a`` (at b- and at b+); Holm across metrics."""
    pa, pb = f"point.{a}", f"point.{b}"

    def label(va: Any, vb: Any) -> str:
        hit = runs[(runs[pa] == va) & (runs[pb] == vb)].label.unique()
        if len(hit) != 1:
            raise ValueError(f"the grid has no single point {a}={va}, {b}={vb}")
        return str(hit[0])

    (a0, a1), (b0, b1) = lo_hi_a, lo_hi_b
    cells = {k: label(*k) for k in ((a0, b0), (a1, b0), (a0, b1), (a1, b1))}
    rows = []
    for m in metrics:
        y = {k: _by_seed(runs, lab, m) for k, lab in cells.items()}
        seeds = sorted(set.intersection(*(set(s.dropna().index) for s in y.values())))
        v = {k: s.loc[seeds].to_numpy(dtype=float) for k, s in y.items()}
        at_b0, at_b1 = v[(a1, b0)] - v[(a0, b0)], v[(a1, b1)] - v[(a0, b1)]
        inter = at_b1 - at_b0
        mean, lo, hi = t_interval(inter)
        p = float(stats.ttest_1samp(inter, 0.0).pvalue) if inter.size > 1 and np.std(inter) > 0 else np.nan
        rows.append(
            {
                "metric": m,
                "pairs": len(seeds),
                f"effect of {a} at {b}={b0}": _ci_text(*t_interval(at_b0)),
                f"effect of {a} at {b}={b1}": _ci_text(*t_interval(at_b1)),
                "interaction": mean,
                "interaction_ci_low": lo,
                "interaction_ci_high": hi,
                "p_value": p,
            }
        )
    df = pd.DataFrame(rows)
    df["p_holm"] = holm(df.p_value.to_numpy())
    return df


def _grid_experiment(
    folder: str, metrics: list[str], out: Path, quick: bool, workers: int | None, dask: str | None
) -> tuple[Experiment, pd.DataFrame, dict[str, Any]]:
    path = HERE / folder / "grid.toml"
    exp = _prepare(_definition(path, quick), out, "grid")
    runs = _run_sweep(exp, out / "grid", workers, dask)
    report = _report(out / "grid", out / "report-grid.html", metrics)
    return exp, runs, {"sweeps": {"grid": "grid"}, "reports": {"grid": report}}


E2_METRICS = ["value_added", "results", "results_tianjin_hebei", "talent_fte.Hebei", "firm_entries", "public_cost"]


def e2(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E2: fund size x talent incentive in Hebei: complements (positive interaction) or substitutes (negative)?"""
    exp, runs, info = _grid_experiment("E2-fund-talent", E2_METRICS, out, quick, workers, dask)
    levers = exp.definition["design"]["levers"]
    fund, talent = levers["fund_size"], levers["talent_incentive.Hebei"]
    table = _interaction(
        runs, "fund_size", "talent_incentive.Hebei", (fund[0], fund[-1]), (talent[0], talent[-1]), E2_METRICS
    )
    table["reading"] = [
        _reading(r.interaction_ci_low, r.interaction_ci_high, "complements", "substitutes") for r in table.itertuples()
    ]
    info["tables"] = _write_table(table, out, "interaction") + _write_table(_means(runs, E2_METRICS), out, "means")
    return info


def _reading(lo: float, hi: float, plus: str, minus: str) -> str:
    if not np.isfinite(lo):
        return "too few seeds"
    if lo > 0:
        return plus
    if hi < 0:
        return minus
    return "no interaction detected"


def _means(runs: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    points = [c for c in runs.columns if c.startswith("point.")]
    g = runs.groupby(points, sort=True)[metrics]
    mean = g.mean().add_suffix(" mean")
    sd = g.std(ddof=1).add_suffix(" sd")
    return pd.concat([mean, sd], axis=1).reset_index()


E3_METRICS = ["efficiency_spread", "mean_result_quality", "duplicates", "results", "value_added"]


def e3(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E3: autonomy x evaluation regime: does differentiated evaluation make autonomy safe?

    "Safe": the rise in the spread of platform efficiency, and the fall in result quality, that high autonomy
    brings under the quantity-based evaluation are smaller (or reversed) under the differentiated one.
    """
    exp, runs, info = _grid_experiment("E3-autonomy-evaluation", E3_METRICS, out, quick, workers, dask)
    levers = exp.definition["design"]["levers"]
    aut, reg = levers["autonomy"], levers["evaluation_regime"]
    table = _interaction(runs, "autonomy", "evaluation_regime", (aut[0], aut[-1]), (reg[0], reg[-1]), E3_METRICS)
    table["reading"] = [
        _reading(
            r.interaction_ci_low,
            r.interaction_ci_high,
            "higher under differentiated",
            "lower under differentiated",
        )
        for r in table.itertuples()
    ]
    info["tables"] = _write_table(table, out, "interaction") + _write_table(_means(runs, E3_METRICS), out, "means")
    return info


# ---- E6: the best policy mix under a fixed public budget ------------------------------------------------------


def e6(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E6: the best mix of the costly levers under a budget on extra public cost, with its uncertainty.

    Two stages on the sweep engine (a ranking-and-selection search, as for stochastic simulation optimisation):
    a Latin hypercube of lever mixes, each run on a few common seeds with the baseline, screens for mixes whose
    mean extra public cost is within the budget and ranks them by the objective; the best few are then rerun as
    scenarios on fresh, more numerous common seeds, giving each its paired gain over the baseline with a 95 %
    interval, the probability of keeping within the budget, and the bootstrap probability of being the best.
    """
    cfg = tomllib.loads((HERE / "E6-budget-mix" / "config.toml").read_text(encoding="utf-8"))
    budget, objective, top = float(cfg["budget"]), str(cfg["objective"]), int(cfg["finalists"])
    if quick:
        top = min(top, 2)
    screen = _prepare(_definition(HERE / "E6-budget-mix" / "screen.toml", quick), out, "screen")
    base_def = _definition(HERE / "E6-budget-mix" / "screen.toml", quick)
    base_def.update(name=base_def["name"] + "-baseline", design={"kind": "scenarios", "scenarios": ["baseline"]})
    base_exp = _prepare(base_def, out, "screen-baseline")
    runs = _run_sweep(screen, out / "screen", workers, dask)
    base = _run_sweep(base_exp, out / "screen-baseline", workers, dask).set_index("seed")
    runs["extra_cost"] = runs.public_cost.to_numpy() - base.loc[runs.seed, "public_cost"].to_numpy()
    runs["gain"] = runs[objective].to_numpy() - base.loc[runs.seed, objective].to_numpy()
    points = [c for c in runs.columns if c.startswith("point.")]
    cand = runs.groupby("label", sort=False).agg({**{p: "first" for p in points}, "gain": "mean", "extra_cost": "mean"})
    cand["within_budget"] = cand.extra_cost <= budget
    cand = cand.sort_values(["within_budget", "gain"], ascending=[False, False])
    files = _write_table(cand.reset_index(), out, "screen-candidates")
    finalists = cand[cand.within_budget].head(top)
    if finalists.empty:
        raise ConfigError(
            str(HERE / "E6-budget-mix" / "config.toml"),
            "budget",
            "a budget that some screened mix keeps within",
            f"{budget} 亿元 (cheapest mix: {cand.extra_cost.min():,.4g})",
        )
    scen_dir = out / "finalists"
    scen_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (label, row) in enumerate(finalists.iterrows()):
        params: dict[str, Any] = {}
        for p in points:
            name, _, sub = p.removeprefix("point.").partition(".")
            value = row[p].item() if hasattr(row[p], "item") else row[p]
            if sub:
                params.setdefault(name, {})[sub] = value
            else:
                params[name] = value
        scen = {"description": f"E6 finalist {i + 1} (screening point {label})", "base": "baseline", "params": params}
        (scen_dir / f"mix-{i + 1}.toml").write_text(tomli_w.dumps(scen), encoding="utf-8")
        names.append(f"finalists/mix-{i + 1}.toml")
    final_def = _definition(HERE / "E6-budget-mix" / "final.toml", quick)
    final_def["design"] = {"kind": "scenarios", "scenarios": ["baseline", *names]}
    final = _prepare(final_def, out, "final")
    fruns = _run_sweep(final, out / "final", workers, dask).rename(columns={"label": "scenario"})
    table = compare(fruns, baseline="baseline", metrics=[objective, "results", "theil_value_added", "public_cost"])
    files += _write_table(table, out, "final-comparison")
    labels = list(dict.fromkeys(fruns.scenario))[1:]
    wide = fruns.pivot(index="seed", columns="scenario", values=[objective, "public_cost"])
    gains = wide[objective][["baseline", *labels]].to_numpy(dtype=float)
    costs = wide["public_cost"][["baseline", *labels]].to_numpy(dtype=float)
    gain, extra = gains[:, 1:] - gains[:, :1], costs[:, 1:] - costs[:, :1]
    rng = np.random.default_rng(int(cfg.get("bootstrap_seed", 0)))
    idx = rng.integers(0, gain.shape[0], size=(2000, gain.shape[0]))
    ok = extra[idx].mean(axis=1) <= budget  # (bootstrap, finalist): within the budget in that resample
    score = np.where(ok, gain[idx].mean(axis=1), -np.inf)
    best = np.bincount(score.argmax(axis=1), minlength=len(labels)) / idx.shape[0]
    rows = []
    for j, s in enumerate(labels):
        rows.append(
            {
                "mix": s,
                f"gain in {objective}": _ci_text(*t_interval(gain[:, j])),
                "extra public cost": _ci_text(*t_interval(extra[:, j])),
                "P(within budget)": float(ok[:, j].mean()),
                "P(best)": float(best[j]),
                **{p.removeprefix("point."): finalists.iloc[j][p] for p in points},
            }
        )
    summary = pd.DataFrame(rows)
    files += _write_table(summary, out, "best-mix")
    return {
        "budget": budget,
        "objective": objective,
        "best": summary.loc[summary["P(best)"].idxmax(), "mix"],
        "sweeps": {"screen": "screen", "screen-baseline": "screen-baseline", "final": "final"},
        "reports": {"final": _report(out / "final", out / "report-final.html")},
        "tables": files,
        "scenarios": names,
    }


# ---- E7: each measure at several doses, and all at equal public cost ------------------------------------------

E7_METRICS = [
    "value_added",
    "results",
    "cross_region_contract_value",
    "results_tianjin_hebei",
    "theil_value_added",
    "public_cost",
]


def e7(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    """E7: every measure at several doses of its change: its dose-response, its outcome gained per 亿元 at each
    dose (Fieller intervals), and its effect when scaled to one common extra public cost (interpolated between the
    doses around it, seed by seed; :mod:`jjjsim.experiments.dose`)."""
    from jjjsim.viz.data import load_results

    exp = _prepare(_definition(HERE / "E7-dose-cost" / "doses.toml", quick), out, "doses")
    _run_sweep(exp, out / "doses", workers, dask)
    tables = load_results(out / "doses").dose_tables(E7_METRICS)
    if tables is None:
        raise ConfigError(str(out / "doses"), "design.doses", "a scenario design with doses and a public cost", "none")
    response, equal = tables
    files = _write_table(response, out, "dose-response") + _write_table(equal, out, "equal-cost")
    summary = []
    for measure, g in equal.groupby("measure", sort=False):
        row: dict[str, Any] = {"measure": measure, "dose": g.dose.iloc[0], "how": g.status.iloc[0]}
        for r in g.itertuples():
            row[r.metric] = "–" if not np.isfinite(r.effect) else _ci_text(r.effect, r.effect_ci_low, r.effect_ci_high)
        summary.append(row)
    files += _write_table(pd.DataFrame(summary), out, "equal-cost-summary")
    return {
        "equal_cost": float(equal.attrs["amount"]),
        "sweeps": {"doses": "doses"},
        "reports": {"doses": _report(out / "doses", out / "report-doses.html", E7_METRICS)},
        "tables": files,
    }


# ---- E4, E5 and the registry ----------------------------------------------------------------------------------


def _e4(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    from .sensitivity import reproduce_e4

    summary = reproduce_e4(out, quick=quick, workers=workers, dask=dask)
    paths = summary.get("paths", {})
    reports = {k.removesuffix("_report"): v for k, v in paths.items() if k.endswith("_report")}
    tables = [Path(v).name for k, v in paths.items() if str(v).endswith(".csv")]
    return {**summary, "reports": reports, "tables": tables}


def _e5(out: Path, quick: bool, workers: int | None, dask: str | None) -> dict[str, Any]:
    from .calibration import reproduce_e5

    return reproduce_e5(out, quick=quick, workers=workers, dask=dask)


PUBLISHED: dict[str, Published] = {
    p.key: p
    for p in (
        Published("E1", "E1-brief-measures", "Which measure helps which region, by how much, at what public cost?", e1),
        Published("E2", "E2-fund-talent", "Fund size and talent incentives: complements or substitutes?", e2),
        Published("E3", "E3-autonomy-evaluation", "Does differentiated evaluation make autonomy safe?", e3),
        Published("E4", "E4-sensitivity", "Which levers and uncertain parameters drive the main outcomes?", _e4),
        Published("E5", "E5-calibration", "How well does the calibrated model fit, in and out of sample?", _e5),
        Published("E6", "E6-budget-mix", "The best policy mix under a fixed public budget, with its uncertainty", e6),
        Published("E7", "E7-dose-cost", "What does each measure do per dose, and at equal public cost?", e7),
    )
}


def reproduce(
    key: str,
    out: str | Path | None = None,
    *,
    quick: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Regenerate a published experiment (``E1`` … ``E7``) into ``out`` (default ``results/<key>[-quick]``).

    Returns the output folder, which holds ``manifest.json`` (what ran, with which code, how long, which files),
    the sweeps' results folders, their HTML reports and the experiment's tables (CSV and markdown).
    """
    pub = PUBLISHED.get(key.upper())
    if pub is None:
        raise ConfigError("reproduce", key, f"one of {', '.join(PUBLISHED)}", key)
    folder = Path(out) if out is not None else Path("results") / (pub.key + ("-quick" if quick else ""))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(str(folder), "--out", "a writable folder", f"{type(e).__name__}: {e.strerror}") from None
    started = time.time()
    if progress is not None:
        _progress.append(progress)
    try:
        outputs = pub.run(folder, quick, workers, dask)
    finally:
        if progress is not None:
            _progress.pop()
    manifest = {
        "experiment": pub.key,
        "question": pub.question,
        "definition_folder": f"experiments/{pub.folder}",
        "quick": quick,
        "command": " ".join(["jjjsim", *sys.argv[1:]]) if sys.argv and "jjjsim" in sys.argv[0] else None,
        "started": started,
        "finished": time.time(),
        "seconds": round(time.time() - started, 1),
        "versions": _versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "outputs": outputs,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return folder
