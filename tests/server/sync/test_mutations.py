"""Every mutation kind of the union has a handler, registered by its domain and resolved by a real import."""

from __future__ import annotations

import inspect

import pytest

from schemas import sync as wire
from schemas.base import Mutation
from server import dispatch
from server.sync.registry import Registry, kind_of


def test_every_tag_in_mutation_types_has_a_handler():
    registry = dispatch.build_registry()
    assert registry.missing() == []
    for mutation_type in wire.MUTATION_TYPES:
        assert inspect.iscoroutinefunction(registry.handler(kind_of(mutation_type)))


def test_a_domain_left_out_stops_the_start_naming_its_kinds():
    without_hazards = tuple(r for r in dispatch.REGISTRARS if r.__module__ != "server.hazards.sync_handlers")
    assert len(without_hazards) == len(dispatch.REGISTRARS) - 1
    with pytest.raises(RuntimeError, match="add_hazard, report_rectification, report_recheck"):
        dispatch.build_registry(without_hazards)


def test_the_table_takes_only_kinds_of_the_union_once_each():
    registry = dispatch.build_registry()
    assert registry.handler("no_such_kind") is None
    assert registry.batch_handler("record_item_result").__name__ == "apply_record_item_results"
    assert registry.batch_handler("add_hazard") is None
    first = wire.MUTATION_TYPES[0]
    with pytest.raises(ValueError, match="has a handler already"):
        registry.handle(first, registry.handler(kind_of(first)))

    class NotOurs(Mutation, kw_only=True, tag="not_ours"):
        pass

    with pytest.raises(ValueError, match="not a kind"):
        Registry().handle(NotOurs, registry.handler(kind_of(first)))

