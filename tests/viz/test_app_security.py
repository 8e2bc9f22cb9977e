"""The app under attack: every value a client sends is checked against what the server offered.

Dash sends the values of inputs, the ids of pattern-matched controls and the props that changed from the browser,
and checks none of them against the layout, so any client can POST its own to ``/_dash-update-component``. These
tests do that, the way dash-renderer builds the body (``output``, ``outputs``, ``inputs``, ``state``,
``changedPropIds``; the output strings are read from ``/_dash-dependencies``), first in-process through Flask's
test client (fast), then against the real server in a subprocess on 127.0.0.1, watching its memory and the time
of every request. What they reproduce (each failed before the fix):

1. a scenario value naming a file (``/etc/passwd``, ``/dev/zero``, a planted TOML file holding a secret token, a
   relative path) reached ``load_scenario``: existence leaked, the token came back in the message, a planted
   scenario ran;
2. forged lever ids set any registry parameter (``scale`` = 4 built 16x the agents);
3. one in-bounds "run 400 quarters" request took the server to gigabytes and an HTTP 500;
4. the cap on live runs dropped active tabs while telling them they had been idle;
5. a forged metric raised KeyError (HTTP 500); the results page's pickers went unchecked.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from browser import serve_app
from jjjsim.model.budget import Budget
from jjjsim.model.errors import ConfigError
from jjjsim.model.params import LEVERS
from jjjsim.model.scenario import builtin_names, load_scenario
from jjjsim.viz import app_live
from jjjsim.viz.app import create_app

UPDATE = "/_dash-update-component"
RSS_CAP_MB = 1500
"""The server's peak resident memory must stay below this through the whole attack replay."""
REQUEST_S = 8.0
"""No request may take longer (a few seconds: the per-request caps keep a Run well below)."""
OFFERED = [{"type": "lever", "name": n, "key": k} for n, p in LEVERS.items() for k in (p.keys or ("",))]
BASE = load_scenario("baseline").params.values


def _value(i: dict[str, str]) -> Any:
    return BASE[i["name"]][i["key"]] if i["key"] else BASE[i["name"]]


def _prop_id(i: Any) -> str:
    return json.dumps(i, sort_keys=True, separators=(",", ":")) if isinstance(i, dict) else str(i)


def _sid() -> str:
    return uuid.uuid4().hex


# ---- a client that speaks Dash's wire format ----------------------------------------------------------------
class Forger:
    """Builds callback bodies as dash-renderer does and sends them (through ``send``), timing each."""

    def __init__(self, send: Callable[[str, bytes | None], tuple[int, bytes]]) -> None:
        self.send = send
        status, raw = send("/_dash-dependencies", None)
        assert status == 200
        self.deps = {d["output"]: d for d in json.loads(raw)}
        self.live_out = next(o for o in self.deps if "live-status.children" in o)
        self.levers_out = next(o for o in self.deps if '"lever"' in o and o.endswith(".value"))
        self.results_out = next(o for o in self.deps if "res-figures.children" in o)
        self.times: list[tuple[str, float, int]] = []

    def post(self, body: Any, what: str = "", raw: bytes | None = None) -> tuple[int, str]:
        data = raw if raw is not None else json.dumps(body).encode()
        t0 = time.monotonic()
        status, out = self.send(UPDATE, data)
        self.times.append((what, time.monotonic() - t0, status))
        return status, out.decode("utf-8", "replace")

    def live_body(
        self,
        sid: Any,
        changed: list[str],
        *,
        scenario: Any = "baseline",
        ids: list[Any] | None = None,
        values: list[Any] | None = None,
        state_ids: list[Any] | None = None,
        flow: Any = "contract_value",
        metric: Any = "results",
        seed: Any = "0",
        quarters: Any = 20,
    ) -> dict[str, Any]:
        ids = OFFERED if ids is None else ids
        values = [_value(i) for i in ids] if values is None else values
        state_ids = ids if state_ids is None else state_ids
        clicks = {c.partition(".")[0]: 1 for c in changed}
        simple = lambda cid, prop, value: {"id": cid, "property": prop, "value": value}  # noqa: E731
        inputs = [
            simple("live-session", "data", sid),
            simple("live-step", "n_clicks", clicks.get("live-step")),
            simple("live-run", "n_clicks", clicks.get("live-run")),
            simple("live-play", "n_clicks", clicks.get("live-play")),
            simple("live-reset", "n_clicks", clicks.get("live-reset")),
            simple("live-interval", "n_intervals", clicks.get("live-interval")),
            simple("live-scenario", "value", scenario),
            [{"id": i, "property": "value", "value": v} for i, v in zip(ids, values, strict=False)],
            simple("live-flow-kind", "value", flow),
            simple("live-compare-metric", "value", metric),
        ]
        state = [
            [{"id": i, "property": "id", "value": i} for i in state_ids],
            simple("live-seed", "value", seed),
            simple("live-run-steps", "value", quarters),
        ]
        outputs = [
            dict(zip(("id", "property"), o.rsplit(".", 1), strict=True)) for o in self.live_out.strip(".").split("...")
        ]
        return {
            "output": self.live_out,
            "outputs": outputs,
            "inputs": inputs,
            "state": state,
            "changedPropIds": changed,
        }

    def live(self, sid: Any, changed: list[str], what: str = "", **kw: Any) -> tuple[int, dict[str, Any] | str]:
        status, text = self.post(self.live_body(sid, changed, **kw), what or ",".join(changed))
        return status, (json.loads(text)["response"] if status == 200 and text else text)

    def load_levers(self, scenario: Any, ids: list[Any] | None = None, what: str = "") -> tuple[int, str]:
        ids = OFFERED if ids is None else ids
        body = {
            "output": self.levers_out,
            "outputs": [{"id": i, "property": "value"} for i in ids],
            "inputs": [{"id": "live-scenario", "property": "value", "value": scenario}],
            "state": [[{"id": i, "property": "id", "value": i} for i in ids]],
            "changedPropIds": ["live-scenario.value"],
        }
        return self.post(body, what or f"load levers {scenario!r}"[:60])

    def results_page(self, what: str = "", **picks: Any) -> tuple[int, str]:
        names = ("res-metric", "res-labels", "res-regions", "res-indicator", "res-flow", "res-lever")
        keys = ("metric", "labels", "regions", "indicator", "flow", "lever")
        inputs = [{"id": n, "property": "value", "value": picks.get(k)} for n, k in zip(names, keys, strict=True)]
        body = {
            "output": self.results_out,
            "outputs": {"id": "res-figures", "property": "children"},
            "inputs": inputs,
            "state": [],
            "changedPropIds": [f"{n}.value" for n in names],
        }
        return self.post(body, what or f"results {picks}"[:60])


