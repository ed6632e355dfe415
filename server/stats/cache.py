"""Numbers counted from the rollups, kept in this process per rollup generation, scope and query.

The rollups change only in the transaction of a recount or a rebuild (``server.stats.rollup``), which
writes a new random generation token (``stats_generation``, m0029). What a query counts from the rollups
is therefore fixed by that token and by what the SQL is made of: the period and filters as the actor may
run them (``server.stats.query.scoped`` forces a supervisor's department into the filters, so each scope
has its own entries and one actor's counts are never another's), the plan (split, grain, spans) and the
day (逾期未整改 depends on it). Those make the key; a read that sees the same token answers from memory.
What a read takes live stays live: 数据截至 (read before the token, so an answer is never older than the
freshness it reports), the registry, and the names of departments and inspectors. Without a token (a new
database before its first recount) nothing is kept; the base-table backend is never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

#: Entries kept (least recently used goes first): some forty dashboards of six views each.
LIMIT = 256

_kept: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()


def get(entry: tuple[Hashable, ...] | None) -> Any | None:
    if entry is None or entry not in _kept:
        return None
    _kept.move_to_end(entry)
    return _kept[entry]


def keep(entry: tuple[Hashable, ...] | None, value: Any) -> None:
    """Keep ``value`` (never changed afterwards: readers take copies) under ``entry``."""
    if entry is None:
        return
    _kept[entry] = value
    _kept.move_to_end(entry)
    while len(_kept) > LIMIT:
        _kept.popitem(last=False)


def clear() -> None:
    _kept.clear()


def size() -> int:
    return len(_kept)
