"""How often one client address may ask the public verify endpoints (no login, so no account to throttle).

A token bucket per address: ``per_minute`` requests in a burst, refilled evenly over the minute. A caller
over the limit is refused with 429, a Retry-After in whole seconds and a Chinese message. The table of
addresses is bounded (the least recently seen are forgotten first), so a flood of spoofed sources costs
memory only up to ``max_clients``. One process's count; several replicas each count their own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from server.errors import RateLimited

#: Addresses remembered at once; past this the least recently seen is dropped (it starts afresh).
MAX_CLIENTS = 10_000


class VerifyLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, at)

    def wait_s(self, address: str) -> int:
        """Take one request for ``address``: 0 when allowed, else the whole seconds until the next is."""
        if self.capacity <= 0:
            return 0
        now = self.clock()
        tokens, at = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[address] = (tokens - 1.0, now)
            wait = 0
        else:
            self._buckets[address] = (tokens, now)
            wait = max(1, math.ceil((1.0 - tokens) / self.rate))
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

    def check(self, address: str) -> None:
        """Raise :class:`RateLimited` when ``address`` is over its limit."""
        wait = self.wait_s(address)
        if wait:
            raise RateLimited(f"核验请求过于频繁，请 {wait} 秒后再试", "too many verification requests", retry_after_s=wait)
