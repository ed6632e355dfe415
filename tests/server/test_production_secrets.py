"""Production (PostgreSQL) refuses at start-up every key that is missing, a placeholder, short or too uniform."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from server.app import create_app
from server.settings import AuditSettings, AuthSettings, PrivacySettings, Settings, StorageSettings
from tests.conftest import make_settings

WEAK = ["", "change-me-token-signing-key", "change-me-postgres-0123456789-abcdefghij", "short-but-random-Xk9", "k" * 64]


def _production(tmp_path, **keys: str) -> Settings:
    settings = make_settings(tmp_path, database_url="postgresql://postgres@127.0.0.1:5432/unused")
    return dataclasses.replace(
        settings,
        auth=AuthSettings(secret_key=keys.get("auth", secrets.token_urlsafe(48))),
        privacy=PrivacySettings(id_hash_key=keys.get("privacy", secrets.token_urlsafe(48))),
        audit=AuditSettings(checkpoint_key=keys.get("audit", secrets.token_urlsafe(48))),
    )


@pytest.mark.parametrize("value", WEAK)
@pytest.mark.parametrize(
    ("group", "env"),
    [("auth", "FIELDCHECK_SECRET_KEY"), ("privacy", "FIELDCHECK_ID_HASH_KEY"), ("audit", "FIELDCHECK_AUDIT_KEY")],
)
def test_a_weak_key_stops_the_start_naming_it(tmp_path, group, env, value):
    with pytest.raises(ValueError, match=env):
        create_app(_production(tmp_path, **{group: value}))


def test_strong_keys_start_and_the_examples_in_env_example_do_not(tmp_path):
    assert _production(tmp_path).with_secrets()
    example = dict(
        line.split("=", 1) for line in open(".env.example", encoding="utf-8").read().splitlines()
        if line and not line.startswith("#")
    )
    with pytest.raises(ValueError) as refused:
        _production(tmp_path, auth=example["FIELDCHECK_SECRET_KEY"], privacy=example["FIELDCHECK_ID_HASH_KEY"],
                    audit=example["FIELDCHECK_AUDIT_KEY"]).with_secrets()
    assert all(name in str(refused.value) for name in ("FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY"))


def _with_s3(settings: Settings, secret_key: str) -> Settings:
    storage = StorageSettings(endpoint="store:7070", access_key="fieldcheck", secret_key=secret_key)
    return dataclasses.replace(settings, storage=storage)


@pytest.mark.parametrize("value", WEAK)
def test_a_weak_object_store_secret_stops_the_start_naming_it(tmp_path, value):
    with pytest.raises(ValueError, match="S3_SECRET_KEY"):
        create_app(_with_s3(_production(tmp_path), value))


def test_a_strong_object_store_secret_starts_and_the_env_example_one_does_not(tmp_path):
    assert _with_s3(_production(tmp_path), secrets.token_urlsafe(48)).with_secrets()
    # Production on the filesystem store has no S3 secret to judge.
    assert _production(tmp_path).with_secrets().storage.secret_key == ""
    example = dict(
        line.split("=", 1) for line in open(".env.example", encoding="utf-8").read().splitlines()
        if line and not line.startswith("#")
    )
    with pytest.raises(ValueError, match="S3_SECRET_KEY"):
        _with_s3(_production(tmp_path), example["S3_SECRET_KEY"]).with_secrets()


def test_a_secret_can_come_from_a_file_and_is_judged_like_one_from_the_environment(tmp_path):
    key = secrets.token_urlsafe(48)
    (tmp_path / "audit_key").write_text(key + "\n")  # as `echo … > file` leaves it
    (tmp_path / "weak").write_text("change-me-audit-checkpoint-key\n")
    base = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused", "FIELDCHECK_SECRET_KEY": secrets.token_urlsafe(48),
            "FIELDCHECK_ID_HASH_KEY": secrets.token_urlsafe(48)}
    settings = Settings.from_env({**base, "FIELDCHECK_AUDIT_KEY_FILE": str(tmp_path / "audit_key")})
    assert settings.audit.checkpoint_key == key and settings.with_secrets()
    with pytest.raises(ValueError, match="FIELDCHECK_AUDIT_KEY"):
        Settings.from_env({**base, "FIELDCHECK_AUDIT_KEY_FILE": str(tmp_path / "weak")}).with_secrets()
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env({**base, "FIELDCHECK_AUDIT_KEY": key, "FIELDCHECK_AUDIT_KEY_FILE": str(tmp_path / "audit_key")})
    with pytest.raises(ValueError, match="FIELDCHECK_AUDIT_KEY_FILE: .*cannot read"):
        Settings.from_env({**base, "FIELDCHECK_AUDIT_KEY_FILE": str(tmp_path / "absent")})
