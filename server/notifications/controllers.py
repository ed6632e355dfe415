"""HTTP for the inbox (every signed-in user, their own only) and the webhook deliveries (administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from schemas import notifications as wire
from schemas.vocab import Role
from server import database
from server.accounts.auth import requires_role
from server.deps import CurrentActor
from server.notifications import service as notifications_service

Limit = Annotated[int, QueryParameter(ge=1, le=notifications_service.MAX_LIST)]


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["通知 notifications"]

    @get("")
    async def list_mine(
        self, actor: CurrentActor, unread: FromQuery[bool] = False, limit: Limit = 50
    ) -> list[wire.Notification]:
        """我的通知（最新在前）：整改期限将至或已逾期、隐患升级、任务下达、检查被退回。手机端经同步收到同样的记录。"""
        return await notifications_service.list_mine(actor, unread_only=unread, limit=limit)

    @post("/{notification_id:uuid}/read", status_code=HTTP_200_OK)
    async def mark_read(self, notification_id: FromPath[uuid.UUID], actor: CurrentActor) -> wire.Notification:
        """标记为已读（各设备同步）。"""
        async with database.transaction():
            return await notifications_service.mark_read(actor, notification_id)

    @get("/deliveries", guards=[requires_role(Role.ADMIN)])
    async def list_deliveries(
        self, actor: CurrentActor, status: Annotated[str | None, QueryParameter(max_length=16)] = None, limit: Limit = 50
    ) -> list[wire.Delivery]:
        """外部推送记录及每次尝试（系统管理员）。"""
        return await notifications_service.list_deliveries(actor, status=status, limit=limit)
