"""Names for the ids the services return, looked up through the services (a page shows people and places, not ids)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from schemas import accounts as accounts_wire
from server.accounts import service as accounts_service
from server.accounts.policy import Actor
from server.errors import NotFound
from server.registry import service as registry_service

#: Shown for an enterprise the reader may not look up in the registry.
HIDDEN = "（名录未授权查看）"


class Names:
    """People by id and the enterprises a page names, each read once per page."""

    def __init__(self, actor: Actor, users: Iterable[accounts_wire.User]) -> None:
        self.actor = actor
        self.users = {u.id: u for u in users}
        self._enterprises: dict[uuid.UUID, str] = {}

    def person(self, user_id: uuid.UUID | None) -> str:
        if user_id is None:
            return "系统"
        user = self.users.get(user_id)
        return f"{user.display_name}（{user.username}）" if user else str(user_id)[:8]

    def people(self, user_ids: Iterable[uuid.UUID]) -> str:
        return "、".join(self.person(u) for u in user_ids)

    async def enterprise(self, enterprise_id: uuid.UUID | None) -> str:
        if enterprise_id is None:
            return ""
        if enterprise_id not in self._enterprises:
            try:
                self._enterprises[enterprise_id] = (await registry_service.get(self.actor, enterprise_id)).name
            except NotFound:
                self._enterprises[enterprise_id] = HIDDEN
        return self._enterprises[enterprise_id]


async def names_for(actor: Actor) -> Names:
    return Names(actor, await accounts_service.list_users())
