"""Scenario comparison: per-scenario means, paired differences against a baseline, Holm-corrected tests.

The input is the table of finished runs (one row per run) with a ``scenario`` label, the run's ``seed`` and one
numeric column per summary indicator (see :func:`jjjsim.model.runner.summarise`). Runs of a scenario are paired
with the baseline's runs of the same seed (common random numbers), so the noise the two share cancels in the
difference and the interval of the difference is narrower than an unpaired one would be.

For every scenario and metric the table reports:

* ``n``, ``mean``, ``ci_low``, ``ci_high``: runs with a value, their mean and its t interval across seeds;
* ``n_pairs``, ``diff``, ``diff_ci_low``, ``diff_ci_high``: pairs (seeds in both the scenario and the baseline, with
  a value in both), the mean paired difference scenario - baseline and its paired t interval;
* ``rel_change``: ``diff`` over the baseline's mean on the same pairs;
* ``p_value``: two-sided paired t-test (:func:`scipy.stats.ttest_rel`); ``p_holm``: Holm step-down adjustment
  across all non-baseline rows of the table; ``significant``: ``p_holm < 1 - level``;
* with a cost column: ``extra_cost`` (mean paired difference of the cost on the same pairs), ``gain_per_cost``
  (``diff / extra_cost``: outcome gained per unit of extra public money, i.e. per 亿元 for ``public_cost``; NaN
  where the extra cost is not positive or the metric is the cost itself) and its Fieller interval
  ``gain_per_cost_ci_low``, ``gain_per_cost_ci_high`` (:func:`ratio_interval`; NaN where the extra cost's own
  interval reaches zero, as the ratio is then unbounded).

The baseline's own rows carry its mean and interval, with missing differences and tests. Pure computation: no
model runs and no files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

SCENARIO = "scenario"
SEED = "seed"

COLUMNS = (
    "scenario",
    "metric",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "n_pairs",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "rel_change",
    "p_value",
    "p_holm",
    "significant",
)
COST_COLUMNS = ("extra_cost", "gain_per_cost", "gain_per_cost_ci_low", "gain_per_cost_ci_high")


def holm(p: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control), in the input's order.

    With the m finite p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of the i-th is
    ``max_{j <= i} min(1, (m - j + 1) * p_(j))``. NaN entries are left out of the family and stay NaN.

    Args:
        p: raw p-values.

    Returns:
        The adjusted p-values, same shape as ``p``.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.flatnonzero(np.isfinite(flat))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(flat[ok], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * flat[order]))
    res = out.ravel()
    res[order] = adjusted
    return res.reshape(p.shape)


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``x`` and its two-sided t interval (NaN bounds with fewer than two values).

    Args:
        x: values without NaN.
        level: confidence level of the interval.

    Returns:
        ``(mean, low, high)``.
    """
    n = x.size
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if n < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(x.std(ddof=1)) / np.sqrt(n)
    return mean, mean - half, mean + half


