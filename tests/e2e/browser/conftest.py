"""A real browser (Debian's chromium driven by Playwright) against the app on 127.0.0.1.

`scripts/test.sh` installs chromium and the CJK fonts with apt when they are missing; when it could
not, these tests fail saying so rather than skip. Screenshots go to QCFLOW_SCREENSHOT_DIR
(default `var/screenshots`), one at desktop width and one at 390 px for each page a test shows.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("QCFLOW_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(os.environ.get("QCFLOW_SCREENSHOT_DIR", Path(__file__).resolve().parents[3] / "var" / "screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's sync API holds an event loop in this thread while it runs, and the
    # HTTP tests collected after these modules call asyncio.run(); the loop ends with the module.
    if not CHROMIUM.exists():
        pytest.fail(f"缺少 {CHROMIUM}：请运行 bash scripts/browser-deps.sh（需要 root，用 apt 安装 chromium 与 fonts-noto-cjk）")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh browser context (no cookies) and page, Chinese locale, desktop size."""
    context = chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shoot():
    """shoot(page, name): save the page at desktop width and at 390 px, return both paths."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> list[Path]:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        paths = []
        for label, size in (("desktop", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(size)
            path = SHOTS / f"{safe}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(DESKTOP)
        return paths

    return take


def off_loop(fn, *args, **kwargs):
    """Run fn in another thread: Playwright's sync API holds an event loop in this one, and the
    deliverer (asyncio.run) cannot start inside it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def overflows_horizontally(page) -> bool:
    """True when the page is wider than the viewport (something does not fit a phone)."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
