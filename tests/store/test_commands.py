"""store.commands on both backends: each command changes, audits, announces and commits as one; a refused or
failing command leaves nothing written and announces nothing; an incident that ends frees its units whatever
command ended it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from geo.errors import Conflict, NotFound
from geo.resolve import Resolved
from geo.times import utcnow
from store.accounts import AuditRecord
from store.catalog import DEFAULT_CATALOG_PATH, UnknownCategoryError, load_catalog
from store.commands import Writer
from store.commands import assignments as assignment_commands
from store.commands import incidents as incident_commands
from store.commands import units as unit_commands
from store.db import session_scope
from store.dispatch import DispatchAssignment, NotDispatchableError, UnitsUnavailableError, UnknownUnitsError
from store.events import EventHub
from store.incidents import (
    Call,
    Incident,
    IncidentNotFoundError,
    IncidentTransition,
    NeedsLocationError,
    NotMergeableError,
    SelfMergeError,
    StaleVersionError,
    load_incident,
    record_call,
    transition,
)
from store.layers import read_layers
from store.lifecycle import IllegalTransitionError, UnknownStateError
from store.units import Unit, seed_demo_units
from tests.conftest import events_while, refusals

BUNTOK = (114.95, -1.80)
CATALOG = load_catalog(DEFAULT_CATALOG_PATH)
KALIMANTAN = (108.0, -5.0, 120.0, 3.0)


@pytest.fixture
def units(db) -> dict[str, int]:
    """The demo units; callsign -> id."""
    with session_scope(db.sessions) as s:
        seed_demo_units(s, read_layers(s))
    with db.sessions() as s:
        return {u.callsign: u.id for u in s.scalars(select(Unit))}


def call(db, *, point: tuple[float, float] | None = BUNTOK, category: str = "kebakaran") -> int:
    """A call recorded through the writer path; its id."""
    lon, lat = point if point else (None, None)
    located = {"inside_regency": True, "river": {"distance_m": 2000.0}} if point else None
    with db.sessions() as s:
        return record_call(
            s,
            call=Call(category=category, actor="t-dispatcher", lon=lon, lat=lat,
                      location_source="coordinates" if point else None, location=located),
            hub=EventHub(db.engine),
            client=None,
        ).id


def writer(db, hub: EventHub, actor: str = "op-a") -> Writer:
    return Writer(sessions=db.sessions, hub=hub, lock=None, actor=actor, client="10.1.1.1")


def run(db, commands: Callable[[Writer], Any]) -> tuple[Any, list[dict]]:
    """Run commands with a listening hub: their result (or the error raised) and every event delivered."""

    def write(hub: EventHub) -> Any:
        try:
            return commands(writer(db, hub))
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            return exc

    return asyncio.run(events_while(db, write))


@pytest.fixture
def mark(db) -> int:
    """The last audit record before the test (the append-only log outlives each test's incidents and their ids)."""
    with db.sessions() as s:
        return s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))


def written(db, incident_id: int, mark: int) -> dict[str, Any]:
    """What the database holds about an incident: state, version, history, audit since `mark`, assignments."""
    with db.sessions() as s:
        inc = s.get(Incident, incident_id)
        return {
            "status": inc.status,
            "version": inc.version,
            "description": inc.description,
            "steps": [t.status for t in s.scalars(select(IncidentTransition).where(
                IncidentTransition.incident_id == incident_id).order_by(IncidentTransition.id))],
            "audit": [a for (a,) in s.execute(select(AuditRecord.action).where(
                AuditRecord.entity == "incident", AuditRecord.entity_id == str(incident_id),
                AuditRecord.client == "10.1.1.1", AuditRecord.id > mark).order_by(AuditRecord.id))],
            "assigned": sorted(s.scalars(select(DispatchAssignment.unit_id).where(
                DispatchAssignment.incident_id == incident_id, DispatchAssignment.released_at.is_(None)))),
        }


