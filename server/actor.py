"""Who is calling: the identity every layer names, from the handlers' parameters to the audit trail.

It lives below the domains so that the shared core (``server.deps``) and the audit
chain can name it without importing accounts; accounts' token middleware makes it
and ``server.accounts.policy`` holds the rules about what it may do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from schemas.vocab import Role


@dataclass(frozen=True)
class Actor:
    """The authenticated caller (or the system itself, for scheduled work)."""

    user_id: uuid.UUID | None
    role: Role
    department_id: uuid.UUID | None = None
    districts: frozenset[str] = field(default_factory=frozenset)
    device_id: uuid.UUID | None = None
    username: str = ""
    #: The account's ``token_version`` when the token was issued (see ``server.accounts.auth.TokenAuthMiddleware``).
    token_version: int = 0

    @property
    def is_system(self) -> bool:
        return self.user_id is None
