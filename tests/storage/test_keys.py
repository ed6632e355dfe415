"""The key layout: content-addressed, one place, never a path outside the store."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import keys


@given(st.binary(max_size=256))
def test_blob_keys_are_content_addressed_and_reversible(data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    key = keys.blob_key(digest)
    assert key == f"blobs/sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert keys.is_valid_key(key) and keys.is_valid_key(keys.thumbnail_key(digest))
    assert keys.sha256_of_blob_key(key) == digest
    assert keys.sha256_of_blob_key(keys.thumbnail_key(digest)) is None


@given(st.text(max_size=80))
def test_no_valid_key_escapes_the_store(key: str) -> None:
    if keys.is_valid_key(key):
        parts = key.split("/")
        assert not key.startswith("/") and ".." not in parts and "" not in parts
        assert key == key.lower() and "\\" not in key


@pytest.mark.parametrize("bad", ["A" * 64, "g" * 64, "a" * 63, "../" + "a" * 61, ""])
def test_only_lower_case_digests_make_blob_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        keys.blob_key(bad)


def test_staging_ids_are_hex_uuids() -> None:
    assert keys.staging_key("a" * 32) == "staging/" + "a" * 32
    with pytest.raises(ValueError):
        keys.staging_key("../../etc")
