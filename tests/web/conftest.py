"""Fixtures of the web HMI's tests: the browser harness's (tests/web/browser.py), defined once here.

A session-scoped fixture imported into each test module would be one fixture per module, and a second
Playwright cannot start while the first runs in the same thread ("Sync API inside the asyncio loop").
"""

from tests.web.browser import browser, hmi, hmi_factory

__all__ = ["browser", "hmi", "hmi_factory"]
