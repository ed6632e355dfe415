"""Every public method of ``SyncClient`` against the real app on PostgreSQL, checked in the server's rows."""

from __future__ import annotations

import pytest

from sync_client import SyncClient
from sync_client import _client


async def test_a_photo_queue_that_cannot_be_built_stops_the_client_instead_of_dropping_photos(tmp_path, monkeypatch):
    def broken(client):  # a refactor slip: the queue's signature changed
        raise TypeError("UploadQueue() takes no arguments")

    monkeypatch.setattr(_client, "UploadQueue", broken)
    with pytest.raises(TypeError):
        async with SyncClient("http://fieldcheck.test", tmp_path / "phone.sqlite3"):
            pass
