"""`make test` installs the browser its web page tests need, and without one those tests fail
(under CI or `make test`) instead of being skipped where nobody looks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/chromium"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _run_web_tests(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("CI", "KB_REQUIRE_BROWSER", "KB_CHROMIUM")
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/web/test_pages.py"],
        cwd=ROOT,
        env={**clean, "KB_CHROMIUM": MISSING, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_without_chromium_the_web_tests_fail_under_make_test() -> None:
    result = _run_web_tests(KB_REQUIRE_BROWSER="1")  # as `make test` runs them
    assert result.returncode == 1, result.stdout[-2000:]
    assert "skipped" not in result.stdout
    assert f"no browser at {MISSING}" in result.stdout


@pytest.mark.parametrize(
    ("env", "required"),
    [({"CI": "true"}, True), ({"KB_REQUIRE_BROWSER": "1"}, True), ({"CI": "false"}, False)],
)
def test_ci_requires_the_browser_too(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], required: bool
) -> None:
    from tests.web.test_pages import browser_required

    for name in ("CI", "KB_REQUIRE_BROWSER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert browser_required() is required


def test_without_chromium_elsewhere_the_web_tests_are_skipped_saying_why() -> None:
    result = _run_web_tests()
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" in result.stdout and "failed" not in result.stdout


@needs_make
def test_make_test_installs_the_browser_first_and_requires_it() -> None:
    plan = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert plan.returncode == 0, plan.stderr
    assert "apt-get install -y -qq chromium" in plan.stdout
    assert "KB_REQUIRE_BROWSER=1" in plan.stdout
    assert plan.stdout.index("chromium") < plan.stdout.index("pytest")


@needs_make
def test_make_browser_says_how_when_it_cannot_install() -> None:
    result = subprocess.run(
        ["make", "browser", f"CHROMIUM={MISSING}", "APT_GET=/nonexistent/apt-get"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "apt-get install chromium" in result.stderr
