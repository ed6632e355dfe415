"""Schemathesis over the whole OpenAPI document, as five callers, against a live server on PostgreSQL.

The server runs as a subprocess (uvicorn, the app built from the session's
settings) over the session's database, loaded with the demo world through
its services, so lists answer real records. Every operation is tried by
each of anonymous, inspector, supervisor, leader and admin, with valid
(positive) and invalid (negative) data; every answer must be no 5xx, a
status, content type and body the document declares.

Hypothesis is derandomized so a CI run always sends the same requests.
``FIELDCHECK_SCHEMATHESIS_EXAMPLES`` raises the examples per operation, mode
and caller (default 4) for a longer run, e.g.::

    FIELDCHECK_SCHEMATHESIS_EXAMPLES=100 pytest tests/server/test_schemathesis.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import api_docs, database, demo
from server.app import create_app
from tests.conftest import make_settings, stop_process, truncate_all

EXAMPLES = int(os.environ.get("FIELDCHECK_SCHEMATHESIS_EXAMPLES", "5"))
#: ``1`` adds schemathesis' coverage phase (boundary and type-confusion values of every parameter, ~6500
#: requests per caller): a longer run, not for CI.
COVERAGE = os.environ.get("FIELDCHECK_SCHEMATHESIS_COVERAGE") == "1"
PASSWORD = "schemathesis-pw-1"
#: The demo world's accounts, one per role; ``None`` calls without a token.
IDENTITIES = {"anonymous": None, "inspector": "inspector1", "supervisor": "supervisor1", "leader": "leader1", "admin": "admin"}
@schemathesis.check
def one_content_type(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A Content-Type names each parameter once (``text/csv; charset=utf-8; charset=utf-8`` is malformed)."""
    for value in response.headers.get("content-type", []):
        names = [part.split("=", 1)[0].strip().lower() for part in value.split(";")[1:]]
        if len(names) != len(set(names)):
            raise AssertionError(f"malformed Content-Type {value!r}")
    return None


