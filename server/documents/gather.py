"""From the records to a document: load a case through the other domains' services, then say what
the rules need (:func:`facts`) and what the paper says (:func:`content`).

Every read goes through the owning domain's service as the issuing actor, so a record the actor may
not see (a covert task before release included) cannot end up on a document.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from schemas import documents as wire
from schemas.checklists import ChecklistTemplate
from schemas.documents import DocumentType
from schemas.enforcement import EnforcementAction
from schemas.evidence import Evidence, EvidenceStatus
from schemas.hazards import Hazard, Recheck, RecheckStatus
from schemas.inspections import Inspection, ItemResult
from schemas.registry import Enterprise
from schemas.violations import Violation
from schemas.vocab import EvidenceKind, HazardStatus, label
from server import localtime
from server.accounts import service as accounts_service
from server.accounts.policy import Actor
from server.checklists import service as checklists_service
from server.documents import policy
from server.documents.model import Content, Image, Item, Officer, Party
from server.enforcement import service as enforcement_service
from server.errors import InvalidInput, NotFound
from server.evidence import service as evidence_service
from server.hazards import lifecycle as hazard_lifecycle
from server.hazards import rechecks as hazard_rechecks
from server.inspections import records as inspection_records
from server.registry import service as registry_service
from server.settings import Settings
from server.violations import service as violations_service
from storage.base import ObjectStore


@dataclass(frozen=True)
class EvidenceAccess:
    """What reading photo bytes needs: the store and the thumbnail slots of the app."""

    store: ObjectStore
    slots: asyncio.Semaphore


@dataclass
class Case:
    """Every record one document may print, read as the issuing actor."""

    inspection: Inspection
    officers: tuple[Officer, ...]
    enterprise: Enterprise
    template: ChecklistTemplate | None
    results: dict[uuid.UUID, ItemResult]
    hazards: list[Hazard]
    violations: list[Violation]
    evidence: list[Evidence]
    recheck: Recheck | None = None
    action: EnforcementAction | None = None
    person: Violation | None = None
    images: dict[uuid.UUID, bytes] = field(default_factory=dict)
    #: The ids of ``officers``, in the same order, and the signature images of those who recorded one.
    officer_ids: tuple[uuid.UUID, ...] = ()
    officer_signatures: dict[uuid.UUID, bytes] = field(default_factory=dict)

    def hazard(self, hazard_id: uuid.UUID | None) -> Hazard | None:
        return next((h for h in self.hazards if h.id == hazard_id), None)


def _refuse_source(field_name: str) -> InvalidInput:
    return InvalidInput("缺少文书所依据的记录", f"{field_name} is required for this document type", field=field_name)


async def _inspection_of(actor: Actor, request: wire.DocumentIssue, settings: Settings) -> tuple[uuid.UUID, Recheck | None, EnforcementAction | None]:
    t = request.type
    if t in (DocumentType.INSPECTION_RECORD, DocumentType.RECTIFICATION_ORDER):
        if request.inspection_id is None:
            raise _refuse_source("inspection_id")
        return request.inspection_id, None, None
    if t == DocumentType.RECHECK_OPINION:
        if request.recheck_id is None:
            raise _refuse_source("recheck_id")
        recheck = await hazard_rechecks.get_recheck_record(
            request.recheck_id, today=localtime.local_date(dt.datetime.now(dt.UTC), settings.hazards.timezone)
        )
        hazard = await hazard_lifecycle.get_hazard(actor, recheck.hazard_id, settings)  # NotFound if not visible
        return hazard.inspection_id, recheck, None
    if request.action_id is None:
        raise _refuse_source("action_id")
    action = await enforcement_service.get_action(actor, request.action_id)
    if action.inspection_id is None:
        raise InvalidInput("该执法措施未关联检查，不能据以签发文书", "the action has no inspection", field="action_id")
    return action.inspection_id, None, action


async def load(actor: Actor, request: wire.DocumentIssue, settings: Settings, *, like: Case | None = None) -> Case:
    """Read the case behind ``request`` as ``actor`` (NotFound where the actor may not see a record).

    ``like``: a case of the same check, read by the same actor just before (a page weighing every document
    the check could give); its check-wide records are reused, the recheck, action and person read afresh.
    """
    inspection_id, recheck, action = await _inspection_of(actor, request, settings)
    if like is not None and like.inspection.id == inspection_id and recheck is None and like.recheck is None:
        case = dataclasses.replace(like, action=action, person=None, images={}, officer_signatures={})
        return await _with_person(actor, request, case)
    inspection = await inspection_records.get(actor, inspection_id)
    # The officers who did the work the document records: the recheck's assignees, or the check's team (lead first).
    team = recheck.assignee_ids if recheck is not None else sorted(
        inspection.inspector_ids, key=lambda i: i != inspection.lead_inspector_id)
    users = await accounts_service.users_by_id(list(team))
    officer_ids = tuple(i for i in team if i in users)
    officers = tuple(Officer(users[i].display_name, users[i].badge_number or "") for i in officer_ids)
    template = await checklists_service.get(actor, inspection.template_id) if inspection.template_id else None
    case = Case(
        inspection=inspection,
        officers=officers,
        enterprise=await registry_service.get(actor, inspection.enterprise_id),
        template=template,
        results={r.item_id: r for r in await inspection_records.item_results(actor, inspection_id)},
        hazards=await hazard_lifecycle.list_for_inspection(actor, inspection_id, settings),
        violations=await violations_service.list_for_inspection(actor, inspection_id),
        evidence=[e for e in await evidence_service.list_for_inspection(actor, inspection_id) if e.status == EvidenceStatus.STORED],
        recheck=recheck,
        action=action,
        officer_ids=officer_ids,
    )
    return await _with_person(actor, request, case)


async def _with_person(actor: Actor, request: wire.DocumentIssue, case: Case) -> Case:
    """The 三违 record a penalty on a person names, which must be of this case."""
    if request.violation_id is not None:
        case.person = next((v for v in case.violations if v.id == request.violation_id), None)
        if case.person is None:
            try:
                await violations_service.get_violation(actor, request.violation_id)
            except NotFound:
                raise InvalidInput("三违记录不存在", "unknown violation", field="violation_id") from None
    return case


def source_key(request: wire.DocumentIssue, case: Case) -> str:
    """What a document is issued from; one live document per type and source (see ``policy``)."""
    t = request.type
    if t in (DocumentType.INSPECTION_RECORD, DocumentType.RECTIFICATION_ORDER):
        return f"inspection:{case.inspection.id}"
    if t == DocumentType.RECHECK_OPINION:
        return f"recheck:{request.recheck_id}"
    party = f"person:{request.violation_id}" if request.violation_id else "unit"
    return f"action:{request.action_id}/party:{party}"


def facts(
    request: wire.DocumentIssue,
    case: Case,
    *,
    live: frozenset[tuple[DocumentType, str]],
    supersedes: tuple[DocumentType, str, wire.DocumentStatus] | None,
    statement: policy.StatementPeriod | None = None,
) -> policy.Facts:
    open_with_deadline = sum(1 for h in case.hazards if h.status != HazardStatus.CLOSED and h.deadline_date)
    recorded = case.recheck is not None and case.recheck.status in (RecheckStatus.PASSED, RecheckStatus.FAILED)
    return policy.Facts(
        officers=tuple(policy.Officer(o.name, o.badge_number) for o in case.officers),
        inspection_status=case.inspection.status,
        source_key=source_key(request, case),
        live=live,
        open_hazards_with_deadline=open_with_deadline,
        recheck_recorded=recorded,
        action_kind=case.action.kind if case.action else None,
        action_status=case.action.status if case.action else None,
        party_person=request.violation_id is not None,
        person_in_case=case.person is not None,
        receiving_agency=request.receiving_agency or "",
        supersedes=supersedes,
        statement=statement,
    )


async def load_images(actor: Actor, case: Case, evidence_ids: list[uuid.UUID], access: EvidenceAccess, settings: Settings) -> None:
    """The EXIF-free thumbnails of the evidence the document embeds (made once, kept by the evidence domain)."""
    for evidence_id in evidence_ids:
        if evidence_id not in case.images:
            case.images[evidence_id] = await evidence_service.thumbnail(
                actor, access.store, evidence_id, limits=settings.evidence, slots=access.slots
            )


# --- what the paper says --------------------------------------------------------------------------


def _date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _moment(value: dt.datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return "未记录"
    local = value.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日{local.hour:02d}时{local.minute:02d}分"


def _place(e: Evidence) -> str:
    if e.latitude is None or e.longitude is None:
        return ""
    return f"北纬 {e.latitude:.5f}°，东经 {e.longitude:.5f}°"


def _images(case: Case, evidence: list[Evidence], tz: ZoneInfo, caption: str = "") -> tuple[Image, ...]:
    return tuple(
        Image(
            data=case.images.get(e.id),
            caption=caption.format(signer=e.signer_name or "（未签名）") if caption else (e.caption or ""),
            captured_at=_moment(e.captured_at, tz),
            place=_place(e),
            sha256=e.sha256,
        )
        for e in evidence
    )


def photos_for(doc_type: DocumentType, case: Case) -> list[Evidence]:
    """The photo annex: the whole check for its record, the hazards concerned for the others."""
    photos = [e for e in case.evidence if e.kind == EvidenceKind.PHOTO]
    if doc_type == DocumentType.INSPECTION_RECORD:
        return photos
    if doc_type == DocumentType.RECHECK_OPINION and case.recheck is not None:
        wanted = set(case.recheck.evidence_ids) | {e.id for e in photos if e.hazard_id == case.recheck.hazard_id}
        return [e for e in photos if e.id in wanted]
    if doc_type == DocumentType.RECTIFICATION_ORDER:
        return [e for e in photos if e.hazard_id is not None]
    hazard_id = case.action.hazard_id if case.action else None
    if hazard_id is not None:
        return [e for e in photos if e.hazard_id == hazard_id]
    if case.person is not None:
        return [e for e in photos if e.violation_id == case.person.id]
    return photos


def signatures_of(case: Case) -> list[Evidence]:
    return [e for e in case.evidence if e.kind == EvidenceKind.SIGNATURE]


def _basis(case: Case, item_id: uuid.UUID | None) -> str:
    if case.template is not None:
        for item in case.template.items:
            if item.id == item_id and item.legal_basis:
                return item.legal_basis
        if case.template.basis:
            return case.template.basis
    return "《中华人民共和国安全生产法》"


def _hazard_item(case: Case, h: Hazard) -> Item:
    where = f"（位置：{h.location}）" if h.location else ""
    return Item(text=f"{label(h.level)}：{h.description}{where}", basis=_basis(case, h.checklist_item_id),
                deadline=_date(h.deadline_date))


_REVIEW = (
    f"如不服本文书，可以自收到之日起{policy.REVIEW_DAYS}日内依法申请行政复议，或者在{policy.LITIGATION_MONTHS}个月内"
    "依法向人民法院提起行政诉讼；复议或诉讼期间，本文书不停止执行，法律另有规定的除外。"
)


def _statement_rights(amount: int, party: str) -> tuple[str, ...]:
    rights = [f"你（单位）有权进行陈述和申辩，请于收到本告知书之日起{policy.STATEMENT_DAYS}日内向本机关提出；"
              "逾期未提出的，视为放弃此权利。"]
    if policy.hearing_right(amount, person=party == "person"):
        rights.append(f"拟罚款数额较大（{amount}元），你（单位）有权要求听证，请于收到本告知书之日起{policy.HEARING_DAYS}日内提出。")
    return tuple(rights)


def _signed(case: Case, wanted: bool) -> tuple[Officer, ...]:
    """The officers with their signature images where the type carries them."""
    if not wanted:
        return case.officers
    return tuple(Officer(o.name, o.badge_number, signature=case.officer_signatures.get(i))
                 for o, i in zip(case.officers, case.officer_ids))


def content(
    request: wire.DocumentIssue,
    case: Case,
    settings: Settings,
    *,
    number: str,
    issued_at: dt.datetime,
    short_code: str,
    verify_url: str,
    prior_numbers: dict[DocumentType, str],
    supersedes_number: str = "",
) -> Content:
    """What the paper says, from the case (pure: no reads)."""
    tz = localtime.zone(settings.hazards.timezone)
    t = request.type
    spec = policy.SPECS[t]
    ins, ent = case.inspection, case.enterprise
    person = case.person
    party = Party(
        enterprise_name=ent.name, credit_code=ent.credit_code, address=ent.address,
        contact=" ".join(x for x in (ent.contact_name, ent.contact_phone) if x),
        person_name=person.person_name if person else "", person_id_masked=person.id_number_masked if person else "",
        person_post=person.post if person else "",
    )
    record_no = prior_numbers.get(DocumentType.INSPECTION_RECORD, "")
    record_ref = f"（见{record_no}）" if record_no else ""
    photos = photos_for(t, case)
    facts_: list[str] = []
    items: list[Item] = []
    decision: list[str] = []
    rights: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    signatures: tuple[Image, ...] = ()

    if t == DocumentType.INSPECTION_RECORD:
        facts_.append(f"检查时间：{_moment(ins.started_at, tz)}至{_moment(ins.submitted_at, tz)}。")
        where = f"（北纬 {ins.latitude:.5f}°，东经 {ins.longitude:.5f}°）" if ins.latitude is not None and ins.longitude is not None else ""
        facts_.append(f"检查地点：{ent.address}{where}。检查类别：{label(ins.kind)}。")
        if case.template is not None:
            facts_.append(f"检查依据：{case.template.title}" + (f"（{case.template.basis}）。" if case.template.basis else "。"))
        if ins.summary:
            facts_.append(f"检查情况小结：{ins.summary}")
        for item in case.template.items if case.template else []:
            result = case.results.get(item.id)
            items.append(Item(text=f"{item.code} {item.text}", basis=item.legal_basis or _basis(case, None),
                              result=label(result.outcome) if result else "未检查", note=result.note if result else ""))
        labels["decision"] = "发现的问题"
        for n, h in enumerate(case.hazards, start=1):
            decision.append(f"隐患{n}（{label(h.level)}）：{h.description}；整改期限 {_date(h.deadline_date)}。")
        for v in case.violations:
            decision.append(f"三违（{label(v.violation_type)}）：{v.person_name}（身份证号 {v.id_number_masked}）{v.description}")
        if not decision:
            decision.append("本次检查未发现事故隐患和“三违”行为。")
        signatures = _images(case, signatures_of(case), tz, caption="被检查单位负责人：{signer}")
    elif t == DocumentType.RECTIFICATION_ORDER:
        facts_.append(f"{ent.name}：经本机关执法人员于{_moment(ins.submitted_at, tz)}检查{record_ref}，你单位存在下列事故隐患。")
        items = [_hazard_item(case, h) for h in case.hazards if h.status != HazardStatus.CLOSED]
        labels["items"] = "存在的问题及整改期限"
        decision.append("依据《中华人民共和国安全生产法》第六十五条的规定，责令你单位对上列问题于所列期限前整改完毕，"
                        "达到有关法律、法规、规章和国家标准或者行业标准的要求，并将整改情况书面报告本机关。"
                        "整改完成前应当采取有效措施，防止事故发生。")
        rights = (_REVIEW,)
    elif t == DocumentType.RECHECK_OPINION:
        rc = case.recheck
        assert rc is not None
        h = case.hazard(rc.hazard_id)
        order_no = prior_numbers.get(DocumentType.RECTIFICATION_ORDER) or prior_numbers.get(DocumentType.ON_SITE_MEASURES, "")
        facts_.append(f"{ent.name}：本机关以{order_no}责令你单位限期整改的事故隐患，执法人员于{_moment(rc.checked_at, tz)}进行了复查。")
        passed = rc.status == RecheckStatus.PASSED
        if h is not None:
            base = _hazard_item(case, h)
            items.append(Item(text=base.text, basis=base.basis, deadline=base.deadline,
                              result="已整改" if passed else "未整改完毕", note=rc.note))
        labels["items"] = "复查情况"
        labels["decision"] = "复查意见"
        decision.append("经复查，上列事故隐患已整改完毕，符合要求，同意销号。" if passed
                        else "经复查，上列事故隐患未按期整改完毕。本机关将依据《中华人民共和国安全生产法》有关规定依法处理。")
    else:
        action = case.action
        assert action is not None
        h = case.hazard(action.hazard_id)
        facts_.append(f"经本机关执法人员于{_moment(ins.submitted_at, tz)}检查{record_ref}查明：{action.reason}")
        basis = action.legal_basis or (_basis(case, h.checklist_item_id) if h else _basis(case, None))
        if h is not None:
            items.append(_hazard_item(case, h))
        if person is not None:
            items.append(Item(text=f"{label(person.violation_type)}：{person.person_name} {person.description}", basis=basis))
        if not items:
            items.append(Item(text=action.reason, basis=basis))
        labels["items"] = "违法事实及依据"
        amount = action.amount_yuan or 0
        who = "你" if person is not None else "你单位"
        if t == DocumentType.ON_SITE_MEASURES:
            until = f"，整改期限 {_date(action.deadline_date)}" if action.deadline_date else ""
            decision.append(f"依据{basis}及《中华人民共和国安全生产法》第六十五条的规定，现场作出如下处理决定：责令{who}"
                            f"暂时停产停业或者停止使用相关设施、设备，撤出作业人员{until}。重大事故隐患排除后，"
                            "经本机关审查同意，方可恢复生产经营和使用。")
            rights = (_REVIEW,)
        elif t == DocumentType.PENALTY_NOTICE:
            decision.append(f"依据{basis}的规定，本机关拟对{who}作出罚款人民币{amount}元的行政处罚。")
            rights = _statement_rights(amount, "person" if person else "unit")
            labels["decision"] = "拟作出的行政处罚"
        elif t in policy.PENALTY_DECISIONS:
            notice_no = prior_numbers.get(DocumentType.PENALTY_NOTICE, "")
            due = (issued_at.astimezone(tz) + dt.timedelta(days=policy.PAYMENT_DAYS)).date()
            decision.append(f"本机关已以{notice_no}告知{who}拟作出的行政处罚及依法享有的权利。依据{basis}的规定，"
                            f"决定给予{who}罚款人民币{amount}元的行政处罚。")
            decision.append(f"请于收到本决定书之日起{policy.PAYMENT_DAYS}日内（{_date(due)}前）缴纳罚款；逾期不缴纳的，"
                            "每日按罚款数额的百分之三加处罚款。")
            rights = (_REVIEW,)
        else:  # case transfer
            agency = request.receiving_agency or ""
            facts_.insert(0, f"{agency}：")
            materials = "、".join(n for n in prior_numbers.values()) or "现场检查记录"
            decision.append(f"{ent.name}涉嫌犯罪，依据《行政执法机关移送涉嫌犯罪案件的规定》，现将该案移送你机关，"
                            f"请依法处理，并将处理结果书面告知本机关。附：{materials}及证据材料。")
            labels["decision"] = "移送决定"
    return Content(
        type=t,
        title=spec.title,
        number=number,
        issuing_body=settings.documents.issuing_body,
        issued_at=_date(issued_at.astimezone(tz).date()),
        officers=_signed(case, spec.officer_signatures),
        officer_signatures=spec.officer_signatures,
        party=party,
        facts=tuple(facts_),
        items=tuple(items),
        decision=tuple(decision),
        rights=rights,
        signatures=signatures,
        photos=_images(case, photos, tz),
        verify_url=verify_url,
        short_code=short_code,
        supersedes_number=supersedes_number,
        heading_labels=labels,
    )


def embedded_evidence(doc_type: DocumentType, case: Case) -> list[uuid.UUID]:
    ids = [e.id for e in photos_for(doc_type, case)]
    if doc_type == DocumentType.INSPECTION_RECORD:
        ids += [e.id for e in signatures_of(case)]
    return ids



def signed_copy_content(
    document: wire.Document, case: Case, settings: Settings, *, signer_name: str, signed_at: dt.datetime,
    signature: Evidence, image: bytes | None, verify_url: str,
) -> Content:
    """The signed copy's page (签收页): the issued document by number and SHA-256, with the party's signature.

    It is a page of its own beside the original, which stays as issued; the QR code verifies the original.
    """
    tz = localtime.zone(settings.hazards.timezone)
    ent = case.enterprise
    return Content(
        type=document.type,
        title=f"{document.title}签收页",
        number=document.number,
        issuing_body=document.issuing_body,
        issued_at=_date(document.issued_at.astimezone(tz).date()),
        officers=case.officers,
        party=Party(enterprise_name=ent.name, credit_code=ent.credit_code, address=ent.address),
        facts=(
            f"本页为《{document.title}》（{document.number}）的签收页。该文书由{document.issuing_body}于"
            f"{_moment(document.issued_at, tz)}签发，原件 SHA-256：{document.sha256}，核验码 {document.short_code}。",
            f"当事人{signer_name}于{_moment(signed_at, tz)}在执法人员的执法终端上阅知该文书原件并签名签收"
            + (f"（{_place(signature)}）" if _place(signature) else "") + f"。签名图像 SHA-256：{signature.sha256}。",
            "原件未作任何改动；本页与原件一并作为送达签收的证据。扫描二维码或输入核验码可核验原件是否签发、是否有效。",
        ),
        items=(),
        signatures=(Image(data=image, caption=f"当事人签收：{signer_name}", captured_at=_moment(signed_at, tz),
                          sha256=signature.sha256),),
        verify_url=verify_url,
        short_code=document.short_code,
    )
