"""Desk calls under load: the group-commit writer of ``store.intake`` storing non-emergency (and any) desk calls.

Fifty operators pressing two keys at once must not queue fifty transactions behind one write lock (SQLite)
or fifty commits (PostgreSQL): every call that queued while the last batch committed is written in the next
transaction, in arrival order. A quiet desk gets batches of one and no added delay.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store.commands.calls import DeskCall, record_desk_calls
from store.intake import GroupWriter

__all__ = ["DeskCallWriter"]


class DeskCallWriter(GroupWriter[DeskCall, Any]):
    """The group-commit writer of desk calls (``DeskCall``); the future gets the stored call's columns."""

    def _record(self, session: Session, items: list[DeskCall]) -> list[Any]:
        return record_desk_calls(session, items, hub=self.hub)
