"""The app as users get it: a real server in a subprocess, driven through Debian's Chromium (no mocks).

The browser may talk to this machine only (every other request is aborted and recorded), so a page that needs a
CDN fails here. Screenshots go to each test's folder and to ``$JJJSIM_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import chromium, console_errors, free_port, offline_context, screenshot, serve_app
from dash import html
from jjjsim.experiments.definition import load_experiment
from jjjsim.experiments.sweep import sweep
from jjjsim.model.errors import ConfigError
from jjjsim.model.model import JJJModel
from jjjsim.model.params import LEVERS, REGISTRY, defaults
from jjjsim.viz import app_live
from jjjsim.viz.app import serve
from jjjsim.viz.app_live import Session, Sessions, parse_quarters, parse_seed, slider_step
from jjjsim.viz.theme import metric_title

VIEWPORT = {"width": 1500, "height": 1000}
TIMEOUT_MS = 20_000
EXPERIMENT = """
name = "app-test"
description = "Baseline and two measures, two seeds, tiny scale: the results page's test folder."
steps = 6

[seeds]
count = 2
root = 3

[outputs]
series = true
flows = true

[overrides]
scale = 0.05

[design]
kind = "scenarios"
scenarios = ["baseline", "talent-incentives", "collaborative-fund"]
"""
VALUES_JS = """([graph, name]) => {
    const gd = document.querySelector(`#${graph} .js-plotly-plot`);
    const t = gd && gd.data.find(t => t.name === name);
    if (!t) return null;
    const y = t.y;
    if (y && y.bdata) {  // plotly's base64 typed arrays
        const bin = atob(y.bdata), bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const T = {f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array, i1: Int8Array,
                   u4: Uint32Array, u2: Uint16Array, u1: Uint8Array}[y.dtype];
        return Array.from(new T(bytes.buffer), Number);
    }
    return Array.from(y, Number);
}"""


# ---- the server and the browser ------------------------------------------------------------------
@contextmanager
def app_server(logs: Path, results: Path | None = None) -> Iterator[str]:
    """``jjjsim.viz.app.serve`` in a subprocess on a free loopback port; yields its URL once it answers."""
    with serve_app(logs, results) as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with app_server(tmp_path_factory.mktemp("live-server")) as url:
        yield url


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    (folder / "app-test.toml").write_text(EXPERIMENT)
    report = sweep(load_experiment(folder / "app-test.toml"), folder / "out", workers=1)
    assert report.failed == 0
    return folder / "out"


@pytest.fixture(scope="module")
def results_url(tmp_path_factory: pytest.TempPathFactory, results_folder: Path) -> Iterator[str]:
    with app_server(tmp_path_factory.mktemp("results-server"), results_folder) as url:
        yield url


def _values(page: Any, graph: str, trace: str) -> list[float] | None:
    return page.evaluate(VALUES_JS, [graph, trace])


def _quarter(page: Any) -> int:
    return int(page.inner_text("#live-step-count"))


def _wait_quarter(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('live-step-count')?.textContent === String(n)", arg=n, timeout=TIMEOUT_MS
    )


def _wait_points(page: Any, graph: str, trace: str, n: int) -> None:
    """Wait until the graph's trace has ``n`` points (the figure of the last step is drawn)."""
    page.wait_for_function(
        f"([g, t, n]) => {{ const v = ({VALUES_JS})([g, t]); return v !== null && v.length === n; }}",
        arg=[graph, trace, n],
        timeout=TIMEOUT_MS,
    )


def _step(page: Any, to: int) -> None:
    page.click("#live-step")
    _wait_quarter(page, to)
    _wait_points(page, "live-compare", "This run", to + 1)


def _thumb(page: Any, lever: str, key: str = "") -> Any:
    return page.locator(f"""[id*='"key":"{key}","name":"{lever}"'] [role=slider]""")


def _open_live(context: Any, url: str) -> tuple[Any, list[str]]:
    page = context.new_page()
    errors = console_errors(page)
    page.goto(url + "/")
    _wait_quarter(page, 0)
    _wait_points(page, "live-compare", "This run", 1)
    return page, errors


# ---- without a browser ---------------------------------------------------------------------------
def test_serve_refuses_a_port_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ConfigError) as e:
            serve(port=port)
    assert (e.value.where, e.value.key, e.value.expected) == ("--port", str(port), "a free port")
    assert "already in use" in str(e.value)


