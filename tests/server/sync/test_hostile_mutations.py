"""Every mutation kind of the union, pushed with hostile field values: each is applied or rejected, never deferred.

``Deferred`` is the server's own failure (a bug, when nothing transient happened), and a 5xx answer loses the
whole batch's outcomes; bad input must end as a ``Rejected`` naming its reason. The values are built from
each type's own fields (``msgspec.inspect``), so a new kind is covered without listing it: NUL and over-long
text, extreme numbers, dates out of range, unknown enum values, ids of nothing or of a real check.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import msgspec
import msgspec.inspect as mi

from schemas import sync as wire
from server.sync.registry import kind_of
from tests.server.sync.conftest import Team, make_phone, team  # noqa: F401  (fixture)

#: nul/long/edge are refused as they are decoded; "plausible" passes decoding (each field within its own
#: bounds) and so reaches the handlers with ids of nothing beside a real check.
VARIANTS = ("nul", "long", "edge", "plausible")
_PATTERN_TRIES = ("a" * 64, "0" * 64, "91640500MA00000001", "64050000000", "shapotou", "sha256", "image/jpeg")


def _plausible(info: mi.Type, name: str, inspection_id: uuid.UUID) -> Any:
    if isinstance(info, mi.StrType):
        if info.pattern:
            return next((t for t in _PATTERN_TRIES if re.search(info.pattern, t)), "a")
        return "现" * max(info.min_length or 1, min(info.max_length or 8, 8))
    if isinstance(info, (mi.IntType, mi.FloatType)):
        low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else 0)
        return int(low) if isinstance(info, mi.IntType) else float(low)
    if isinstance(info, mi.DateTimeType):
        return dt.datetime.now(dt.UTC).isoformat()
    if isinstance(info, mi.DateType):
        return (dt.date.today() + dt.timedelta(days=7)).isoformat()
    if isinstance(info, (mi.BytesType, mi.ByteArrayType)):
        return b"\xff\xd8\xff" + b"\x00" * 16
    return _value(info, name, "edge", inspection_id, plausible=True)


def _value(info: mi.Type, name: str, variant: str, inspection_id: uuid.UUID, *, plausible: bool = False) -> Any:
    if variant == "plausible" and not plausible:
        return _plausible(info, name, inspection_id)
    if isinstance(info, mi.UUIDType):
        return str(inspection_id) if name == "inspection_id" else str(uuid.uuid4())
    if isinstance(info, (mi.BytesType, mi.ByteArrayType)):
        return b"\x00" * (100_000 if variant == "long" else 1)
    if isinstance(info, mi.StrType):
        return {"nul": "隐患\x00描述", "long": "长" * 100_000, "edge": ""}[variant]
    if isinstance(info, mi.BoolType):
        return True
    if isinstance(info, mi.IntType):
        return {"nul": -1, "long": 2**62, "edge": 0}[variant]
    if isinstance(info, mi.FloatType):
        return {"nul": float("nan"), "long": 1e308, "edge": -0.0}[variant]
    if isinstance(info, mi.DateTimeType):
        return {"nul": "0001-01-01T00:00:00Z", "long": "9999-12-31T23:59:59Z", "edge": "2026-02-30T00:00:00Z"}[variant]
    if isinstance(info, mi.DateType):
        return {"nul": "0001-01-01", "long": "9999-12-31", "edge": "2026-02-30"}[variant]
    if isinstance(info, (mi.EnumType, mi.LiteralType)):
        values = [getattr(v, "value", v) for v in (info.cls if isinstance(info, mi.EnumType) else info.values)]
        return "no_such_value" if variant == "nul" else values[0]
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        item = _value(info.item_type, name, "plausible" if plausible else variant, inspection_id)
        return [item] * (200 if variant == "long" else max(1, getattr(info, "min_length", None) or 1))
    if isinstance(info, mi.DictType):
        return {"k\x00" if variant == "nul" else "k": _value(info.value_type, name, "plausible" if plausible else variant, inspection_id)}
    if isinstance(info, mi.UnionType):
        kinds = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return _value(kinds[0], name, "plausible" if plausible else variant, inspection_id) if kinds else None
    if isinstance(info, mi.StructType):
        return {f.encode_name: _value(f.type, f.name, "plausible" if plausible else variant, inspection_id) for f in info.fields}
    return None


def _hostile(mutation_type: type, seq: int, variant: str, inspection_id: uuid.UUID) -> dict[str, Any]:
    info = mi.type_info(mutation_type)
    body = {f.encode_name: _value(f.type, f.name, variant, inspection_id) for f in info.fields}
    body.update({"kind": kind_of(mutation_type), "seq": seq})
    return body


async def test_every_mutation_kind_with_hostile_values_is_applied_or_rejected(
    client: httpx.AsyncClient, team: Team  # noqa: F811
) -> None:
    inspection_id = await team.assign(client)
    phone = await make_phone(client, team.inspectors[0])
    failures = []
    for mutation_type in wire.MUTATION_TYPES:
        for variant in VARIANTS:
            body = _hostile(mutation_type, phone.seq(), variant, inspection_id)
            response = await phone.push_raw([body])
            if response.status_code >= 500:
                failures.append((body["kind"], variant, response.status_code, response.text[:200]))
                continue
            if response.status_code != 200:
                continue  # the whole batch refused with a reason (a 4xx): nothing was applied, nothing lost
            [outcome] = msgspec.msgpack.decode(response.content, type=wire.PushResponse).outcomes
            if isinstance(outcome, wire.Deferred):
                failures.append((body["kind"], variant, "deferred", outcome.code, outcome.message))
    assert failures == [], failures
