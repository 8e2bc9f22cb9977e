"""Regions (nodes, not a grid), technology fields, distances and barriers (model-spec §2-3)."""

from __future__ import annotations

import numpy as np

REGIONS: tuple[str, ...] = ("Beijing", "Tianjin", "Hebei", "Outside")
JJJ: tuple[str, ...] = REGIONS[:3]
BEIJING, TIANJIN, HEBEI, OUTSIDE = range(4)
REGION_PAIRS: tuple[str, ...] = ("Beijing-Tianjin", "Beijing-Hebei", "Tianjin-Hebei")

FIELDS: tuple[str, ...] = (
    "nev",
    "biomed",
    "ict_ai",
    "equipment",
    "materials",
    "energy_env",
    "aerospace",
    "other",
)
"""Technology fields (model-spec §3): new-energy vehicles, biomedicine, ICT/AI, advanced equipment,
new materials, energy & environment, aerospace, other."""

# Distances in km (model-spec §2): Beijing-Tianjin 120, Beijing-Hebei 250 (Shijiazhuang/Baoding
# centroid), Tianjin-Hebei 280, any-Outside 1000. Within a region: 0.
DISTANCE_KM = np.array(
    [
        [0.0, 120.0, 250.0, 1000.0],
        [120.0, 0.0, 280.0, 1000.0],
        [250.0, 280.0, 0.0, 1000.0],
        [1000.0, 1000.0, 1000.0, 0.0],
    ]
)


def barrier_matrix(pair_barrier: np.ndarray, recognition: float, recognition_cut: float) -> np.ndarray:
    """Effective barrier b_rs: the per-pair lever lowered by mutual recognition of standards.

    Args:
        pair_barrier: barriers for ``REGION_PAIRS`` in that order.
        recognition: the ``standards_recognition`` lever (0-1).
        recognition_cut: share of a barrier removed by full recognition.
    """
    b = np.zeros((4, 4))  # pairs with Outside carry no institutional barrier: distance, hukou and demand do
    for value, (r, s) in zip(pair_barrier, ((0, 1), (0, 2), (1, 2)), strict=True):
        b[r, s] = b[s, r] = value
    jjj = np.ix_(range(3), range(3))
    b[jjj] *= 1.0 - recognition_cut * recognition
    return b


def spillover_weights(barrier: np.ndarray, decay_km: float) -> np.ndarray:
    """w_rs = exp(-dist_rs / delta) * (1 - b_rs) (model-spec §4.1; Bottazzi & Peri 2003)."""
    return np.exp(-DISTANCE_KM / decay_km) * (1.0 - barrier)


def field_similarity(n: int = len(FIELDS)) -> np.ndarray:
    """Cosine similarity of field knowledge vectors (assumption: 0.2 between distinct fields, the
    'other' field 0.4 to all) - used for cognitive distance d = 1 - cos."""
    sim = np.full((n, n), 0.2)
    sim[-1, :] = sim[:, -1] = 0.4
    np.fill_diagonal(sim, 1.0)
    return sim
