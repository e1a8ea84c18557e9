"""Headless Chromium (Debian's binary) driven by Playwright, for tests of the whole browser flow.
Screenshots land in test-artifacts/ (ignored by git, kept by CI runs for a look)."""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine's network is closed; without these Chromium retries Google's hosts forever.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run does this).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM in the same thread
    # is still synchronous code, so it is allowed explicitly.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshots(page, name: str, widths=(1280, 390)) -> list[Path]:
    """The page at a desktop and a phone width (name-1280.png, name-390.png)."""
    size = page.viewport_size
    paths = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": size["height"]})
        paths.append(screenshot(page, f"{name}-{width}"))
    page.set_viewport_size(size)
    return paths


BROWSER_PASSWORD = "a-long-browser-password"


def log_in(page, base_url: str, user) -> None:
    """Log `user` in through the login form (setting a known password first)."""
    user.set_password(BROWSER_PASSWORD)
    user.save()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", BROWSER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def pick_contact(page, search: str, contact) -> None:
    """Choose `contact` in the contact picker (search as you type) of the form on the page."""
    page.wait_for_load_state()  # htmx (a deferred script) listens only once the page has loaded
    page.fill("#id_contact-search", search)
    page.wait_for_selector(".picker-options")
    option = page.locator(f".picker-option[hx-get$='chosen={contact.pk}']")
    assert option.count() == 1, (search, contact.pk, page.inner_text(".picker-results"))
    option.click()
    page.wait_for_selector(f"#id_contact[value='{contact.pk}']", state="attached")
