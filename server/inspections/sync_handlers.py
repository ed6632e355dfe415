"""What inspections register with sync: the handlers of their mutations and the scopes of their phones."""

from __future__ import annotations

from schemas.inspections import AddNote, RecordItemResult, StartInspection, SubmitInspection
from server.inspections import item_results, lifecycle, notes, records
from server.sync.registry import Registry


def register(registry: Registry) -> None:
    registry.handle(StartInspection, lifecycle.apply_start_inspection)
    registry.handle(RecordItemResult, item_results.apply_record_item_result, batch=item_results.apply_record_item_results)
    registry.handle(SubmitInspection, lifecycle.apply_submit_inspection)
    registry.handle(AddNote, notes.apply_add_note)
    registry.scopes(records.sync_scopes)
