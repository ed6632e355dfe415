"""Push: apply a device's mutations exactly once, each with its own typed outcome.

The caller opens one transaction for the whole push. Inside it:

1. pushes of the same device are serialised (an advisory lock on the device
   id on PostgreSQL; SQLite write transactions are exclusive anyway), so a
   duplicated request arriving while the first is still running waits and then
   finds the stored outcomes;
2. ``(device, seq)`` pairs already answered get their stored outcome back and
   are not applied again;
3. each new mutation is decoded on its own (one that does not decode is
   rejected, the rest go on) and applied in a savepoint
   (``UnitOfWork.savepoint``): a domain error rolls back its writes, its audit
   entries and its published changes, and becomes a ``rejected`` outcome;
4. runs of consecutive mutations of a kind with a bulk handler are applied in
   one go (see :mod:`server.sync.registry`);
5. the new outcomes are stored in ``device_mutation`` in the same
   transaction, so the effects and the record that they happened commit or
   vanish together: a crash mid-push leaves nothing half-applied, and the
   retry applies the whole batch once.

Errors that may pass (``Unavailable``, a lost connection, a deadlock) are not
turned into rejections: they fail the push, the transaction rolls back, and
the phone retries later. A unique violation is a race with another writer that
has just committed the same row: the mutation is applied once more, and now
sees that row. Anything else a handler raises is the server's fault, not the
record's: the mutation is answered ``deferred``, nothing about it is stored,
and the phone keeps it queued, content intact, and sends it again.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
import msgspec.inspect

from schemas import bounds
from schemas import sync as wire
from schemas.problems import ErrorCode
from server import database
from server.accounts.policy import Actor, may_write
from server.context import Context
from server.errors import FieldcheckError, InvalidInput, PermissionDenied
from server.sync import sql
from server.sync.registry import BatchHandler, Registry

log = logging.getLogger("fieldcheck.sync")

#: Namespace (first key) of the per-device push lock; distinct from the chain lock's one-key space.
_DEVICE_LOCK_CLASS = 0x5359

_TRANSIENT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.QueryCanceledError,
    ConnectionError,
    sqlite3.OperationalError,
)

#: A concurrent writer committed the same key first: applying again sees its row.
_RACES: tuple[type[BaseException], ...] = (asyncpg.exceptions.UniqueViolationError,)

#: What a mutation's bytes may fail with: a type or shape error, nesting too deep, text that is not UTF-8.
_UNDECODABLE = (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError)
_KINDS = frozenset(m.__struct_config__.tag for m in wire.MUTATION_TYPES)
#: Stored as the kind of a rejected mutation whose kind is none of ours.
_UNKNOWN_KIND = "unknown"

_OUTCOME = msgspec.msgpack.Decoder(wire.Outcome)
_HEADS = {"msgpack": msgspec.msgpack.Decoder(wire.MutationHead), "json": msgspec.json.Decoder(wire.MutationHead)}
_MUTATIONS = {"msgpack": msgspec.msgpack.Decoder(wire.AnyMutation), "json": msgspec.json.Decoder(wire.AnyMutation)}


def _rejected(seq: int, error: FieldcheckError) -> wire.Rejected:
    return wire.Rejected(seq=seq, code=str(error.code), message=error.message, message_en=error.message_en, field=error.field)


def _deferred(seq: int, kind: str, error: BaseException) -> wire.Deferred:
    log.error("mutation %s seq %s failed; answered deferred (the phone keeps it and resends)", kind, seq,
              exc_info=error)
    return wire.Deferred(seq=seq, code=str(ErrorCode.INTERNAL), message="服务器暂时无法处理此记录，已保留在本机，稍后自动重发",
                         message_en=f"server error ({type(error).__name__}); kept on the device and resent later")


def _decode_error(seq: int, error: Exception) -> wire.Rejected:
    text = str(error)
    if isinstance(error, (RecursionError, UnicodeDecodeError)):
        text = f"malformed ({type(error).__name__})"
    field = bounds.field_of(text)
    shown = text.replace("\x00", "\\0")  # msgspec quotes the bad value: a NUL or a 10 KB kind goes back shortened
    shown = shown if len(shown) <= 300 else shown[:300] + "…"
    return wire.Rejected(
        seq=seq, code=str(bounds.code_of(text)), message=f"数据格式有误，服务器无法识别：{shown}",
        message_en=f"cannot decode mutation: {shown}", field=field,
    )


async def push(
    ctx: Context, registry: Registry, actor: Actor, request: wire.PushRequest, *, encoding: str = "msgpack"
) -> wire.PushResponse:
    """Apply a batch (inside the caller's transaction) with ``registry``'s handlers and answer every mutation in it."""
    if request.protocol > wire.PROTOCOL_VERSION:
        raise InvalidInput("客户端协议版本高于服务器，请等待服务器升级", "protocol version not supported", field="protocol")
    if not may_write(actor):
        raise PermissionDenied("当前角色只读，不能提交离线记录", "read-only role")
    if actor.device_id is None or request.device_id != actor.device_id:
        raise PermissionDenied("设备与登录凭证不符，请在本设备重新登录", "device does not match the token", field="device_id")
    # Decode each mutation whole; only one that fails is read again for just its seq and kind.
    decoded: list[Any] = []
    heads: list[wire.MutationHead] = []
    for index, raw in enumerate(request.mutations):
        try:
            mutation = _MUTATIONS[encoding].decode(raw)
        except _UNDECODABLE as exc:
            try:
                head = _HEADS[encoding].decode(raw)
            except _UNDECODABLE:
                raise InvalidInput(f"第 {index + 1} 条记录缺少序号或类型", f"mutation {index} has no seq/kind: {exc}",
                                   field=f"mutations[{index}]") from None
            # Any text may stand where a kind should be (NUL, 10 KB): it is answered, never stored as the kind.
            heads.append(head if head.kind in _KINDS else wire.MutationHead(seq=head.seq, kind=_UNKNOWN_KIND))
            decoded.append(exc)
        else:
            heads.append(wire.MutationHead(seq=mutation.seq, kind=mutation.__struct_config__.tag))
            decoded.append(mutation)

    uow = database.current()
    device = request.device_id
    if database.is_postgres():
        await sql.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", "", _DEVICE_LOCK_CLASS, str(device))
    outcomes = await _stored(device, sorted({h.seq for h in heads}))
    todo: list[tuple[wire.MutationHead, Any]] = []
    queued: set[int] = set()
    for head, mutation in zip(heads, decoded, strict=True):
        if head.seq in outcomes or head.seq in queued:
            continue
        queued.add(head.seq)
        if isinstance(mutation, Exception):
            outcomes[head.seq] = _decode_error(head.seq, mutation)
            todo.append((head, None))
        else:
            todo.append((head, mutation))

    # Lock every inspection this push touches, up front and in order: a teammate's concurrent push of the
    # same inspection waits, then merges against what this one committed (no lost update, no deadlock).
    about = {m.seq: _inspections_of(m) for _, m in todo if m is not None}
    await sql.lock(sql.LOCK_INSPECTION, {str(i) for ids in about.values() for i in ids})
    fresh: list[tuple[int, str, wire.Outcome]] = []
    held: set[uuid.UUID] = set()  # inspections with a deferred mutation: what follows it waits, order is kept
    index = 0
    while index < len(todo):
        head, mutation = todo[index]
        if mutation is None:
            fresh.append((head.seq, head.kind, outcomes[head.seq]))
            index += 1
            continue
        if held.intersection(about[head.seq]):
            outcomes[head.seq] = wire.Deferred(seq=head.seq, code=str(ErrorCode.INTERNAL),
                                               message="本检查的前一条记录待重发，此条随后一并处理",
                                               message_en="waits for an earlier deferred mutation of this inspection")
            fresh.append((head.seq, head.kind, outcomes[head.seq]))
            index += 1
            continue
        bulk = registry.batch_handler(head.kind)
        end = index + 1
        if bulk is not None:
            while end < len(todo) and todo[end][1] is not None and todo[end][0].kind == head.kind:
                end += 1
        run = [m for _, m in todo[index:end]]
        results = await _apply_run(ctx, registry, uow, actor, head.kind, run, bulk) if bulk and len(run) > 1 else [
            await _apply_one(ctx, registry, uow, actor, head.kind, run[0])
        ]
        for m, result in zip(run, results, strict=True):
            outcomes[m.seq] = result
            fresh.append((m.seq, head.kind, result))
            if isinstance(result, wire.Deferred):
                held.update(about[m.seq])
        index = end
    await _store(device, fresh)
    return wire.PushResponse(outcomes=[outcomes[h.seq] for h in heads], server_time=ctx.now())


def _inspections_of(mutation: Any) -> list[uuid.UUID]:
    """The inspection(s) a mutation is about: its ``inspection_id``, or that of a record it carries."""
    found = []
    for name in _carriers(type(mutation)):
        value = getattr(mutation, name)
        if name == "inspection_id" and isinstance(value, uuid.UUID):
            found.append(value)
        elif isinstance(value, msgspec.Struct) and isinstance(getattr(value, "inspection_id", None), uuid.UUID):
            found.append(value.inspection_id)
    return found


@functools.cache
def _carriers(mutation_type: type) -> tuple[str, ...]:
    """The fields of a mutation type that may name an inspection: ``inspection_id`` and any that may hold a Struct."""
    names = []
    for info in msgspec.inspect.type_info(mutation_type).fields:  # type: ignore[attr-defined]
        kinds = info.type.types if isinstance(info.type, msgspec.inspect.UnionType) else (info.type,)
        if info.name == "inspection_id" or any(
            isinstance(k, (msgspec.inspect.StructType, msgspec.inspect.AnyType)) for k in kinds
        ):
            names.append(info.name)
    return tuple(names)


def _outcome_of(seq: int, result: wire.Applied | wire.Conflict | None) -> wire.Outcome:
    return wire.Applied(seq=seq) if result is None else result


async def _apply_one(
    ctx: Context, registry: Registry, uow: database.UnitOfWork, actor: Actor, kind: str, mutation: Any
) -> wire.Outcome:
    handler = registry.handler(kind)
    if handler is None:
        return wire.Rejected(seq=mutation.seq, code=str(ErrorCode.INVALID_INPUT),
                             message=f"服务器暂不支持此类记录（{kind}）", message_en=f"no handler for {kind}", field="kind")
    for attempt in (1, 2):
        try:
            async with uow.savepoint():
                return _outcome_of(mutation.seq, await handler(ctx, actor, mutation))
        except FieldcheckError as error:
            if error.retryable:
                raise
            return _rejected(mutation.seq, error)
        except _TRANSIENT:
            raise
        except _RACES as error:
            if attempt == 2:
                return _deferred(mutation.seq, kind, error)
        except Exception as error:  # the server's fault: never a verdict on what the inspector wrote
            return _deferred(mutation.seq, kind, error)
    raise AssertionError("unreachable")


async def _apply_run(
    ctx: Context, registry: Registry, uow: database.UnitOfWork, actor: Actor, kind: str, run: Sequence[Any],
    bulk: BatchHandler,
) -> list[wire.Outcome]:
    try:
        async with uow.savepoint():
            results = await bulk(ctx, actor, run)
    except FieldcheckError as error:
        if error.retryable:
            raise
        results = None
    except _TRANSIENT:
        raise
    except Exception:
        log.exception("bulk %s of %d failed; applying one at a time", kind, len(run))
        results = None
    if results is None:
        return [await _apply_one(ctx, registry, uow, actor, kind, m) for m in run]
    outcomes: list[wire.Outcome] = []
    for m, result in zip(run, results, strict=True):
        if isinstance(result, FieldcheckError):
            outcomes.append(_rejected(m.seq, result))
        elif isinstance(result, Exception):
            outcomes.append(_deferred(m.seq, kind, result))
        else:
            outcomes.append(_outcome_of(m.seq, result))
    return outcomes


async def _stored(device: uuid.UUID, seqs: list[int]) -> dict[int, wire.Outcome]:
    if not seqs:
        return {}
    if database.is_postgres():
        # The range bounds the (device, seq) index scan whatever the plan: asyncpg's prepared statement goes
        # generic after five runs, and a generic plan of `seq = ANY($2)` alone may read the device's whole
        # history and filter it (bench/push_history.py). A phone's seqs are consecutive, so the range is
        # about the batch; a retry mixing old and new seqs reads at most the device's rows between them.
        rows = await sql.fetch(
            "SELECT seq, outcome FROM device_mutation"
            " WHERE device = $1 AND seq BETWEEN $2 AND $3 AND seq = ANY($4::bigint[])",
            "", device, min(seqs), max(seqs), seqs,
        )
    else:
        rows = []
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            rows += await sql.fetch(
                "",
                f"SELECT seq, outcome FROM device_mutation WHERE device = ? AND seq IN ({','.join('?' * len(chunk))})",
                str(device),
                *chunk,
            )
    return {int(seq): _OUTCOME.decode(outcome) for seq, outcome in rows}


async def _store(device: uuid.UUID, fresh: list[tuple[int, str, wire.Outcome]]) -> None:
    fresh = [f for f in fresh if not isinstance(f[2], wire.Deferred)]  # not answered for good: resent, applied then
    if not fresh:
        return
    now = dt.datetime.now(dt.UTC)
    encode = msgspec.msgpack.encode
    if database.is_postgres():
        # One statement; the ids are made by PostgreSQL (a thousand uuid4() in Python cost more than the write).
        await sql.execute(
            "INSERT INTO device_mutation (id, device, seq, kind, outcome, created_at)"
            " SELECT gen_random_uuid(), $1, t.seq, t.kind, t.outcome, $5"
            " FROM unnest($2::bigint[], $3::text[], $4::bytea[]) AS t(seq, kind, outcome)",
            "", device, [f[0] for f in fresh], [f[1] for f in fresh], [encode(f[2]) for f in fresh], now,
        )
        return
    await sql.copy(
        "device_mutation",
        ("id", "device", "seq", "kind", "outcome", "created_at"),
        [(str(uuid.uuid4()), str(device), seq, kind, encode(o), now) for seq, kind, o in fresh],
    )
