"""Telling dispatched units through a durable queue: a dispatch records one attempt per channel (status queued,
with its address and message) in the database; the notification worker sends what is due, retries failures with
back-off and records each outcome, so a message queued before a restart is sent after it.

Delivery is at-least-once: a worker marks an attempt ``sending`` (committed) before it calls the channel, and an
attempt left ``sending`` longer than the lease (its worker died mid-send) is sent again. Telegram, the WhatsApp
Cloud API and SMS gateways take no idempotency key, so only a message on the wire when the process died can
arrive twice; every other attempt is sent once. The crew page's own stream counts as a channel (sent with the
dispatch's commit) when the unit has a paired phone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.orm import Session

from api.channels import Channel, SendResult, configured_channels, send_webpush
from geo.times import utcnow
from store.commands.writer import Writer
from store.crew import active_device_count
from store.dispatch import DispatchAssignment
from store.incidents import Incident
from store.notify import (
    MAX_TRIES,
    claim_due,
    mark_attempt,
    new_attempt,
    next_due,
    push_subscription,
    push_subscription_ids,
    settle_attempt,
    unit_channels,
    vapid_key,
)

if TYPE_CHECKING:
    from api.context import AppContext

__all__ = ["deliver_due", "dispatch_text", "notification_worker", "notify_assignments", "queue_notifications",
           "queue_with_dispatch"]

log = logging.getLogger("sigap.notify")
POLL_S = 2.0  # another worker process may queue: look at least this often


def dispatch_text(incident: Incident) -> str:
    """The message a unit receives: call number, category, priority, place, and how to answer."""
    place = incident.location or {}
    names = [part.get("name") for part in (place.get("desa"), place.get("kecamatan")) if isinstance(part, dict)]
    where = ", ".join(str(n) for n in names if n)
    return (f"SIGAP 112 {incident.number} {incident.priority} {incident.category}"
            f"{' di ' + where if where else ''}. Balas 1/OK terima, 2/JALAN menuju, 3/TIBA, 4/SELESAI.")


def queue_notifications(session: Session, assignment_ids: Sequence[int], *, channels: Collection[str]) -> list[int]:
    """Queue, in the caller's transaction, the notification of each assignment's unit on its channels; the ids of
    the attempts. A channel configured for the unit but not for the platform (`channels`) is recorded failed."""
    made: list[int] = []
    web_push = vapid_key(session) is not None  # one key for the platform: read once, not per unit
    for assignment_id in assignment_ids:
        row = session.get(DispatchAssignment, assignment_id)
        if row is None or row.released_at is not None:
            continue
        incident = session.get(Incident, row.incident_id)
        assert incident is not None
        text = dispatch_text(incident)
        if active_device_count(session, row.unit_id):
            # The unit.updated event went out with the commit of the dispatch itself.
            made.append(new_attempt(session, row, "sse", status="sent"))
        if web_push:
            payload = json.dumps({"kind": "dispatch", "incident_id": incident.id, "number": incident.number,
                                  "text": text, "assignment_id": row.id})
            for sub_id in push_subscription_ids(session, row.unit_id):
                made.append(new_attempt(session, row, "webpush", address=str(sub_id), body=payload))
        for ch in unit_channels(session, row.unit_id):
            if ch["channel"] in channels:
                made.append(new_attempt(session, row, ch["channel"], address=ch["address"], body=text))
            else:
                attempt = new_attempt(session, row, ch["channel"])
                mark_attempt(session, attempt, "failed", detail="saluran belum dikonfigurasi / not configured")
                made.append(attempt)
    return made


def queue_with_dispatch(channels: Collection[str]) -> Callable[[Session, Sequence[int]], None]:
    """What a dispatch runs in its own transaction: its units' notifications queued with it, so a crash after
    the dispatch's commit cannot lose them. A failure here (a bug, odd data) never refuses the dispatch: it is
    rolled back to a savepoint and logged, and the unacknowledged-dispatch alert still fires."""

    def queue(session: Session, assignment_ids: Sequence[int]) -> None:
        try:
            with session.begin_nested():
                queue_notifications(session, assignment_ids, channels=channels)
        except Exception:
            log.exception("notifikasi unit tidak diantrekan / unit notifications not queued: %s", assignment_ids)

    return queue


def notify_assignments(w: Writer, channels: Collection[str], assignment_ids: Sequence[int],
                       wake: threading.Event | None = None) -> list[int]:
    """Queue the notification of each assignment's unit on its channels (committed); the ids of the attempts.

    ``wake`` tells the worker there is work.
    """
    with w.transaction() as session:
        made = queue_notifications(session, assignment_ids, channels=channels)
        session.commit()
    if wake is not None:
        wake.set()
    return made


def _send(w: Writer, job: dict, channels: dict[str, Channel], http: httpx.Client, push_subject: str) -> SendResult:
    if job["channel"] == "webpush":
        with w.sessions() as session:
            sub = push_subscription(session, int(job["address"]))
            key = vapid_key(session)
        if sub is None or key is None:
            return SendResult(False, detail="langganan dicabut / subscription gone", permanent=True)
        return send_webpush(sub, job["body"], private_pem=key[0], subject=push_subject)
    adapter = channels.get(job["channel"])
    if adapter is None:
        return SendResult(False, detail="saluran belum dikonfigurasi / not configured", permanent=True)
    return adapter.send(http, job["address"], job["body"])


def deliver_due(w: Writer, channels: dict[str, Channel], *, http: httpx.Client, push_subject: str,
                lease_s: float, max_tries: int = MAX_TRIES, backoff_s: float = 2.0) -> float:
    """Send every attempt due now (claimed first, committed), recording each outcome; seconds until the next one
    is due (POLL_S when nothing waits)."""
    while True:
        with w.transaction() as session:
            jobs = claim_due(session, now=utcnow(), lease_s=lease_s)
            session.commit()
        if not jobs:
            with w.sessions() as session:
                due = next_due(session)
            return POLL_S if due is None else max(0.0, min(POLL_S, (due - utcnow()).total_seconds()))
        for job in jobs:
            try:
                result = _send(w, job, channels, http, push_subject)
            except Exception as exc:  # noqa: BLE001 — an adapter's surprise is a failed try, never a dead worker
                result = SendResult(False, detail=f"gagal / failed: {type(exc).__name__}")
            with w.transaction() as session:
                status = settle_attempt(session, job["id"], ok=result.ok, detail=result.detail,
                                        external_id=result.external_id, now=utcnow(), final=result.permanent,
                                        max_tries=max_tries, backoff_s=backoff_s)
                session.commit()
            if not result.ok:
                log.warning("notification %s on %s: %s (%s)", job["id"], job["channel"], status, result.detail)


async def notification_worker(ctx: AppContext) -> None:
    """The background job: send what is due, then wait for a new dispatch (woken) or the poll interval."""
    channels = configured_channels(ctx.settings)
    w = ctx.writer(actor="system:notify", client=None)
    with httpx.Client(timeout=ctx.settings.crew_notify_timeout_s) as http:
        while True:
            ctx.notify_wake.clear()
            wait = POLL_S
            try:
                wait = await asyncio.to_thread(
                    deliver_due, w, channels, http=http, push_subject=ctx.settings.webpush_subject,
                    lease_s=ctx.settings.crew_notify_lease_s, max_tries=ctx.settings.crew_notify_max_tries,
                    backoff_s=ctx.settings.crew_notify_backoff_s)
            except Exception:
                log.exception("notification worker pass failed; trying again")
            if wait > 0:
                await asyncio.to_thread(ctx.notify_wake.wait, wait)
