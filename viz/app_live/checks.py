"""Every value a client sends, checked against what the server offered."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jjjsim.model.errors import MAX_SEED, ConfigError, check_seed, did_you_mean
from jjjsim.model.params import LEVERS, Params, validate
from jjjsim.model.timeline import describe as describe_change

if TYPE_CHECKING:
    pass

from .limits import LEVER_IDS, RUN_QUARTERS, SESSION_ID


# ---- input checks --------------------------------------------------------------------------------
def parse_seed(text: Any) -> int:
    """A seed typed by the user: a whole number from 0 to 2**63 - 1 (ConfigError otherwise)."""
    s = "" if text is None else str(text).strip()
    if not re.fullmatch(r"[0-9]{1,19}", s):
        raise ConfigError("app", "seed", f"a whole number from 0 to {MAX_SEED}", s)
    return check_seed(int(s), "app")


def parse_quarters(value: Any) -> int:
    """The number of quarters one Run request steps: a whole number in [1, RUN_QUARTERS]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if not ok or not 1 <= value <= RUN_QUARTERS:
        raise ConfigError("app", "quarters to run", f"a whole number in [1, {RUN_QUARTERS}] a request", value)
    return int(value)


def check_session(sid: Any) -> str:
    """A session id as the page makes them (32 hex digits)."""
    if not isinstance(sid, str) or not SESSION_ID.fullmatch(sid):
        raise ConfigError("app", "session", "the id this page was given (reload the page)", sid)
    return sid


def check_scenario(value: Any, offered: Iterable[str]) -> str:
    """One of the offered scenario names (never a path: nothing is looked up from the value)."""
    names = list(offered)
    if not isinstance(value, str) or value not in names:
        hint = did_you_mean(value, names) if isinstance(value, str) and len(value) < 100 else ""
        raise ConfigError("app", "scenario", f"one of the offered scenarios ({', '.join(names)})", value, hint)
    return value


def scheduled_levers(p: Params) -> set[str]:
    """The levers a parameter set's timeline changes during the run."""
    return {e["lever"] for e in p.values.get("timeline", ())}


def timeline_text(p: Params) -> str:
    """The dated lever changes of a parameter set, one line ("" without a timeline)."""
    entries = p.values.get("timeline", ())
    if not entries:
        return ""
    changes = "; ".join(describe_change(e) for e in entries)
    return (
        f"Policy timeline: {changes}. These levers follow the timeline each quarter while the run steps (their "
        "controls are not used)."
    )


def check_choice(value: Any, offered: Iterable[str], what: str) -> str:
    """One of the ``offered`` keys (the options of a radio or dropdown the page offered)."""
    keys = list(offered)
    if not isinstance(value, str) or value not in keys:
        raise ConfigError("app", what, f"one of {', '.join(keys)}", value)
    return value


def check_lever_ids(ids: Any) -> list[tuple[str, str]]:
    """The lever controls' ids as the page made them: ``{"type": "lever", "name", "key"}`` with (name, key) a
    lever and key the page offers, each once, all of them. Returns the (name, key) pairs in order."""
    where = "lever controls"
    if not isinstance(ids, list):
        raise ConfigError(where, "ids", "a list of this page's lever controls", type(ids).__name__)
    pairs: list[tuple[str, str]] = []
    for cid in ids:
        ok = isinstance(cid, dict) and set(cid) == {"type", "name", "key"} and cid["type"] == "lever"
        if not ok or not isinstance(cid["name"], str) or not isinstance(cid["key"], str):
            raise ConfigError(where, "id", 'a lever control of this page ({"type": "lever", "name", "key"})', cid)
        pair = (cid["name"], cid["key"])
        label = ".".join(filter(None, pair))
        if pair not in LEVER_IDS:
            hint = did_you_mean(pair[0], LEVERS) if len(pair[0]) < 100 and pair[0] not in LEVERS else ""
            raise ConfigError(where, "id", "a lever (and region, pair or field) this page offers", label, hint)
        if pair in pairs:
            raise ConfigError(where, label, "each lever control once", "a duplicate")
        pairs.append(pair)
    if len(pairs) != len(LEVER_IDS):
        missing = sorted(".".join(filter(None, p)) for p in LEVER_IDS - set(pairs))
        raise ConfigError(
            where, "ids", f"all {len(LEVER_IDS)} lever controls of this page", f"{len(pairs)}, missing {missing[:3]}"
        )
    return pairs


def check_levers(ids: Any, values: Any) -> dict[str, Any]:
    """Lever overrides from the controls' ids and values: the ids as :func:`check_lever_ids` accepts them, one
    value each, every value one the registry accepts (in bounds, the right type). ConfigError otherwise."""
    pairs = check_lever_ids(ids)
    if not isinstance(values, list) or len(values) != len(pairs):
        found = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise ConfigError("lever controls", "values", f"one value for each of the {len(pairs)} controls", found)
    out: dict[str, Any] = {}
    for (name, key), v in zip(pairs, values, strict=True):
        if key:
            out.setdefault(name, {})[key] = v
        else:
            out[name] = v
    return validate(out, "lever controls")


def levers_from_controls(ids: list[dict[str, str]], values: list[Any]) -> dict[str, Any]:
    """Lever overrides from the controls' ids and values, checked (:func:`check_levers`)."""
    return check_levers(ids, values)
