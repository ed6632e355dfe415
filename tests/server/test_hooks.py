"""Every hook a lower domain declares (server.hooks) is registered once the app is composed, and a missing one fails."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import server
from server import app  # noqa: F401 - composes every domain, as the server and the command line do
from server.hooks import Hooks


def declared_hooks() -> dict[str, Hooks]:
    """Every ``Hooks`` a module of server/ holds at its top level, by ``module.NAME``."""
    found: dict[str, Hooks] = {}
    for info in pkgutil.walk_packages(server.__path__, "server."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Hooks) and value not in found.values():
                found[f"{info.name}.{name}"] = value
    return found


def test_the_app_registers_every_declared_hook():
    hooks = declared_hooks()
    assert {"server.registry.service.WORK_SOURCES", "server.inspections.access.RELEASED_TASKS",
            "server.inspections.lifecycle.TASK_FOLLOWERS", "server.hazards.proposals.PROPOSE"} <= set(hooks)
    for where, declared in hooks.items():
        assert len(declared.each()) == len(declared.expected), where


def test_the_owners_functions_are_the_ones_registered():
    from server.enforcement import service as enforcement_service
    from server.evidence import service as evidence_service
    from server.hazards import proposals, rechecks
    from server.hazards import records as hazard_records
    from server.inspections import access, lifecycle
    from server.registry import service as registry_service
    from server.spotchecks import completion, covert
    from server.violations import service as violations_service

    assert access.RELEASED_TASKS.one() is covert.released_tasks
    assert lifecycle.TASK_FOLLOWERS.one() is completion.follow_check
    assert registry_service.WORK_SOURCES.each() == [access.assigned_enterprises, rechecks.assigned_enterprises]
    assert proposals.PROPOSE.one() is enforcement_service.propose_system
    assert proposals.SECTION_113.one() is enforcement_service.check_section_113
    assert hazard_records.EVIDENCE_IDS.one() is evidence_service.hazard_evidence_ids
    assert violations_service.EVIDENCE_IDS.one() is evidence_service.violation_evidence_ids


def test_a_hook_never_registered_is_an_error_naming_it_and_an_unexpected_name_is_refused():
    hooks: Hooks[object] = Hooks("test rule", ("owner", "other"))
    hooks.register("owner", print)
    with pytest.raises(RuntimeError, match="'other'"):
        hooks.each()
    with pytest.raises(ValueError, match="stranger"):
        hooks.register("stranger", print)
    hooks.register("other", len)
    assert hooks.each() == [print, len]
    with pytest.raises(ValueError):
        hooks.one()  # two expected: not a single hook
