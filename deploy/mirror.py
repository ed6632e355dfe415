"""Copy the objects of one store into another, through the stores' own protocol (``storage.base``).

Objects are write-once, so a key the target already holds with the same size is the same object and is
skipped: a mirror run costs one listing plus the new objects. A key the target holds with another size is
never overwritten (it is reported). The lock state travels with the object: a retained original is written
retained again (object lock on S3, a read-only file on disk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from storage.base import ObjectExists, ObjectNotFound, ObjectStore

_UNKNOWN_TYPE = "application/octet-stream"


@dataclass
class MirrorReport:
    """What one run did: objects copied (and their bytes), found already there, and keys that differ."""

    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    skipped: int = 0
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.copied} copied ({self.copied_bytes} bytes), {self.present} already there, "
            f"{self.skipped} left for later, {len(self.conflicts)} differing"
        )


async def mirror(source: ObjectStore, target: ObjectStore, *, keep: Callable[[str], bool] = lambda key: True) -> MirrorReport:
    """Copy every object of ``source`` for which ``keep(key)`` holds into ``target``; see the module docstring."""
    report = MirrorReport()
    async for listed in source.list(""):
        if not keep(listed.key):
            report.skipped += 1
            continue
        try:
            there = await target.stat(listed.key)
        except ObjectNotFound:
            there = None
        if there is not None:
            if there.size == listed.size:
                report.present += 1
            else:
                report.conflicts.append(listed.key)
            continue
        facts = await source.stat(listed.key)  # the listing carries neither the content type nor the lock
        data = await source.get(listed.key)
        try:
            await target.put(listed.key, data, content_type=facts.content_type or _UNKNOWN_TYPE, lock=facts.locked)
        except ObjectExists:  # another run got there first
            report.present += 1
            continue
        report.copied += 1
        report.copied_bytes += len(data)
    return report
