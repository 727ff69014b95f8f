"""Desk calls under load: the group-commit writer of ``store.intake`` storing non-emergency (and any) desk calls.

Fifty operators pressing two keys at once must not queue fifty transactions behind one write lock (SQLite)
or fifty commits (PostgreSQL): every call that queued while the last batch committed is written in the next
transaction, in arrival order. A quiet desk gets batches of one and no added delay.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from store.commands.calls import DeskCall, record_desk_calls
from store.intake import GroupWriter

__all__ = ["DeskCallWriter"]


class DeskCallWriter(GroupWriter[DeskCall, Any]):
    """The group-commit writer of desk calls (``DeskCall``); the future gets the stored call's columns."""

    def _store(self, calls: list[DeskCall]) -> list[Any]:
        items = calls
        with self.lock or nullcontext(), self.sessions() as session:
            try:
                stored = record_desk_calls(session, items, hub=self.hub)
            except BaseException:
                session.rollback()
                raise
        self.batches += 1
        self.written += len(stored)
        return stored
