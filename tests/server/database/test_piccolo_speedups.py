"""The cheap ``dir`` given to Piccolo's column module answers ``in`` as ``dir()`` does, for every column we have."""

from __future__ import annotations

import builtins

from piccolo.columns import ForeignKey, column_types

from server.database import piccolo_speedups
from server.database.piccolo_app import APP_CONFIG


def _columns():
    for table in APP_CONFIG.table_classes:
        for column in table._meta.columns:
            yield column
            if isinstance(column, ForeignKey):
                yield from column._foreign_key_meta.proxy_columns  # the referenced table's columns, joined


def test_every_column_answers_in_as_dir_does():
    checked = 0
    for column in _columns():
        listed = builtins.dir(column)
        names = piccolo_speedups._names(column)
        others = [c._meta.name for c in column._meta.table._meta.columns] + ["no_such_attribute", "__dict__", "_meta"]
        if isinstance(column, ForeignKey):
            others += [c._meta.name for c in column._foreign_key_meta.resolved_references._meta.columns]
        for name in [*listed, *others]:
            assert (name in names) == (name in listed), (column, name)
            checked += 1
    assert checked > 10_000


def test_the_column_module_uses_it_once_the_app_is_imported():
    assert column_types.dir is piccolo_speedups._names
    # A join through a foreign key still builds the columns of the referenced table.
    from server.hazards.tables import RecheckAssignee

    query = RecheckAssignee.select(RecheckAssignee.recheck.hazard).where(RecheckAssignee.recheck.status == "pending")
    sql = str(query)
    assert 'LEFT JOIN "recheck" "recheck_assignee$recheck"' in sql and '"recheck_assignee$recheck"."hazard"' in sql
