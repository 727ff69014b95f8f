"""Live-stream slots: how many event streams one account and the whole platform (every worker) may hold open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.orm import Session, sessionmaker

from store.db import session_scope
from store.trust import release_stream_lease, renew_stream_lease, take_stream_lease


class StreamSlots:
    """Open-stream slots per account and in all, as leases in the database: the caps hold across every worker.

    A stream takes a lease before it opens, renews it each time it re-checks its token, and gives it back when
    it ends; a lease not renewed within `lease_s` (its worker died) lapses and frees the slot.
    """

    def __init__(self, *, sessions: sessionmaker[Session], per_user: int, total: int, lease_s: float) -> None:
        self.sessions = sessions
        self.per_user = per_user
        self.total = total
        self.lease_s = lease_s

    def take(self, lease_id: str, username: str) -> str | None:
        """None when a slot was taken, else which cap is full ('user' or 'total'). Blocking: a worker thread."""
        with session_scope(self.sessions) as session:
            return take_stream_lease(session, lease_id=lease_id, username=username, per_user=self.per_user,
                                     total=self.total, ttl_s=self.lease_s)

    def renew(self, lease_id: str, username: str) -> None:
        """Keep the slot of a stream still open. Blocking: a worker thread."""
        with session_scope(self.sessions) as session:
            renew_stream_lease(session, lease_id=lease_id, username=username, ttl_s=self.lease_s)

    def give_back(self, lease_id: str) -> None:
        """Release a stream's slot. Blocking: a worker thread."""
        with session_scope(self.sessions) as session:
            release_stream_lease(session, lease_id=lease_id)


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
