"""The row locks of the unit commands, on PostgreSQL: two transactions interleaved for real.

A second transaction changes the incident (or the unit) and holds its row; the command runs in a thread and must
wait for it (seen in `pg_stat_activity`: blocked by the holder's backend), then act on what the holder committed.
Without its `FOR UPDATE` the command reads the row as it was before the holder's change and writes over it (a unit
on a call set out of service, a unit sent to a call cancelled meanwhile, a crew's report refused as stale, an
announcement taking the call back to a state it has left). PostGIS only: SpatiaLite has one writer at a time
(`BEGIN IMMEDIATE`, the writer's queue), so there is nothing to interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.errors import Conflict
from store.commands import Writer
from store.commands import assignments as commands
from store.dispatch import DispatchAssignment, NotDispatchableError, dispatch_units, release_units, report_step
from store.incidents import Incident, IncidentTransition, load_incident, transition
from tests.conftest import Database
from tests.store.test_commands import call, run, unit_status, units
from tests.waiting import wait_until

__all__ = ["units"]

pytestmark = pytest.mark.parametrize("database", ["postgis"], indirect=True)

# Backends waiting for a lock the holder's backend holds (any lock: row, tuple or transaction id).
_BLOCKED_BY = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND :holder = ANY(pg_blocking_pids(pid))"
)


def _blocked_by(db: Database, holder: int) -> bool:
    # A fresh transaction per look: PostgreSQL keeps one snapshot of pg_stat_activity per transaction.
    with db.engine.connect() as conn:
        return bool(conn.scalar(_BLOCKED_BY, {"holder": holder}))


def while_held(db: Database, hold: Callable[[Session], object], command: Callable[[], Any]) -> tuple[bool, Any]:
    """Run `hold` in a transaction left open, then `command` in a thread; commit the holder once the command waits
    for it (or has ended without waiting). Whether the command waited, and what it returned or raised."""
    outcome: dict[str, Any] = {}

    def go() -> None:
        try:
            outcome["value"] = command()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome["value"] = exc

    worker = threading.Thread(target=go, name="command-under-test", daemon=True)
    with db.sessions() as holder:
        hold(holder)
        holder.flush()
        holder_pid = holder.scalar(text("SELECT pg_backend_pid()"))
        worker.start()
        wait_until(lambda: not worker.is_alive() or _blocked_by(db, holder_pid), timeout=30,
                   message="the command neither waited for the holder's row nor ended")
        waited = worker.is_alive()
        holder.commit()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the command did not end after the holder committed"
    return waited, outcome["value"]


def dispatched(db: Database, incident_id: int, unit_ids: list[int]) -> None:
    """The units sent to the incident, committed (what the dispatch command does)."""
    with db.sessions() as s:
        dispatch_units(s, load_incident(s, incident_id, lock=True), unit_ids, actor="op-b")
        s.commit()


def en_route_held(incident_id: int, unit_id: int) -> Callable[[Session], object]:
    """In the holder's transaction: the unit reports en route, which moves the call dikirim -> menuju_lokasi."""
    return lambda s: report_step(s, load_incident(s, incident_id, lock=True), unit_id, "menuju_lokasi", actor="op-b")


def incident_now(db: Database, incident_id: int) -> tuple[str, int]:
    with db.sessions() as s:
        inc = s.get(Incident, incident_id)
        return inc.status, inc.version


def test_a_unit_dispatched_meanwhile_is_not_set_out_of_service(db, units) -> None:
    """set_unit_status waits for a dispatch holding the unit, then refuses: the unit is on the call now."""
    inc, a = call(db), units["DMK-BTK-1"]

    def steps(w: Writer) -> tuple[bool, Any]:
        return while_held(db, lambda s: dispatch_units(s, load_incident(s, inc, lock=True), [a], actor="op-b"),
                          lambda: commands.set_unit_status(w, a, "tidak_tersedia", note="mesin rusak"))

    (waited, refused), events = run(db, steps)
    assert waited, "set_unit_status read the unit without waiting for the dispatch holding it"
    assert isinstance(refused, Conflict), refused
    assert unit_status(db, [a]) == {a: "dikirim"}  # not overwritten: the unit is on the call
    assert not [e for e in events if e["kind"] == "unit.updated" and e["data"]["status"] == "tidak_tersedia"]


