"""The failures a sync client reports, sorted by what the app should do about them.

    SyncError                     base of everything below
    ├── NetworkError              the request or its answer was lost, or the server was
    │                             unavailable, after all retries; try again later (outbox kept)
    ├── AuthenticationRequired    no login, or the token expired and could not be refreshed;
    │                             sync pauses until ``login()`` (outbox kept)
    ├── RequestRefused            the server refused the request itself (4xx): ``status``,
    │                             ``code`` and ``message`` say why; retrying unchanged won't help
    └── InvalidRecord             a write call the server would refuse (also a ``ValueError``):
                                  ``field`` names what to fix; nothing was queued

Per-mutation rejections and conflicts are not exceptions: they are answers,
kept in the store and shown by ``status()``.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every failure the sync client raises."""


class NetworkError(SyncError):
    """The server could not be reached (or kept failing) after every retry."""


class AuthenticationRequired(SyncError):
    """A person must log in again; nothing queued is lost meanwhile."""


class RequestRefused(SyncError):
    """The server refused the request (a 4xx other than 401)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InvalidRecord(SyncError, ValueError):
    """A write the server's rules refuse, found before queueing: nothing was stored. ``field`` names the culprit."""

    def __init__(self, field: str, message: str, message_en: str = "", code: str = "invalid_input") -> None:
        super().__init__(f"{field}: {message}" + (f" ({message_en})" if message_en else ""))
        self.field = field
        self.message = message
        self.message_en = message_en
        self.code = code
