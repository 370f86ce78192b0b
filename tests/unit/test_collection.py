"""The suite is collected, and its browser tests are skipped with their reason, where Playwright
is not installed; PORTAL_REQUIRE_BROWSER=1 (CI) turns that skip into a failure. Each run is a
pytest of its own under tests/without_playwright.py, which makes Playwright impossible to
import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Its first fixture is the browser: it skips (or fails) before any database is made.
ONE_BROWSER_TEST = ("tests/browser/test_accessibility.py"
                    "::test_keyboard_focus_is_visible_on_every_control")


def pytest_without_playwright(*args: str, require: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_ENV": "testing"}
    env.pop("PORTAL_REQUIRE_BROWSER", None)
    if require:
        env["PORTAL_REQUIRE_BROWSER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.without_playwright", "-p",
         "no:cacheprovider", "-q", "-rs", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_without_playwright_the_browser_tests_are_collected_and_skipped_saying_why():
    """Every browser module is imported (a collection error would end the run with 2); the
    keyboard's tests then skip."""
    run = pytest_without_playwright("tests/browser", "-k", "test_keyboard_focus")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " skipped" in run.stdout and " deselected" in run.stdout, run.stdout[-3000:]
    assert " passed" not in run.stdout and " error" not in run.stdout, run.stdout[-3000:]
    assert "Playwright is not installed" in run.stdout, run.stdout[-3000:]


def test_without_playwright_a_required_browser_test_fails_loudly():
    run = pytest_without_playwright(ONE_BROWSER_TEST, "-x", require=True)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "PORTAL_REQUIRE_BROWSER=1 but Playwright is not installed" in run.stdout, \
        run.stdout[-3000:]