def test_a_call_cancelled_meanwhile_gets_no_more_units(db, units) -> None:
    """dispatch waits for the cancel holding the call, then refuses it: no unit is left on a cancelled call."""
    inc, a, b = call(db), units["DMK-BTK-1"], units["AMB-BTK-1"]
    dispatched(db, inc, [a])

    def cancel(s: Session) -> None:
        incident = load_incident(s, inc)  # as the state change does: version checked, not locked first
        transition(s, incident, "batal", actor="op-b", version=incident.version, note="panggilan palsu")
        release_units(s, inc, actor="op-b", status="batal")

    (waited, refused), _ = run(db, lambda w: while_held(db, cancel, lambda: commands.dispatch(w, inc, [b])))
    assert waited, "dispatch read the call without waiting for the cancel holding it"
    assert isinstance(refused, NotDispatchableError), refused
    assert unit_status(db, [a, b]) == {a: "tersedia", b: "tersedia"}
    with db.sessions() as s:
        assert list(s.scalars(select(DispatchAssignment.unit_id).where(
            DispatchAssignment.incident_id == inc, DispatchAssignment.released_at.is_(None)))) == []


def test_two_crews_reporting_en_route_at_once_are_both_recorded(db, units) -> None:
    """A crew's report waits for the other crew's, which moved the call to menuju_lokasi: recorded, not stale."""
    inc, a, b = call(db), units["DMK-BTK-1"], units["AMB-BTK-1"]
    dispatched(db, inc, [a, b])

    (waited, result), _ = run(db, lambda w: while_held(db, en_route_held(inc, b), lambda: commands.en_route(w, inc, a)))
    assert waited, "report read the call without waiting for the other crew's report holding it"
    assert not isinstance(result, Exception), result
    incident, step = result
    assert (incident.status, step.status, step.transitions, step.unit["status"]) == (
        "menuju_lokasi", "menuju_lokasi", [], "menuju_lokasi")
    assert unit_status(db, [a, b]) == {a: "menuju_lokasi", b: "menuju_lokasi"}
    with db.sessions() as s:
        steps = list(s.scalars(select(IncidentTransition.status).where(IncidentTransition.incident_id == inc)
                               .order_by(IncidentTransition.id)))
    assert steps.count("menuju_lokasi") == 1


def test_a_release_announces_the_call_as_another_crew_moved_it(db, units) -> None:
    """A release waits for another crew's report on the call, and says (and announces) the call as it now is."""
    inc, a, b = call(db), units["DMK-BTK-1"], units["AMB-BTK-1"]
    dispatched(db, inc, [a, b])

    (waited, result), events = run(db, lambda w: while_held(
        db, en_route_held(inc, b), lambda: commands.release(w, inc, a, "dibutuhkan di RSUD")))
    assert waited, "release read the call without waiting for the other crew's report holding it"
    assert not isinstance(result, Exception), result
    now = incident_now(db, inc)
    assert now == ("menuju_lokasi", 4)  # baru, diverifikasi, dikirim, menuju_lokasi
    assert (result[0].status, result[1].status) == ("menuju_lokasi", "menuju_lokasi")
    [announced] = [e["data"] for e in events if e["kind"] == "incident.updated" and e["data"]["changed"] == ["units"]]
    assert (announced["status"], announced["version"]) == now
    assert unit_status(db, [a, b]) == {a: "tersedia", b: "menuju_lokasi"}


def test_an_agency_contact_announces_the_call_as_a_crew_moved_it(db, units) -> None:
    """Recording an agency contact waits for a crew's report on the call and announces the call as it now is."""
    inc, a = call(db), units["DMK-BTK-1"]
    dispatched(db, inc, [a])

    (waited, contact), events = run(db, lambda w: while_held(
        db, en_route_held(inc, a), lambda: commands.record_contact(w, inc, agency="PLN", channel="telepon")))
    assert waited, "record_contact read the call without waiting for the crew's report holding it"
    assert not isinstance(contact, Exception), contact
    now = incident_now(db, inc)
    assert now == ("menuju_lokasi", 4)
    [announced] = [e["data"] for e in events
                   if e["kind"] == "incident.updated" and e["data"]["changed"] == ["contacts"]]
    assert (announced["status"], announced["version"]) == now
