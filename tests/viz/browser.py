"""Debian's Chromium driven by Playwright, for the browser tests (the app's and the report's).

``with chromium() as browser:`` launches /usr/bin/chromium headless. Where it is missing the test is skipped with
the command that installs it, unless ``JJJSIM_REQUIRE_BROWSER=1`` (CI), where it fails. :func:`offline_context`
aborts every request that does not go to this machine (so a page that needs a CDN shows it), :func:`console_errors`
collects console errors and uncaught exceptions, and :func:`screenshot` saves a PNG to the test's folder and to
``$JJJSIM_SCREENSHOTS`` when set.

Test modules in this folder import it as ``from browser import ...`` (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
INSTALL = "apt-get install -y chromium"


def _unavailable(message: str) -> None:
    """Skip the test, or fail it when the environment requires the browser (``JJJSIM_REQUIRE_BROWSER=1``)."""
    if os.environ.get("JJJSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message} (JJJSIM_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (``/usr/bin/chromium``) through Playwright, closed on exit."""
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}: install it with `{INSTALL}`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: `.venv/bin/pip install -e '.[dev]'`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_context(browser: Browser, **options: Any) -> BrowserContext:
    """A browser context (a separate tab session) that aborts every request to another machine.

    The aborted URLs are listed in ``context.blocked`` (a list), so a test can assert nothing wanted the internet.
    """
    context = browser.new_context(**options)
    blocked: list[str] = []

    def route(r: Any) -> None:
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob", "about", "file") or url.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.blocked = blocked  # type: ignore[attr-defined]
    return context


def console_errors(page: Page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions from now on."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """Save a full-page PNG ``name``.png in ``folder`` and, when ``JJJSIM_SCREENSHOTS`` names a folder, there too."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("JJJSIM_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        (Path(extra) / path.name).write_bytes(path.read_bytes())
    return path


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(logs: Path, results: Path | None = None, cwd: Path | None = None) -> Iterator[tuple[str, Any]]:
    """``jjjsim.viz.app.serve`` in a subprocess on a free loopback port (log in ``logs``, working folder ``cwd``);
    yields its URL and process once it answers, and stops it afterwards."""
    port = free_port()
    code = "import sys; from pathlib import Path; from jjjsim.viz.app import serve; "
    code += "serve(port=int(sys.argv[1]), results=Path(sys.argv[2]) if len(sys.argv) > 2 else None)"
    log = logs / f"server-{port}.log"
    with log.open("w") as fh:
        args = [sys.executable, "-c", code, str(port), *([str(results)] if results else [])]
        proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app server exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app server did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
