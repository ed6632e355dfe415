"""Console tests get the browser fixtures of ``tests.server.console.browser``."""

from tests.server.console.browser import chromium, console, console_url  # noqa: F401  (fixtures)
