"""The lever and parameter registry: complete metadata, sane defaults, and loud, helpful validation."""

from __future__ import annotations

import pytest
from jjjsim.model.params import LEVERS, REGISTRY, ConfigError, Param, defaults, validate
from jjjsim.model.regions import JJJ

ROLES = ("lever", "uncertainty", "structural")


def _values(p: Param) -> dict[str, object]:
    """A parameter's default as {sub-key: value} ('' for a scalar)."""
    return dict(p.default) if p.per else {"": p.default}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_entry_is_documented(name):
    p = REGISTRY[name]
    assert p.name == name
    assert p.label.strip() and p.unit.strip(), "label and unit"
    assert p.role in ROLES
    assert p.source.strip(), "a source (or 'assumption')"
    assert p.kind in ("float", "int", "choice", "timeline")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_default_is_valid(name):
    p = REGISTRY[name]
    if p.kind == "timeline":  # dated lever changes (model/timeline.py): none by default
        assert p.default == [] and p.bounds is None and p.role == "structural"
        assert validate({name: p.default}, "test") == {name: []}
        with pytest.raises(TypeError, match="params.validate"):  # it needs the registry: checked one level up
            p.validate(p.default, "test")
        return
    values = _values(p)
    if p.per:
        assert tuple(values) == p.keys, "one default per sub-key, in order"
    for key, v in values.items():
        if p.kind == "choice":
            assert v in p.choices, key
            continue
        assert isinstance(v, int | float) and not isinstance(v, bool), key
        if p.kind == "int":
            assert float(v) == int(v), key
        assert p.bounds is not None, "numeric parameters have bounds"
        lo, hi = p.bounds
        assert lo <= v <= hi, f"{name}{'.' + key if key else ''} = {v} outside [{lo}, {hi}]"
    # the default passes the registry's own validation unchanged
    assert p.validate(p.default, "test") == p.default


@pytest.mark.parametrize("name", list(LEVERS))
def test_levers_say_what_they_move(name, small_run):
    p = LEVERS[name]
    assert p.measure.strip() and p.causal_path.strip() and p.outcome.strip()
    assert p.effect in (1, -1)
    if "<region>" in p.outcome:
        assert p.per in ("region", "region4"), "a <region> outcome needs a per-region lever"
        outcomes = [p.outcome.replace("<region>", r) for r in p.keys]
    else:
        outcomes = [p.outcome]
    for outcome in outcomes:
        assert outcome in small_run.summary, f"{name}: outcome {outcome!r} is not a RunResult.summary key"


def test_every_measure_group_has_a_lever():
    groups = {p.measure.split("(group ")[-1].rstrip(")") for p in LEVERS.values()}
    assert groups == {"1", "2", "3", "4"}


