"""Live events: published inside a database transaction, delivered to every listener after commit.

SpatiaLite (one process): delivered in-process right after the commit. PostGIS: `pg_notify` inside the
transaction, so PostgreSQL delivers it at commit to every API worker LISTENing on the channel, and a
rolled-back write never announces anything.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo.times import utcnow
from store.accounts import ACCOUNTS_CHANNEL

log = logging.getLogger("sigap.events")
CHANNEL = "sigap_events"
_PENDING = "sigap_pending_events"
# PostgreSQL refuses NOTIFY payloads over 8000 bytes; events carry ids and changed fields, not documents.
MAX_PAYLOAD = 7900


def _encode(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The event and its JSON payload, cut down to ids when it would not fit in a NOTIFY."""
    ev = {"id": uuid.uuid4().hex, "kind": kind, "at": utcnow().isoformat(), "data": data}
    payload = orjson.dumps(ev, default=str, option=orjson.OPT_NON_STR_KEYS)
    if len(payload) > MAX_PAYLOAD:
        ev["data"] = {k: data[k] for k in ("id", "status", "version") if k in data} | {"truncated": True}
        payload = orjson.dumps(ev, default=str, option=orjson.OPT_NON_STR_KEYS)
    return ev, payload.decode()


@dataclass(eq=False)
class Subscription:
    """One listener's queue of events, bounded so a slow client cannot eat memory."""

    queue: asyncio.Queue
    loop: asyncio.AbstractEventLoop
    dropped: int = 0
    # Only events this accepts are queued (a crew phone hears its own unit, not the whole platform): checked
    # on the event loop before the listener is woken, so 300 phones do not each wake for every event.
    accept: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class EventHub:
    """Fan-out of platform events to Server-Sent Events listeners, one per process."""

    engine: Engine
    recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=500))
    subscribers: set[Subscription] = field(default_factory=set)
    delivered: int = 0
    # Seconds the listener waits for PostgreSQL to answer a connect (libpq's minimum is 2): an address that drops
    # the packets, or a port that takes the connection and says nothing, must not hold every live map's feed in
    # `connect` for psycopg's default 130 s.
    connect_timeout: int = 5

    def __post_init__(self) -> None:
        self.postgres = self.engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # This hub's own channel, LISTENed to last (so pg_stat_activity names each hub's listener apart): stop()
        # notifies it so the listener leaves its wait at once, not at its timeout.
        self.stop_channel = f"sigap_stop_{uuid.uuid4().hex}"
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        # Called when any account changed (PostgreSQL: the app_user trigger's NOTIFY) and whenever the listener
        # loses or regains PostgreSQL: an announcement missed in between must not leave a stale grant behind.
        self.on_accounts_changed: list[Callable[[], None]] = []

    # -- publishing ---------------------------------------------------------------------------------
    def publish(self, session: Session, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue an event on the session's transaction; it goes out only if the transaction commits."""
        ev, payload = _encode(kind, data)
        if self.postgres:
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
            )
        else:
            # Begun if it was not: a rollback of a session that wrote nothing yet must still forget the event
            # (SQLAlchemy fires after_rollback only for a transaction that holds a connection).
            session.connection()
            session.info.setdefault(_PENDING, []).append(ev)
            session.info["sigap_hub"] = self
        return ev

    def publish_many(self, session: Session, events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Queue several events, in order, on the session's transaction (PostGIS: one NOTIFY statement)."""
        if not self.postgres or len(events) < 2:
            return [self.publish(session, kind, data) for kind, data in events]
        encoded = [_encode(kind, data) for kind, data in events]
        session.execute(_NOTIFY_MANY, {"channel": CHANNEL, "payloads": [payload for _, payload in encoded]})
        return [ev for ev, _ in encoded]

    def notify_payload(self, kind: str, data: dict[str, Any]) -> str:
        """The NOTIFY payload of an event, for a statement that sends it itself (PostGIS)."""
        return _encode(kind, data)[1]

    # -- delivering ---------------------------------------------------------------------------------
    def deliver(self, ev: dict[str, Any]) -> None:
        """Hand an event to every subscriber of this process (thread-safe)."""
        with self._lock:
            self.recent.append(ev)
            subs = list(self.subscribers)
            self.delivered += 1
        # One wake-up per event loop, not per listener: a worker's listeners all share its loop.
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        for sub in subs:
            by_loop.setdefault(sub.loop, []).append(sub)
        for loop, group in by_loop.items():
            try:
                loop.call_soon_threadsafe(_offer_all, group, ev)
            except RuntimeError:
                # The listeners' event loop has closed without unsubscribing: forget them, keep delivering.
                for sub in group:
                    self.unsubscribe(sub)

    def subscribe(self, *, maxsize: int = 1000,
                  accept: Callable[[dict[str, Any]], bool] | None = None) -> Subscription:
        """A new listener on the running event loop (given `accept`, only the events it accepts)."""
        sub = Subscription(asyncio.Queue(maxsize=maxsize), asyncio.get_running_loop(), accept=accept)
        with self._lock:
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to a listener."""
        with self._lock:
            self.subscribers.discard(sub)

    def since(self, last_id: str | None) -> list[dict[str, Any]]:
        """Events after `last_id` still in this process's memory (for a reconnecting client)."""
        if not last_id:
            return []
        with self._lock:
            items = list(self.recent)
        ids = [e["id"] for e in items]
        return items[ids.index(last_id) + 1 :] if last_id in ids else []

    # -- PostgreSQL LISTEN --------------------------------------------------------------------------
    def start(self) -> None:
        """Start listening (PostGIS only): a thread that reconnects whenever PostgreSQL goes away."""
        if not self.postgres or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._listen_forever, name="sigap-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the listener thread."""
        self._stop.set()
        if self._thread is None:
            return
        if self.listening.is_set():
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self.stop_channel})
                    conn.commit()
            except Exception:  # the database away: the listener notices the stop within a second anyway
                log.debug("stop not announced to the listener", exc_info=True)
        self._thread.join(timeout=5)

    def _accounts_changed(self) -> None:
        for callback in list(self.on_accounts_changed):
            callback()

    def _conninfo(self) -> str:
        url = make_url(self.engine.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _listen_forever(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True, connect_timeout=self.connect_timeout) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {ACCOUNTS_CHANNEL}")
                    conn.execute(f"LISTEN {self.stop_channel}")
                    self.listening.set()
                    self._accounts_changed()
                    backoff = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if note.channel == self.stop_channel:
                                break
                            if note.channel == ACCOUNTS_CHANNEL:
                                self._accounts_changed()
                                continue
                            try:
                                self.deliver(orjson.loads(note.payload))
                            except ValueError:
                                log.warning("ignored malformed event payload")
            except psycopg.Error as exc:
                self.listening.clear()
                self._accounts_changed()
                log.warning("event listener lost PostgreSQL (%s); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception:
                # Whatever goes wrong, this thread is every live map's only feed: log it and listen again.
                self.listening.clear()
                self._accounts_changed()
                log.exception("event listener failed; restarting")
                self._stop.wait(backoff)
        self.listening.clear()


def _offer_all(subs: list[Subscription], ev: dict[str, Any]) -> None:
    for sub in subs:
        if sub.accept is not None and not sub.accept(ev):
            continue
        if sub.queue.full():
            sub.queue.get_nowait()
            sub.dropped += 1
        sub.queue.put_nowait(ev)


# PostgreSQL delivers a transaction's notifications in the order they were sent: one per array element, in order.
_NOTIFY_MANY = text(
    "SELECT pg_notify(:channel, p.payload) FROM unnest(CAST(:payloads AS text[])) WITH ORDINALITY AS p(payload, n) "
    "ORDER BY p.n"
)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    hub = session.info.get("sigap_hub")
    if pending and hub is not None:
        for ev in pending:
            hub.deliver(ev)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
