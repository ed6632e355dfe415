"""What the hazards ask of the enforcement domain, which registers both (it reads hazards, so the import runs one way).

- An escalation rung proposes its enforcement actions (:data:`PROPOSE`,
  :func:`server.enforcement.service.propose_system`);
- a major hazard listed for supervision may bring its enterprise under 安全生产法
  §113 (:data:`SECTION_113`, :func:`server.enforcement.service.check_section_113`).

Neither is optional: a process that escalates or lists a hazard without the
enforcement domain fails (``server.hooks``) instead of skipping the proposal.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from server.hooks import Hooks
from server.settings import Settings


#: The system proposes one enforcement action and returns its id; called with the keywords ``kind``,
#: ``enterprise_id``, ``inspection_id``, ``hazard_id``, ``origin`` (:class:`schemas.enforcement.ActionOrigin`), ``reason``
#: and ``now``, as :func:`server.enforcement.service.propose_system` takes them.
ProposeAction = Callable[..., Awaitable[uuid.UUID]]


class CheckSection113(Protocol):
    """Propose 提请关闭 when the enterprise meets §113 now; the proposal's id, or None."""

    async def __call__(self, enterprise_id: uuid.UUID, settings: Settings, *, now: dt.datetime | None = None) -> uuid.UUID | None: ...


PROPOSE: Hooks[ProposeAction] = Hooks("escalation's enforcement proposal", ("enforcement",))
SECTION_113: Hooks[CheckSection113] = Hooks("§113 check of a listed major hazard", ("enforcement",))
