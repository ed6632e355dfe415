"""Pull: one page of what changed in the caller's scopes since their cursors.

The scopes a user may see are recomputed at every pull from
the scope providers the domains registered (:mod:`server.sync.registry`:
their assignments and what those need). Against the
phone's cursors that gives three groups:

- scopes the phone already follows: rows after its cursor (tombstones too);
- scopes new to the phone (a new assignment, a released covert task): read
  from 0, i.e. the current state of every live record in them — the initial
  sync is just this, page by page;
- scopes the phone follows but the user no longer has: returned in
  ``dropped_scopes``; the phone forgets records it holds only through them.

Why no late commit is ever skipped, and why nothing comes twice: see
:mod:`server.sync.service`. Each scope's new cursor is at most the high
watermark read before the page, and every row of that scope up to its new
cursor is in the page or an earlier one (``service.read``).
"""

from __future__ import annotations

import msgspec

from schemas import sync as wire
from server.accounts.policy import Actor
from server.context import Context
from server.errors import InvalidInput, PermissionDenied
from server.sync import service as sync_service
from server.sync.registry import Registry


def _as_json(payload: bytes) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(msgspec.msgpack.decode(payload)))


async def pull(
    ctx: Context, registry: Registry, actor: Actor, request: wire.PullRequest, *, encoding: str = "msgpack"
) -> wire.PullResponse:
    """One page of changes for the caller's phone (run inside a transaction)."""
    if request.protocol > wire.PROTOCOL_VERSION:
        raise InvalidInput("客户端协议版本高于服务器，请等待服务器升级", "protocol version not supported", field="protocol")
    if actor.device_id is not None and request.device_id != actor.device_id:
        raise PermissionDenied("设备与登录凭证不符，请在本设备重新登录", "device does not match the token", field="device_id")
    hw = await sync_service.high_watermark()
    allowed = await registry.scopes_for(ctx, actor)
    # A cursor above the watermark cannot come from this database (restored from backup): start that scope over.
    cursors = {key: (after if after <= hw else 0) for key, after in request.cursors.items() if key in allowed}
    for key in allowed:
        cursors.setdefault(key, 0)
    dropped = sorted(set(request.cursors) - allowed)
    rows, new_cursors, more = await sync_service.read(cursors, hw, request.limit)
    changes: list[wire.Change] = []
    as_record = (lambda p: msgspec.Raw(p)) if encoding == "msgpack" else _as_json
    for seq, scope, entity_type, entity_id, payload in rows:
        if payload is None:
            changes.append(wire.Remove(seq=seq, scope=scope, entity_type=entity_type, entity_id=entity_id))
        else:
            changes.append(wire.Put(seq=seq, scope=scope, entity_type=entity_type, entity_id=entity_id, record=as_record(payload)))
    return wire.PullResponse(
        changes=changes,
        cursors=new_cursors,
        dropped_scopes=dropped,
        has_more=more,
        server_time=ctx.now(),
    )
