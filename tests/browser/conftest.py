"""Fixtures of the browser tests: the Chromium executable and a shared browser.

Without Chromium the browser tests are skipped, with the reason shown in
pytest's summary (``-rs``), unless ``RAFTLAB_REQUIRE_BROWSER=1`` (CI sets it):
then a missing browser is a failure. ``RAFTLAB_CHROMIUM`` names another
executable. Each test module here marks its tests ``browser``: ``pytest -m "not
browser"`` leaves them out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.browser.cdp import Browser, find_chromium

MISSING = ("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a headless Chromium "
                                       "(tests/browser/; needs the chromium package)")


def browser_required() -> bool:
    return os.environ.get("RAFTLAB_REQUIRE_BROWSER", "") not in ("", "0")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; skips (fails under RAFTLAB_REQUIRE_BROWSER=1)
    when there is none."""
    exe = find_chromium()
    if exe is None:
        explicit = os.environ.get("RAFTLAB_CHROMIUM")
        reason = (f"RAFTLAB_CHROMIUM={explicit} is not an executable" if explicit
                  else MISSING)
        if browser_required():
            pytest.fail(f"RAFTLAB_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return exe


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless Chromium for the whole session (each test opens its own tabs)."""
    with Browser(chromium) as b:
        yield b
