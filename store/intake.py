"""Call intake under load: one thread writes the queued calls, many to a transaction (group commit).

Each call written on its own costs a transaction, a pooled connection and a worker thread waiting for the
database lock (SQLite) or the day's counter row (PostgreSQL); most of that is Python, not SQL. Here a
request hands its call to the writer and waits for the result. The writer takes every call that queued
while the last batch committed and stores them in one transaction, in arrival order: a quiet desk gets
batches of one and no added delay, a surge gets one commit for dozens of calls.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from store.events import EventHub
from store.incidents import Call, IncidentRecord, record_calls

log = logging.getLogger("sigap.intake")
ItemT = TypeVar("ItemT")
StoredT = TypeVar("StoredT")
_STOP = object()


class GroupWriter(Generic[ItemT, StoredT]):
    """Stores submitted items on its own thread, each batch of waiting items in one transaction (``_store``)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        hub: EventHub,
        lock: threading.Lock | None = None,
        max_batch: int = 64,
        name: str = "sigap-call-writer",
    ) -> None:
        self.sessions = sessions
        self.hub = hub
        self.lock = lock
        self.max_batch = max_batch
        self.name = name
        self.batches = 0
        self.written = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Write what is queued, then end the thread."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, call: ItemT) -> Future[StoredT]:
        """Queue an item; the future gets what was stored, or the error that stopped it."""
        if self._closed or self._thread is None:
            raise RuntimeError("the call writer is not running")
        done: Future[StoredT] = Future()
        self._queue.put((call, done))
        return done

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[ItemT, Future[StoredT]]]) -> None:
        # A waiting request may be cancelled (its client left); its call is written all the same.
        for _, done in batch:
            done.set_running_or_notify_cancel()
        try:
            stored = self._store([call for call, _ in batch])
        except Exception as exc:  # noqa: BLE001 — any failure is settled on the waiting requests, never lost
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            # One bad call must not fail the calls queued beside it: write each on its own.
            log.warning("batch of %d calls failed (%s); writing them one by one", len(batch), exc)
            for call, done in batch:
                try:
                    _settle(done, result=self._store([call])[0])
                except Exception as one_exc:  # noqa: BLE001 - handed to the waiting request
                    _settle(done, error=one_exc)
            return
        for (_, done), incident in zip(batch, stored, strict=True):
            _settle(done, result=incident)

    def _store(self, calls: list[ItemT]) -> list[StoredT]:
        with self.lock or nullcontext(), self.sessions() as session:
            try:
                stored = self._record(session, calls)
            except BaseException:
                session.rollback()
                raise
        self.batches += 1
        self.written += len(stored)
        return stored

    def _record(self, session: Session, items: list[ItemT]) -> list[StoredT]:
        """Write one batch in the session and commit it (each kind of writer says how)."""
        raise NotImplementedError


class CallWriter(GroupWriter[Call, IncidentRecord]):
    """Stores submitted emergency calls, each batch of waiting calls in one transaction."""

    def _record(self, session: Session, items: list[Call]) -> list[IncidentRecord]:
        return record_calls(session, items, hub=self.hub)


def _settle(done: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if done.cancelled():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
