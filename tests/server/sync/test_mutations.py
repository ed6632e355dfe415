"""Every mutation kind of the union has a handler, resolved by a real import."""

from __future__ import annotations

import inspect

from schemas import sync as wire
from server.sync import mutations


def test_every_tag_in_mutation_types_has_a_handler():
    missing = [mutations.kind_of(t) for t in wire.MUTATION_TYPES if mutations.handler(mutations.kind_of(t)) is None]
    assert missing == []
    for mutation_type in wire.MUTATION_TYPES:
        assert inspect.iscoroutinefunction(mutations.handler(mutations.kind_of(mutation_type)))


def test_the_table_lists_only_kinds_of_the_union():
    assert set(mutations.HANDLERS) <= set(wire.MUTATION_TYPES)
    assert set(mutations.BATCH_HANDLERS) <= set(mutations.HANDLERS)
    assert mutations.handler("no_such_kind") is None
