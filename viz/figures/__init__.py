"""The report's and the app's figures: pure functions from the tables of :mod:`jjjsim.experiments.results` to plotly
figures.

Every figure takes the house look from :mod:`jjjsim.viz.theme` (a region has one colour everywhere, the baseline is
grey, scenarios take the palette in the experiment's order), its axis titles from the indicator catalogue and the
parameter registry, and plots only finite values (NaN rows are dropped, never drawn). Figures hold aggregated data
(means and bands across seeds), so a report of many scenarios and seeds stays small.
"""

from __future__ import annotations

from ..theme import series_title
from ._common import COORDINATES, FLOW_TITLES
from .comparison import cost_effectiveness, forest
from .designs import lever_heatmap, lever_response, sensitivity_bars
from .doses import COST_AXIS, DOSE_AXIS, cost_response, dose_response, equal_cost
from .flows import region_map, sankey
from .series import regional_shares, time_bands

__all__ = [
    "COORDINATES",
    "COST_AXIS",
    "DOSE_AXIS",
    "FLOW_TITLES",
    "cost_effectiveness",
    "cost_response",
    "dose_response",
    "equal_cost",
    "forest",
    "lever_heatmap",
    "lever_response",
    "region_map",
    "regional_shares",
    "sankey",
    "sensitivity_bars",
    "series_title",
    "time_bands",
]
