"""Closing gaps to Beijing, estimated on the statistics of 2014-2020 (never later years).

Three of the model's regional gaps to Beijing close at rates estimated here rather than in the MSM: the mean
contract size of a seller region (``contract_size_convergence``, one rate for Tianjin and Hebei), a buyer
region's technology-purchase intensity (``demand_convergence``) and a seller region's technology-market reach
(``reach_convergence``), each one rate per region. Each is non-linear least squares of the form the model uses
(``JJJModel._closing``), ln x_r,t = ln x_r,2014 exp(-k (t - 2014)), on the region's ratio to Beijing, anchored
at 2014, t = 2015..2020; the standard error is that of the Gauss-Newton covariance.

The reach is contracts per result on offer relative to Beijing's. The statistics give contracts per granted
invention patent; a region's results on offer per patent differ from Beijing's by the model's own pipeline (a
key lab's results start at TRL 2, an engineering centre's at TRL 4, so Tianjin's and Hebei's pipelines hold
more market-ready results per result made than Beijing's, whose research is more basic): the ratio the reach
is estimated on is the statistic over that composition (:func:`offer_composition`), the same correction the
set-up applies to the start-year gap (``setup._reach``).

``python -m experiments.calibration.gaps`` prints the three estimates and their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jjjsim.model.data import series
from scipy.optimize import least_squares

FIT = range(2014, 2021)


@dataclass(frozen=True)
class Rate:
    """A closing rate a year, its standard error, and the log ratios to Beijing it was fitted on (by region)."""

    rate: float
    se: float
    logs: dict[str, np.ndarray]


def _ratio(num: str, den: str | None, region: str) -> np.ndarray:
    """The statistic ``num`` (over ``den``, if given) of ``region`` over Beijing's, 2014-2020."""

    def per(r: str) -> np.ndarray:
        x = series(num, r).reindex(FIT).to_numpy(float)
        return x / series(den, r).reindex(FIT).to_numpy(float) if den else x

    return per(region) / per("Beijing")


def closing_rate(logs: dict[str, np.ndarray], low: float = 0.0, high: float = 2.0) -> Rate:
    """One rate k for every region of ``logs`` (ln ratio, 2014 first): ln x_t = ln x_2014 exp(-k (t - 2014))."""
    t = np.arange(len(FIT), dtype=float)[1:]

    def resid(k: np.ndarray) -> np.ndarray:
        return np.concatenate([x[1:] - x[0] * np.exp(-k[0] * t) for x in logs.values()])

    fit = least_squares(resid, x0=[0.1], bounds=([low], [high]))
    dof = max(fit.fun.size - 1, 1)
    s2 = float(fit.fun @ fit.fun) / dof
    jtj = float(fit.jac[:, 0] @ fit.jac[:, 0])
    se = float(np.sqrt(s2 / jtj)) if jtj > 0 else float("inf")
    return Rate(float(fit.x[0]), se, logs)


def offer_composition(scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """Expected results on offer per result made, Tianjin and Hebei over Beijing, at the 2014 start of the
    ``historical`` scenario (``setup.offer_share``)."""
    from jjjsim.model import JJJModel
    from jjjsim.model.scenario import load_scenario

    p = load_scenario("historical").params.replace({"scale": scale}, where="gaps")
    m = JJJModel(p, rng=np.random.SeedSequence(seed))
    return m.offer_share[1:3] / m.offer_share[0]


def contract_size() -> Rate:
    """``contract_size_convergence``: mean contract value (turnover / count by seller), Tianjin and Hebei."""
    size = ("tech_contract_turnover_output", "tech_contract_count_output")
    logs = {r: np.log(_ratio(*size, r)) for r in ("Tianjin", "Hebei")}
    return closing_rate(logs)


def demand(region: str) -> Rate:
    """``demand_convergence`` of ``region``: absorbed turnover per unit of GDP."""
    logs = {region: np.log(_ratio("tech_contract_turnover_absorbed", "gdp_implied_by_rd_bulletin", region))}
    return closing_rate(logs, high=0.5)


def reach(region: str, composition: float) -> Rate:
    """``reach_convergence`` of ``region``: contracts (by seller) per granted invention patent, over the model's
    results on offer per result made (``composition``, relative to Beijing's)."""
    per_patent = _ratio("tech_contract_count_output", "patents_granted_invention", region)
    return closing_rate({region: np.log(per_patent / composition)}, high=0.5)


def main() -> None:
    """Print the three estimates."""
    size = contract_size()
    print(f"contract_size_convergence {size.rate:.3f} (s.e. {size.se:.3f})")
    for r in ("Tianjin", "Hebei"):
        d = demand(r)
        gap = f"ln gap {d.logs[r][0]:.2f} -> {d.logs[r][-1]:.2f}"
        print(f"demand_convergence {r} {d.rate:.3f} (s.e. {d.se:.3f}); {gap}")
    comp = offer_composition()
    for r, c in zip(("Tianjin", "Hebei"), comp, strict=True):
        e = reach(r, float(c))
        print(
            f"reach_convergence {r} {e.rate:.3f} (s.e. {e.se:.3f}); results on offer per result made {c:.3f} x"
            f" Beijing's; ln gap {e.logs[r][0]:.2f} -> {e.logs[r][-1]:.2f}"
        )


if __name__ == "__main__":
    main()
