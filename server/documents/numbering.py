"""Document numbers: gap-free per issuing body, series and year, taken inside the issuing transaction.

The counter row is created once (``ON CONFLICT DO NOTHING``) and then incremented with
``UPDATE … RETURNING``. On PostgreSQL the update holds the row lock until commit, so concurrent
issuers of the same series queue there and each sees the number its predecessor committed; on SQLite
every write transaction is ``BEGIN IMMEDIATE`` and already exclusive. A transaction that fails rolls
its increment back with it, so no number is skipped; the unique index on the document's number is the
last guard against a second use.
"""

from __future__ import annotations

import uuid

from server.documents.tables import DocumentCounter


async def take(issuing_abbr: str, series: str, year: int) -> int:
    """The next number of the series; the caller's transaction must issue the document or roll back."""
    await DocumentCounter.raw(
        'INSERT INTO "document_counter" ("id", "issuing_abbr", "series", "year", "last_seq") '
        "VALUES ({}, {}, {}, {}, 0) ON CONFLICT (\"issuing_abbr\", \"series\", \"year\") DO NOTHING",
        str(uuid.uuid4()), issuing_abbr, series, year,
    )
    rows = await DocumentCounter.raw(
        'UPDATE "document_counter" SET "last_seq" = "last_seq" + 1 '
        'WHERE "issuing_abbr" = {} AND "series" = {} AND "year" = {} RETURNING "last_seq"',
        issuing_abbr, series, year,
    )
    return int(rows[0]["last_seq"])