def unit_status(db, ids: list[int]) -> dict[int, str]:
    with db.sessions() as s:
        return dict(s.execute(select(Unit.id, Unit.status).where(Unit.id.in_(ids))).all())


# -- incidents ---------------------------------------------------------------------------------------
def test_update_edits_audits_announces_and_locates(db, mark) -> None:
    first, later = call(db), call(db, point=None)
    here = Resolved(114.86, -1.73, 40.0, "coordinates", {"inside_regency": True, "desa": {"code": "62.04.06.1001"}})

    def commands(w: Writer) -> tuple:
        edited = incident_commands.update(w, first, version=1, changes={"description": "Dua rumah", "category": None},
                                          location=None, catalog=CATALOG)
        located = incident_commands.update(w, later, version=1, changes={}, location=here, catalog=CATALOG)
        same = incident_commands.update(w, first, version=2, changes={"description": "Dua rumah"}, location=None,
                                        catalog=CATALOG)
        return edited, located, same

    (edited, located, same), events = run(db, commands)
    assert (edited.incident.description, edited.incident.version, edited.incident.category) == (
        "Dua rumah", 2, "kebakaran")
    assert [t.status for t in located.incident.transitions] == ["perlu_lokasi", "baru"]
    assert (located.incident.desa_code, located.incident.accuracy_m) == ("62.04.06.1001", 40.0)
    assert same.incident.version == 2  # nothing changed: nothing written
    assert written(db, first, mark)["audit"] == ["incident.update"]
    assert [(e["kind"], e["data"]["id"], e["data"]["changed"]) for e in events] == [
        ("incident.updated", first, ["description"]),
        ("incident.updated", later, ["location", "status"]),
    ]


def test_refused_changes_write_and_announce_nothing(db, mark, units) -> None:
    inc, nowhere = call(db), call(db, point=None)
    before = written(db, inc, mark)

    def commands(w: Writer) -> list:
        return refusals(
            lambda: incident_commands.update(w, inc, version=7, changes={"description": "x"}, location=None,
                                             catalog=CATALOG),
            lambda: incident_commands.update(w, inc, version=1, changes={"description": "x", "category": "gempa"},
                                             location=None, catalog=CATALOG),
            lambda: incident_commands.change_state(w, inc, to="tiba", version=1),
            lambda: incident_commands.change_state(w, inc, to="meledak", version=1),
            lambda: incident_commands.change_state(w, nowhere, to="baru", version=1),
            lambda: incident_commands.change_state(w, 999_999, to="batal", version=1),
            lambda: incident_commands.merge(w, inc, duplicate_id=inc),
            lambda: assignment_commands.dispatch(w, nowhere, [units["DMK-BTK-1"]]),
            lambda: assignment_commands.dispatch(w, inc, [units["DMK-BTK-1"], 987_654]),
            lambda: assignment_commands.dispatch(w, inc, [units["DMK-BTK-1"]], version=3),
        )

    refused, events = run(db, commands)
    assert [type(e) for e in refused] == [
        StaleVersionError, UnknownCategoryError, IllegalTransitionError, UnknownStateError, NeedsLocationError,
        IncidentNotFoundError, SelfMergeError, NeedsLocationError, UnknownUnitsError, StaleVersionError,
    ]
    assert [(e.kind.value, e.field) for e in refused] == [
        ("conflict", "version"), ("invalid", "category"), ("conflict", "to"), ("invalid", "to"),
        ("conflict", "location"), ("not_found", "id"), ("invalid", "duplicate_id"), ("conflict", "location"),
        ("not_found", "unit_ids"), ("conflict", "version"),
    ]
    assert events == []
    assert written(db, inc, mark) == before
    assert unit_status(db, [units["DMK-BTK-1"]]) == {units["DMK-BTK-1"]: "tersedia"}


