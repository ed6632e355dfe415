"""HTTP for login, tokens, the caller's own profile, departments and users."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from schemas import accounts as wire
from schemas.vocab import Role
from server import database
from server.accounts import service as accounts_service
from server.accounts.auth import requires_role, source_address
from server.accounts.login import log_in
from server.accounts.service import LoginRefused
from server.deps import AppSettings, CurrentActor


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["认证 auth"]

    @post("/login", status_code=HTTP_200_OK, security=[], opt={"errors": (401, 429)})
    async def login(self, request: Request, data: JSONBody[wire.LoginRequest], settings: AppSettings) -> wire.TokenPair:
        """登录：用户名和密码换取访问令牌与刷新令牌。"""
        source = source_address(request, settings.auth.trusted_proxy_networks)
        return await log_in(data, settings.auth, source=source)

    @post("/refresh", status_code=HTTP_200_OK, security=[], opt={"errors": (401,)})
    async def refresh(self, data: JSONBody[wire.RefreshRequest], settings: AppSettings) -> wire.TokenPair:
        """用刷新令牌换新令牌（旧刷新令牌随即失效）。"""
        async with database.transaction():
            outcome = await accounts_service.refresh(data, settings.auth)
        if isinstance(outcome, LoginRefused):
            raise outcome.error
        return outcome

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, data: JSONBody[wire.RefreshRequest], actor: CurrentActor) -> None:
        """退出登录：吊销该刷新令牌。"""
        async with database.transaction():
            await accounts_service.logout(actor, data)

    @post("/password", status_code=HTTP_204_NO_CONTENT, opt={"errors": (429,)})
    async def change_password(self, data: JSONBody[wire.PasswordChange], actor: CurrentActor) -> None:
        """修改本人密码（需提供当前密码）。"""
        change = await accounts_service.prepare_password_change(actor, data)
        async with database.transaction():
            await accounts_service.change_password(actor, change)

    @get("/me")
    async def me(self, actor: CurrentActor) -> wire.Me:
        """当前登录用户。"""
        return await accounts_service.get_me(actor)


class DepartmentController(Controller):
    path = "/api/v1/departments"
    tags = ["科室 departments"]

    @get("/", guards=[requires_role(Role.ADMIN, Role.SUPERVISOR, Role.LEADER)])
    async def list_departments(self) -> list[wire.Department]:
        """科室列表。"""
        return await accounts_service.list_departments()

    @post("/", guards=[requires_role(Role.ADMIN)])
    async def create_department(self, data: JSONBody[wire.DepartmentCreate], actor: CurrentActor) -> wire.Department:
        """新建科室（仅管理员）。"""
        async with database.transaction():
            return await accounts_service.create_department(actor, data)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["用户 users"]

    @get("/", guards=[requires_role(Role.ADMIN, Role.SUPERVISOR)])
    async def list_users(
        self, role: FromQuery[Role | None] = None, department_id: FromQuery[uuid.UUID | None] = None
    ) -> list[wire.User]:
        """用户列表（管理员、科室负责人）。"""
        return await accounts_service.list_users(role=role, department_id=department_id)

    @post("/", guards=[requires_role(Role.ADMIN)])
    async def create_user(self, data: JSONBody[wire.UserCreate], actor: CurrentActor) -> wire.User:
        """新建用户（仅管理员）。"""
        password_hash = await accounts_service.new_password_hash(data.password, data.username)
        async with database.transaction():
            return await accounts_service.create_user(actor, data, password_hash)

    @patch("/{user_id:uuid}", guards=[requires_role(Role.ADMIN)])
    async def update_user(self, user_id: FromPath[uuid.UUID], data: JSONBody[wire.UserUpdate], actor: CurrentActor) -> wire.User:
        """修改用户（仅管理员）。"""
        password_hash = await accounts_service.new_password_hash_for_update(user_id, data)
        async with database.transaction():
            return await accounts_service.update_user(actor, user_id, data, password_hash)
