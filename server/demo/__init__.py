"""``fieldcheck demo``: load the demo world through the same services the API uses.

Every record is looked up by its natural key (department code, username,
credit code, template code) and created only when missing, so a second run
writes nothing, not even an audit entry. Everything created is audited as the
system actor, like any other change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field

from schemas import accounts as accounts_wire
from schemas import checklists as checklists_wire
from schemas import registry as registry_wire
from schemas.inspections import InspectionCreate
from schemas.vocab import InspectionKind
from server import database
from server.accounts import service as accounts_service
from server.accounts.policy import SYSTEM
from server.accounts.tables import Department, User
from server.checklists import service as checklists_service
from server.checklists.tables import ChecklistTemplate
from server.demo import checklists as demo_checklists
from server.demo import history as history_
from server.demo import world
from server.inspections import assignment as inspection_assignment
from server.inspections.tables import Inspection
from server.registry import service as registry_service
from server.registry.tables import ConflictOfInterest, Enterprise
from server.settings import Settings

#: Password of every demo account unless ``--password`` says otherwise (documented in the README).
DEFAULT_PASSWORD = "fieldcheck-demo"


@dataclass
class DemoReport:
    """How many records of each kind were created now, and how many were already there."""

    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    history: history_.HistoryReport | None = None

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.existing
        target[kind] = target.get(kind, 0) + 1

    def summary(self) -> str:
        kinds = ("departments", "users", "enterprises", "checklists", "conflicts", "inspections")
        lines = ["演示数据 / demo world:"]
        for kind in kinds:
            lines.append(f"  {kind}: {self.created.get(kind, 0)} created, {self.existing.get(kind, 0)} already present")
        lines.append("  accounts: admin, supervisor1, supervisor2, legal1, leader1, inspector1 … inspector12")
        h = self.history
        if h is not None:
            lines.append(
                f"  history (two years): {h.checks} checks, {h.hazards} hazards ({h.closed} closed), "
                f"{h.violations} 三违, {h.actions} actions, {h.campaigns} spot-check campaigns ({h.spot_tasks} tasks drawn, "
                f"{h.spot_done} checked)" + (f", {h.skipped} refused by a rule {h.refusals}" if h.skipped else "")
            )
        return "\n".join(lines)


async def _departments(report: DemoReport) -> dict[str, object]:
    ids: dict[str, object] = {}
    for department in world.DEPARTMENTS:
        row = await Department.select(Department.id).where(Department.code == department.code).first()
        if row is None:
            created = await accounts_service.create_department(
                SYSTEM, accounts_wire.DepartmentCreate(code=department.code, name=department.name)
            )
            ids[department.code] = created.id
        else:
            ids[department.code] = row["id"]
        report.count("departments", row is None)
    return ids


async def _missing_accounts() -> list[str]:
    existing = await User.select(User.username).where(User.username.is_in([u.username for u in world.USERS]))
    return [u.username for u in world.USERS if u.username not in {r["username"] for r in existing}]


async def _password_hashes(password: str, usernames: list[str]) -> dict[str, str]:
    """The argon2 hash of each account's password, side by side (threads), touching no database."""
    hashes = await asyncio.gather(*(accounts_service.new_password_hash(password, name) for name in usernames))
    return dict(zip(usernames, hashes, strict=True))


async def _users(
    report: DemoReport, departments: dict[str, object], password: str, hashes: dict[str, str]
) -> dict[str, object]:
    ids: dict[str, object] = {}
    for user in world.USERS:
        row = await User.select(User.id).where(User.username == user.username).first()
        if row is None:
            created = await accounts_service.create_user(
                SYSTEM,
                accounts_wire.UserCreate(
                    username=user.username,
                    display_name=user.display_name,
                    password=password,
                    role=user.role,
                    department_id=departments[user.department_code] if user.department_code else None,  # type: ignore[arg-type]
                    badge_number=user.badge_number,
                    districts=list(user.districts),
                ),
                hashes[user.username],
            )
            ids[user.username] = created.id
        else:
            ids[user.username] = row["id"]
        report.count("users", row is None)
    return ids


async def _enterprises(report: DemoReport) -> list[object]:
    ids: list[object] = []
    demo = world.enterprises()
    present = {
        r["credit_code"]: r["id"]
        for r in await Enterprise.select(Enterprise.id, Enterprise.credit_code).where(
            Enterprise.credit_code.is_in([e.credit_code for e in demo])
        )
    }
    for enterprise in demo:
        known = present.get(enterprise.credit_code)
        if known is None:
            created = await registry_service.create(
                SYSTEM, registry_wire.EnterpriseCreate(**dataclasses.asdict(enterprise))
            )
            ids.append(created.id)
        else:
            ids.append(known)
        report.count("enterprises", known is None)
    return ids


