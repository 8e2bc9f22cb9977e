"""Policy timelines: dated lever changes inside a run (docs/ODD.md §7.0, "Policy timelines"): their form, their
checks and the values in force each quarter; :mod:`.policy` applies them in a running model.

A scenario file may give, besides ``[params]``, an array ``[[timeline]]`` of dated changes of levers::

    [[timeline]]
    lever = "fund_size"
    at = "2015Q3"        # a step change: the value holds from this quarter on
    value = 100.0
    source = "JJJ collaborative innovation investment fund set up 2015-09 (jjj_statistics.csv)"

    [[timeline]]
    lever = "barrier"
    from = "2015Q1"      # a linear ramp from the value in force before 2015Q1 ...
    to = "2019Q4"        # ... to `value`, reached in 2019Q4
    value = { "Beijing-Tianjin" = 0.5 }   # per-region levers: some sub-keys, or one number for all
    source = "assumption"

The timeline lives in the parameter set itself (the registry entry ``timeline``, a canonical list of entries
sorted by date in ``Params.values["timeline"]``), so run ids, manifests, sweeps and workers carry it unchanged.
An empty timeline is left out of hashes (:func:`identity`): a run without one keeps its id.

**Dates.** A scenario file's own entries lie inside the file's own run (``start_year`` Q1 to the quarter
``steps - 1`` of its ``[params]`` and base; :func:`extend`). A run may then be shortened (``--steps``, ``--set
steps=``, ``run(steps=)``, the calibration's 28 quarters of ``historical``): it simply stops before later entries
take effect, a ramp it cuts applies up to the last quarter run, and its recorded path (``levers.parquet``) shows
what was in force. An entry dated before the run's start (``start_year`` moved past it) stays an error
(:func:`check_run`), as does one no run could reach (after ``start_year`` Q1 + :data:`MAX_STEPS` - 1).

**Values in force.** Quarters are counted from ``start_year`` Q1 (quarter index 0). For one lever (one sub-key
of a per-region lever) let v_0 be its ``[params]`` value and the entries e_1, e_2, ... in date order, which never
overlap. A step at quarter a sets v(q) = x for q >= a. A ramp from quarter a to quarter b (a <= b) to x moves
from the value in force before it, v_prev = v(a - 1), in equal quarterly increments:

    v(q) = v_prev + (x - v_prev) * (q - a + 1) / (b - a + 1)    for a <= q <= b,   v(q) = x for q >= b,

so the first change is in quarter a and x is reached in quarter b (a ramp with a = b is a step). Whole-number
levers are rounded half up (floor(v + 0.5)); choice levers take steps only.

**Timing (Mesa 3).** ``model.steps`` is incremented before ``JJJModel.step`` runs, so step k simulates quarter
index k - 1; :func:`.policy.apply`, the first call of ``step``, sets the values in force in that quarter. The
set-up (step 0, :func:`.policy.start`, called by the model before ``setup.initialise``) builds the world with the
values in force in ``start_year`` Q1 (quarter 0), so steps 0 and 1 both run with them.

**Set-up levers mid-run** (:func:`.policy.apply`): ``fund_size`` creates the collaborative fund when it first becomes
> 0 (``fund.add``) and afterwards changes its committed capital (an increase is a capital inflow; a cut withdraws
uninvested capital, at most what is uninvested); ``fund_cross_region_share`` sets the fund's mandate;
``demo_base_capacity`` adds demo bases for added slots (``setup._add_platforms``, two slots a base as at set-up)
or, on a cut, lowers the capacity of a region's bases, newest first (running pilots finish; a base whose
capacity reaches 0 takes no new pilot and costs nothing); ``service_platforms`` adds platforms
(``setup._add_platforms``) or retires the newest of a field; ``shared_key_labs`` adds labs as the set-up does.
A cut of ``shared_key_labs`` is refused in validation: closing a lab would need its staff and results moved back,
which the model has no rule for. Draws of these changes (new platforms' efficiency, shared labs' field and
staff) come from their own stream, ``np.random.default_rng(m._child_seed(99, m.steps))``: the process streams and
``m.rng`` are left as they were, so common random numbers hold between a run and its constant counterpart.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .errors import ConfigError, did_you_mean
from .registry import BEHAVIOUR_LIST, LEVER_LIST, STRUCTURE_LIST, Param

if TYPE_CHECKING:
    import pandas as pd

    from .params import Params

NAME = "timeline"
LEVERS: dict[str, Param] = {p.name: p for p in LEVER_LIST}
_OTHERS = {p.name for p in (*BEHAVIOUR_LIST, *STRUCTURE_LIST)} | {NAME}
ENTRY_KEYS = ("lever", "at", "from", "to", "value", "source")
MAX_ENTRIES = 1000
"""Most entries a timeline may have."""
SETUP_LEVERS = ("fund_size", "fund_cross_region_share", "demo_base_capacity", "service_platforms", "shared_key_labs")
"""Levers the set-up reads to build agents; :func:`apply` builds, changes or retires those agents mid-run."""
ONLY_UP = ("shared_key_labs",)
"""Levers whose timeline may only raise them (labs are not closed during a run)."""
STREAM = 99
"""The ``_child_seed`` stream of the draws of mid-run set-up changes (outside the processes' 0-13)."""
MAX_STEPS = int(cast(tuple[float, float], {p.name: p for p in STRUCTURE_LIST}["steps"].bounds)[1])
"""The longest run (the registry's bound of ``steps``): no run reaches a date later than its start + this - 1."""
_QUARTER = re.compile(r"(\d{4})Q([1-4])")


# ---- dates -------------------------------------------------------------------------------------------------------
def parse_quarter(text: Any, where: str, key: str) -> int:
    """``"2015Q3"`` -> the absolute quarter number year * 4 + (n - 1); ConfigError if not of the form YYYYQn."""
    m = _QUARTER.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ConfigError(where, key, "a quarter of the form YYYYQn (e.g. 2015Q3)", text)
    return int(m[1]) * 4 + int(m[2]) - 1


def quarter_label(q: int) -> str:
    """The absolute quarter number ``q`` as ``YYYYQn``."""
    return f"{q // 4}Q{q % 4 + 1}"


def span(entry: dict[str, Any]) -> tuple[int, int]:
    """The absolute quarters (first, last) of an entry's change: a step's quarter twice, a ramp's from and to."""
    if "at" in entry:
        q = parse_quarter(entry["at"], NAME, "at")
        return q, q
    return parse_quarter(entry["from"], NAME, "from"), parse_quarter(entry["to"], NAME, "to")


def describe(entry: dict[str, Any]) -> str:
    """One entry as text: ``fund_size = 100 from 2015Q3`` or ``barrier.Beijing-Tianjin -> 0.5, 2015Q1-2019Q4``."""
    v = entry["value"]
    text = (
        ", ".join(f"{entry['lever']}.{k} = {_num(x)}" for k, x in v.items())
        if isinstance(v, dict)
        else (f"{entry['lever']} = {_num(v)}")
    )
    return f"{text} from {entry['at']}" if "at" in entry else f"{text}, ramp {entry['from']}-{entry['to']}"


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# ---- validation --------------------------------------------------------------------------------------------------
def _entry(raw: Any, where: str, key: str) -> dict[str, Any]:
    """One entry checked on its own and in canonical form (``lever``, ``at`` or ``from``/``to``, ``value`` -- a
    number or choice, or for per-region levers a table of the sub-keys it sets -- and ``source``)."""
    if not isinstance(raw, dict):
        raise ConfigError(where, key, "a table with lever, at (or from and to), value and source", raw)
    for k in raw:
        if k not in ENTRY_KEYS:
            expected = f"one of {', '.join(ENTRY_KEYS)}"
            raise ConfigError(where, f"{key}.{k}", expected, k, did_you_mean(str(k), ENTRY_KEYS))
    name = raw.get("lever")
    if not isinstance(name, str):
        raise ConfigError(where, f"{key}.lever", "the name of a lever (see `jjjsim levers`)", name)
    if name not in LEVERS:
        if name in _OTHERS:
            raise ConfigError(where, f"{key}.lever", "a lever (only levers have timelines; see `jjjsim levers`)", name)
        raise ConfigError(where, f"{key}.lever", "a lever name (see `jjjsim levers`)", name, did_you_mean(name, LEVERS))
    p = LEVERS[name]
    out: dict[str, Any] = {"lever": name}
    if "at" in raw and ("from" in raw or "to" in raw):
        raise ConfigError(where, key, "either at (a step) or from and to (a ramp), not both", sorted(raw))
    if "at" in raw:
        parse_quarter(raw["at"], where, f"{key}.at")
        out["at"] = raw["at"]
    elif "from" in raw or "to" in raw:
        for k in ("from", "to"):
            if k not in raw:
                raise ConfigError(where, f"{key}.{k}", "a quarter YYYYQn (a ramp needs from and to)", "nothing")
        a = parse_quarter(raw["from"], where, f"{key}.from")
        b = parse_quarter(raw["to"], where, f"{key}.to")
        if b < a:
            raise ConfigError(where, f"{key}.to", f"a quarter from {raw['from']} on (the ramp's from)", raw["to"])
        if p.kind == "choice":
            raise ConfigError(where, f"{key}.from", f"a step (at) for the choice lever {name}", raw["from"])
        out["from"], out["to"] = raw["from"], raw["to"]
    else:
        raise ConfigError(where, f"{key}.at", "a quarter YYYYQn (a step), or from and to (a ramp)", "nothing")
    if "value" not in raw:
        raise ConfigError(where, f"{key}.value", f"the value of {name} ({p.unit})", "nothing")
    out["value"] = _value(p, raw["value"], where, f"{key}.value")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise ConfigError(where, f"{key}.source", "a text saying where the date and value come from", source)
    out["source"] = " ".join(source.split())
    return out


def _value(p: Param, value: Any, where: str, key: str) -> Any:
    """The entry's value checked by the lever's own :meth:`Param.validate`: a scalar, or the sub-keys it sets."""
    if p.per and isinstance(value, dict) and not value:
        raise ConfigError(where, key, f"a number or a table of {', '.join(p.keys)}", value)
    try:
        checked = p.validate(value, where)
    except ConfigError as err:
        sub = err.key[len(p.name) :] if err.key.startswith(p.name) else ""
        raise ConfigError(where, key + sub, err.expected, err.found, err.hint) from None
    if not p.per:
        return checked
    given = value if isinstance(value, dict) else dict.fromkeys(p.keys)
    return {k: checked[k] for k in p.keys if k in given}


def _order(entry: dict[str, Any]) -> tuple[Any, ...]:
    a, b = span(entry)
    v = entry["value"]
    return a, b, entry["lever"], sorted(v) if isinstance(v, dict) else []


def canonical(value: Any, where: str) -> list[dict[str, Any]]:
    """A timeline (a list of entries) checked entry by entry and for overlaps, sorted by date. Dates are checked
    against the run in :func:`check_run` and, for a scenario file's own entries, :func:`extend` (they need
    ``start_year`` and ``steps``)."""
    if not isinstance(value, list | tuple):
        raise ConfigError(where, NAME, "a list of dated lever changes ([[timeline]] entries)", value)
    if len(value) > MAX_ENTRIES:
        raise ConfigError(where, NAME, f"at most {MAX_ENTRIES} entries", f"{len(value):,} entries")
    entries = [_entry(e, where, f"{NAME}[{i}]") for i, e in enumerate(value)]
    check_overlaps([(f"{NAME}[{i}]", e) for i, e in enumerate(entries)], where)
    return sorted(entries, key=_order)


def _slots(entry: dict[str, Any]) -> list[str]:
    """The (sub-)keys an entry changes: ``""`` for a scalar lever."""
    v = entry["value"]
    return list(v) if isinstance(v, dict) else [""]


def check_overlaps(named: list[tuple[str, dict[str, Any]]], where: str, new: int = 0) -> None:
    """No two entries for the same lever (and sub-key) whose active periods (a step's quarter, a ramp's from-to)
    overlap. ``named``: (name, entry) pairs; when ``new`` > 0 only pairs with one of the first ``new`` entries are
    compared, and the error names that one."""
    mine = {label for label, _ in named[:new]}
    by_slot: dict[tuple[str, str], list[tuple[int, int, str, dict[str, Any]]]] = {}
    for label, e in named:
        a, b = span(e)
        for s in _slots(e):
            by_slot.setdefault((e["lever"], s), []).append((a, b, label, e))
    for (lever, sub), items in by_slot.items():
        for i, (a1, b1, n1, e1) in enumerate(items):
            for a2, b2, n2, e2 in items[i + 1 :]:
                if not (a1 <= b2 and a2 <= b1) or (new and not {n1, n2} & mine):
                    continue
                swap = new and n1 in mine and n2 not in mine
                (name, entry), (label, other) = ((n1, e1), (n2, e2)) if swap else ((n2, e2), (n1, e1))
                slot = f"{lever}.{sub}" if sub else lever
                raise ConfigError(
                    where,
                    name,
                    f"no overlap with another change of {slot} (each quarter at most one change in force)",
                    _when(entry),
                    f"overlaps {label}" + ("" if label.startswith("the base") else f": {describe(other)}"),
                )


def _when(e: dict[str, Any]) -> str:
    return f"at {e['at']}" if "at" in e else f"from {e['from']} to {e['to']}"


def _run_span(values: dict[str, Any]) -> tuple[int, int]:
    """The absolute quarters (first, last) of the run of ``values``: ``start_year`` Q1 to the quarter ``steps - 1``."""
    start = int(values["start_year"]) * 4
    return start, start + int(values["steps"]) - 1


def check_dates(entries: list[dict[str, Any]], values: dict[str, Any], where: str, own: bool = False) -> None:
    """The dates of ``entries`` against the run of ``values``.

    ``own=True`` (a scenario file's own entries, against the run its ``[params]`` and base give): every date inside
    that run, ``start_year`` Q1 to the quarter ``steps - 1``. ``own=False`` (any parameter set, re-checked when
    ``start_year`` or ``steps`` change): every date from the run's start on and within the longest run
    (``steps`` <= its registry maximum); a run shortened below an entry's date (``--steps``, ``run(steps=)``,
    ``--set steps=``) stops before the entry takes effect, and a ramp it cuts applies up to its last quarter.
    """
    first, last = _run_span(values)
    if own:
        expected = f"a quarter of this scenario's run, {quarter_label(first)} to {quarter_label(last)}"
    else:
        last = first + MAX_STEPS - 1
        expected = (
            f"a quarter from the run's start, {quarter_label(first)}, on "
            f"(at most {quarter_label(last)}, the end of a {MAX_STEPS}-quarter run)"
        )
    run = f"start_year {values['start_year']}" + (f", steps {values['steps']}" if own else "")
    for i, e in enumerate(entries):
        for k in ("at", "from", "to"):
            if k in e and not first <= parse_quarter(e[k], where, f"{NAME}[{i}].{k}") <= last:
                raise ConfigError(where, f"{NAME}[{i}].{k}", expected, e[k], f"{describe(e)}; {run}")


def check_run(entries: list[dict[str, Any]], values: dict[str, Any], where: str, start_values: bool = True) -> None:
    """The timeline of a parameter set against its run: dates as :func:`check_dates` (``own=False``: from the run's
    start on; a shorter run stops before later entries), and levers that may only rise (:data:`ONLY_UP`) never cut
    below the value in force before. ``start_values``: whether ``values`` hold the levers' values before the
    timeline (``Params.replace``), not those in force mid-run (a model's ``use_params``); the entries are compared
    with each other either way."""
    if not entries:
        return
    check_dates(entries, values, where)
    for lever in ONLY_UP:
        v = values.get(lever) if start_values else -math.inf
        for i, e in sorted(enumerate(entries), key=lambda ie: span(ie[1])):
            if e["lever"] == lever:
                if e["value"] < v:
                    raise ConfigError(
                        where,
                        f"{NAME}[{i}].value",
                        f"at least {v} (the value in force before): {lever} can rise during a run, not fall",
                        e["value"],
                        "closing a shared lab mid-run is not modelled",
                    )
                v = e["value"]


def extend(current: list[dict[str, Any]], raw: Any, where: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """A scenario file's ``[[timeline]]`` entries (named by their index in the file) added to those of its base:
    each entry checked, then overlaps with the file's own and the base's entries (an error names the file's
    entry), and dates inside the file's own run (``values``: its parameters after its ``[params]`` and base).
    Returns the combined canonical list."""
    if not isinstance(raw, list):
        raise ConfigError(where, NAME, "an array of tables [[timeline]], each a dated lever change", raw)
    if len(raw) + len(current) > MAX_ENTRIES:
        raise ConfigError(where, NAME, f"at most {MAX_ENTRIES} entries", f"{len(raw) + len(current):,} entries")
    mine = [(f"{NAME}[{i}]", _entry(e, where, f"{NAME}[{i}]")) for i, e in enumerate(raw)]
    base = [(f"the base's {describe(e)}", e) for e in current]
    check_overlaps(mine + base, where, new=len(mine))
    check_dates([e for _, e in mine], values, where, own=True)
    check_run([e for _, e in mine], values, where)
    return sorted([e for _, e in mine] + list(current), key=_order)


def identity(values: dict[str, Any]) -> dict[str, Any]:
    """The values that identify a run: ``values`` without an empty timeline (so adding the registry entry left
    the ids and digests of every run without a timeline as they were)."""
    return values if values.get(NAME) else {k: v for k, v in values.items() if k != NAME}


# ---- the path ----------------------------------------------------------------------------------------------------
def _round(p: Param, x: float) -> Any:
    return int(math.floor(x + 0.5)) if p.kind == "int" else float(x)


def slots(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The (lever, sub-key) pairs the timeline changes, in registry order (sub-key ``""`` for a scalar)."""
    seen = {(e["lever"], s) for e in values.get(NAME, ()) for s in _slots(e)}
    return [(n, s) for n, p in LEVERS.items() for s in (p.keys or ("",)) if (n, s) in seen]


def levers_at(params: Params | dict[str, Any], quarter: int) -> dict[str, Any]:
    """The values in force in quarter ``quarter`` (index from ``start_year`` Q1 = 0) of every lever the timeline
    changes: overrides (per-region levers as tables of their changed sub-keys) for ``Params.replace``. Empty for
    an empty timeline. A pure function of the parameter values."""
    values = params if isinstance(params, dict) else params.values
    entries = values.get(NAME) or ()
    if not entries:
        return {}
    start = int(values["start_year"]) * 4
    out: dict[str, Any] = {}
    for lever, sub in slots(values):
        p = LEVERS[lever]
        v = values[lever][sub] if sub else values[lever]
        for e in entries:
            if e["lever"] != lever or (sub and sub not in e["value"]):
                continue
            a, b = (x - start for x in span(e))
            x = e["value"][sub] if sub else e["value"]
            if quarter >= b:
                v = x
            elif quarter >= a:
                v = _round(p, v + (x - v) * (quarter - a + 1) / (b - a + 1))
                break
            else:
                break
        if sub:
            out.setdefault(lever, {})[sub] = v
        else:
            out[lever] = v
    return out


def columns(values: dict[str, Any]) -> list[str]:
    """Column names of the recorded path: ``lever`` or ``lever.sub``."""
    return [f"{n}.{s}" if s else n for n, s in slots(values)]


def path_row(values: dict[str, Any], pairs: list[tuple[str, str]]) -> list[Any]:
    """One row of the recorded path: the values of the lever slots ``pairs``."""
    return [values[n][s] if s else values[n] for n, s in pairs]


def path(params: Params, steps: int | None = None) -> pd.DataFrame:
    """The lever path a run of ``params`` follows, one row per recorded step (0 = set-up, k = the quarter step k
    simulates, index k - 1): ``step``, ``year`` and one column per changed lever (sub-key). A pure function; the
    model's recorded :func:`frame` equals it."""
    values = params.values
    n = int(values["steps"]) if steps is None else steps
    pairs = slots(values)
    rows = []
    for k in range(n + 1):
        now = {**values, **merged(values, levers_at(values, max(k - 1, 0)))}
        rows.append(path_row(now, pairs))
    return path_frame(rows, columns(values), int(values["start_year"]))


def merged(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` (of :func:`levers_at`) with each per-region lever's other sub-keys from ``values``."""
    return {k: {**values[k], **v} if isinstance(v, dict) else v for k, v in overrides.items()}


def path_frame(rows: list[list[Any]], cols: list[str], start_year: int) -> pd.DataFrame:
    """A recorded path's rows as a frame with ``step`` and ``year``."""
    import pandas as pd  # here, not at module level: reading parameters and scenarios must not load pandas

    steps = np.arange(len(rows))
    df = pd.DataFrame(rows, columns=cols) if cols else pd.DataFrame(index=range(len(rows)))
    df.insert(0, "year", start_year + steps / 4.0)
    df.insert(0, "step", steps)
    return df
