"""The console's menu: which page groups each role sees (pages check the same roles again)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocab import Role

ADMIN = frozenset({Role.ADMIN})
OFFICE = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER})
#: Everyone who logs in to the console: the office, and inspectors for their cases' documents and their signature.
CONSOLE = OFFICE | {Role.INSPECTOR}
#: Roles that may open the pages of a group; leaders read, and every POST is refused them (``web.console_guard``).
SUPERVISION = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER})
ENFORCEMENT = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER})
REGISTRY_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER})
REGISTRY_WRITERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
PEOPLE_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
#: A case's documents: whoever may read the case (the services decide which cases); inspectors their own.
DOCUMENT_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.LEGAL_REVIEWER, Role.INSPECTOR})
#: The people who issue documents and sign them: a signature of their own.
OFFICERS = frozenset({Role.SUPERVISOR, Role.INSPECTOR})


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role]


#: The menu in order. A page group adds its entry here when it lands.
MENU: list[NavItem] = [
    NavItem("首页", "/console", CONSOLE),
    NavItem("检查记录", "/console/inspections", SUPERVISION),
    NavItem("双随机抽查", "/console/spotchecks", SUPERVISION),
    NavItem("隐患看板", "/console/hazards", SUPERVISION),
    NavItem("执法措施", "/console/enforcement", ENFORCEMENT),
    NavItem("三违人员", "/console/violations", SUPERVISION),
    NavItem("企业名录", "/console/enterprises", REGISTRY_READERS),
    NavItem("企业名录导入", "/console/registry/imports", REGISTRY_READERS),
    NavItem("人员与科室", "/console/people", PEOPLE_READERS),
    NavItem("回避管理", "/console/conflicts", REGISTRY_WRITERS),
    NavItem("检查表模板", "/console/checklists", OFFICE),
    # The office reaches a case's documents from the check's page; an inspector from their own checks here.
    NavItem("检查与文书", "/console/cases", frozenset({Role.INSPECTOR})),
    NavItem("我的签名", "/console/signature", OFFICERS),
]


def menu_for(role: Role) -> list[NavItem]:
    return [item for item in MENU if role in item.roles]

