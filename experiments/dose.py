"""Effects of measures run at several doses: the dose-response and the effects at equal public cost.

A scenario design with ``doses`` (:mod:`.definition`) runs each measure at multiples of its change from the
reference scenario (the baseline), on the baseline's seeds. The input is the table of finished runs that
:func:`jjjsim.experiments.compare.compare` takes (``scenario``, ``seed``, metric columns, the cost column) and
the dose of each label (``doses``: columns ``scenario``, ``measure``, ``dose``).

* :func:`dose_response`: per measure, dose and metric, the paired difference from the baseline with its t
  interval, the extra public cost with its interval, and the outcome gained per unit of extra cost with its
  Fieller interval (:func:`~jjjsim.experiments.compare.ratio_interval`); one call of ``compare``.
* :func:`equal_cost`: per measure and metric, the effect of the measure scaled to one common extra public cost
  ``amount``. The dose reaching it is found on the measure's mean extra cost, linear between the two tested doses
  around it (dose 0, the baseline itself, costing nothing extra); the outcome is interpolated with the same weights
  seed by seed, so its interval is across seeds, paired with the baseline. Nothing is extrapolated beyond the
  largest dose. The default amount is the largest that every measure with a public cost of its own reaches.
* :func:`no_cost_measures`: the measures that spend no public money of their own (their outlays,
  ``cost.<key>`` of :mod:`jjjsim.model.costs`, never above the baseline's): for them an effect "at a given cost"
  does not exist, and :func:`equal_cost` reports their effect at their own setting instead, as it does for on/off
  switches (measures of choice levers only, such as the evaluation regime), which have no dose to scale.

Pure computation: no model runs and no files.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np
import pandas as pd

from .compare import SCENARIO, SEED, compare, t_interval

DOSE_COLUMNS = (
    "measure",
    "dose",
    "scenario",
    "metric",
    "n_pairs",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "p_holm",
    "significant",
    "extra_cost",
    "extra_cost_ci_low",
    "extra_cost_ci_high",
    "gain_per_cost",
    "gain_per_cost_ci_low",
    "gain_per_cost_ci_high",
)
EQUAL_COST_COLUMNS = (
    "measure",
    "metric",
    "amount",
    "status",
    "dose",
    "segment",
    "n_pairs",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "per_cost",
    "per_cost_ci_low",
    "per_cost_ci_high",
)
INTERPOLATED = "interpolated"
BEYOND = "beyond the largest dose"
CHEAPER = "costs no more than the baseline"
NO_COST = "no public cost of its own (effect at its own setting)"
SWITCH = "an on/off switch, not scalable (effect at its own setting)"
AT_OWN = (NO_COST, SWITCH)
"""The statuses of measures reported at their own setting rather than at the common cost."""


def _check_doses(doses: pd.DataFrame, runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    missing = [c for c in (SCENARIO, "measure", "dose") if c not in doses.columns]
    if missing:
        raise ValueError(f"doses table has no column(s) {missing}")
    have = set(runs[SCENARIO])
    out = doses[doses[SCENARIO].isin(have) & (doses[SCENARIO] != baseline)].drop_duplicates(SCENARIO)
    if out.empty:
        raise ValueError("no dosed measure has finished runs")
    if not (out["dose"] > 0).all():
        raise ValueError("doses must be > 0 (dose 0 is the baseline)")
    return out


def dose_response(
    runs: pd.DataFrame,
    doses: pd.DataFrame,
    *,
    baseline: str = "baseline",
    metrics: Sequence[str] | None = None,
    cost: str = "public_cost",
    level: float = 0.95,
) -> pd.DataFrame:
    """Per measure, dose and metric: the paired comparison with the baseline and the gain per extra cost.

    Args:
        runs: one row per finished run (``scenario``, ``seed``, metrics, ``cost``).
        doses: the dose of each dosed label (``scenario``, ``measure``, ``dose``); other labels are ignored.
        baseline: the reference label (dose 0).
        metrics: the metrics (default: every numeric column, the cost included).
        cost: the column of public money spent per run.
        level: confidence level.

    Returns:
        :data:`DOSE_COLUMNS`, measures in the order of ``doses``, doses ascending. ``extra_cost`` and its interval
        are the paired difference of ``cost``; Holm's correction runs over every row of the comparison.
    """
    if cost not in runs.columns:
        raise ValueError(f"runs table has no cost column {cost!r}")
    doses = _check_doses(doses, runs, baseline)
    keep = runs[runs[SCENARIO].isin([baseline, *doses[SCENARIO]])]
    wanted = None if metrics is None else list(dict.fromkeys([*metrics, cost]))
    table = compare(keep, baseline=baseline, metrics=wanted, cost=cost, level=level)
    table = table[table[SCENARIO] != baseline]
    costs = table[table.metric == cost].set_index(SCENARIO)[["diff", "diff_ci_low", "diff_ci_high"]]
    costs.columns = ["_c", "extra_cost_ci_low", "extra_cost_ci_high"]
    out = table.merge(doses[[SCENARIO, "measure", "dose"]], on=SCENARIO).join(costs, on=SCENARIO)
    if metrics is not None and cost not in metrics:
        out = out[out.metric != cost]
    order = {m: i for i, m in enumerate(dict.fromkeys(doses["measure"]))}
    metric_order = {m: i for i, m in enumerate(dict.fromkeys(out.metric))}
    out = out.assign(_m=out.measure.map(order), _k=out.metric.map(metric_order))
    out = out.sort_values(["_m", "dose", "_k"], kind="stable").reset_index(drop=True)
    return out[list(DOSE_COLUMNS)]


def _wide(runs: pd.DataFrame, labels: Iterable[str], column: str) -> pd.DataFrame:
    """Seeds x labels of one column."""
    sub = runs[runs[SCENARIO].isin(list(labels))]
    return sub.pivot(index=SEED, columns=SCENARIO, values=column)


def no_cost_measures(
    runs: pd.DataFrame, doses: pd.DataFrame, levers: dict[str, Collection[str]], *, baseline: str = "baseline"
) -> list[str]:
    """The measures whose own outlays (the ``cost.<key>`` columns of the levers they change, keys from
    :data:`jjjsim.model.costs.LEVER_OUTLAY`) are on average no higher than the baseline's at every dose.

    Args:
        runs: the runs table (with the ``cost.*`` columns of the run summary).
        doses: as for :func:`dose_response`.
        levers: the levers each measure changes (``name`` or ``name.sub``).
        baseline: the reference label.

    Returns:
        Those measures, in the order of ``doses``; a measure whose outlay columns are missing is never among them.
    """
    from jjjsim.model.costs import LEVER_OUTLAY

    doses = _check_doses(doses, runs, baseline)
    out = []
    for measure, group in doses.groupby("measure", sort=False):
        keys = sorted({LEVER_OUTLAY.get(lv.partition(".")[0], "") for lv in levers.get(str(measure), ())} - {""})
        cols = [f"cost.{k}" for k in keys]
        if not cols or any(c not in runs.columns for c in cols):
            continue
        own = runs.assign(_own=runs[cols].sum(axis=1))
        wide = _wide(own, [baseline, *group[SCENARIO]], "_own")
        extra = wide[list(group[SCENARIO])].sub(wide[baseline], axis=0).mean()
        if bool((extra <= 0).all()):
            out.append(str(measure))
    return out


def default_amount(curves: dict[str, list[tuple[float, float]]], free: Collection[str] = ()) -> float:
    """The largest extra cost every measure with a cost of its own reaches within its doses: the smallest of their
    largest mean extra costs (``curves``: measure -> [(dose, mean extra cost)]); NaN if none costs more."""
    tops = [max(c for _, c in pts) for m, pts in curves.items() if m not in free and pts]
    tops = [t for t in tops if t > 0]
    return float(min(tops)) if tops else np.nan


def _crossing(points: list[tuple[float, float]], amount: float) -> tuple[int, float] | None:
    """The first segment ``i`` of (dose, cost) ``points`` (dose 0 at cost 0 first) whose cost spans ``amount``,
    and the weight of its upper end."""
    for i in range(len(points) - 1):
        c0, c1 = points[i][1], points[i + 1][1]
        if c0 != c1 and min(c0, c1) <= amount <= max(c0, c1):
            return i, (amount - c0) / (c1 - c0)
    return None


def equal_cost(
    runs: pd.DataFrame,
    doses: pd.DataFrame,
    *,
    baseline: str = "baseline",
    metrics: Sequence[str] | None = None,
    cost: str = "public_cost",
    amount: float | None = None,
    free: Collection[str] = (),
    switches: Collection[str] = (),
    level: float = 0.95,
) -> pd.DataFrame:
    """Each measure's effect, per metric, when scaled to the same mean extra public cost ``amount``.

    For a measure tested at doses d_1 < ... < d_k, with mean extra costs c_1 ... c_k over the seeds it shares with
    the baseline (dose 0 costs c_0 = 0), the first segment [d_i, d_i+1] whose costs span ``amount`` gives the weight
    ``w = (amount - c_i) / (c_i+1 - c_i)`` and the dose ``d_i + w (d_i+1 - d_i)``. Each seed's effect there is
    ``(1 - w) D_i + w D_i+1``, with D the seed's paired difference from the baseline (D_0 = 0); ``effect`` is its
    mean with a t interval across seeds, and ``per_cost`` the same over ``amount`` (outcome per unit of cost);
    ``segment`` names the two doses (``0-0.5``: between the baseline and the lowest dose).

    Args:
        runs: one row per finished run.
        doses: as for :func:`dose_response`.
        baseline: the reference label.
        metrics: the outcome metrics (default: every numeric column but the cost).
        cost: the column of public money spent per run.
        amount: the common extra cost (default: :func:`default_amount`, so that no measure is extrapolated).
        free: measures with no public cost of their own (:func:`no_cost_measures`): reported at their own setting
            (dose 1, else their largest dose), status :data:`NO_COST`, and left out of the default amount.
        switches: on/off measures (choice levers only): the same, status :data:`SWITCH`.
        level: confidence level.

    Returns:
        :data:`EQUAL_COST_COLUMNS`, one row per measure and metric; ``status`` says how the effect was found
        (:data:`INTERPOLATED`; :data:`BEYOND` or :data:`CHEAPER`: NaN effect; :data:`NO_COST`, :data:`SWITCH`).
        ``attrs["amount"]`` records the amount.
    """
    if cost not in runs.columns:
        raise ValueError(f"runs table has no cost column {cost!r}")
    if amount is not None and not (np.isfinite(amount) and amount > 0):
        raise ValueError(f"the common extra cost must be a number > 0, got {amount}")
    doses = _check_doses(doses, runs, baseline)
    if metrics is None:
        metrics = [
            c
            for c in runs.columns
            if c not in (SCENARIO, SEED, cost)
            and pd.api.types.is_numeric_dtype(runs[c])
            and not pd.api.types.is_bool_dtype(runs[c])
        ]
    metrics = list(metrics)
    groups = {str(m): g.sort_values("dose") for m, g in doses.groupby("measure", sort=False)}
    costs = _wide(runs, [baseline, *doses[SCENARIO]], cost)
    curves: dict[str, list[tuple[float, float]]] = {}
    seeds: dict[str, pd.Index] = {}
    for m, g in groups.items():
        labels = list(g[SCENARIO])
        ok = costs[[baseline, *labels]].dropna().index
        seeds[m] = ok
        extra = costs.loc[ok, labels].sub(costs.loc[ok, baseline], axis=0).mean()
        curves[m] = [(0.0, 0.0), *((float(d), float(extra[s])) for d, s in zip(g["dose"], labels, strict=True))]
    if amount is None:
        amount = default_amount({m: c[1:] for m, c in curves.items()}, {*free, *switches})
    rows = []
    for metric in metrics:
        values = _wide(runs, [baseline, *doses[SCENARIO]], metric)
        for m, g in groups.items():
            labels = list(g[SCENARIO])
            row: dict[str, object] = {"measure": m, "metric": metric, "amount": amount, "dose": np.nan, "segment": ""}
            ok = seeds[m].intersection(values[[baseline, *labels]].dropna().index)
            diffs = values.loc[ok, labels].sub(values.loc[ok, baseline], axis=0).to_numpy(dtype=float)
            diffs = np.column_stack([np.zeros(len(ok)), diffs])  # dose 0: the baseline itself
            hit = None
            if m in free or m in switches:
                j = int(np.flatnonzero(g["dose"].to_numpy() == 1)[0]) + 1 if (g["dose"] == 1).any() else len(labels)
                row.update(status=NO_COST if m in free else SWITCH, dose=curves[m][j][0])
                effect = diffs[:, j]
            elif np.isfinite(amount) and (hit := _crossing(curves[m], amount)) is not None:
                i, w = hit
                (d0, _), (d1, _) = curves[m][i], curves[m][i + 1]
                row.update(status=INTERPOLATED, dose=d0 + w * (d1 - d0), segment=f"{d0:g}-{d1:g}")
                effect = (1.0 - w) * diffs[:, i] + w * diffs[:, i + 1]
            else:
                top = max(c for _, c in curves[m][1:])
                row["status"] = CHEAPER if top <= 0 else BEYOND
                effect = np.array([])
            mean, lo, hi = t_interval(effect, level)
            scale = amount if row["status"] == INTERPOLATED else np.nan
            row.update(
                n_pairs=int(effect.size),
                effect=mean,
                effect_ci_low=lo,
                effect_ci_high=hi,
                per_cost=mean / scale,
                per_cost_ci_low=lo / scale,
                per_cost_ci_high=hi / scale,
            )
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(EQUAL_COST_COLUMNS))
    out["n_pairs"] = out["n_pairs"].astype("Int64")
    out.attrs.update(amount=amount, level=level, curves=curves)
    return out
