"""The signing's guards: other domains register the rules they hold over a submit; inspections imports none of them."""

from __future__ import annotations

import uuid

import pytest

from server.evidence import service as evidence_service
from server.inspections import lifecycle


def test_evidence_registers_its_pending_photo_rule_as_the_signings_guard():
    assert lifecycle._submit_guards["evidence"] is evidence_service.ensure_none_pending
    assert set(lifecycle._submit_guards) == set(lifecycle.SUBMIT_GUARDS)


async def test_a_signing_without_a_registered_guard_fails_instead_of_skipping_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(lifecycle, "_submit_guards", {})
    with pytest.raises(RuntimeError, match="evidence"):
        await lifecycle._run_submit_guards(uuid.uuid4())


def test_only_an_expected_guard_can_be_registered():
    with pytest.raises(ValueError):
        lifecycle.register_submit_guard("photos", evidence_service.ensure_none_pending)
