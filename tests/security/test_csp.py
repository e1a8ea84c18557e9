"""Content-Security-Policy: scripts and styles only from our origin, on every response; and no
template carries what that policy would block (an inline script, style or event handler), so
the pages keep working under it. (Every response of the bad-input walk is checked for the
header too; tests/e2e/test_csp_browser.py runs the pages in Chromium and counts violations.)"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ..factories import client_for

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# What a strict policy blocks, as it appears in a template.
BLOCKED = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on (evaluated by htmx)": re.compile(r"\shx-on", re.I),
}


def assert_strict(response):
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_no_template_carries_an_inline_script_style_or_handler():
    found = [
        f"{path.relative_to(TEMPLATES)}: {what}: {match.group(0)[:80]}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for what, pattern in BLOCKED.items()
        for match in pattern.finditer(path.read_text())
    ]
    assert not found, "\n".join(found)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/login/",
        "/healthz",
        "/admin/",
        "/admin/login/",
        "/no-such-page/",
        "/static/js/invoice_lines.js",
    ],
)
def test_pages_outside_the_walk_carry_the_policy_too(path):
    """The walk covers every routed URL; here Django's admin, an error page and a static file."""
    ops = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    for client in (Client(), client_for(ops)):
        assert_strict(client.get(path))
