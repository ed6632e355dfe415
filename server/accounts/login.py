"""A login as its three units of work, for every caller that logs a person in (the API, the console)."""

from __future__ import annotations

from schemas import accounts as wire
from server import database
from server.accounts import service as accounts_service
from server.accounts.service import LoginRefused
from server.settings import AuthSettings


async def log_in(data: wire.LoginRequest, settings: AuthSettings, *, source: str) -> wire.TokenPair:
    """Reserve a try from ``source``, run argon2 outside any transaction, then record the outcome; raises the refusal."""
    async with database.transaction():
        attempt = await accounts_service.begin_login(data, settings, source=source)
    if not isinstance(attempt, LoginRefused):
        password_ok = await accounts_service.check_password(attempt)
        async with database.transaction():
            outcome = await accounts_service.finish_login(attempt, password_ok, settings)
    else:
        outcome = attempt
    if isinstance(outcome, LoginRefused):
        raise outcome.error
    return outcome
