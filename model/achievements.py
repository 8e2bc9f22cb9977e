"""The achievement table: research results as records, not agents (model-spec §3).

Status moves new -> piloting -> market-ready -> licensed (its first contract, with a firm in Jing-Jin-Ji or
Outside) or expired. Licensing is non-exclusive: a market-ready or licensed result stays on offer, and may be
licensed again, until ``result_life`` quarters after its birth. Each row keeps its field, quality q, TRL,
origin platform and region, and what became of it.
"""

from __future__ import annotations

import numpy as np

NEW, PILOTING, MARKET_READY, LICENSED, EXPIRED = range(5)
STATUSES = ("new", "piloting", "market_ready", "licensed", "expired")

COLUMNS = {
    "field": (np.int8, ()),
    "quality": (np.float64, ()),
    "trl": (np.int8, ()),
    "origin": (np.int64, ()),
    "region": (np.int8, ()),
    "born": (np.int32, ()),
    "status": (np.int8, ()),
    "base": (np.int64, ()),
    "anchor": (np.int8, ()),
    "buyer": (np.int8, ()),
    "licensed": (np.int32, ()),
    "value": (np.float64, ()),
    "licences": (np.int32, ()),
}
"""base: demo-base row piloting it (-1); anchor: region of that base (-1); buyer: region of the first buyer
(-1); licensed: quarter of the first licence; value, licences: contract value and contracts so far."""