def test_unknown_name_fails_with_a_suggestion():
    with pytest.raises(ConfigError) as err:
        validate({"fund_sise": 300}, "my.toml")
    e = err.value
    assert (e.where, e.key) == ("my.toml", "fund_sise")
    assert "did you mean 'fund_size'?" in str(e)
    with pytest.raises(ConfigError, match="talent_incentive"):
        validate({"talent_incentives": 3.0}, "x")


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"autonomy": "high"}, "autonomy"),
        ({"autonomy": True}, "autonomy"),
        ({"autonomy": None}, "autonomy"),
        ({"autonomy": [0.5]}, "autonomy"),
        ({"shared_key_labs": 2.5}, "shared_key_labs"),
        ({"evaluation_regime": "quality"}, "evaluation_regime"),
        ({"talent_incentive": {"Hebei": "6"}}, "talent_incentive.Hebei"),
    ],
)
def test_wrong_types_are_rejected(overrides, key):
    with pytest.raises(ConfigError) as err:
        validate(overrides, "scenario.toml")
    assert err.value.key == key and err.value.where == "scenario.toml"


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_non_finite_whole_numbers_are_config_errors(value):
    with pytest.raises(ConfigError):  # TOML has inf and nan literals, so a scenario file can hold them
        validate({"shared_key_labs": value}, "scenario.toml")


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"autonomy": 1.01}, "autonomy"),
        ({"autonomy": -0.1}, "autonomy"),
        ({"autonomy": float("nan")}, "autonomy"),
        ({"steps": 0}, "steps"),
        ({"fund_size": 1e6}, "fund_size"),
        ({"talent_incentive": {"Hebei": 31.0}}, "talent_incentive.Hebei"),
        ({"barrier": {"Beijing-Tianjin": 1.5}}, "barrier.Beijing-Tianjin"),
        ({"service_platforms": {"nev": -1}}, "service_platforms.nev"),
    ],
)
def test_out_of_bounds_values_are_rejected(overrides, key):
    with pytest.raises(ConfigError, match="expected a (value in|finite number)") as err:
        validate(overrides, "x")
    assert err.value.key == key


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        ({"talent_incentive": {"Hebie": 3.0}}, "talent_incentive.Hebie", "Hebei"),
        ({"barrier": {"Beijing-Tianjn": 0.3}}, "barrier.Beijing-Tianjn", "Beijing-Tianjin"),
        ({"service_platforms": {"nevs": 3}}, "service_platforms.nevs", "nev"),
        ({"talent_incentive": {"Outside": 3.0}}, "talent_incentive.Outside", ""),
    ],
)
def test_unknown_sub_keys_are_rejected(overrides, key, hint):
    with pytest.raises(ConfigError) as err:
        validate(overrides, "x")
    assert err.value.key == key
    assert err.value.hint == (f"did you mean '{hint}'?" if hint else "")


def test_a_number_for_a_per_region_parameter_applies_to_every_region():
    assert validate({"talent_incentive": 3}, "x")["talent_incentive"] == {r: 3.0 for r in JJJ}


def test_replace_merges_per_region_tables():
    base = defaults()
    once = base.replace({"talent_incentive": {"Hebei": 6.0}})
    assert once.values["talent_incentive"] == {"Beijing": 1.0, "Tianjin": 2.0, "Hebei": 6.0}
    twice = once.replace({"talent_incentive": {"Tianjin": 4.0}, "autonomy": 0.7})
    assert twice.values["talent_incentive"] == {"Beijing": 1.0, "Tianjin": 4.0, "Hebei": 6.0}
    assert list(twice.talent_incentive) == [1.0, 4.0, 6.0]  # arrays in JJJ order
    assert twice.autonomy == 0.7
    # copies: neither the earlier sets nor the registry defaults changed
    assert once.values["talent_incentive"]["Tianjin"] == 2.0 and once.autonomy == 0.3
    assert base.values == defaults().values
    assert REGISTRY["talent_incentive"].default["Hebei"] == 2.0
    assert base.digest() != twice.digest()


def test_params_attribute_errors_for_unknown_names():
    with pytest.raises(AttributeError):
        _ = defaults().no_such_parameter


def test_params_pickle_round_trip():
    import pickle

    p = defaults().replace({"talent_incentive": {"Hebei": 6.0}})
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.talent_incentive[2] == 6.0


def test_config_error_survives_pickling():
    """It crosses process boundaries (sweep workers, Dask) with its fields intact."""
    import pickle

    err = ConfigError("a.toml", "talent_incentive", "a value in [0, 30]", -3.0, "see jjjsim levers")
    back = pickle.loads(pickle.dumps(err))
    assert (back.where, back.key, back.expected, back.found, back.hint, str(back)) == (
        err.where,
        err.key,
        err.expected,
        err.found,
        err.hint,
        str(err),
    )


def test_the_model_refuses_a_hand_built_parameter_set_that_skipped_the_checks():
    from jjjsim.model import JJJModel
    from jjjsim.model.params import Params

    values = dict(defaults().values)
    del values["scale"]
    with pytest.raises(ConfigError, match="scale: expected every registry parameter"):
        JJJModel(Params(values), rng=1)
    values = {**defaults().values, "decide_share": 1.5}
    with pytest.raises(ConfigError, match=r"decide_share: expected .*found 1.5"):
        JJJModel(Params(values), rng=1)