async def _checklists(report: DemoReport) -> None:
    for template in demo_checklists.TEMPLATES:
        exists = await ChecklistTemplate.exists().where(ChecklistTemplate.code == template.code)
        if not exists:
            await checklists_service.create(
                SYSTEM,
                checklists_wire.ChecklistTemplateCreate(
                    code=template.code,
                    sector=template.sector,
                    title=template.title,
                    basis=template.basis,
                    items=[
                        checklists_wire.ChecklistItemInput(
                            code=item.code,
                            category=item.category,
                            text=item.text,
                            legal_basis=item.legal_basis,
                            is_major_criterion=item.major,
                        )
                        for item in template.items
                    ],
                ),
            )
        report.count("checklists", not exists)


async def _conflicts(report: DemoReport, users: dict[str, object], enterprises: list[object]) -> None:
    for username, index, reason in world.CONFLICTS:
        user_id, enterprise_id = users[username], enterprises[index]
        exists = await ConflictOfInterest.exists().where(
            (ConflictOfInterest.user == user_id) & (ConflictOfInterest.enterprise == enterprise_id)
        )
        if not exists:
            await registry_service.declare_conflict(
                SYSTEM,
                registry_wire.ConflictOfInterestCreate(user_id=user_id, enterprise_id=enterprise_id, reason=reason),  # type: ignore[arg-type]
            )
        report.count("conflicts", not exists)


#: Fixed ids of the demo's assigned checks, so a second run recognises them.
_DEMO_NAMESPACE = uuid.UUID("6f0c1d2e-3a4b-5c6d-7e8f-9a0b1c2d3e4f")
#: (enterprise index in the demo world, kind): planned checks for inspector1 and inspector2.
DEMO_INSPECTIONS = ((0, InspectionKind.ROUTINE), (1, InspectionKind.ROUTINE), (2, InspectionKind.ENFORCEMENT))


async def _inspections(report: DemoReport, users: dict[str, object], enterprises: list[object]) -> None:
    """A few checks assigned by supervisor1, so ``python -m sync_client`` has something to do."""
    supervisor = await User.select().where(User.username == "supervisor1").first()
    actor = accounts_service.actor_of(supervisor)
    for index, kind in DEMO_INSPECTIONS:
        enterprise_id = enterprises[index]
        inspection_id = uuid.uuid5(_DEMO_NAMESPACE, f"demo-inspection-{index}")
        exists = await Inspection.exists().where(Inspection.id == inspection_id)
        if not exists:
            enterprise = await Enterprise.select(Enterprise.sector).where(Enterprise.id == enterprise_id).first()
            template = await ChecklistTemplate.select(ChecklistTemplate.id).where(
                (ChecklistTemplate.sector == enterprise["sector"]) & (ChecklistTemplate.is_current == True)  # noqa: E712
            ).first()
            await inspection_assignment.create(
                actor,
                InspectionCreate(
                    id=inspection_id,
                    enterprise_id=enterprise_id,  # type: ignore[arg-type]
                    kind=kind,
                    inspector_ids=[users["inspector1"], users["inspector2"]],  # type: ignore[list-item]
                    template_id=template["id"] if template else None,
                ),
            )
        report.count("inspections", not exists)


async def load(settings: Settings, *, password: str = DEFAULT_PASSWORD, history: bool = True) -> DemoReport:
    """Create whatever part of the demo world is missing (the database must be started), then its history
    (under ``settings``: their time zone, their ID-number key)."""
    report = DemoReport()
    # argon2 runs in threads (about 0.2 s of CPU an account) while the parts of the world that need no
    # account are written; the accounts wait for their hashes.
    missing = await _missing_accounts()
    for username in missing:
        accounts_service.check_new_password(password, username)  # a weak password is refused before any write
    hashing = asyncio.ensure_future(_password_hashes(password, missing))
    try:
        async with database.transaction():
            departments = await _departments(report)
        async with database.transaction():
            enterprises = await _enterprises(report)
        async with database.transaction():
            await _checklists(report)
        hashes = await hashing
    finally:
        if not hashing.done():
            hashing.cancel()  # a write above failed: the error is what the caller sees
    async with database.transaction():
        users = await _users(report, departments, password, hashes)
        await _conflicts(report, users, enterprises)
    async with database.transaction():
        await _inspections(report, users, enterprises)
    if history:
        from server.stats import rollup as stats_rollup

        report.history = await history_.load(settings)
        await stats_rollup.refresh()  # the first dashboard opens counted, without waiting for the refresher
    return report
