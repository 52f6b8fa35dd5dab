"""Fixtures for the real-browser tests: Debian's Chromium driven by Playwright for Python.

- ``browser`` (session): one headless Chromium per pytest worker, never a browser Playwright downloads.
  The browser resolves no host but localhost, so a page that reaches for the network (a CDN, a font
  service) gets a failed request that ``page.failed_requests`` records, never a download.
- ``page`` (function): a fresh browser context and page. ``page.console_messages`` holds every console
  message as ``(type, text, url)``, ``page.console_errors`` the ``error`` ones, ``page.page_errors`` the
  uncaught exceptions, ``page.failed_requests`` the requests that got no answer, as ``(url, reason)``.
- ``screenshot_dir`` (function): an empty folder named after the test, ``build/screenshots/<test>/`` in
  the repository or ``$COURSE_SCREENSHOT_DIR/<test>/``, for a reviewer to look at after the run.
- ``serve_static`` (function): ``serve_static(folder)`` serves a folder over HTTP on a free localhost
  port and returns its base URL; the server stops when the test ends.

Without Chromium or Playwright these tests skip with the reason, except under CI (``CI`` set), where
both are installed and a missing one is a failure.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM_ARGS = [
    "--no-sandbox",  # Chromium's sandbox refuses to run as root (containers, CI)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    # nothing but this machine: a page that asks for another host fails at once, offline or not
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Fail under CI (which installs what these tests need), otherwise skip with the reason."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: the browser tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if os.access(found, os.X_OK) else None




@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed (pip install playwright; never `playwright install`)")
    executable = chromium_path()
    if executable is None:
        missing("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # a guard against a hang on a loaded machine, not a measure of speed
    page.console_messages = []
    page.console_errors = []
    page.page_errors = []
    page.failed_requests = []

    def on_console(message: Any) -> None:
        entry = (message.type, message.text, message.location.get("url", ""))
        page.console_messages.append(entry)
        if message.type == "error":
            page.console_errors.append(entry)

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.page_errors.append(str(error)))
    page.on("requestfailed", lambda request: page.failed_requests.append((request.url, request.failure)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("COURSE_SCREENSHOT_DIR") or ROOT / "build" / "screenshots")
    folder = base / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)  # only this run's screenshots
    folder.mkdir(parents=True)
    print(f"screenshots: {folder}")
    return folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def serve_static() -> Iterator[Callable[[Path], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
