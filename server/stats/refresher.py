"""The background refresher: recounts the months writes queued, every few seconds, in each API process.

Reads never recount (``server.stats.views``), so this loop is what keeps the
figures within seconds of the phones. On PostgreSQL several processes share
the work without waiting on each other: a round that finds another process's
recount running skips (``refresh(wait=False)``). On SQLite the recount is one
write transaction, short at embedded scale, and readers go on reading (WAL).
The recorded ``stats-refresh`` job (``server.jobs``) is the same call, for an
outside scheduler or an administrator.
"""

from __future__ import annotations

import asyncio
import logging

from litestar import Litestar

from server.settings import Settings

log = logging.getLogger("fieldcheck.stats")


async def run(interval_s: float) -> None:
    """Refresh, sleep, forever; a failed round is logged and the next one tries again."""
    from server.stats import rollup as stats_rollup

    while True:
        try:
            await stats_rollup.refresh(wait=False)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database away, a lock timeout: the next round tries again
            log.exception("statistics refresh round failed")
        await asyncio.sleep(interval_s)


def install(app: Litestar, settings: Settings) -> None:
    """Run the loop beside the app (unless ``FIELDCHECK_JOBS`` is off for this process)."""
    if not settings.jobs.enabled:
        return

    async def start() -> None:
        app.state.stats_refresher = asyncio.get_running_loop().create_task(run(settings.jobs.stats_fresh_ms / 1000))

    async def stop() -> None:
        task = getattr(app.state, "stats_refresher", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
