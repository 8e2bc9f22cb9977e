"""Every output the model writes has a label and a unit (the figures' axis titles come from here)."""

from __future__ import annotations

from jjjsim.model.indicators import MODEL, SERIES, indicator
from jjjsim.model.metrics import MODEL_INDICATORS, REGION_INDICATORS


def test_every_series_and_model_indicator_is_labelled():
    assert set(SERIES) == set(REGION_INDICATORS)
    assert set(MODEL) == set(MODEL_INDICATORS)


def test_every_summary_key_is_labelled(small_run):
    for key in small_run.summary:
        ind = indicator(key)
        assert ind.unit and ind.label != key, key
    assert indicator("talent_fte.Hebei").label == "R&D personnel, Hebei"
    assert indicator("point.fund_size").unit == ""  # unknown names fall back to themselves


def test_a_run_that_loses_every_firm_still_has_a_summary():
    """At a zero margin and the highest fixed cost every firm exits, and with no entry or spin-offs none replaces
    them (a spin-off of the last quarter's adoptions would live a quarter); the summary says NaN, it does not
    raise."""
    import math

    from jjjsim.model import run

    none = {"scale": 0.05, "firm_margin": 0.0, "firm_fixed_cost": 0.2, "firm_entry_rate": 0.0, "spinoff_rate": 0.0}
    r = run("baseline", seed=1, steps=8, overrides=none)
    assert r.series[r.series.step == 8].firms.sum() == 0
    assert math.isnan(r.summary["productivity"]) and r.digest()
