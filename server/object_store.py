"""The object store the settings name, for every process that reads or writes it.

Evidence keeps its photos and signatures there and the audit chain its signed
checkpoints, so the choice sits below both: the app, the audit and evidence
commands, the jobs and the backup scripts all build it here.
"""

from __future__ import annotations

from pathlib import Path

from server.settings import Settings
from storage.base import ObjectStore
from storage.filesystem import FilesystemStore


def build_store(settings: Settings) -> ObjectStore:
    """The object store the settings name: MinIO/S3 when ``S3_ENDPOINT`` is set, else files in the data folder."""
    settings.check_limits()  # a chunk below S3's smallest part would fail every multipart upload
    s3 = settings.storage
    if s3.is_s3:
        from storage.minio import MinioStore  # the SDK is loaded only in S3 mode

        return MinioStore(
            s3.endpoint,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            bucket=s3.bucket,
            secure=s3.secure,
            region=s3.region,
            object_lock=s3.object_lock,
            retention_days=s3.retention_days,
        )
    return FilesystemStore(Path(settings.server.data_dir) / "objects")
