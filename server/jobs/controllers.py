"""HTTP for the scheduled jobs (administrators only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK

from schemas import jobs as wire
from schemas.vocab import Role
from server.accounts.auth import requires_role
from server.deps import AppSettings, CurrentActor
from server.jobs import service as jobs_service


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["定时任务 jobs"]
    guards = [requires_role(Role.ADMIN)]

    @get("")
    async def list_jobs(self, actor: CurrentActor, settings: AppSettings) -> list[wire.Job]:
        """全部定时任务：间隔、是否在本部署运行、最近一次运行的结果。"""
        return await jobs_service.list_jobs(actor, settings)

    @get("/runs")
    async def list_runs(
        self,
        actor: CurrentActor,
        job: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=jobs_service.MAX_RUNS)] = 50,
    ) -> list[wire.JobRun]:
        """运行记录（最新在前）：开始、结束、结果（ok / partial 部分失败待下次重试 / failed）、处理条数。"""
        return await jobs_service.list_runs(actor, job=job, limit=limit)

    @post("/{name:str}/run", status_code=HTTP_200_OK)
    async def run_now(self, name: FromPath[str], actor: CurrentActor, settings: AppSettings) -> wire.JobRun:
        """立即运行一次（例如修正了失败的条目之后）；记入审计日志。"""
        return await jobs_service.run_now(actor, name, settings)
