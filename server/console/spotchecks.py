"""The office's spot checks (双随机、一公开): campaigns, the pool preview, the draw, its verification, tasks, results."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from schemas import spotchecks as wire
from schemas.vocab import District, Role, Sector, label
from server import database
from server.console import labels, navigation, paging
from server.console.names import names_for
from server.console.web import actor_of, form_of, redirect, render
from server.deps import AppContext
from server.errors import InvalidInput, PermissionDenied
from server.spotchecks import covert
from server.spotchecks import campaigns as spotcheck_campaigns
from server.spotchecks import draws as spotcheck_draws
from server.spotchecks import publication as spotcheck_publication
from server.spotchecks import tasks as spotcheck_tasks
from server.spotchecks import verification as spotcheck_verification

ROLES = {"roles": navigation.SUPERVISION}
#: Longest text any field of the campaign form takes (the schema's own bounds then apply).
_FIELD_LIMIT = 200
_LISTS = ("sectors", "districts", "weekdays")


async def _form(request: Request) -> dict[str, Any]:
    """The posted form with repeated fields (sectors, districts, weekdays) as lists, every value bounded."""
    form = await form_of(request)
    values: dict[str, Any] = {}
    for key in set(form.keys()):
        got = [str(v) for v in form.getall(key)]
        if len(got) > 16 or any(len(v) > _FIELD_LIMIT or "\x00" in v for v in got):
            raise InvalidInput("提交的内容过长", "form field too long", field=key)
        values[key] = got if key in _LISTS else got[-1]
    return values


def _campaign_body(form: dict[str, Any]) -> wire.CampaignCreate:
    rules: dict[str, Any] = {
        "filters": {"sectors": form.get("sectors", []), "districts": form.get("districts", [])},
        "stratify_by": form.get("stratify_by") or "none",
        "team_size": form.get("team_size") or 2,
        "weekdays": form.get("weekdays") or [1, 2, 3, 4, 5],
        "release_time": form.get("release_time") or "07:00",
        "exclude_inspected_within_days": form.get("exclude_inspected_within_days") or 0,
        "match_district": form.get("match_district") == "on",
    }
    if form.get("sample_mode") == "percent":
        rules["sample_percent"] = form.get("sample_value") or None
    else:
        rules["sample_size"] = form.get("sample_value") or None
    body = {
        "name": (form.get("name") or "").strip(), "label": (form.get("label") or "").strip(),
        "period_start": form.get("period_start") or None, "period_end": form.get("period_end") or None,
        "covert": form.get("covert") == "on", "enforcement": form.get("enforcement") == "on", "rules": rules,
    }
    try:
        return msgspec.convert(body, wire.CampaignCreate, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"抽查计划填写有误：{exc}", str(exc)) from None


@get("/console/spotchecks", opt=ROLES, include_in_schema=False)
async def campaign_list(request: Request, context: AppContext) -> Response:
    actor = actor_of(request)
    page = paging.read_page(request.query_params)
    campaigns = await spotcheck_campaigns.list_campaigns(actor)  # filtered by the covert rule, so counted here
    names = await names_for(actor)
    rows = []
    for c in paging.slice_of(campaigns, page):
        p = await spotcheck_tasks.progress(context, actor, c.id)
        rows.append([
            paging.Cell(c.name, href=f"/console/spotchecks/{c.id}"), paging.Cell(c.label),
            paging.Cell(f"{c.period_start} 至 {c.period_end}"),
            paging.Cell(("暗查暗访" if c.covert else "公开抽查") + ("·执法检查" if c.enforcement else "")),
            paging.Cell(labels.CAMPAIGN_STATUS.get(c.status, str(c.status))),
            paging.Cell(str(p.drawn), tone="num"), paging.Cell(str(p.released), tone="num"),
            paging.Cell(str(p.done), tone="num"), paging.Cell(str(p.overdue), tone="num bad" if p.overdue else "num"),
            paging.Cell(names.person(c.created_by)),
        ])
    table = paging.Table(
        path="/console/spotchecks", columns=("计划", "标签", "期间", "方式", "状态", "已抽取", "已发布", "已完成", "逾期", "负责人"),
        rows=rows, page=page, total=len(campaigns), target="campaigns",
    )
    return render(
        request, "office/spotchecks.html", table=table, may_create=actor.role == Role.SUPERVISOR,
        sectors=[(str(s), label(s)) for s in Sector], districts=[(str(d), label(d)) for d in District],
    )


@post("/console/spotchecks", opt=ROLES, include_in_schema=False)
async def create_campaign(request: Request, context: AppContext) -> Response:
    body = _campaign_body(await _form(request))
    async with database.transaction():
        campaign = await spotcheck_campaigns.create_campaign(context, actor_of(request), body)
    return redirect(request, f"/console/spotchecks/{campaign.id}")


@get("/console/spotchecks/{campaign_id:uuid}", opt=ROLES, include_in_schema=False)
async def campaign_page(request: Request, campaign_id: FromPath[uuid.UUID], context: AppContext) -> Response:
    actor = actor_of(request)
    campaign = await spotcheck_campaigns.get_campaign(actor, campaign_id)
    owner = actor.role == Role.SUPERVISOR and campaign.created_by == actor.user_id
    tasks = await spotcheck_tasks.list_tasks(context, actor, campaign_id) if owner else None
    preview = await spotcheck_draws.preview_pool(context, actor, campaign_id) if owner and campaign.status != "drawn" else None
    draws = await spotcheck_draws.list_draws(actor, campaign_id)
    try:
        results = await spotcheck_publication.public_results(context, actor, campaign_id)
    except PermissionDenied:
        results = []
    names = await names_for(actor)
    progress = await spotcheck_tasks.progress(context, actor, campaign_id)
    # The covert rule itself decides whether this reader may re-run the draw (its inputs name the targets).
    may_verify = covert.may_see_targets(actor, {"created_by": campaign.created_by}, unreleased=progress.drawn - progress.released)
    return render(
        request, "office/spotcheck.html", campaign=campaign, owner=owner, tasks=tasks, preview=preview, draws=draws,
        progress=progress, results=results, names=names, may_verify=may_verify,
        status_labels=labels.CAMPAIGN_STATUS, task_labels=labels.TASK_STATUS,
        district_labels={str(d): label(d) for d in District},
        sectors=", ".join(label(Sector(s)) for s in campaign.rules.filters.sectors) or "全部",
        districts=", ".join(label(District(d)) for d in campaign.rules.filters.districts) or "全部",
    )


@post("/console/spotchecks/{campaign_id:uuid}/draw", opt=ROLES, include_in_schema=False)
async def draw(request: Request, campaign_id: FromPath[uuid.UUID], context: AppContext) -> Response:
    actor = actor_of(request)
    form = await _form(request)
    try:
        data = msgspec.convert({"reason": (form.get("reason") or "").strip()}, wire.DrawRequest)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"重新抽取理由有误：{exc}", str(exc), field="reason") from None
    # As the API does: the commitment is durable before any result exists.
    async with database.transaction():
        committed = await spotcheck_draws.commit_draw(context, actor, campaign_id, data)
    async with database.transaction():
        await spotcheck_draws.reveal_draw(context, actor, committed.id)
    return redirect(request, f"/console/spotchecks/{campaign_id}")


@post("/console/spotchecks/draws/{draw_id:uuid}/reveal", opt=ROLES, include_in_schema=False)
async def reveal(request: Request, draw_id: FromPath[uuid.UUID], context: AppContext) -> Response:
    async with database.transaction():
        revealed = await spotcheck_draws.reveal_draw(context, actor_of(request), draw_id)
    return redirect(request, f"/console/spotchecks/{revealed.campaign_id}")


@get("/console/spotchecks/draws/{draw_id:uuid}/verify", opt=ROLES, include_in_schema=False)
async def verify(request: Request, draw_id: FromPath[uuid.UUID]) -> Response:
    result = await spotcheck_verification.verify_draw(actor_of(request), draw_id)
    return render(request, "office/_verification.html", result=result, check_labels=labels.VERIFY_CHECKS)


@get("/console/spotchecks/{campaign_id:uuid}/results.csv", opt=ROLES, include_in_schema=False)
async def results_csv(request: Request, campaign_id: FromPath[uuid.UUID], context: AppContext) -> Response:
    rows = await spotcheck_publication.public_results(context, actor_of(request), campaign_id)
    return Response(
        spotcheck_publication.results_csv(rows), media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="spot-check-results-{campaign_id}.csv"',
                 "cache-control": "no-store"},
    )


ROUTES = [campaign_list, create_campaign, campaign_page, draw, reveal, verify, results_csv]