def ratio_interval(y: np.ndarray, c: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The ratio of means ``mean(y) / mean(c)`` of paired values and its Fieller interval.

    The interval is the set of ratios R for which ``mean(y) - R mean(c)`` is not significantly different from
    zero by a t-test across the n pairs: the roots of ``a R^2 - 2 b R + k = 0`` with ``q = t^2 / n``,
    ``a = mean(c)^2 - q var(c)``, ``b = mean(y) mean(c) - q cov(y, c)``, ``k = mean(y)^2 - q var(y)`` (sample
    (co)variances, t the two-sided ``level`` quantile with n - 1 degrees of freedom). It is bounded only when
    ``mean(c)`` is itself significantly different from zero (``a > 0``); otherwise both bounds are NaN. With a
    cost that does not vary across seeds it is the t interval of ``mean(y)`` divided by ``mean(c)``.

    Args:
        y: paired outcome differences, without NaN.
        c: paired cost differences on the same pairs.
        level: confidence level.

    Returns:
        ``(ratio, low, high)``; the ratio is NaN where ``mean(c)`` is 0.
    """
    n = y.size
    if n == 0 or c.size != n:
        return np.nan, np.nan, np.nan
    my, mc = float(y.mean()), float(c.mean())
    ratio = my / mc if mc != 0 else np.nan
    if n < 2:
        return ratio, np.nan, np.nan
    q = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) ** 2 / n
    cov = np.cov(y, c, ddof=1)
    a = mc * mc - q * cov[1, 1]
    b = my * mc - q * cov[0, 1]
    k = my * my - q * cov[0, 0]
    if not a > 0:
        return ratio, np.nan, np.nan
    root = float(np.sqrt(max(b * b - a * k, 0.0)))
    return ratio, (b - root) / a, (b + root) / a


def _paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value of ``a`` against ``b`` (0 or 1 when the differences do not vary)."""
    d = a - b
    if d.size < 2:
        return np.nan
    mean = float(d.mean())
    # (numerically) constant differences: t is +-inf (p = 0), or undefined when there is no difference (p = 1);
    # the tolerance is scipy's own test for catastrophic cancellation
    if float(np.max(np.abs(d - mean))) <= 10 * np.finfo(float).eps * abs(mean):
        return 1.0 if mean == 0 else 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def _check(runs: pd.DataFrame, baseline: str, metrics: Sequence[str] | None) -> list[str]:
    for col in (SCENARIO, SEED):
        if col not in runs.columns:
            raise ValueError(f"runs table has no {col!r} column (columns: {list(runs.columns)})")
    labels = list(pd.unique(runs[SCENARIO]))
    if baseline not in labels:
        raise ValueError(f"baseline scenario {baseline!r} not in the runs table (scenarios: {labels})")
    dup = runs.duplicated([SCENARIO, SEED])
    if dup.any():
        first = runs.loc[dup, [SCENARIO, SEED]].iloc[0]
        raise ValueError(
            f"{int(dup.sum())} duplicate (scenario, seed) rows, e.g. {first[SCENARIO]!r} seed {first[SEED]}: "
            "each scenario must have one run per seed"
        )
    if metrics is None:
        metrics = [
            c
            for c in runs.columns
            if c not in (SCENARIO, SEED)
            and pd.api.types.is_numeric_dtype(runs[c])
            and not pd.api.types.is_bool_dtype(runs[c])
        ]
        if not metrics:
            raise ValueError("runs table has no numeric metric columns")
        return metrics
    metrics = list(metrics)
    if not metrics:
        raise ValueError("no metrics given")
    missing = [m for m in metrics if m not in runs.columns]
    if missing:
        raise ValueError(f"metric column(s) {missing} not in the runs table (columns: {list(runs.columns)})")
    bad = [m for m in metrics if m in (SCENARIO, SEED) or not pd.api.types.is_numeric_dtype(runs[m])]
    if bad:
        raise ValueError(f"metric column(s) {bad} are not numeric")
    return metrics


def compare(
    runs: pd.DataFrame,
    *,
    baseline: str = "baseline",
    metrics: Sequence[str] | None = None,
    cost: str | None = "public_cost",
    level: float = 0.95,
) -> pd.DataFrame:
    """Compare every scenario with the baseline, metric by metric, pairing runs by seed.

    Args:
        runs: one row per finished run, with columns ``scenario`` (label), ``seed`` and one numeric column per
            metric (column names may contain dots, e.g. ``talent_net_outflow.Hebei``).
        baseline: the label of the reference scenario.
        metrics: the metric columns to compare (default: every numeric column but ``seed``, the cost included).
        cost: the column of public money spent per run; when given and present, adds ``extra_cost`` and
            ``gain_per_cost``. ``None`` leaves them out.
        level: confidence level of the intervals; a row is ``significant`` when ``p_holm < 1 - level``.

    Returns:
        One row per (scenario, metric), the baseline's rows first (with NaN differences and tests), then the
        other scenarios in their order of appearance; columns as described in the module docstring. A metric with
        fewer than two pairs free of NaN (e.g. undefined in most runs) gets NaN differences and tests.

    Raises:
        ValueError: if ``scenario`` or ``seed`` is missing, the baseline is not in the table, a metric column is
            missing or not numeric, a (scenario, seed) occurs twice, a scenario shares fewer than two seeds with
            the baseline, or ``level`` is not in (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    metrics = _check(runs, baseline, metrics)
    with_cost = cost is not None and cost in runs.columns
    if with_cost and not pd.api.types.is_numeric_dtype(runs[cost]):
        raise ValueError(f"cost column {cost!r} is not numeric")
    labels = [baseline, *[s for s in pd.unique(runs[SCENARIO]) if s != baseline]]
    by_label = {s: runs[runs[SCENARIO] == s].set_index(SEED) for s in labels}
    base = by_label[baseline]

    rows: list[dict[str, object]] = []
    for s in labels:
        df = by_label[s]
        common = df.index.intersection(base.index)
        if s != baseline and common.size < 2:
            raise ValueError(
                f"scenario {s!r} shares {common.size} seed(s) with baseline {baseline!r}; "
                "a paired comparison needs at least 2"
            )
        a_all = df.loc[common]
        b_all = base.loc[common]
        for m in metrics:
            x = df[m].to_numpy(dtype=float)
            mean, lo, hi = t_interval(x[np.isfinite(x)], level)
            row: dict[str, object] = {
                "scenario": s,
                "metric": m,
                "n": int(np.isfinite(x).sum()),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "n_pairs": pd.NA,
                "diff": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "rel_change": np.nan,
                "p_value": np.nan,
            }
            if with_cost:
                row.update(dict.fromkeys(COST_COLUMNS, np.nan))
            if s != baseline:
                a = a_all[m].to_numpy(dtype=float)
                b = b_all[m].to_numpy(dtype=float)
                ok = np.isfinite(a) & np.isfinite(b)
                a, b = a[ok], b[ok]
                row["n_pairs"] = int(ok.sum())
                if a.size >= 2:
                    diff, dlo, dhi = t_interval(a - b, level)
                    base_mean = float(b.mean())
                    row.update(
                        diff=diff,
                        diff_ci_low=dlo,
                        diff_ci_high=dhi,
                        rel_change=diff / base_mean if base_mean != 0 else np.nan,
                        p_value=_paired_p(a, b),
                    )
                    if with_cost:
                        dc = a_all[cost].to_numpy(dtype=float)[ok] - b_all[cost].to_numpy(dtype=float)[ok]
                        extra = float(np.nanmean(dc)) if np.isfinite(dc).any() else np.nan
                        row["extra_cost"] = extra
                        if m != cost and np.isfinite(extra) and extra > 0:
                            row["gain_per_cost"] = diff / extra
                            if np.isfinite(dc).all():
                                _, glo, ghi = ratio_interval(a - b, dc, level)
                                row.update(gain_per_cost_ci_low=glo, gain_per_cost_ci_high=ghi)
            rows.append(row)

    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("Int64")
    out["n_pairs"] = out["n_pairs"].astype("Int64")
    p_holm = np.full(len(out), np.nan)
    compared = (out["scenario"] != baseline).to_numpy()
    p_holm[compared] = holm(out.loc[compared, "p_value"].to_numpy(dtype=float))
    out["p_holm"] = p_holm
    sig = pd.array(np.where(np.isfinite(p_holm), p_holm < 1.0 - level, False), dtype="boolean")
    sig[~np.isfinite(p_holm)] = pd.NA
    out["significant"] = sig
    cols = [*COLUMNS, *(COST_COLUMNS if with_cost else ())]
    return out[cols]
