"""The API process tunes its garbage collector once started (FIELDCHECK_GC_THRESHOLDS) and undoes it at shutdown."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from server import database
from server.app import create_app
from server.settings import Settings
from tests.conftest import make_settings


def _with_thresholds(settings: Settings, value: str) -> Settings:
    return dataclasses.replace(settings, server=dataclasses.replace(settings.server, gc_thresholds=value))


async def test_started_app_freezes_start_up_objects_and_raises_thresholds(app, tmp_path) -> None:
    before = gc.get_threshold()
    embedded = create_app(_with_thresholds(make_settings(tmp_path / "embedded"), "12345,17,19"))
    try:
        async with embedded.lifespan():  # the lifespan uvicorn runs: migrations, the pool, then the tuning
            assert gc.get_threshold() == (12345, 17, 19)
            assert gc.get_freeze_count() > 10_000  # the modules, routes and tables built at start-up
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    finally:
        database.activate(app.state.engine)


async def test_empty_setting_keeps_pythons_thresholds_but_still_freezes(app, tmp_path) -> None:
    before = gc.get_threshold()
    embedded = create_app(_with_thresholds(make_settings(tmp_path / "embedded"), ""))
    try:
        async with embedded.lifespan():
            assert gc.get_threshold() == before
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
    finally:
        database.activate(app.state.engine)


@pytest.mark.parametrize("value", ["700,10", "0,10,10", "a,b,c", "700,10,10,10"])
def test_malformed_thresholds_are_refused_at_start_up(tmp_path, value: str) -> None:
    with pytest.raises(ValueError, match="FIELDCHECK_GC_THRESHOLDS"):
        create_app(_with_thresholds(make_settings(tmp_path), value))