def test_one_wording_for_a_stale_version(db, units) -> None:
    inc = call(db)

    def commands(w: Writer) -> list:
        out = []
        for attempt in (
            lambda: incident_commands.update(w, inc, version=5, changes={"description": "x"}, location=None,
                                             catalog=CATALOG),
            lambda: incident_commands.change_state(w, inc, to="diverifikasi", version=5),
            lambda: assignment_commands.dispatch(w, inc, [units["DMK-BTK-1"]], version=5),
        ):
            try:
                attempt()
            except StaleVersionError as exc:
                out.append(exc.body())
        return out

    bodies, _ = run(db, commands)
    assert len(bodies) == 3 and all(b == bodies[0] for b in bodies)
    assert bodies[0]["current_version"] == 1 and bodies[0]["field"] == "version"
    assert "versi 5 sudah usang" in bodies[0]["message_id"] and "version 5 is stale" in bodies[0]["message_en"]


def test_a_failing_command_leaves_nothing_half_written(db, mark) -> None:
    """The writer's transaction: a change already flushed, audited and announced, then refused, is undone."""
    inc = call(db)
    before = written(db, inc, mark)

    def commands(w: Writer) -> Exception | None:
        with pytest.raises(Conflict) as refused, w.transaction() as s:
            incident = load_incident(s, inc)
            transition(s, incident, "diverifikasi", actor=w.actor)  # flushed: UPDATE and INSERT sent
            w.audit(s, action="incident.transition", entity="incident", entity_id=inc)
            w.publish(s, "incident.updated", {"id": inc})
            s.flush()
            raise Conflict("uji", "test")
        return refused.value

    refused, events = run(db, commands)
    assert isinstance(refused, Conflict) and events == []
    assert written(db, inc, mark) == before


def test_merge_cancels_the_duplicate_and_refuses_one_that_ended(db, mark) -> None:
    keep, dup, done = call(db), call(db), call(db)

    def commands(w: Writer) -> tuple:
        merged = incident_commands.merge(w, keep, duplicate_id=dup, duplicate_version=1)
        for to, version in (("diverifikasi", 1), ("dikirim", 2), ("menuju_lokasi", 3), ("tiba", 4),
                            ("selesai", 5)):
            incident_commands.change_state(w, done, to=to, version=version)
        with pytest.raises(NotMergeableError) as refused:
            incident_commands.merge(w, keep, duplicate_id=done)
        with pytest.raises(Conflict):  # into a merged call
            incident_commands.merge(w, dup, duplicate_id=keep)
        return merged, refused.value

    (merged, refused), events = run(db, commands)
    assert merged.merged_from == [dup] and merged.incident.id == keep
    assert refused.extra["current"] == "selesai" and refused.field == "duplicate_id"
    assert written(db, dup, mark)["status"] == "batal" and written(db, done, mark)["status"] == "selesai"
    assert written(db, keep, mark)["audit"] == ["incident.merge"]
    assert [e["data"]["changed"] for e in events[:2]] == [["merged_from"], ["status", "merged_into"]]


# -- units -------------------------------------------------------------------------------------------
def test_dispatch_sends_audits_and_announces_units_by_id(db, mark, units) -> None:
    inc = call(db)
    sent = [units["DMK-BTK-1"], units["AMB-BTK-1"]]
    (incident, result), events = run(db, lambda w: assignment_commands.dispatch(w, inc, sent, version=1, note="cepat"))
    assert (incident.status, result.transitions) == ("dikirim", ["diverifikasi", "dikirim"])
    assert [u["id"] for u in result.units] == sorted(sent) and {u["status"] for u in result.units} == {"dikirim"}
    assert written(db, inc, mark)["assigned"] == sorted(sent) and written(db, inc, mark)["audit"] == ["dispatch"]
    kinds = [(e["kind"], e["data"]["id"]) for e in events]
    assert kinds == [("unit.updated", i) for i in sorted(sent)] + [("incident.updated", inc)]
    assert set(events[0]["data"]) >= {"id", "callsign", "status", "lon", "lat", "position_at", "version", "mode"}
    assert "unit_id" not in events[0]["data"]


