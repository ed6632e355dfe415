"""Prometheus metrics of this process, served at ``/metrics`` to a scraper holding ``FIELDCHECK_METRICS_TOKEN``.

Counters only move at the HTTP edge and in the job runner, so a reader finds
every one here: sync pushes and their outcomes, pulls and the changes they
carried, evidence bytes received, job runs by outcome, and server errors.
With several API processes each is scraped on its own (counters are per process).
"""

from __future__ import annotations

import collections
import hmac

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from server.errors import NotFound

REGISTRY = CollectorRegistry(auto_describe=True)

SYNC_PUSHES = Counter("fieldcheck_sync_pushes", "Sync push requests answered", registry=REGISTRY)
SYNC_MUTATIONS = Counter(
    "fieldcheck_sync_mutations", "Pushed mutations by outcome", ["outcome"], registry=REGISTRY
)
SYNC_PULLS = Counter("fieldcheck_sync_pulls", "Sync pull pages answered", registry=REGISTRY)
SYNC_PULLED_CHANGES = Counter("fieldcheck_sync_pulled_changes", "Changes sent in pull pages", registry=REGISTRY)
UPLOAD_BYTES = Counter("fieldcheck_evidence_upload_bytes", "Evidence bytes received and stored", registry=REGISTRY)
JOB_RUNS = Counter("fieldcheck_job_runs", "Scheduled job runs by job and outcome", ["job", "outcome"], registry=REGISTRY)
ERRORS = Counter("fieldcheck_server_errors", "Requests answered 500 (unhandled errors)", registry=REGISTRY)


def count_push(outcomes: list) -> None:
    SYNC_PUSHES.inc()
    for kind, count in collections.Counter(type(o) for o in outcomes).items():  # a label look-up per kind, not per mutation
        SYNC_MUTATIONS.labels(outcome=kind.__name__.lower()).inc(count)


def count_pull(changes: int) -> None:
    SYNC_PULLS.inc()
    SYNC_PULLED_CHANGES.inc(changes)


@get("/metrics", include_in_schema=False, security=[], sync_to_thread=False)
def metrics(request: Request) -> Response[bytes]:
    """The metrics in Prometheus' text format; 404 unless the scraper sends the configured bearer token."""
    token = request.app.state.settings.server.metrics_token
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise NotFound("没有这个地址", "not found")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