CHECKS = [
    not_a_server_error,
    one_content_type,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ROOT = Path(__file__).resolve().parents[2]


@schemathesis.serializer("application/msgpack")
def _msgpack_body(ctx: Any, value: Any) -> bytes:
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:  # negative data: an integer MessagePack cannot carry is sent as a byte it never uses
        return b"\xc1"


@schemathesis.serializer("application/pdf")
def _pdf_body(ctx: Any, value: Any) -> bytes:
    """The verify page's upload: whatever bytes were generated (the server judges them by content)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return value.encode() if isinstance(value, str) else msgspec.json.encode(value)


@schemathesis.deserializer("application/msgpack")
def _msgpack_answer(ctx: Any, response: Any) -> Any:
    # Through JSON, so timestamps are checked as the strings the JSON answer carries.
    return msgspec.json.decode(msgspec.json.encode(msgspec.msgpack.decode(response.content)))


def _document() -> dict[str, Any]:
    """The OpenAPI document exactly as ``/schema/openapi.json`` serves it (building the app opens nothing)."""
    app = create_app(make_settings(Path("/nonexistent"), database_url="postgresql://unused@127.0.0.1:1/unused"))
    return api_docs.document(app)


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@dataclass
class Live:
    url: str
    headers: dict[str, dict[str, str]]
    #: ``(path prefix, path parameter)`` → the id of a real record, for a second pass on real records
    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def real_path(self, path: str, names: list[str]) -> dict[str, str] | None:
        found = {}
        for name in names:
            value = next((v for (prefix, n), v in self.ids.items() if n == name and path.startswith(prefix)), None)
            if value is None:
                return None
            found[name] = value
        return found


#: Where the ids of the demo world's records are listed: (path prefix, parameter) → (list path, how to pick one).
_LISTS = {
    ("/api/v1/", "enterprise_id"): ("/api/v1/enterprises", lambda body: body["items"][0]["id"]),
    ("/api/v1/", "user_id"): (  # not one of the callers: the admin pass may change it
        "/api/v1/users",
        lambda body: next(u["id"] for u in body if u["username"] not in IDENTITIES.values()),
    ),
    ("/api/v1/", "template_id"): ("/api/v1/checklists", lambda body: body[0]["id"]),
    ("/api/v1/", "code"): ("/api/v1/checklists", lambda body: body[0]["code"]),
    ("/api/v1/", "inspection_id"): ("/api/v1/inspections", lambda body: body[0]["id"]),
    ("/api/v1/conflicts-of-interest", "conflict_id"): ("/api/v1/conflicts-of-interest", lambda body: body[0]["id"]),
}


def _real_ids(url: str, admin: dict[str, str], supervisor: dict[str, str]) -> dict[tuple[str, str], str]:
    ids = {}
    for key, (path, pick) in _LISTS.items():
        answer = requests.get(f"{url}{path}", headers=admin, timeout=30)
        assert answer.status_code == 200, (path, answer.text)
        ids[key] = str(pick(answer.json()))
    # An announced spot-check campaign of the supervisor's, drawn once.
    campaign = requests.post(
        f"{url}/api/v1/spot-checks/campaigns",
        headers=supervisor,
        json={"name": "schemathesis", "period_start": "2026-01-01", "period_end": "2026-12-31", "covert": False,
              "rules": {"sample_size": 3}},
        timeout=30,
    )
    assert campaign.status_code == 201, campaign.text
    ids[("/api/v1/spot-checks/", "campaign_id")] = campaign.json()["id"]
    draw = requests.post(f"{url}/api/v1/spot-checks/campaigns/{campaign.json()['id']}/draws", headers=supervisor, json={}, timeout=60)
    assert draw.status_code == 201, draw.text
    ids[("/api/v1/spot-checks/", "draw_id")] = draw.json()["id"]
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_SERVE = """
import sys, uvicorn
from pathlib import Path
from server.app import create_app
from tests.conftest import make_settings
app = create_app(make_settings(Path(sys.argv[1]), database_url=sys.argv[2]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


@pytest.fixture(scope="module")
async def live(app, settings, tmp_path_factory):
    """The demo world on the session database, and a server subprocess answering over it."""
    database.activate(app.state.engine)
    await truncate_all()
    await demo.load(app.state.settings, password=PASSWORD)
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("schemathesis")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(data_dir), settings.database.url, str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=(log := open(data_dir / "server.log", "w")),  # a file: a full pipe would stall the server
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (data_dir / "server.log").read_text()
            try:
                if requests.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server did not come up within 60 s"
            time.sleep(0.2)
        headers: dict[str, dict[str, str]] = {}
        for identity, username in IDENTITIES.items():
            if username is None:
                headers[identity] = {}
                continue
            answer = requests.post(f"{url}/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
            assert answer.status_code == 200, answer.text
            headers[identity] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        yield Live(url=url, headers=headers, ids=_real_ids(url, headers["admin"], headers["supervisor"]))
    finally:
        with open(f"/proc/{process.pid}/stat") as stat:
            ticks = stat.read().rsplit(")", 1)[1].split()
        print(f"server CPU: {(int(ticks[11]) + int(ticks[12])) / os.sysconf('SC_CLK_TCK'):.1f} s")
        stop_process(process)
        log.close()
        print("server output (tail):\n" + (data_dir / "server.log").read_text(errors="replace")[-20000:])


@dataclass
class Tally:
    calls: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _run_operation(
    operation: Any,
    mode: schemathesis.GenerationMode,
    live: Live,
    identity: str,
    session: requests.Session,
    tally: Tally,
    path_parameters: dict[str, str] | None = None,
) -> None:
    # Without a token every non-public operation stops at 401: a quarter of the examples shows that.
    examples = EXAMPLES if identity != "anonymous" else max(1, EXAMPLES // 4)

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=live.url, headers=live.headers[identity], session=session, timeout=30)
        tally.calls += 1
        case.validate_response(response, checks=CHECKS)

    run()


def _run_coverage(operation: Any, live: Live, identity: str, session: requests.Session, tally: Tally) -> list[str]:
    """Schemathesis' coverage cases of one operation; the failures as text (one per distinct check)."""
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.generation.overrides import Override

    generator = CoverageGenerator(
        operation=operation,
        generation_modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        generation_config=SCHEMA.config.generation_for(operation=operation, phase="coverage"),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    failures: dict[str, str] = {}
    for case in generator:
        response = case.call(base_url=live.url, headers=live.headers[identity], session=session, timeout=30)
        tally.calls += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            failures.setdefault(str(exc).split("Reproduce with")[0], str(exc))
    return [f"--- {identity} {operation.label} (coverage):\n{text}" for text in failures.values()]


def _has_input(operation: Any) -> bool:
    return bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))


# ~15 s of CPU per caller at the default; the bound leaves room for a loaded machine and for longer runs.
@pytest.mark.timeout(900 + 60 * EXAMPLES + (3600 if COVERAGE else 0))
@pytest.mark.parametrize("identity", list(IDENTITIES))
def test_whole_api_conforms_to_its_document(live, identity):
    failures: list[str] = []
    session = requests.Session()
    tally = Tally()
    cpu = time.process_time()
    for operation in OPERATIONS:
        # Negative data needs something to be wrong in: an operation without inputs has none.
        modes = [schemathesis.GenerationMode.POSITIVE]
        if _has_input(operation):
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        started = time.monotonic()
        runs: list[tuple[schemathesis.GenerationMode, dict[str, str] | None]] = [(mode, None) for mode in modes]
        # Random ids mostly meet 404: once more on a real record wherever the path names one the demo has.
        names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
        if names and (real := live.real_path(operation.path, names)):
            runs.append((schemathesis.GenerationMode.POSITIVE, real))
        for mode, path_parameters in runs:
            try:
                _run_operation(operation, mode, live, identity, session, tally, path_parameters)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are reported together
                where = f" on {path_parameters}" if path_parameters else ""
                failures.append(f"--- {identity} {operation.label} ({mode.value}{where}):\n{exc}")
        if COVERAGE:
            failures += _run_coverage(operation, live, identity, session, tally)
        tally.seconds[operation.label] = time.monotonic() - started
    slowest = sorted(tally.seconds.items(), key=lambda item: -item[1])[:5]
    print(
        f"{identity}: {tally.calls} requests over {len(OPERATIONS)} operations in {time.process_time() - cpu:.0f} s CPU; "
        f"slowest: {slowest}"
    )
    assert not failures, f"{len(failures)} failing operation(s):\n" + "\n".join(failures)