def test_dispatch_to_an_ended_call_or_of_a_busy_unit_is_refused(db, units) -> None:
    inc, other = call(db), call(db)
    busy = units["DMK-BTK-1"]

    def commands(w: Writer) -> list:
        assignment_commands.dispatch(w, inc, [busy])
        out = []
        for attempt in (
            lambda: assignment_commands.dispatch(w, other, [units["POL-BTK-1"], busy]),
            lambda: incident_commands.change_state(w, other, to="batal", version=1, disposition="iseng",
                                                           catalog=CATALOG),
            lambda: assignment_commands.dispatch(w, other, [units["POL-BTK-1"]]),
        ):
            try:
                attempt()
            except Exception as exc:  # noqa: BLE001 - collected for the assertions
                out.append(exc)
        return out

    (unavailable, ended), _ = run(db, commands)
    assert isinstance(unavailable, UnitsUnavailableError)
    assert [(u["id"], u["callsign"], u["status"], u["reason"], u["incident_id"]) for u in unavailable.units] == [
        (busy, "DMK-BTK-1", "dikirim", "busy", inc)]
    assert isinstance(ended, NotDispatchableError) and ended.extra["status"] == "batal"
    assert unit_status(db, [units["POL-BTK-1"]]) == {units["POL-BTK-1"]: "tersedia"}


def test_a_multi_unit_dispatch_meeting_a_unit_taken_mid_write_commits_nothing(db, mark, units) -> None:
    """Issue 21's dispatch rollback, through the command: a unit taken between the read and the guarded write
    fails the whole dispatch; the other unit is not left dikirim without an assignment, nothing is announced."""
    inc = call(db)
    a, b = units["DMK-BTK-1"], units["AMB-BTK-1"]
    before = written(db, inc, mark)
    taken = {"done": False}

    def take_b(state) -> None:
        # Just before the guarded UPDATE of the units, another operator's dispatch of b lands.
        if state.is_update and not taken["done"]:
            taken["done"] = True
            state.session.connection().execute(text("UPDATE unit SET status = 'dikirim' WHERE id = :b"), {"b": b})

    event.listen(db.sessions, "do_orm_execute", take_b)
    try:
        refused, events = run(db, lambda w: assignment_commands.dispatch(w, inc, [a, b], version=1))
    finally:
        event.remove(db.sessions, "do_orm_execute", take_b)
    assert taken["done"]
    assert isinstance(refused, UnitsUnavailableError), refused
    assert [(u["id"], u["reason"]) for u in refused.units] == [(b, "taken")]
    assert unit_status(db, [a]) == {a: "tersedia"}
    assert written(db, inc, mark) == before
    assert events == []


@pytest.mark.parametrize("ending", ["selesai", "batal", "merged"])
def test_a_call_that_ends_frees_its_units_whatever_ended_it(db, mark, units, ending: str) -> None:
    inc, keep = call(db), call(db, point=(114.96, -1.81))
    sent = [units["DMK-BTK-1"], units["DMK-BTK-2"]]

    def commands(w: Writer) -> None:
        _, result = assignment_commands.dispatch(w, inc, sent)
        version = 3
        if ending == "selesai":
            for to in ("menuju_lokasi", "tiba", "selesai"):
                version = incident_commands.change_state(w, inc, to=to, version=version).incident.version
            incident_commands.change_state(w, inc, to="ditutup", version=version, disposition="selesai_ditangani",
                                           catalog=CATALOG)  # already free: nothing more
        elif ending == "batal":
            incident_commands.change_state(w, inc, to="batal", version=version, note="salah sambung",
                                           disposition="salah_sambung", catalog=CATALOG)
        else:
            incident_commands.merge(w, keep, duplicate_id=inc)

    _, events = run(db, commands)
    assert unit_status(db, sent) == {i: "tersedia" for i in sent}
    state = written(db, inc, mark)
    assert state["assigned"] == [] and state["audit"].count("release_units") == 1
    freed = [e["data"] for e in events if e["kind"] == "unit.updated" and e["data"]["status"] == "tersedia"]
    assert sorted(u["id"] for u in freed) == sorted(sent)
    with db.sessions() as s:
        released_by = set(s.scalars(select(DispatchAssignment.released_by).where(
            DispatchAssignment.incident_id == inc)))
    assert released_by == {"op-a"}


