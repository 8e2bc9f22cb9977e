"""The model's equations as pure functions of arrays (model-spec §4), testable on tiny worlds.

Each function states its rule and source; the agents' processes gather state and call these.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

POISSON_VECTOR_MIN = 32
"""Below this many draws still climbing the CDF, :func:`poisson` climbs them one by one (Python floats: the same
IEEE operations, without numpy's per-call overhead on tiny arrays)."""


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
    limit = lam + 12.0 * np.sqrt(lam) + 30.0
    flat_u, flat_k = u.ravel(), k.reshape(-1)
    idx = np.flatnonzero(~big.ravel() & (flat_u > prob.ravel()))
    # only the draws still climbing the CDF, all at the same count n: P(n) = P(n - 1) lam / n, CDF(n) += P(n)
    p_i, u_i, lam_i, limit_i = prob.ravel()[idx], flat_u[idx], lam.ravel()[idx], limit.ravel()[idx]
    c_i, n = p_i.copy(), 0
    while idx.size >= POISSON_VECTOR_MIN:
        n += 1
        p_i *= lam_i / n
        c_i += p_i
        climb = u_i > c_i
        if n >= 30:  # the limit is at least 30
            climb &= n < limit_i
        stay = np.flatnonzero(climb)
        if stay.size < idx.size:
            flat_k[idx[~climb]] = n
            idx, p_i, c_i = idx[stay], p_i[stay], c_i[stay]
            u_i, lam_i, limit_i = u_i[stay], lam_i[stay], limit_i[stay]
    for i, p_n, c_n, u_n, lam_n, limit_n in zip(
        idx.tolist(), p_i.tolist(), c_i.tolist(), u_i.tolist(), lam_i.tolist(), limit_i.tolist(), strict=True
    ):
        k_n = n
        while True:
            k_n += 1
            p_n *= lam_n / k_n
            c_n += p_n
            if not (u_n > c_n and k_n < limit_n):
                break
        flat_k[i] = k_n
    if big.any():
        k[big] = np.maximum(0, np.round(lam[big] + np.sqrt(lam[big]) * ndtri(u[big]))).astype(np.int64)
    return k


def logistic(x: np.ndarray | float) -> np.ndarray:
    """1 / (1 + exp(-x))."""
    e = np.exp(-np.asarray(x, dtype=float))
    if not isinstance(e, np.ndarray):  # a number
        return 1.0 / (1.0 + e)
    e += 1.0  # in place: the same numbers without temporaries
    return np.divide(1.0, e, out=e)


def research_rate(
    budget_eff: np.ndarray,
    staff_eff: np.ndarray,
    spillover: np.ndarray,
    productivity: np.ndarray,
    beta: float,
    alpha: float,
    eta: float,
) -> np.ndarray:
    """Expected results per quarter: lambda = A * B_eff^beta * H_eff^alpha * (1 + S_r)^eta.

    The knowledge spillover enters log-log with elasticity eta S / (1 + S) < eta <= 1 in the knowledge stock:
    diminishing returns to the stock of ideas (Jones 1995, phi < 1), so knowledge never feeds output one for one.
    """
    return productivity * budget_eff**beta * staff_eff**alpha * spillover_factor(spillover, eta)


def spillover_factor(spillover: np.ndarray, eta: float) -> np.ndarray:
    """(1 + S)^eta: the research multiplier of a spillover pool S >= 0 (Jones 1995 log-log form)."""
    return (1.0 + np.maximum(np.asarray(spillover, dtype=float), 0.0)) ** eta


def efficiency_shock(z: np.ndarray, eps: np.ndarray, persistence: float) -> np.ndarray:
    """AR(1) of a platform's efficiency draw, stationary N(0, 1): z <- rho z + sqrt(1 - rho^2) eps.

    Efficiency reverts to its mean (persistence rho per quarter; Foster, Haltiwanger & Syverson 2008 find annual
    persistence of plant productivity of about 0.8, rho = 0.8^(1/4) = 0.95 a quarter), so no platform is
    permanently the most efficient.
    """
    return persistence * z + math.sqrt(max(1.0 - persistence * persistence, 0.0)) * eps


def expertise_update(expertise: np.ndarray, steps: np.ndarray, gain: float, cap: float, decay: float) -> np.ndarray:
    """Expertise after a quarter with ``steps`` piloted TRL steps: each step adds gain (1 - e / E_max), the
    closed form of ``steps`` such increments, E_max - (E_max - e) (1 - gain / E_max)^steps; then all expertise
    depreciates, e <- (1 - decay) e. Stays in [0, E_max] for 0 <= gain <= E_max (learning curve that saturates,
    and forgetting: Argote, Beckman & Epple 1990)."""
    e = np.asarray(expertise, dtype=float)
    keep = max(1.0 - gain / cap, 0.0) if cap > 0 else 0.0
    learned = cap - (cap - e) * keep ** np.asarray(steps, dtype=float)
    return (1.0 - decay) * np.where(np.asarray(steps) > 0, learned, e)


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


def gumbel_rows(rng: np.random.Generator, n: int, width: int) -> Callable[[np.ndarray], np.ndarray]:
    """``rng.gumbel(size=(n, width))`` for the rows asked for only: the generator moves past the n x width draws
    at once, but the logarithms are taken only for the rows returned (a quarter of the talents decide in a step).

    numpy's Gumbel is -ln(-ln(1 - U)) of one double U per draw (a U of exactly 0 is redrawn), so the uniforms are
    drawn and transformed on demand; in the case, one in 2^53 per draw, where a U is exactly 0 the draws are made
    by ``rng.gumbel`` itself, so the stream stays the one ``rng.gumbel`` gives."""
    start = rng.bit_generator.state
    u = rng.random((n, width))
    if not u.all():  # a zero: rng.gumbel would have drawn again; replay the stream with it
        rng.bit_generator.state = start
        g = rng.gumbel(size=(n, width))
        return lambda rows: g[rows]

    def rows(r: np.ndarray) -> np.ndarray:
        x = 1.0 - u[r]
        np.log(x, out=x)
        np.negative(x, out=x)
        np.log(x, out=x)
        return np.negative(x, out=x)

    return rows


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
    """Budget-neutral tournament within each group (platform type): the top ``top`` share by score gains what
    the bottom ``bottom`` share loses.

    The transfer of a group is T = g * min(sum of the top's budgets, sum of the bottom's budgets); the top share it
    in proportion to their budgets and the bottom pay it in proportion to theirs, so no platform gains or loses more
    than the share g of its budget and every group's total is unchanged (to rounding). Counts are rounded half up;
    a platform is never both top and bottom (the bottom count is cut to the platforms left after the top).
    """
    budget = np.asarray(budget, dtype=float)
    new = budget.copy()
    for grp in np.unique(groups):
        idx = np.flatnonzero(groups == grp)
        order = idx[np.argsort(-score[idx], kind="stable")]
        n_top = math.floor(top * len(idx) + 0.5)  # half up
        n_bottom = min(math.floor(bottom * len(idx) + 0.5), len(idx) - n_top)
        if n_top == 0 or n_bottom == 0:
            continue
        win, lose = order[:n_top], order[len(idx) - n_bottom :]
        b_win, b_lose = budget[win].sum(), budget[lose].sum()
        transfer = g * min(b_win, b_lose)
        if transfer <= 0:
            continue
        new[win] += transfer * budget[win] / b_win
        new[lose] -= transfer * budget[lose] / b_lose
    return new


def revert_budget(budget: np.ndarray, deviation: np.ndarray, reversion: float) -> tuple[np.ndarray, np.ndarray]:
    """Budgets move back part-way to their exogenous path: b <- b - r d, d <- (1 - r) d, where d = b - b_path is
    the deviation that past evaluations left. A group whose deviations sum to zero keeps its total."""
    return budget - reversion * deviation, (1.0 - reversion) * deviation


def theil(x: np.ndarray) -> float:
    """Theil T index of positive values across units: mean((x/mu) ln(x/mu))."""
    x = np.asarray(x, dtype=float)
    mu = x.mean()
    if mu <= 0:
        return 0.0
    s = x / mu
    return float(np.mean(np.where(s > 0, s * np.log(np.where(s > 0, s, 1.0)), 0.0)))


def crowding(firms: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Density dependence of founding: max(1 - N/K, 0) for N firms in a region of carrying capacity K.

    The logistic model of organisational ecology (Hannan & Freeman 1977; Nielsen & Hannan 1977): founding per
    incumbent falls linearly as the population crowds its niche and stops at and above the capacity, where
    expected profit no longer covers the cost of entering (Jovanovic 1982; Klepper 1996). A capacity of 0 gives 0.
    """
    firms, capacity = np.asarray(firms, dtype=float), np.asarray(capacity, dtype=float)
    return np.clip(1.0 - firms / np.where(capacity > 0, capacity, 1.0), 0.0, 1.0) * (capacity > 0)


def founding(founders: np.ndarray, firms: np.ndarray, capacity: np.ndarray, per_firm: float) -> np.ndarray:
    """Expected market entrants of a quarter: rate x F x max(1 - N/K, 0), F the firms that seed founders and N the
    firms that crowd the niche. With F = N it is logistic population growth (Hannan & Freeman 1977), at most
    rate x K / 4, at N = K / 2."""
    return per_firm * np.asarray(founders, dtype=float) * crowding(firms, capacity)
