"""Live-stream slots: how many event streams one account and the whole process may hold open."""

from __future__ import annotations

import threading
from collections import Counter


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
