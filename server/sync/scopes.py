"""Scope keys: the named slices of the change feed a phone subscribes to.

A record is published to every scope through which someone may see it; a user
pulls the scopes :mod:`server.sync.pull` computes for them at each pull (their
assignments and what those need). A key is ``"<kind>:<uuid>"``:

``user:<user id>``
    Addressed to one person: their redacted covert tasks before release, the
    full task at release, anything personal. Always in that user's set.
``inspection:<inspection id>``
    An inspection and what is recorded in it (item results, conflicts, notes,
    hazards found in it, evidence, 三违 records). In the set of its assigned
    inspectors while it is open and, for covert checks, released.
``enterprise:<enterprise id>``
    The enterprise record a visible inspection needs.
``template:<template id>``
    A checklist template with its items.
``hazard:<hazard id>`` / ``recheck:<recheck id>``
    An open hazard and the recheck task of the inspectors assigned to recheck it.
``department:<department id>``
    Department-wide records (supervisors' views).

Keep covert targets out of shared keys until release: publish the redacted
task to ``user:<id>`` of each team member, and the inspection/enterprise keys
only become part of their set once the task is released.
"""

from __future__ import annotations

import uuid

KINDS = ("user", "inspection", "enterprise", "template", "hazard", "recheck", "department")


def key(kind: str, entity_id: uuid.UUID | str) -> str:
    """The scope key of ``kind`` for one id."""
    if kind not in KINDS:
        raise ValueError(f"unknown scope kind {kind!r}")
    return f"{kind}:{entity_id if isinstance(entity_id, uuid.UUID) else uuid.UUID(entity_id)}"


def user(user_id: uuid.UUID | str) -> str:
    return key("user", user_id)


def inspection(inspection_id: uuid.UUID | str) -> str:
    return key("inspection", inspection_id)


def enterprise(enterprise_id: uuid.UUID | str) -> str:
    return key("enterprise", enterprise_id)


def template(template_id: uuid.UUID | str) -> str:
    return key("template", template_id)


def hazard(hazard_id: uuid.UUID | str) -> str:
    return key("hazard", hazard_id)


def recheck(recheck_id: uuid.UUID | str) -> str:
    return key("recheck", recheck_id)


def department(department_id: uuid.UUID | str) -> str:
    return key("department", department_id)
