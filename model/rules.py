"""The model's equations as pure functions of arrays (model-spec §4), testable on tiny worlds.

Each function states its rule and source; the agents' processes gather state and call these.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


def poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson draws by inverting the CDF at uniforms ``u``.

    Monotone in both ``u`` and ``lam``: two scenarios that feed the same uniforms get counts that differ only
    where their means differ (common random numbers), which numpy's own samplers do not guarantee. Means above
    500 use the normal approximation (exp(-mean) would underflow past ~745). A mean at or below 0 gives 0.
    """
    u, lam = np.broadcast_arrays(np.asarray(u, dtype=float), np.maximum(np.asarray(lam, dtype=float), 0.0))
    k = np.zeros(u.shape, dtype=np.int64)
    big = lam > 500.0
    prob = np.exp(-np.where(big, 0.0, lam))
    cdf = prob.copy()
    todo = ~big & (u > cdf)
    limit = lam + 12.0 * np.sqrt(lam) + 30.0
    while todo.any():
        k[todo] += 1
        prob[todo] *= lam[todo] / k[todo]
        cdf[todo] += prob[todo]
        todo &= (u > cdf) & (k < limit)
    if big.any():
        k[big] = np.maximum(0, np.round(lam[big] + np.sqrt(lam[big]) * ndtri(u[big]))).astype(np.int64)
    return k


def logistic(x: np.ndarray | float) -> np.ndarray:
    """1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def research_rate(
    budget_eff: np.ndarray,
    staff_eff: np.ndarray,
    spillover: np.ndarray,
    productivity: np.ndarray,
    beta: float,
    alpha: float,
    eta: float,
) -> np.ndarray:
    """Expected results per quarter: lambda = A * B_eff^beta * H_eff^alpha * (1 + eta * S_r)."""
    return productivity * budget_eff**beta * staff_eff**alpha * (1.0 + eta * spillover)


def overhead(autonomy: np.ndarray | float, base: float, cut: float) -> np.ndarray:
    """Overhead share of budget: base * (1 - cut * a); autonomy removes red tape."""
    return base * (1.0 - cut * np.asarray(autonomy, dtype=float))


def duplication_share(alignment: float, overlap: np.ndarray, base: float) -> np.ndarray:
    """Share of results that duplicate another region's work: base * (1 - alignment) * overlap."""
    return base * (1.0 - alignment) * overlap


