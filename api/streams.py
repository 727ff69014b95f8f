"""Live-stream slots: how many event streams one account and the whole process may hold open."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class StreamSlots:
    """Counts open streams per account and in all; a slot is taken before a stream opens and given back after."""

    def __init__(self, *, per_user: int, total: int) -> None:
        self.per_user = per_user
        self.total = total
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, username: str) -> str | None:
        """None when a slot was taken, else which cap is full ('user' or 'total')."""
        with self._lock:
            if sum(self._open.values()) >= self.total:
                return "total"
            if self._open[username] >= self.per_user:
                return "user"
            self._open[username] += 1
            return None

    def give_back(self, username: str) -> None:
        """Release one slot of the account."""
        with self._lock:
            self._open[username] -= 1
            if self._open[username] <= 0:
                del self._open[username]

    def open_count(self, username: str | None = None) -> int:
        """Streams open now (of one account, or in all)."""
        with self._lock:
            return sum(self._open.values()) if username is None else self._open[username]


class KeyLocks:
    """One asyncio lock per key while it is held: two retries of the same call in this process go one by one."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock for the block (event loop only)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
