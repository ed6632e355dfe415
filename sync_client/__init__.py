"""The phone-side sync library of fieldcheck: an offline replica, an outbox, and ``sync()``.

    async with SyncClient("https://fieldcheck.example", "phone.sqlite3") as client:
        await client.login("zhang.san", password)
        await client.sync()                                   # pull assignments
        [job] = await client.assignments()
        await client.start_inspection(job["id"])
        await client.record_item_result(job["id"], item_id, outcome="fail", note="消防通道堵塞")
        hazard = await client.add_hazard(job["id"], level="general", description="消防通道堵塞",
                                         deadline_date=deadline, checklist_item_id=item_id)
        await client.attach_photo(job["id"], "IMG_0001.jpg", hazard_id=hazard)
        await client.submit_inspection(job["id"], signed_by_name="王五",  # every item answered first
                                       signature_evidence_id=await client.attach_signature(
                                           job["id"], "sign.png", signer_name="王五"))
        report = await client.sync()                          # whenever there is a network
        status = await client.status()                        # pending, rejections, conflicts
        for rejected in status.rejections:                    # each names its record and keeps the content
            await client.retry(rejected.seq, {**rejected.content, "note": "已更正"})  # or discard / acknowledge

Every write kind the server accepts has a method (``SyncClient.WRITES``). A write the
server's rules would refuse (a wrong ID-number check digit, a major hazard without
五落实, …) raises :class:`InvalidRecord` naming the field, and nothing is queued.

Everything recorded is on disk (replica + outbox, one SQLite transaction)
before the call returns. ``sync()`` pushes the outbox and pulls changes; it
retries with backoff and jitter, pauses on an expired login without losing
anything, and keeps every rejection and conflict for ``status()``.
"""

from sync_client._client import SyncClient, SyncReport, SyncStatus
from sync_client._checks import check_credit_code, check_id_number
from sync_client._errors import AuthenticationRequired, InvalidRecord, NetworkError, RequestRefused, SyncError
from sync_client._store import StoredOutcome
from sync_client._transport import RetryPolicy

__all__ = [
    "AuthenticationRequired",
    "InvalidRecord",
    "NetworkError",
    "RequestRefused",
    "RetryPolicy",
    "StoredOutcome",
    "SyncClient",
    "SyncError",
    "SyncReport",
    "SyncStatus",
    "check_credit_code",
    "check_id_number",
]