def pilot_hazard(zeta: float, resources: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Chance a piloted result advances one TRL this quarter: h = 1 - exp(-zeta * resources * fit)
    (Dosi, Fagiolo & Roventini 2010 form)."""
    return 1.0 - np.exp(-zeta * resources * fit)


def learning_value(cognitive_distance: np.ndarray) -> np.ndarray:
    """Inverted U in cognitive distance d, peaking at d = 0.5: 4 d (1 - d) (Nooteboom et al. 2007)."""
    d = np.asarray(cognitive_distance, dtype=float)
    return 4.0 * d * (1.0 - d)


def adoption_logit(
    *,
    quality: np.ndarray,
    trl_above: np.ndarray,
    absorptive: np.ndarray,
    cognitive_distance: np.ndarray,
    fit: np.ndarray,
    distance_km: np.ndarray,
    barrier: np.ndarray,
    service_boost: np.ndarray,
    anchored: np.ndarray,
    backed: np.ndarray,
    w: dict[str, float],
) -> np.ndarray:
    """Logit of a firm adopting a result: rises in quality, TRL, absorptive capacity, learning value,
    sector fit, service platforms, a demo-base anchor and fund backing; falls in distance and barrier.

    ``w`` holds the weights: intercept, quality, trl, absorptive, novelty, fit, distance, barrier,
    service, anchor, funding.
    """
    return (
        w["intercept"]
        + w["quality"] * np.log(quality)
        + w["trl"] * trl_above
        + w["absorptive"] * absorptive
        + w["novelty"] * learning_value(cognitive_distance)
        + w["fit"] * fit
        - w["distance"] * np.log1p(distance_km)
        - w["barrier"] * barrier
        + w["service"] * service_boost
        + w["anchor"] * anchored
        + w["funding"] * backed
    )


def service_boost(platforms: np.ndarray, half: float) -> np.ndarray:
    """Saturating effect of a sector's service platforms: 1 - 2^(-n / half)."""
    return 1.0 - np.exp2(-np.asarray(platforms, dtype=float) / half)


def talent_utility(
    *,
    wage: np.ndarray,
    skill: np.ndarray,
    incentive: np.ndarray,
    pull: np.ndarray,
    cost: np.ndarray,
    amenity: np.ndarray,
    move_km: np.ndarray,
    barrier: np.ndarray,
    away_from_home: np.ndarray,
    recognition: np.ndarray,
    ties: np.ndarray,
    stays: np.ndarray,
    network_cut: np.ndarray,
    size: np.ndarray,
    b: dict[str, float],
) -> np.ndarray:
    """Deterministic part of U_ir (model-spec §4.6), one row per talent, one column per region:

    U = b_w ln(wage_r skill_i) + b_I kappa_r I_r - b_c ln(cost_r) + b_A A_r
        - b_d (1 - network_cut) (1 + b_rs) ln(1 + km/100) - b_h 1[r != home] (1 - recognition_r)
        + b_n ln(1 + ties_ir) + ASC_stay 1[r = current] + ln(size_r),

    where size_r counts the elemental destinations an aggregate alternative stands for (Outside: the
    rest of China's provinces; McFadden 1978 aggregation of alternatives).

    ``network_cut`` is the share of moving cost the talent network removes (for moves within the network).
    Region arrays have shape (R,), talent arrays (N,), pairwise arrays (N, R).
    """
    return (
        b["wage"] * np.log(wage[None, :] * skill[:, None])
        + b["incentive"] * (pull * incentive)[None, :]
        - b["cost"] * np.log(cost)[None, :]
        + b["amenity"] * amenity[None, :]
        - b["distance"] * (1.0 - network_cut) * (1.0 + barrier) * np.log1p(move_km / 100.0)
        - b["home"] * away_from_home * (1.0 - recognition[None, :])
        + b["ties"] * np.log1p(ties)
        + b["stay"] * stays
        + np.log(size)[None, :]
    )


def choose(utility: np.ndarray, gumbel: np.ndarray) -> np.ndarray:
    """Conditional-logit choice: argmax of utility plus standard Gumbel draws (same shape), row by row."""
    return np.argmax(utility + gumbel, axis=1)


def choice_probabilities(utility: np.ndarray) -> np.ndarray:
    """Logit choice probabilities exp(U_r) / sum_s exp(U_s), row by row."""
    e = np.exp(utility - utility.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def zscore(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """z-score of x within each group (0 where a group has no spread)."""
    out = np.zeros_like(x, dtype=float)
    for g in np.unique(groups):
        m = groups == g
        sd = x[m].std()
        out[m] = (x[m] - x[m].mean()) / sd if sd > 0 else 0.0
    return out


def evaluation_score(indicators: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """score_p = sum_k w_k,type * z(indicator_k), z taken within the platform's type (model-spec §4.7).

    Args:
        indicators: (N, K) raw indicators; weights: (N, K) each platform's regime weights;
        groups: (N,) platform type.
    """
    z = np.column_stack([zscore(indicators[:, k], groups) for k in range(indicators.shape[1])])
    return (weights * z).sum(axis=1)


def reallocate_budget(
    budget: np.ndarray, score: np.ndarray, groups: np.ndarray, top: float, bottom: float, g: float
) -> np.ndarray:
    """Top ``top`` share of each type by score gain ``g`` of budget; bottom ``bottom`` share lose it."""
    factor = np.ones_like(budget, dtype=float)
    for grp in np.unique(groups):
        idx = np.flatnonzero(groups == grp)
        order = idx[np.argsort(-score[idx], kind="stable")]
        n_top, n_bottom = math.floor(top * len(idx) + 0.5), math.floor(bottom * len(idx) + 0.5)  # half up
        factor[order[:n_top]] += g
        if n_bottom:
            factor[order[-n_bottom:]] -= g
    return budget * factor


def theil(x: np.ndarray) -> float:
    """Theil T index of positive values across units: mean((x/mu) ln(x/mu))."""
    x = np.asarray(x, dtype=float)
    mu = x.mean()
    if mu <= 0:
        return 0.0
    s = x / mu
    return float(np.mean(np.where(s > 0, s * np.log(np.where(s > 0, s, 1.0)), 0.0)))