def test_serve_passes_on_the_error_of_a_folder_that_is_not_results(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        serve(port=free_port(), results=tmp_path / "missing")


def test_typed_values_are_checked() -> None:
    assert parse_seed(" 42 ") == 42
    for bad in ("abc", "-1", "1.5", "", None, str(2**64)):
        with pytest.raises(ConfigError, match="seed"):
            parse_seed(bad)
    assert parse_quarters(12) == 12 and parse_quarters(app_live.RUN_QUARTERS) == app_live.RUN_QUARTERS
    for bad in (0, app_live.RUN_QUARTERS + 1, 401, 2.5, None, True, "12", [12]):
        with pytest.raises(ConfigError, match="quarters"):
            parse_quarters(bad)
    # slider steps are round and land on every default
    for name, p in LEVERS.items():
        if p.kind == "choice":
            continue
        step = slider_step(p)
        for v in p.default.values() if p.per else [p.default]:
            assert abs(v / step - round(v / step)) < 1e-9, name


def test_setup_levers_act_only_when_the_world_is_built() -> None:
    """The page's claim: the levers marked "at reset" change nothing mid-run, every other lever does."""
    small = defaults().replace({"scale": 0.05}, where="test")

    def moved(p: Any) -> Any:
        if p.kind == "choice":
            return next(c for c in p.choices if c != p.default)
        lo, hi = p.bounds
        mid = (lo + hi) / 2
        far = lambda v: hi if v < mid else lo  # noqa: E731
        return {k: far(v) for k, v in p.default.items()} if p.per else far(p.default)

    for name, p in LEVERS.items():
        a = JJJModel(small, rng=np.random.SeedSequence(1))
        b = JJJModel(small, rng=np.random.SeedSequence(1))
        a.step(), b.step()
        a.use_params(a.p.replace({name: moved(p)}, where="test"))
        for _ in range(4):
            a.step(), b.step()
        same = np.array_equal(a.recorder.region, b.recorder.region, equal_nan=True) and np.array_equal(
            a.recorder.model, b.recorder.model, equal_nan=True
        )
        assert same == (name in app_live.SETUP_LEVERS), name


def test_sessions_drop_idle_runs_and_the_least_recent_beyond_the_cap() -> None:
    store = Sessions(cap=2, idle=60.0)
    made = {k: Session.build("baseline", {}, seed=0, scale=0.01) for k in "abc"}
    store.put("a", made["a"])
    store.put("b", made["b"])
    assert store.get("a") is made["a"]  # a is now the most recent
    store.put("c", made["c"])
    assert store.get("b") is None and store.get("a") is made["a"] and len(store) == 2
    assert "limit of 2 live runs" in store.dropped("b")  # the tab is told why, honestly
    made["c"].used -= 120.0  # idle for two minutes
    store.put("b", made["b"])
    assert store.get("c") is None and store.get("b") is made["b"]
    assert "after 1 min idle" in store.dropped("c") and store.dropped("b") is None  # b has a run again


# ---- in the browser ------------------------------------------------------------------------------
@pytest.mark.browser
def test_live_page_steps_applies_levers_and_loads_scenarios(browser: Any, live_url: str, tmp_path: Path) -> None:
    context = offline_context(browser, viewport=VIEWPORT)
    page, errors = _open_live(context, live_url)
    assert "autonomy" not in page.inner_text("#live-levers-changed")

    _step(page, 1)  # same levers, same seed: the run is its baseline
    assert _values(page, "live-compare", "This run") == _values(page, "live-compare", "Baseline")

    thumb = _thumb(page, "autonomy")
    thumb.focus()
    thumb.press("End")  # slide platform autonomy to its maximum
    assert thumb.get_attribute("aria-valuenow") == "1"
    page.wait_for_function(
        "document.getElementById('live-levers-changed').textContent.includes('Platform autonomy')",
        timeout=TIMEOUT_MS,
    )
    _step(page, 2)
    run, base = _values(page, "live-compare", "This run"), _values(page, "live-compare", "Baseline")
    assert run[:2] == base[:2] and run[2] != base[2]  # results of quarter 2 differ, the past does not
    screenshot(page, "app-live", tmp_path)

    page.fill("#live-seed", "abc")
    page.press("#live-seed", "Enter")
    page.wait_for_selector("#live-seed-msg:has-text('expected a whole number')", timeout=TIMEOUT_MS)
    page.click("#live-reset")
    page.wait_for_selector("#live-message:has-text('seed')", timeout=TIMEOUT_MS)
    assert _quarter(page) == 2  # the bad seed was refused; the run goes on

    page.fill("#live-seed", "5")
    page.press("#live-seed", "Enter")
    page.click("#live-reset")
    _wait_quarter(page, 0)
    assert "seed 5" in page.inner_text("#live-status")
    assert page.inner_text("#live-message") == ""

    page.click("#live-scenario")
    page.get_by_role("option", name="all-measures", exact=True).click()
    page.wait_for_function(
        "document.getElementById('live-status').textContent.includes('all-measures')", timeout=TIMEOUT_MS
    )
    assert thumb.get_attribute("aria-valuenow") == "0.7"
    assert _thumb(page, "barrier", "Beijing-Tianjin").get_attribute("aria-valuenow") == "0.3"
    assert _thumb(page, "fund_size").get_attribute("aria-valuenow") == "300"
    assert _quarter(page) == 0  # a scenario starts a new run

    page.click("#live-play")
    page.wait_for_function("Number(document.getElementById('live-step-count').textContent) >= 2", timeout=TIMEOUT_MS)
    page.click("#live-play")
    page.wait_for_selector("#live-play:has-text('Play')", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)  # a tick already on its way lands
    paused_at = _quarter(page)
    page.wait_for_timeout(1500)
    assert _quarter(page) == paused_at

    page.click("#nav-results")  # without a results folder the results page says how to open one
    page.wait_for_selector("#results-page:has-text('No results folder')", timeout=TIMEOUT_MS)

    assert errors == []
    assert context.blocked == []
    context.close()


@pytest.mark.browser
def test_tabs_run_their_own_models(browser: Any, live_url: str) -> None:
    a_ctx, b_ctx = offline_context(browser, viewport=VIEWPORT), offline_context(browser, viewport=VIEWPORT)
    (a, a_errors), (b, b_errors) = _open_live(a_ctx, live_url), _open_live(b_ctx, live_url)
    thumb = _thumb(a, "autonomy")
    thumb.focus()
    thumb.press("End")
    a.wait_for_function(
        "document.getElementById('live-levers-changed').textContent.includes('Platform autonomy')",
        timeout=TIMEOUT_MS,
    )
    for n in (1, 2, 3):
        _step(a, n)
        if n == 2:
            _step(b, 1)
    assert (_quarter(a), _quarter(b)) == (3, 1)
    a_run, a_base = _values(a, "live-compare", "This run"), _values(a, "live-compare", "Baseline")
    b_run, b_base = _values(b, "live-compare", "This run"), _values(b, "live-compare", "Baseline")
    assert len(a_run) == 4 and len(b_run) == 2
    assert a_run != a_base and b_run == b_base  # tab A's lever never reached tab B's model
    assert "Every lever at the baseline" in b.inner_text("#live-levers-changed")
    assert a_errors == b_errors == []
    assert a_ctx.blocked == b_ctx.blocked == []
    a_ctx.close()
    b_ctx.close()


@pytest.mark.browser
def test_results_page_draws_the_figures_and_follows_the_metric(browser: Any, results_url: str, tmp_path: Path) -> None:
    context = offline_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    errors = console_errors(page)
    page.goto(results_url + "/")  # a results folder makes the results page the landing page
    for gid in ("res-forest", "res-cost", "res-bands", "res-sankey"):
        page.wait_for_selector(f"#{gid} .js-plotly-plot", timeout=TIMEOUT_MS)
    assert page.locator(".js-plotly-plot").count() >= 4
    screenshot(page, "app-results", tmp_path)

    title_js = "document.querySelector('#res-forest .js-plotly-plot').layout.annotations[0].text"  # panel title
    assert "Value added" in page.evaluate(title_js)
    page.click("#res-metric")
    page.get_by_role("option", name=metric_title("public_cost"), exact=True).click()
    page.wait_for_function(f"{title_js}.includes('Public cost')", timeout=TIMEOUT_MS)
    assert page.locator("#res-cost").count() == 0  # the cost of the cost itself is not a ratio

    page.goto(results_url + "/live")  # the live page is there too
    _wait_quarter(page, 0)
    assert errors == []
    assert context.blocked == []
    context.close()


def test_every_lever_has_a_control() -> None:
    """The panel holds one control per lever (and per region, pair or field of one), labelled from the registry."""
    panel = html.Div(app_live.lever_panel(defaults().values))
    ids = {(c.id["name"], c.id["key"]) for c in panel._traverse() if isinstance(getattr(c, "id", None), dict)}
    assert ids == {(n, k) for n, p in LEVERS.items() for k in (p.keys or ("",))}
    text = str(panel)
    assert all(REGISTRY[n].label in text for n in LEVERS)


def test_a_missing_browser_skips_with_the_install_command_or_fails_where_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import browser as helper

    monkeypatch.setattr(helper, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("JJJSIM_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"), helper.chromium():
        pass
    monkeypatch.setenv("JJJSIM_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="JJJSIM_REQUIRE_BROWSER=1"), helper.chromium():
        pass


def test_app_command_on_a_busy_port_or_a_bad_folder_is_one_clear_line(tmp_path: Path) -> None:
    """``jjjsim app`` as a user types it: a port in use, a missing results folder, an exposed host's warning."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for args, where in (
            (["--port", str(port)], f"--port: {port}"),
            (["--port", str(free_port()), "--results", str(tmp_path / "missing")], "missing"),
            (["--port", "70000"], "--port"),
        ):
            run = subprocess.run(
                [sys.executable, "-m", "jjjsim", "app", *args], capture_output=True, text=True, timeout=60, check=False
            )
            assert run.returncode == 2, (args, run.stdout, run.stderr)
            assert "Traceback" not in run.stderr and where in run.stderr and run.stderr.startswith("error:")
        exposed = subprocess.run(
            [sys.executable, "-m", "jjjsim", "app", "--host", "0.0.0.0", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "warning:" in exposed.stderr and "anyone who can reach this machine" in exposed.stderr
