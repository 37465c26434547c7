"""Browser tests: Playwright for Python driving Debian's Chromium against the real app.

Shared by every browser test (the pay page, the kiosk, the cashier console):

* ``live_app`` — the app served over HTTP by pytest-django's live server (in this process,
  on the test PostgreSQL database) with a real Celery worker (``tests/celery_worker.py``)
  consuming this process's queue; ``live_app.url`` is its base URL, also set as
  ``PUBLIC_BASE_URL`` so that links the app makes (pay links, receipts) point at it.
* ``browser`` — one headless Chromium per test process (``/usr/bin/chromium``, or
  ``CHROMIUM_PATH``; ``.ci/ensure-services`` installs Debian's package when it is missing:
  Playwright's own browser download is not available on these machines).
* ``phone`` — a page in a fresh context sized like a cheap Android phone (360 x 740, touch,
  Vietnamese locale, clipboard allowed); ``open_page(**context_options)`` makes others
  (``open_page(viewport={"width": 1280, "height": 800})`` for a desk screen).
  Every page made by these fixtures fails its test on a JavaScript error or a
  Content-Security-Policy violation.
* ``shot(page, name)`` — a full-page screenshot in ``test-artifacts/browser/<name>.png``.
* ``tests.browser.axe.assert_accessible(page, name)`` — axe-core, no serious or critical
  violation (its report in ``test-artifacts/axe/<name>.json``).
* ``tests.browser.weight.transferred(page, url)`` — bytes a first load moves over the wire.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.celery_worker import celery_worker  # noqa: F401 - a fixture of these tests

# Playwright's sync API keeps an event loop running in the test's thread; Django refuses
# database calls from a thread with a running loop unless told that it is deliberate. The
# test's own calls are plain synchronous code (the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 11; SM-A115F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36"
    ),
}


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Chromium is needed by the browser tests: `apt-get install -y chromium` "
            "(make test does it through .ci/ensure-services), or set CHROMIUM_PATH."
        )
    return path


@dataclass
class LiveApp:
    url: str

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def live_app(request: pytest.FixtureRequest, live_server: Any, settings: Any) -> LiveApp:
    """The app over HTTP on the test database, with a real Celery worker."""
    request.getfixturevalue("celery_worker")
    settings.PUBLIC_BASE_URL = live_server.url
    return LiveApp(live_server.url)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    )
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """What went wrong inside a page: uncaught script errors and CSP violations."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("console", self._console)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP violation: {message.text}")


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``open_page(**context_options)``: a page in a fresh browser context (no cookies)."""
    contexts = []
    problems = PageProblems()

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return problems.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()
    assert not problems.errors, "\n".join(problems.errors)


@pytest.fixture
def phone(open_page: Callable[..., Page]) -> Page:
    """A phone's browser: 360 x 740, touch, Vietnamese, the clipboard allowed."""
    page = open_page(**PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    return page


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, "pay-bill")``: a full-page PNG under test-artifacts/browser/."""

    def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / "browser" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
