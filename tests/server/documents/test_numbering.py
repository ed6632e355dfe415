"""Numbers under concurrency: 50 documents issued at once get 50 consecutive numbers on PostgreSQL and on the
embedded SQLite default; a failed issue gives its number back; the counter alone holds across separate cases."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from schemas.documents import DocumentIssue, DocumentType
from server import database
from server.accounts import service as accounts_service
from server.accounts.tables import User
from server.documents import gather, numbering
from server.documents import service as documents_service
from server.errors import Unavailable
from storage.base import StorageUnavailable
from tests.server.documents.factories import make_case
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)

N = 50


def seq_of(number: str) -> int:
    return int(re.search(r"〕(\d+)号$", number).group(1))


async def _fifty_at_once(client: httpx.AsyncClient, app, tmp_path) -> None:
    # N 三违 on the phone before the signing (none is taken after it): each one the party of its own notice.
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=0, extra_people=N - 1)
    await case.issued(case.inspectors[0], type="inspection_record", inspection_id=case.inspection_id)
    people = [case.violation_id, *case.extra_violation_ids]
    await case.headers(case.supervisor_id)
    answers = await asyncio.gather(*[case.issue(type="penalty_notice", action_id=case.fine_id, violation_id=p)
                                     for p in people])
    assert [a.status_code for a in answers] == [201] * N, [a.text for a in answers if a.status_code != 201][:3]
    numbers = sorted(seq_of(a.json()["number"]) for a in answers)
    assert numbers == list(range(1, N + 1))  # no gap, no duplicate
    assert len({a.json()["sha256"] for a in answers}) == N and len({a.json()["short_code"] for a in answers}) == N


# 50 PDFs rendered one after another (each holds the case's turn): minutes on a loaded 2-core machine.
@pytest.mark.timeout(900)
async def test_fifty_issued_at_once_get_fifty_consecutive_numbers_on_postgresql(client, app, tmp_path):
    await _fifty_at_once(client, app, tmp_path)


@pytest.mark.sqlite
@pytest.mark.timeout(900)
async def test_fifty_issued_at_once_get_fifty_consecutive_numbers_on_sqlite(client, sqlite_app, tmp_path):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://fieldcheck.test") as c:
        await _fifty_at_once(c, sqlite_app, tmp_path)


async def test_the_counter_alone_is_gap_free_across_fifty_concurrent_transactions(client):
    async def one() -> int:
        async with database.transaction():
            return await numbering.take("测试", "罚", 2031)

    taken = await asyncio.gather(*[one() for _ in range(N)])
    assert sorted(taken) == list(range(1, N + 1))
    async with database.transaction():
        assert await numbering.take("测试", "罚", 2032) == 1  # a new year starts again at 1
        assert await numbering.take("其他", "罚", 2031) == 1  # so does another issuing body


class _BrokenStore:
    """The evidence store, except that writing is down (the storage seam, not a patch of internals)."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def put(self, key, data, *, content_type, lock=False):
        raise StorageUnavailable("store down for the test")


async def test_a_failed_issue_gives_its_number_back(client, app, tmp_path):
    case = await make_case(client, app, tmp_path, n_items=2, n_photos=0)
    lead = accounts_service.actor_of(await User.select().where(User.id == case.inspectors[0]).first())
    settings = app.state.settings
    request = DocumentIssue(type=DocumentType.INSPECTION_RECORD, inspection_id=case.inspection_id)
    broken = gather.EvidenceAccess(store=_BrokenStore(app.state.evidence_store), slots=app.state.thumbnail_slots)
    with pytest.raises(Unavailable):
        async with database.transaction():
            await documents_service.issue(lead, request, settings, broken)
    done = await case.issued(case.inspectors[0], type="inspection_record", inspection_id=case.inspection_id)
    assert seq_of(done["number"]) == 1
