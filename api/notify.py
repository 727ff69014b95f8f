"""Telling dispatched units: every configured channel tried once (and retried once on failure), each attempt
recorded with its status for the dispatcher; the crew page's own stream counts as a channel when the unit has a
paired phone."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import httpx

from api.channels import Channel, send_webpush
from store.commands.writer import Writer
from store.crew import active_device_count
from store.dispatch import DispatchAssignment
from store.incidents import Incident
from store.notify import mark_attempt, new_attempt, push_subscriptions, unit_channels, vapid_key

__all__ = ["dispatch_text", "notify_assignments"]

log = logging.getLogger("sigap.notify")


def dispatch_text(incident: Incident) -> str:
    """The message a unit receives: call number, category, priority, place, and how to answer."""
    place = incident.location or {}
    names = [part.get("name") for part in (place.get("desa"), place.get("kecamatan")) if isinstance(part, dict)]
    where = ", ".join(str(n) for n in names if n)
    return (f"SIGAP 112 {incident.number} {incident.priority} {incident.category}"
            f"{' di ' + where if where else ''}. Balas 1/OK terima, 2/JALAN menuju, 3/TIBA, 4/SELESAI.")


def notify_assignments(w: Writer, channels: dict[str, Channel], assignment_ids: Sequence[int], *,
                       client: httpx.Client | None = None, push_subject: str = "mailto:admin@localhost") -> list[int]:
    """Notify the unit of each assignment on its channels; the ids of the attempts recorded."""
    made: list[int] = []
    http = client or httpx.Client()
    try:
        for assignment_id in assignment_ids:
            with w.transaction() as session:
                row = session.get(DispatchAssignment, assignment_id)
                if row is None or row.released_at is not None:
                    continue
                incident = session.get(Incident, row.incident_id)
                assert incident is not None
                text = dispatch_text(incident)
                todo: list[tuple[int, Channel, str]] = []
                pushes: list[tuple[int, dict, str]] = []
                payload = json.dumps({"kind": "dispatch", "incident_id": incident.id, "number": incident.number,
                                      "text": text, "assignment_id": row.id})
                if active_device_count(session, row.unit_id):
                    # The unit.updated event went out with the commit of the dispatch itself.
                    made.append(new_attempt(session, row, "sse", status="sent"))
                key = vapid_key(session)
                if key is not None:
                    for sub in push_subscriptions(session, row.unit_id):
                        pushes.append((new_attempt(session, row, "webpush"), sub, key[0]))
                        made.append(pushes[-1][0])
                for ch in unit_channels(session, row.unit_id):
                    adapter = channels.get(ch["channel"])
                    attempt = new_attempt(session, row, ch["channel"])
                    made.append(attempt)
                    if adapter is None:
                        mark_attempt(session, attempt, "failed", detail="saluran belum dikonfigurasi / not configured")
                    else:
                        todo.append((attempt, adapter, ch["address"]))
                session.commit()
            for attempt, sub, pem in pushes:
                result = send_webpush(sub, payload, private_pem=pem, subject=push_subject)
                with w.transaction() as session:
                    mark_attempt(session, attempt, "sent" if result.ok else "failed", detail=result.detail,
                                 external_id=result.external_id)
                    session.commit()
            for attempt, adapter, address in todo:
                result = adapter.send(http, address, text)
                if not result.ok:
                    with w.transaction() as session:
                        mark_attempt(session, attempt, "retried", detail=result.detail)
                        session.commit()
                    result = adapter.send(http, address, text)
                with w.transaction() as session:
                    mark_attempt(session, attempt, "sent" if result.ok else "failed", detail=result.detail,
                                 external_id=result.external_id)
                    session.commit()
                if not result.ok:
                    log.warning("notification %s on %s failed: %s", attempt, adapter.name, result.detail)
    finally:
        if client is None:
            http.close()
    return made
