"""Object storage for evidence bytes behind one small async Protocol.

``storage.base`` holds the Protocol and the error tree, ``storage.keys`` the key
layout, ``storage.filesystem`` the embedded default and ``storage.minio`` the
MinIO/S3 backend (imported only when configured, so the embedded mode never
loads the SDK).
"""

from storage.base import (
    MIN_PART_BYTES,
    ObjectExists,
    ObjectInfo,
    ObjectLocked,
    ObjectNotFound,
    ObjectStore,
    PendingUpload,
    StorageError,
    StorageUnavailable,
    StoredPart,
)

__all__ = [
    "MIN_PART_BYTES",
    "ObjectExists",
    "ObjectInfo",
    "ObjectLocked",
    "ObjectNotFound",
    "ObjectStore",
    "PendingUpload",
    "StorageError",
    "StorageUnavailable",
    "StoredPart",
]
