"""Browser tests: raftlab's HTML timeline in headless Chromium (tests/browser/cdp.py)."""
