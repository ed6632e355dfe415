"""The console's menu: which page groups each role sees (pages check the same roles again)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocab import Role

ADMIN = frozenset({Role.ADMIN})
OFFICE = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER})
#: Roles that may open the pages of a group; leaders read, and every POST is refused them (``web.console_guard``).
SUPERVISION = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER})
ENFORCEMENT = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER})


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[Role]


#: The menu in order. A page group adds its entry here when it lands.
MENU: list[NavItem] = [
    NavItem("首页", "/console", OFFICE),
]


def menu_for(role: Role) -> list[NavItem]:
    return [item for item in MENU if role in item.roles]

