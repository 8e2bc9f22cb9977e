"""docs/ODD.md's parameter tables are generated from the registry (tools/odd_tables.py), levers included, so that
the document an academic reads is the model that runs."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest
from jjjsim.model.params import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"
_spec = importlib.util.spec_from_file_location("odd_tables", ROOT / "tools" / "odd_tables.py")
assert _spec is not None and _spec.loader is not None
odd_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(odd_tables)

_ROW = re.compile(r"^\| `([a-z_0-9]+)` \|", re.M)


def _text() -> str:
    return ODD.read_text(encoding="utf-8")


def test_odd_tables_are_the_registry():
    """Every generated table of docs/ODD.md is what the tool writes from the registry now."""
    text = _text()
    stale = odd_tables.stale(text)
    assert not stale, (
        f"docs/ODD.md: the generated table(s) {', '.join(f'params:{k}' for k in stale)} differ from the registry;"
        " run `python tools/odd_tables.py`"
    )
    assert odd_tables.refresh(text) == text, "run `python tools/odd_tables.py`"


def test_every_registry_entry_is_in_exactly_one_generated_table():
    """Levers included; and no hand-written parameter or lever table is left outside the markers."""
    text = _text()
    tables = odd_tables.generated(text)
    names = Counter(n for body in tables.values() for n in _ROW.findall(body))
    assert names == Counter(list(REGISTRY)), {n: names[n] for n in {*names, *REGISTRY} if names[n] != 1}
    for key, body in tables.items():
        want = [p.name for p in REGISTRY.values() if (p.role == "lever") == (key == "levers")]
        assert set(_ROW.findall(body)) <= set(want), key
    assert set(_ROW.findall(tables["levers"])) == {n for n, p in REGISTRY.items() if p.role == "lever"}
    outside = re.sub(r"<!-- params:([a-z_0-9]+):start -->.*?<!-- params:\1:end -->", "", text, flags=re.S)
    assert odd_tables.PARAM_HEADER not in outside and "| lever | brief measure |" not in outside
    assert "| lever | source of the default |" not in outside


def test_tables_partition_the_registry():
    tables = odd_tables.tables()
    assert list(tables) == list(odd_tables.KEYS)
    placed = [p.name for ps in tables.values() for p in ps]
    assert sorted(placed) == sorted(REGISTRY)
    assert {p.name for p in tables["levers"]} == {n for n, p in REGISTRY.items() if p.role == "lever"}
    assert all(p.group == key and p.role != "lever" for key, ps in tables.items() if key != "levers" for p in ps)


def test_a_changed_default_makes_its_table_stale(monkeypatch):
    text = _text()
    p = REGISTRY["budget_elasticity"]
    monkeypatch.setitem(REGISTRY, p.name, dataclasses.replace(p, default=0.123))
    assert odd_tables.stale(text) == [p.group]
    fresh = odd_tables.refresh(text)
    assert "| `budget_elasticity` | Elasticity of output in effective budget (beta) | - | 0.123 |" in fresh
    assert odd_tables.stale(fresh) == []


def test_a_changed_lever_makes_the_lever_table_stale(monkeypatch):
    text = _text()
    p = REGISTRY["talent_incentive"]
    monkeypatch.setitem(REGISTRY, p.name, dataclasses.replace(p, default={**p.default, "Hebei": 3.0}))
    q = REGISTRY["fund_size"]
    monkeypatch.setitem(REGISTRY, q.name, dataclasses.replace(q, source="a new source"))
    assert odd_tables.stale(text) == ["levers"]
    fresh = odd_tables.refresh(text)
    assert "| Beijing 1, Tianjin 2, Hebei 3 |" in fresh and "| a new source |" in fresh


def test_check_exits_1_naming_the_stale_table(monkeypatch, tmp_path, capsys):
    odd = tmp_path / "ODD.md"
    odd.write_text(_text(), encoding="utf-8")
    assert odd_tables.main(["--check"], odd=odd) == 0
    p = REGISTRY["pilot_hazard"]
    monkeypatch.setitem(REGISTRY, p.name, dataclasses.replace(p, bounds=(0.0, 4.0)))
    capsys.readouterr()
    assert odd_tables.main(["--check"], odd=odd) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "params:piloting" in err and "python tools/odd_tables.py" in err
    assert "params:research" not in err
    assert odd.read_text(encoding="utf-8") == _text(), "--check writes nothing"
    assert odd_tables.main([], odd=odd) == 0  # the refresh command
    assert "| `pilot_hazard` | Piloting hazard scale (zeta_d) | - | 0.6 | [0, 4] |" in odd.read_text(encoding="utf-8")
    assert odd_tables.main(["--check"], odd=odd) == 0


def test_an_entry_without_a_table_or_a_missing_marker_fails(monkeypatch, tmp_path, capsys):
    text = _text()
    p = REGISTRY["culture_decay"]
    monkeypatch.setitem(REGISTRY, "new_thing", dataclasses.replace(p, name="new_thing", group="nowhere"))
    with pytest.raises(ValueError, match="new_thing"):
        odd_tables.tables()
    monkeypatch.delitem(REGISTRY, "new_thing")
    odd = tmp_path / "ODD.md"
    odd.write_text(text.replace(odd_tables.marker("culture", "end") + "\n", ""), encoding="utf-8")
    assert odd_tables.main(["--check"], odd=odd) == 1
    assert "params:culture" in capsys.readouterr().err
    with pytest.raises(ValueError, match="params:run"):
        odd_tables.blocks(text.replace(odd_tables.marker("run", "start"), ""))
