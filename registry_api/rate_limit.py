"""Requests per client, counted by the `limits` library over a moving window.

The counts live in the storage the settings name: in this process by default, so each worker
process of `serve --workers N` (and each instance) counts on its own and a client may get N times
the limit; a shared storage (`redis://...`) makes it one count.
"""

from __future__ import annotations

import math
import time

from limits import parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from registry_api.errors import RateLimited


class RateLimit:
    """One budget per client and scope, under every limit of a `limits` string."""

    def __init__(self, limits: str, storage_uri: str) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):  # "async+..." storages need an event loop of theirs
            raise ValueError(f"not a synchronous rate-limit storage: {storage_uri}")
        self._items = parse_many(limits)
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, scope: str, client: str) -> None:
        """Count one request of `client`; refused with RateLimited past any of the limits."""
        for item in self._items:
            if not self._limiter.hit(item, scope, client):
                reset_at, _remaining = self._limiter.get_window_stats(item, scope, client)
                raise RateLimited(max(1, math.ceil(reset_at - time.time())))
