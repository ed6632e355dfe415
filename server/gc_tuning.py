"""The API process's cyclic garbage collector: thresholds raised, start-up objects frozen.

A push of 1,000 mutations allocates some 10^5 container objects. With Python's
default thresholds (700, 10, 10) that runs the collector about 140 times a
push, and each full collection walks every object the process holds, some
2x10^5 of them left by importing and building the app; ``bench/sync_push.py``
measured it at about 30 % of the push's Python time. So, once the app has
started (its lifespan, after the database is migrated and the pool open):

- ``gc.collect()`` then ``gc.freeze()``: what is alive then (modules, routes,
  tables, the pool) moves to the permanent generation, which no collection
  walks again;
- ``gc.set_threshold(*FIELDCHECK_GC_THRESHOLDS)`` (default 20000, 20, 20):
  fewer, still small, young collections. Garbage without cycles is freed by
  reference counting as before; only cyclic garbage waits a little longer.

At shutdown both are undone (``gc.unfreeze()``, the thresholds found at
start-up), so a process that starts many apps (the tests) keeps nothing frozen.
"""

from __future__ import annotations

import gc

from server.settings import Settings


def tune(settings: Settings) -> tuple[int, int, int]:
    """Collect, freeze what is alive, set the configured thresholds; returns the thresholds found (for :func:`restore`)."""
    found = gc.get_threshold()
    gc.collect()
    gc.freeze()
    if (thresholds := settings.server.gc_threshold_values) is not None:
        gc.set_threshold(*thresholds)
    return found


def restore(found: tuple[int, int, int]) -> None:
    """Undo :func:`tune`: the thresholds it found, nothing frozen."""
    gc.set_threshold(*found)
    gc.unfreeze()
