"""The writer a command works through: who is acting, from where, the database, the event hub, the write queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from store.accounts import record_audit
from store.events import EventHub


@dataclass(frozen=True, slots=True)
class Writer:
    """A unit of work for one actor: sessions to write in, the hub events go out through, the write lock.

    ``lock`` is the process's SQLite write queue (None on PostgreSQL): SQLite has one writer at a time and its
    busy handler waits by sleeping, so this process's writers queue on a Python lock instead.
    """

    sessions: sessionmaker[Session]
    hub: EventHub
    lock: threading.Lock | None = None
    actor: str | None = None
    client: str | None = None  # the address the change came from, for the audit record

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session holding the write queue; whatever the command did not commit is rolled back."""
        with self.lock or nullcontext(), self.sessions() as session:
            try:
                yield session
            finally:
                if session.in_transaction():
                    session.rollback()

    def audit(
        self,
        session: Session,
        *,
        action: str,
        entity: str,
        entity_id: str | int | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit record by this writer's actor and client in the session's transaction."""
        record_audit(
            session,
            actor=self.actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            client=self.client,
        )

    def publish(self, session: Session, kind: str, data: dict[str, Any]) -> None:
        """Announce an event; it goes out only if the session's transaction commits."""
        self.hub.publish(session, kind, data)