def message(resp: dict[str, Any] | str) -> str:
    assert isinstance(resp, dict), resp
    return str(resp.get("live-message", {}).get("children", ""))


def text_of(node: Any) -> str:
    """The visible text of serialised Dash components."""
    if isinstance(node, list):
        return "".join(text_of(n) for n in node)
    if isinstance(node, dict):
        return text_of(node.get("props", {}).get("children"))
    return "" if node is None else str(node)


def status_text(resp: dict[str, Any] | str) -> str:
    assert isinstance(resp, dict), resp
    return text_of(resp.get("live-status", {}).get("children"))


def quarter(resp: dict[str, Any] | str) -> int:
    return int(status_text(resp).split("Quarter ", 1)[1].split(" ", 1)[0])


def in_process(app: Any) -> Forger:
    client = app.server.test_client()

    def send(path: str, data: bytes | None) -> tuple[int, bytes]:
        r = client.get(path) if data is None else client.post(path, data=data, content_type="application/json")
        return r.status_code, r.data

    return Forger(send)


def over_http(url: str, timeout: float = 30.0) -> Forger:
    def send(path: str, data: bytes | None) -> tuple[int, bytes]:
        req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    return Forger(send)


# ---- the real server in a subprocess -------------------------------------------------------------------------
def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and its peak (VmRSS, VmHWM) of a process, MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@contextmanager
def server(folder: Path, results: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``serve()`` in a subprocess (cwd ``folder``) on a free loopback port; yields its URL and process."""
    with serve_app(folder, results, cwd=folder) as served:
        yield served


# ---- planted files -------------------------------------------------------------------------------------------
TOKEN = "s3cr3t-" + uuid.uuid4().hex


def plant(folder: Path) -> dict[str, Path]:
    """A TOML file holding the token (as a description, a base and a key) and a scenario that would run."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret.toml"
    secret.write_text(f'description = "{TOKEN}"\nbase = "{TOKEN}"\n[params]\n{TOKEN} = 1\n')
    evil = folder / "evil.toml"
    evil.write_text('description = "runs from anywhere"\nbase = "baseline"\n[params]\nscale = 4.0\n')
    return {"secret": secret, "evil": evil}


def scenario_attacks(files: dict[str, Path], cwd: Path) -> list[str]:
    return [
        "/etc/passwd",
        "/dev/zero",
        "/etc",
        "/no/such/file.toml",
        str(files["secret"]),
        str(files["evil"]),
        os.path.relpath(files["secret"], cwd),
        "./" + os.path.relpath(files["evil"], cwd),
        "../scenarios/baseline",
        "scenarios/baseline.toml",
        "baseline.toml",
        "Baseline",
        "",
    ]


def lever_attacks() -> list[tuple[str, list[Any], list[Any]]]:
    """(what, ids, values) of forged lever controls."""
    ids, values = list(OFFERED), [_value(i) for i in OFFERED]
    at = next(k for k, i in enumerate(ids) if i["name"] == "autonomy")

    def swap(k: int, new_id: Any = None, new_value: Any = None) -> tuple[list[Any], list[Any]]:
        i2, v2 = list(ids), list(values)
        if new_id is not None:
            i2[k] = new_id
        if new_value is not None:
            v2[k] = new_value
        return i2, v2

    out: list[tuple[str, list[Any], list[Any]]] = [
        ("extra id scale=4", [*ids, {"type": "lever", "name": "scale", "key": ""}], [*values, 4.0]),
        ("extra id steps=400", [*ids, {"type": "lever", "name": "steps", "key": ""}], [*values, 400]),
        ("autonomy renamed scale", *swap(at, {"type": "lever", "name": "scale", "key": ""}, 4.0)),
        ("unknown name", *swap(at, {"type": "lever", "name": "no_such_lever", "key": ""}, 1.0)),
        ("valid name, bad key", *swap(at, {"type": "lever", "name": "barrier", "key": "Beijing-Mars"}, 0.5)),
        ("scalar lever with a key", *swap(at, {"type": "lever", "name": "autonomy", "key": "Beijing"}, 0.5)),
        ("duplicate id", [*ids, ids[at]], [*values, 0.9]),
        ("missing id", ids[:-1], values[:-1]),
        ("wrong type field", *swap(at, {"type": "param", "name": "autonomy", "key": ""})),
        ("extra id field", *swap(at, {**ids[at], "x": "1"})),
        ("id not a dict", *swap(at, "autonomy")),
        ("value out of bounds", *swap(at, None, 5.0)),
        ("value negative", *swap(at, None, -1.0)),
        ("value a string", *swap(at, None, "abc")),
        ("value a dict", *swap(at, None, {"Beijing": 1})),
        ("value huge list", *swap(at, None, list(range(20_000)))),
        ("value huge int", *swap(at, None, 10**400)),
        ("fewer values than ids", ids, values[:-3]),
        ("no ids", [], []),
    ]
    return out


# ---- in-process: fast checks of every callback ---------------------------------------------------------------
@pytest.fixture(scope="module")
def live_app() -> Any:
    return create_app()


def test_scenario_values_are_never_paths(live_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario value is a name the server offered; no client value reaches a file (reproduces 1)."""
    files = plant(tmp_path / "planted")
    monkeypatch.chdir(tmp_path)
    reads: list[Any] = []
    import jjjsim.model.scenario as scenario_mod

    real = scenario_mod.read_toml
    monkeypatch.setattr(scenario_mod, "read_toml", lambda p, *a, **k: reads.append(p) or real(p, *a, **k))
    f = in_process(live_app)
    for value in [*scenario_attacks(files, tmp_path), 7, None, ["baseline"], {"name": "baseline"}]:
        for changed in (["live-scenario.value"], ["live-reset.n_clicks"], ["live-session.data"]):
            status, resp = f.live(_sid(), changed, scenario=value)
            assert status == 200, (value, changed, resp)
            assert TOKEN not in json.dumps(resp)
            assert "scenario" in message(resp) and "offered" in message(resp), (value, message(resp))
            assert "live-status" not in resp or "runs from anywhere" not in json.dumps(resp)
        status, text = f.load_levers(value)
        assert status in (200, 204) and TOKEN not in text, (value, status, text)
        assert status == 204  # nothing loaded
    assert reads == []  # no file was opened for any request


def test_builtin_scenarios_still_load(live_app: Any) -> None:
    f = in_process(live_app)
    sid = _sid()
    status, resp = f.live(sid, ["live-session.data"], scenario="all-measures")
    assert status == 200 and message(resp) == "" and "all-measures" in status_text(resp)
    status, text = f.load_levers("all-measures")
    assert status == 200
    values = json.loads(text)["response"]
    auto = next(v for k, v in values.items() if '"autonomy"' in k)
    assert auto["value"] == load_scenario("all-measures").params.values["autonomy"]


def test_forged_lever_ids_and_values_are_refused(live_app: Any) -> None:
    """Only the offered (name, key) ids, each once, all of them, with registry-valid values (reproduces 2)."""
    f = in_process(live_app)
    store = app_live_sessions(live_app)
    for what, ids, values in lever_attacks():
        sid = _sid()
        status, resp = f.live(sid, ["live-session.data"])
        assert status == 200 and quarter(resp) == 0
        changed = [_prop_id(ids[0]) + ".value"] if ids else ["live-step.n_clicks"]
        for trigger in (changed, ["live-reset.n_clicks"]):
            status, resp = f.live(sid, trigger, ids=ids, values=values, state_ids=ids, what=what)
            assert status in (200, 400, 413), (what, status, resp)
            if status == 200:
                assert message(resp), (what, trigger)  # a clear message
                assert "lever" in message(resp).lower(), (what, message(resp))
            s = store.get(sid)
            assert s is not None and s.run.p.values == s.baseline.p.values, what  # nothing applied
            assert s.run.p.scale == app_live.DEFAULT_SCALE and s.run.p.steps == BASE["steps"], what
        status, text = f.load_levers("baseline", ids=ids)
        assert status in ((200,) if ids == OFFERED else (204, 400, 413)), (what, status, text[:200])


def app_live_sessions(app: Any) -> Any:
    return app.jjjsim_sessions


def test_forged_metric_flow_seed_and_session_are_messages_not_500(live_app: Any) -> None:
    """Reproduces 5 (a forged metric was a KeyError: HTTP 500)."""
    f = in_process(live_app)
    sid = _sid()
    f.live(sid, ["live-session.data"])
    for what, kw in (
        ("metric", {"metric": "no_such_metric"}),
        ("metric list", {"metric": ["results"]}),
        ("metric dunder", {"metric": "__class__"}),
        ("flow", {"flow": "no_such_flow"}),
        ("flow attribute", {"flow": "__dict__"}),
        ("flow none", {"flow": None}),
    ):
        trigger = "live-compare-metric.value" if what.startswith("metric") else "live-flow-kind.value"
        status, resp = f.live(sid, [trigger], what=what, **kw)
        assert status == 200, (what, resp)
        assert "expected one of" in message(resp), (what, message(resp))
    for seed in ("-1", "9" * 100, {"a": 1}, [1], 1.5):
        status, resp = f.live(sid, ["live-reset.n_clicks"], seed=seed)
        assert status == 200 and "seed" in message(resp), seed
    for bad in ("x" * 5000, None, {"a": 1}, 12, "../../etc/passwd"):
        status, resp = f.live(bad, ["live-step.n_clicks"])
        assert status == 200 and "session" in message(resp), bad


def test_the_page_router_and_seed_check_take_any_value(live_app: Any) -> None:
    f = in_process(live_app)
    for output, cid, prop in (("page.children", "url", "pathname"), ("live-seed-msg.children", "live-seed", "value")):
        target, target_prop = output.rsplit(".", 1)
        for value in ({"a": 1}, [1, 2], 12, None, "/etc/passwd", "x" * 10_000):
            body = {
                "output": output,
                "outputs": {"id": target, "property": target_prop},
                "inputs": [{"id": cid, "property": prop, "value": value}],
                "state": [],
                "changedPropIds": [f"{cid}.{prop}"],
            }
            status, text = f.post(body, f"{output} {value!r}"[:60])
            assert status == 200, (output, value, text[:300])


def test_the_quarters_of_a_request_are_capped(live_app: Any) -> None:
    """One in-bounds "run 400 quarters" request took the server to 4.2 GB and a 500 (reproduces 3)."""
    f = in_process(live_app)
    sid = _sid()
    f.live(sid, ["live-session.data"])
    for quarters in (400, 41, 10**9, -5, "40", None, 2.5):
        t0 = time.monotonic()
        status, resp = f.live(sid, ["live-run.n_clicks"], quarters=quarters)
        assert status == 200 and time.monotonic() - t0 < REQUEST_S
        assert "quarters to run" in message(resp) and quarter(resp) == 0, (quarters, message(resp))
    status, resp = f.live(sid, ["live-run.n_clicks"], quarters=app_live.RUN_QUARTERS)
    assert status == 200 and quarter(resp) == app_live.RUN_QUARTERS and message(resp) == ""


def test_malformed_and_oversized_bodies_are_4xx(live_app: Any) -> None:
    f = in_process(live_app)
    good = f.live_body(_sid(), ["live-session.data"])
    bad: list[tuple[str, Any]] = [
        ("not json", b"{nope"),
        ("a list", b"[]"),
        ("unknown output", {**good, "output": "live-status.children"}),
        ("output not a string", {**good, "output": ["x"]}),
        ("missing inputs", {k: v for k, v in good.items() if k != "inputs"}),
        ("fewer inputs", {**good, "inputs": good["inputs"][:3]}),
        ("input not an object", {**good, "inputs": ["x"] * len(good["inputs"])}),
        ("changed not strings", {**good, "changedPropIds": [1, 2]}),
        ("huge body", b'{"output": "' + b"x" * (2 << 20) + b'"}'),
    ]
    for what, body in bad:
        raw = body if isinstance(body, bytes) else None
        status, text = f.post(body, what, raw=raw)
        assert 400 <= status < 500, (what, status, text[:300])


# ---- budgets, memory and sessions ----------------------------------------------------------------------------
def test_a_tab_stops_at_its_work_budget_with_a_message() -> None:
    """A Run is refused up front when quarters x what the models hold would pass what is left of the budget;
    a run that passes it anyway (the world grows as it runs) stops with the budget's one line, no 500."""
    store = app_live.Sessions(cap=4, budget=Budget(agent_steps=2_500_000, memory_mb=64))
    f = in_process(create_app(sessions=store))
    sid = _sid()
    f.live(sid, ["live-session.data"])
    status, resp = f.live(sid, ["live-run.n_clicks"], quarters=40)  # ~ 1.7 M agent-steps (model v2): within
    assert status == 200 and quarter(resp) == 40 and message(resp) == ""
    s = store.get(sid)
    assert s.run.budget.agent_steps - s.run.work < 40 * s.run.holding()
    status, resp = f.live(sid, ["live-run.n_clicks"], quarters=40)
    assert status == 200 and quarter(resp) == 40, message(resp)  # refused before stepping
    assert "would need at least" in message(resp) and "agent-steps" in message(resp) and "Reset" in message(resp)

    store = app_live.Sessions(cap=4, budget=Budget(agent_steps=600_000, memory_mb=64))
    f = in_process(create_app(sessions=store))
    f.live(sid, ["live-session.data"])
    status, resp = f.live(sid, ["live-run.n_clicks"], quarters=40)  # 40 x ~11 k at the start: passes the estimate
    assert status == 200 and 0 < quarter(resp) < 40
    assert "reached its budget (run budget: agent-steps" in message(resp) and "Reset" in message(resp), message(resp)
    stopped_at = quarter(resp)
    for trigger in ("live-step.n_clicks", "live-run.n_clicks", "live-play.n_clicks"):
        status, resp = f.live(sid, [trigger], quarters=1)
        assert status == 200 and quarter(resp) == stopped_at and "Reset" in message(resp)
        assert resp["live-interval"]["disabled"] is True  # play does not start
    status, resp = f.live(sid, ["live-reset.n_clicks"])
    assert quarter(resp) == 0 and message(resp) == ""


def test_a_tick_sent_before_pause_does_not_undo_it() -> None:
    """The play state is the server's: a tick already on its way when Pause is clicked neither steps nor
    restarts play (the page once kept it, and a late tick could turn play back on)."""
    f = in_process(create_app(sessions=app_live.Sessions(cap=2)))
    sid = _sid()
    f.live(sid, ["live-session.data"])
    status, resp = f.live(sid, ["live-interval.n_intervals"])  # a tick while paused does nothing
    assert status == 200 and quarter(resp) == 0 and resp["live-interval"]["disabled"] is True
    status, resp = f.live(sid, ["live-play.n_clicks"])
    assert resp["live-interval"]["disabled"] is False and "Pause" in str(resp["live-play"]["children"])
    status, resp = f.live(sid, ["live-interval.n_intervals"])
    assert quarter(resp) == 1 and resp["live-interval"]["disabled"] is False
    status, resp = f.live(sid, ["live-play.n_clicks"])  # pause
    assert resp["live-interval"]["disabled"] is True and "Play" in str(resp["live-play"]["children"])
    status, resp = f.live(sid, ["live-interval.n_intervals"])  # the late tick
    assert quarter(resp) == 1 and resp["live-interval"]["disabled"] is True
    status, resp = f.live(sid, ["live-step.n_clicks"])  # stepping by hand still works and does not play
    assert quarter(resp) == 2 and resp["live-interval"]["disabled"] is True
    status, resp = f.live(sid, ["live-play.n_clicks"])
    status, resp = f.live(sid, ["live-reset.n_clicks"])  # a new run starts paused
    assert quarter(resp) == 0 and resp["live-interval"]["disabled"] is True


def test_memory_budget_stops_a_run_that_explodes() -> None:
    store = app_live.Sessions(cap=2, budget=Budget(agent_steps=10**9, memory_mb=2))
    app = create_app(sessions=store)
    f = in_process(app)
    sid = _sid()
    f.live(sid, ["live-session.data"])
    resp: Any = None
    for _ in range(6):
        status, resp = f.live(sid, ["live-run.n_clicks"], quarters=40)
        assert status == 200
        if "memory" in message(resp):
            break
    assert "run budget: memory" in message(resp), message(resp)
    assert store.get(sid).nbytes <= 2 * 2 * 2**20 + store.get(sid).recorder_bytes


def test_session_memory_is_measured_and_within_the_tab_cap() -> None:
    s = app_live.Session.build("baseline", {}, seed=0, scale=app_live.DEFAULT_SCALE)
    start = s.nbytes
    s.advance(app_live.RUN_QUARTERS)
    after = s.nbytes
    print(f"\nper-tab memory (tables + recorders): {start / 2**20:.2f} MiB at quarter 0, {after / 2**20:.2f} MiB at 40")
    assert 0 < start <= after <= app_live.TAB_MEMORY_MB * 2**20
    assert app_live.TOTAL_MEMORY_MB == app_live.MAX_SESSIONS * app_live.TAB_MEMORY_MB


def test_evicted_tabs_are_told_the_truth() -> None:
    """20 tabs against a cap of 16: the dropped ones hear that the limit was reached, not that they were idle
    (reproduces 4: 15 of 20 concurrent users were told they had been idle)."""
    store = app_live.Sessions(cap=16, idle=1800.0)
    app = create_app(scale=0.05, sessions=store)
    f = in_process(app)
    tabs = [_sid() for _ in range(20)]
    for sid in tabs:
        status, resp = f.live(sid, ["live-session.data"])
        assert status == 200 and message(resp) == ""
    assert len(store) == 16
    held = store.nbytes()
    print(f"\n16 live runs at scale 0.05 hold {held / 2**20:.1f} MiB (bound {app_live.TOTAL_MEMORY_MB:,} MiB)")
    assert held <= app_live.MAX_SESSIONS * app_live.TAB_MEMORY_MB * 2**20
    lost = 0
    for sid in tabs:
        status, resp = f.live(sid, ["live-step.n_clicks"])
        text = message(resp)
        assert "idle" not in text, text
        if text:
            lost += 1
            assert "limit of 16 live runs" in text and "least recently used" in text, text
            assert quarter(resp) == 0
    assert lost >= 4
    idle_sid = tabs[-1]
    store.get(idle_sid).used -= 3600.0
    f.live(_sid(), ["live-session.data"])  # a put sweeps the idle ones
    status, resp = f.live(idle_sid, ["live-step.n_clicks"])
    assert "30 min idle" in message(resp), message(resp)


def test_the_record_of_dropped_runs_is_bounded() -> None:
    store = app_live.Sessions(cap=1)
    s = app_live.Session.build("baseline", {}, seed=0, scale=0.01)
    for k in range(app_live.DROPPED_RECORD + 50):
        store.put(f"{k:032x}", s)
    assert len(store._dropped) == app_live.DROPPED_RECORD
    assert store.dropped(f"{0:032x}") is None  # too old to remember
    assert "limit of 1 live run" in store.dropped(f"{app_live.DROPPED_RECORD + 40:032x}")


def test_unit_checks_of_client_values() -> None:
    offered = app_live.builtin_scenarios()
    assert set(offered) == set(builtin_names())
    assert app_live.check_scenario("baseline", offered) == "baseline"
    for bad in ("/etc/passwd", "../scenarios/baseline", "baseline.toml", "", None, 3, ["baseline"]):
        with pytest.raises(ConfigError, match="scenario"):
            app_live.check_scenario(bad, offered)
    values = [_value(i) for i in OFFERED]
    assert app_live.check_levers(OFFERED, values)["autonomy"] == BASE["autonomy"]
    for what, ids, vals in lever_attacks():
        with pytest.raises(ConfigError):
            app_live.check_levers(ids, vals)
            pytest.fail(what)
    assert app_live.check_choice("results", app_live.COMPARE_METRICS, "metric") == "results"
    with pytest.raises(ConfigError, match="expected one of"):
        app_live.check_choice("nope", app_live.COMPARE_METRICS, "metric")
    assert app_live.check_session(uuid.uuid4().hex)
    for bad in ("x", None, "g" * 32, "A" * 32):
        with pytest.raises(ConfigError, match="session"):
            app_live.check_session(bad)
    with pytest.raises(ConfigError, match="quarters"):
        app_live.parse_quarters(app_live.RUN_QUARTERS + 1)


# ---- the results page ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny sweep over the baseline and a scenario file of its own (my-policy.toml beside the experiment)."""
    from jjjsim.experiments.definition import load_experiment
    from jjjsim.experiments.sweep import sweep

    base = tmp_path_factory.mktemp("own-results")
    policy = base / "my-policy.toml"
    policy.write_text('description = "own"\nbase = "baseline"\n[params]\nautonomy = 0.9\nfund_size = 200\n')
    (base / "exp.toml").write_text(
        'name = "own"\nsteps = 2\n[seeds]\nlist = [1]\n[outputs]\nseries = true\nflows = true\n'
        '[overrides]\nscale = 0.05\n[design]\nkind = "scenarios"\nscenarios = ["baseline", "my-policy.toml"]\n'
    )
    report = sweep(load_experiment(base / "exp.toml"), base / "out", workers=1)
    assert report.failed == 0
    return base / "out", policy


def test_the_results_folder_scenarios_are_offered_by_label_not_path(own_results: tuple[Path, Path]) -> None:
    folder, policy = own_results
    app = create_app(folder)
    offered = app.jjjsim_scenarios
    assert "my-policy" in offered and "baseline" in offered
    assert offered["my-policy"].values["autonomy"] == 0.9
    f = in_process(app)
    moved = policy.with_suffix(".moved")
    policy.rename(moved)  # the app read it at start: no file is read per request
    try:
        sid = _sid()
        status, resp = f.live(sid, ["live-session.data"], scenario="my-policy")
        assert status == 200 and message(resp) == "" and "my-policy" in status_text(resp)
        status, text = f.load_levers("my-policy")
        assert status == 200 and '"value": 0.9' in text.replace('"value":0.9', '"value": 0.9')
        for value in (str(policy), str(moved), "my-policy.toml", str(folder / "manifest.json")):
            status, resp = f.live(sid, ["live-scenario.value"], scenario=value)
            assert status == 200 and "offered" in message(resp), value
    finally:
        moved.rename(policy)


def test_results_page_pickers_accept_only_what_was_offered(scenario_results: Path, tmp_path: Path) -> None:
    files = plant(tmp_path / "planted")
    app = create_app(scenario_results)
    f = in_process(app)
    tables = app.jjjsim_tables
    status, text = f.results_page(
        metric="value_added",
        labels=["baseline", "talent-incentives"],
        regions=["Beijing"],
        indicator="value_added",
        flow="contract_value",
    )
    assert status == 200 and "res-forest" in text
    cached = len(tables._cache)
    for picks in (
        {"metric": "no_such_metric"},
        {"metric": ["value_added"]},
        {"metric": "value_added", "labels": [str(files["secret"])]},
        {"metric": "value_added", "labels": "baseline"},
        {"metric": "value_added", "labels": ["baseline"] * 100_000},
        {"metric": "value_added", "regions": ["Mars"]},
        {"metric": "value_added", "regions": "Beijing"},
        {"metric": "value_added", "indicator": "../../etc/passwd"},
        {"metric": "value_added", "indicator": str(files["secret"])},
        {"metric": "value_added", "flow": "__dict__"},
        {"metric": "value_added", "lever": "scale"},
    ):
        status, text = f.results_page(**picks)
        assert status in (200, 413), (picks, status, text[:300])
        assert TOKEN not in text
        if status == 200:
            assert "expected" in text and "res-forest" not in text, (picks, text[:300])
    assert len(tables._cache) == cached  # nothing computed or read for a refused pick


# ---- the real server: the whole replay -----------------------------------------------------------------------
def test_attack_replay_against_the_real_server(tmp_path: Path, scenario_results: Path) -> None:
    """Every attack above, over HTTP, against ``serve()`` in a subprocess: each answer a 200 with a message or a
    4xx, never a 500; the token never comes back; no request takes more than a few seconds; the server's peak
    resident memory stays under RSS_CAP_MB."""
    cwd = tmp_path / "cwd"
    files = plant(cwd)
    with server(cwd, scenario_results) as (url, proc):
        f = over_http(url)
        before = rss_mb(proc.pid)
        sid = _sid()
        replies: list[tuple[str, int, str]] = []

        def live(changed: list[str], what: str, s: Any = None, **kw: Any) -> dict[str, Any] | str:
            status, resp = f.live(sid if s is None else s, changed, what=what, **kw)
            replies.append((what, status, json.dumps(resp) if isinstance(resp, dict) else resp))
            return resp

        assert quarter(live(["live-session.data"], "open the page")) == 0
        for value in scenario_attacks(files, cwd):
            for changed in (["live-scenario.value"], ["live-reset.n_clicks"]):
                resp = live(changed, f"scenario {value!r} {changed[0]}", scenario=value)
                assert "offered" in message(resp), (value, resp)
            status, text = f.load_levers(value, what=f"load levers {value!r}")
            replies.append((f"load levers {value!r}", status, text))
            live(["live-session.data"], f"new tab, scenario {value!r}", s=_sid(), scenario=value)
        for what, ids, values in lever_attacks():
            changed = [_prop_id(ids[0]) + ".value"] if ids else ["live-step.n_clicks"]
            live(changed, f"levers: {what}", ids=ids, values=values, state_ids=ids)
            live(["live-reset.n_clicks"], f"reset with levers: {what}", ids=ids, values=values, state_ids=ids)
            status, text = f.load_levers("baseline", ids=ids, what=f"load levers: {what}")
            replies.append((f"load levers: {what}", status, text))
        resp = live(["live-run.n_clicks"], "run 400 quarters", quarters=400)
        assert "quarters to run" in message(resp) and quarter(resp) == 0
        resp = live(["live-run.n_clicks"], "run 40 quarters", quarters=40)
        assert quarter(resp) == 40 and message(resp) == ""
        assert "scale 0.25" in status_text(resp) and "Every lever at the baseline" in status_text(resp)
        for metric in ("no_such_metric", ["x"], "__class__"):
            live(["live-compare-metric.value"], f"metric {metric!r}", metric=metric)
        live(["live-flow-kind.value"], "flow __dict__", flow="__dict__")
        for picks in (
            {"metric": "nope"},
            {"metric": "value_added", "labels": [str(files["secret"])]},
            {"metric": "value_added", "indicator": str(files["secret"])},
        ):
            status, text = f.results_page(**picks)
            replies.append((f"results {picks}", status, text))
        after = rss_mb(proc.pid)

    for what, status, text in replies:
        assert status in (200, 204) or 400 <= status < 500, (what, status, text[:300])  # 204: nothing loaded
        assert TOKEN not in text, what
        assert "runs from anywhere" not in text, what
    slowest = sorted(f.times, key=lambda t: -t[1])[:5]
    print(
        f"\nserver RSS before {before[0]:.0f} MiB, after {after[0]:.0f} MiB, peak {after[1]:.0f} MiB; "
        f"{len(f.times)} requests, slowest: " + "; ".join(f"{w} {s:.2f} s ({c})" for w, s, c in slowest)
    )
    assert all(s < REQUEST_S for _, s, _ in f.times), slowest
    assert after[1] < RSS_CAP_MB, after


def test_twenty_tabs_on_the_real_server_hear_the_truth(tmp_path: Path) -> None:
    """20 tabs open at once against the default cap of 16, over HTTP; then each steps. Every tab that lost its
    run is told the server's limit was reached, none that it was idle."""
    with server(tmp_path) as (url, proc):
        f = over_http(url)
        tabs = [_sid() for _ in range(20)]
        errors: list[Any] = []

        def open_tab(sid: str) -> None:
            status, resp = f.live(sid, ["live-session.data"])
            if status != 200 or message(resp):
                errors.append((sid, status, resp))

        threads = [threading.Thread(target=open_tab, args=(s,)) for s in tabs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == [] and not any(t.is_alive() for t in threads)
        told = [message(f.live(sid, ["live-step.n_clicks"])[1]) for sid in tabs]
        peak = rss_mb(proc.pid)[1]
    lost = [m for m in told if m]
    print(f"\n20 tabs, cap {app_live.MAX_SESSIONS}: {len(lost)} lost their run; server peak RSS {peak:.0f} MiB")
    assert len(lost) >= 20 - app_live.MAX_SESSIONS
    for m in lost:
        assert f"limit of {app_live.MAX_SESSIONS} live runs" in m and "idle" not in m, m


def test_a_run_to_its_budget_on_the_real_server_stays_bounded(tmp_path: Path) -> None:
    """All measures (the scenario whose world grows fastest) run 40 quarters a request until the run's budget
    stops it: every request a 200 within a few seconds, the end a one-line budget message, memory bounded."""
    with server(tmp_path) as (url, proc):
        f = over_http(url)
        sid = _sid()
        f.live(sid, ["live-session.data"], scenario="all-measures")
        log: list[tuple[int, str]] = []
        for _ in range(20):  # bounded: the budget ends it before (~14 requests of at most 4 M agent-steps)
            status, resp = f.live(sid, ["live-run.n_clicks"], scenario="all-measures", quarters=40)
            assert status == 200, resp
            log.append((quarter(resp), message(resp)))
            if "budget" in message(resp):
                break
        peak = rss_mb(proc.pid)[1]
    times = [t for _, t, _ in f.times[1:]]
    print(
        f"\nall-measures to its budget: quarters {[q for q, _ in log]}, request times "
        f"{', '.join(f'{t:.2f}' for t in times)} s, server peak RSS {peak:.0f} MiB; last message: {log[-1][1]}"
    )
    assert "budget" in log[-1][1] and "Reset" in log[-1][1]
    assert max(times) < REQUEST_S
    assert peak < RSS_CAP_MB


@pytest.mark.browser
def test_the_page_works_as_before_and_says_what_it_refuses(tmp_path: Path) -> None:
    """The normal path in Chromium: open, Run the most quarters a request allows, ask for more (refused with a
    message, the run goes on), pick a scenario (a new run)."""
    from browser import chromium, console_errors, offline_context

    timeout = 20_000
    count = "document.getElementById('live-step-count')?.textContent"
    with server(tmp_path) as (url, _proc), chromium() as browser:
        context = offline_context(browser, viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        errors = console_errors(page)
        page.goto(url + "/")
        page.wait_for_function(f"{count} === '0'", timeout=timeout)
        assert page.get_attribute("#live-run-steps", "max") == str(app_live.RUN_QUARTERS)
        page.fill("#live-run-steps", str(app_live.RUN_QUARTERS))
        page.click("#live-run")
        page.wait_for_function(f"{count} === '{app_live.RUN_QUARTERS}'", timeout=timeout)
        page.fill("#live-run-steps", "400")
        page.click("#live-run")
        page.wait_for_selector("#live-message:has-text('quarters to run')", timeout=timeout)
        assert page.inner_text("#live-step-count") == str(app_live.RUN_QUARTERS)
        page.click("#live-scenario")
        page.get_by_role("option", name="talent-incentives", exact=True).click()
        page.wait_for_function(
            "document.getElementById('live-status').textContent.includes('talent-incentives')", timeout=timeout
        )
        assert page.inner_text("#live-step-count") == "0" and page.inner_text("#live-message") == ""
        assert errors == [] and context.blocked == []
        context.close()