def test_set_position_moves_announces_and_refuses_old_or_far_reports(db, mark, units) -> None:
    uid = units["AMB-BTK-1"]

    def commands(w: Writer) -> tuple:
        rows = unit_commands.set_position(w, uid, lon=114.88, lat=-1.72, at=None, bounds=KALIMANTAN)
        refused = []
        for kwargs in (
            {"lon": 114.9, "lat": -1.7, "at": utcnow() - timedelta(hours=1)},
            {"lon": 106.8, "lat": -6.2, "at": None},
            {"lon": -1.7, "lat": 114.9, "at": None},
            {"lon": 114.9, "lat": -1.7, "at": utcnow() + timedelta(hours=1)},
        ):
            try:
                unit_commands.set_position(w, uid, bounds=KALIMANTAN, **kwargs)
            except Exception as exc:  # noqa: BLE001 - collected for the assertions
                refused.append(exc)
        try:
            unit_commands.set_position(w, 999_999, lon=114.9, lat=-1.7, at=None, bounds=KALIMANTAN)
        except NotFound as exc:
            refused.append(exc)
        return rows, refused

    (rows, refused), events = run(db, commands)
    assert (float(rows.lon[0]), float(rows.lat[0])) == (114.88, -1.72)
    assert [(e.kind.value, e.field) for e in refused] == [
        ("conflict", "at"), ("invalid", "lon"), ("invalid", "lat"), ("invalid", "at"), ("not_found", "unit_id")]
    assert [(e["kind"], e["data"]["id"], e["data"]["lon"]) for e in events] == [("unit.updated", uid, 114.88)]
    with db.sessions() as s:
        audit = s.scalars(select(AuditRecord).where(AuditRecord.action == "unit_position",
                                                    AuditRecord.entity_id == str(uid), AuditRecord.id > mark)).all()
        assert [(a.before["lon"] != 114.88, a.after["lon"], a.client) for a in audit] == [(True, 114.88, "10.1.1.1")]
        assert s.scalar(select(func.ST_X(Unit.geom)).where(Unit.id == uid)) == pytest.approx(114.88)


def test_every_event_is_shaped_as_the_event_schema_declares(db, units) -> None:
    """The SSE envelope and the payloads of incident.* and unit.updated, as documented in OpenAPI (api.schemas)."""
    from api.schemas.events import Event, IncidentEvent
    from api.schemas.units import UnitFields

    inc = call(db)

    def commands(w: Writer) -> None:
        assignment_commands.dispatch(w, inc, [units["DMK-BTK-1"]])
        unit_commands.set_position(w, units["DMK-BTK-1"], lon=114.9, lat=-1.75, at=None, bounds=KALIMANTAN)
        incident_commands.update(w, inc, version=3, changes={"caller_phone": "0812"}, location=None, catalog=CATALOG)
        incident_commands.change_state(w, inc, to="batal", version=4, disposition="iseng", catalog=CATALOG)

    _, events = run(db, commands)
    payloads = {"incident.updated": IncidentEvent, "unit.updated": UnitFields}
    assert [e["kind"] for e in events] == ["unit.updated", "incident.updated", "unit.updated", "incident.updated",
                                           "unit.updated", "incident.updated"]
    for e in events:
        Event.model_validate(e)
        payloads[e["kind"]].model_validate(e["data"])
