"""Units on calls, on both backends: an assignment's lifecycle, the incident following its units, divert, release,
all-or-none dispatch (with a unit taken between read and write), bad input, and the migration of stored rows."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update

from geo.errors import InvalidInput
from geo.times import format_wib, iso_utc, utcnow
from store.accounts import AuditRecord
from store.commands import Writer
from store.commands import assignments as commands
from store.commands import incidents as incident_commands
from store.db import make_engine
from store.dispatch import (
    AgencyContact,
    DispatchAssignment,
    UnitsUnavailableError,
    assignments_of,
    contacts_of,
    dispatch_units,
    release_units,
    units_on_calls,
)
from store.events import EventHub
from store.incidents import Incident, IncidentTransition
from store.migrate import upgrade
from store.units import Unit, read_units, unit_fields
from tests.conftest import BACKENDS, events_while, make_test_database, refusals
from tests.store.test_commands import call, run, unit_status, units

__all__ = ["units"]


def rows(db, incident_id: int) -> list[DispatchAssignment]:
    with db.sessions() as s:
        found = list(s.scalars(select(DispatchAssignment).where(DispatchAssignment.incident_id == incident_id)
                               .order_by(DispatchAssignment.id)))
        s.expunge_all()
        return found


def audit_actions(db, incident_id: int, mark: int) -> list[str]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditRecord.action).where(
            AuditRecord.entity == "incident", AuditRecord.entity_id == str(incident_id), AuditRecord.id > mark)
            .order_by(AuditRecord.id)))


@pytest.fixture
def mark(db) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))


def test_assignment_lifecycle_the_call_follows_its_units(db, units, mark) -> None:
    inc = call(db)
    a, b = units["DMK-BTK-1"], units["AMB-BTK-1"]

    def steps(w: Writer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["sent"] = commands.dispatch(w, inc, [a, b])[1]
        out["ack"] = commands.acknowledge(w, inc, a)[1]
        incident, out["a_enroute"] = commands.en_route(w, inc, a)
        out["status_after_enroute"] = incident.status
        # b reports tiba without ever reporting menuju lokasi: accepted, recorded as reported.
        incident, out["b_tiba"] = commands.arrive(w, inc, b)
        out["status_after_tiba"] = incident.status
        out["a_tiba"] = commands.arrive(w, inc, a)[1]
        out["a_late_enroute"] = commands.en_route(w, inc, a)[1]  # a late radio call: kept, changes nothing
        out["a_clear"] = commands.clear(w, inc, a)[1]
        out["b_release"] = commands.release(w, inc, b, "dibutuhkan di RSUD")[1]
        return out

    out, events = run(db, steps)
    assert out["sent"].transitions == ["diverifikasi", "dikirim"]
    assert out["ack"].unit["status"] == "dikirim"
    assert out["a_enroute"].unit["status"] == "menuju_lokasi" and out["a_enroute"].transitions == ["menuju_lokasi"]
    assert out["status_after_enroute"] == "menuju_lokasi"
    assert out["b_tiba"].skipped == ["menuju_lokasi"] and out["b_tiba"].transitions == ["tiba"]
    assert out["status_after_tiba"] == "tiba"
    assert out["a_tiba"].transitions == [] and out["a_tiba"].unit["incident_number"] is not None
    assert out["a_late_enroute"].unit["status"] == "tiba"
    assert out["a_clear"].unit["status"] == "kembali" and out["a_clear"].unit["incident_id"] is None
    assert out["b_release"].unit["status"] == "kembali"
    ra, rb = rows(db, inc)
    assert (ra.unit_id, ra.status, ra.release_reason, ra.released_by) == (a, "selesai", "tugas selesai", "op-a")
    assert ra.acknowledged_at <= ra.enroute_at <= ra.arrived_at <= ra.released_at
    assert [(r["step"], r["skipped"], r["late"]) for r in ra.reported] == [("menuju_lokasi", [], True)]
    assert (rb.status, rb.release_reason, rb.enroute_at) == ("dilepas", "dibutuhkan di RSUD", None)
    assert [(r["step"], r["skipped"]) for r in rb.reported] == [("tiba", ["menuju_lokasi"])]
    assert audit_actions(db, inc, mark) == [
        "incident.create", "dispatch", "assignment.diterima", "assignment.menuju_lokasi", "assignment.tiba",
        "assignment.tiba", "assignment.menuju_lokasi", "assignment.selesai", "assignment.dilepas"]
    history = _notes(db, inc)  # every step the units moved the call through is the reporting operator's
    assert set(history[2][1].split(", ")) == {"AMB-BTK-1", "DMK-BTK-1"}
    assert history[3] == ("menuju_lokasi", "DMK-BTK-1 menuju lokasi")
    assert history[4] == ("tiba", "AMB-BTK-1 tiba di lokasi")
    # Every unit event says which call the unit serves.
    unit_events = [e["data"] for e in events if e["kind"] == "unit.updated"]
    assert {(e["callsign"], e["status"], e["incident_id"]) for e in unit_events} >= {
        ("DMK-BTK-1", "menuju_lokasi", inc), ("AMB-BTK-1", "tiba", inc), ("DMK-BTK-1", "kembali", None)}


def test_bad_input_offline_busy_not_on_call_unknown_and_no_reason(db, units, mark) -> None:
    inc, other = call(db), call(db, category="penyelamatan")
    off, out_of_service, busy, free = units["DMK-BTK-2"], units["POL-BTK-1"], units["DMK-BTK-1"], units["AMB-BTK-1"]
    with db.sessions() as s:
        s.execute(update(Unit).where(Unit.id == off).values(status="offline"))
        s.execute(update(Unit).where(Unit.id == out_of_service).values(status="tidak_tersedia"))
        s.commit()

    def attempts(w: Writer) -> list:
        commands.dispatch(w, other, [busy])
        return refusals(
            lambda: commands.dispatch(w, inc, [free, off]),
            lambda: commands.dispatch(w, inc, [out_of_service], divert=True),
            lambda: commands.dispatch(w, inc, [free, busy]),
            lambda: commands.release(w, inc, busy, "salah kirim"),
            lambda: commands.release(w, other, busy, "   "),
            lambda: commands.en_route(w, inc, 987_654),
            lambda: commands.set_unit_status(w, busy, "offline"),
            lambda: commands.set_unit_status(w, free, "dikirim"),
            lambda: commands.record_contact(w, inc, agency="pln", channel="merpati"),
        )

    refused, _ = run(db, attempts)
    kinds = [(type(e).__name__, e.kind.value) for e in refused]
    assert kinds == [
        ("UnitsUnavailableError", "conflict"), ("UnitsUnavailableError", "conflict"),
        ("UnitsUnavailableError", "conflict"), ("UnitNotOnCallError", "conflict"), ("InvalidInput", "invalid"),
        ("UnknownUnitsError", "not_found"), ("Conflict", "conflict"), ("InvalidInput", "invalid"),
        ("InvalidInput", "invalid"),
    ]
    assert [(u["callsign"], u["reason"]) for u in refused[0].units] == [("DMK-BTK-2", "offline")]
    assert "offline" in refused[0].message_id
    assert [(u["callsign"], u["reason"]) for u in refused[1].units] == [("POL-BTK-1", "tidak_tersedia")]
    unknown = refused[5]  # a step of a unit that does not exist names it
    assert (unknown.ids, unknown.extra, unknown.message_en) == ([987_654], {"unknown": [987_654]},
                                                               "Unknown units: [987654]")
    busy_why = refused[2].units[0]
    assert (busy_why["callsign"], busy_why["reason"], busy_why["incident_id"]) == ("DMK-BTK-1", "busy", other)
    assert "alihkan" in busy_why["message_id"]
    # Nothing of the refused dispatches was written.
    assert rows(db, inc) == [] and unit_status(db, [free]) == {free: "tersedia"}
    with db.sessions() as s:
        assert s.get(Incident, inc).status == "baru"


def test_divert_ends_the_first_assignment_dialihkan(db, units, mark) -> None:
    first, urgent = call(db), call(db, category="penyelamatan")
    unit = units["DMK-BTK-1"]

    def steps(w: Writer) -> Any:
        commands.dispatch(w, first, [unit])
        commands.en_route(w, first, unit)
        return commands.divert(w, urgent, [unit], note="lebih mendesak")[1]

    result, events = run(db, steps)
    assert result.diverted_from == [first] and result.units[0]["incident_id"] == urgent
    [old] = rows(db, first)
    [new] = rows(db, urgent)
    assert (old.status, old.diverted_to_id, old.released_at is not None) == ("dialihkan", urgent, True)
    assert old.release_reason.startswith("dialihkan ke ")
    assert (new.status, new.released_at) == ("dikirim", None)
    # Both calls are announced: the one the unit left and the one it joined.
    assert {e["data"]["id"] for e in events if e["kind"] == "incident.updated"} >= {first, urgent}
    # The dispatcher's note is kept with the dispatch and on the call's step to dikirim.
    with db.sessions() as s:
        [audit] = s.scalars(select(AuditRecord).where(AuditRecord.action == "dispatch", AuditRecord.id > mark,
                                                      AuditRecord.entity_id == str(urgent))).all()
        assert (audit.after["note"], audit.after["diverted"]) == ("lebih mendesak", ["DMK-BTK-1"])
        notes = s.scalars(select(IncidentTransition.note).where(IncidentTransition.incident_id == urgent,
                                                                IncidentTransition.status == "dikirim")).all()
        assert notes == ["DMK-BTK-1 · lebih mendesak"]


def test_a_unit_taken_between_read_and_write_rolls_back_everything(db, units) -> None:
    inc = call(db)
    a, b = units["DMK-BTK-1"], units["AMB-BTK-1"]
    with db.sessions() as s:
        incident = s.get(Incident, inc)
        taken = {"done": False}

        @event.listens_for(s, "do_orm_execute")
        def take_b(state) -> None:
            # Just before the guarded UPDATE, another operator's dispatch of b lands.
            if state.is_update and not taken["done"]:
                taken["done"] = True
                s.connection().execute(text("UPDATE unit SET status = 'dikirim' WHERE id = :b"), {"b": b})

        with pytest.raises(UnitsUnavailableError) as err:
            dispatch_units(s, incident, [a, b], actor="op-a")
        s.rollback()
    assert [(u["callsign"], u["reason"]) for u in err.value.units] == [("AMB-BTK-1", "taken")]
    assert unit_status(db, [a, b]) == {a: "tersedia", b: "tersedia"}
    assert rows(db, inc) == []
    with db.sessions() as s:
        assert s.get(Incident, inc).status == "baru"


def test_closing_a_call_releases_working_units_and_unit_status_off_call(db, units) -> None:
    inc = call(db)
    a = units["DMK-BTK-1"]

    def steps(w: Writer) -> Any:
        commands.dispatch(w, inc, [a])
        commands.arrive(w, inc, a)
        version = incident_commands.change_state(w, inc, to="selesai", version=5).incident.version
        back = commands.set_unit_status(w, a, "tersedia", note="kembali di pos")
        contact = commands.record_contact(w, inc, agency="pln", channel="telepon", contact="Pak Budi, ULP Buntok",
                                          note="<b>tiang roboh</b>", known_agencies=["pln", "dpupr"])
        return version, back, contact

    (version, back, contact), _ = run(db, steps)
    [row] = rows(db, inc)
    assert (row.status, row.release_reason) == ("selesai", "kejadian selesai / incident resolved")
    assert back["status"] == "tersedia" and back["status_at"] is not None
    assert (contact["agency"], contact["channel"], contact["by"], contact["note"]) == (
        "pln", "telepon", "op-a", "<b>tiang roboh</b>")


def test_migration_backfills_assignments_from_audit_and_transitions(tmp_path) -> None:
    for backend in BACKENDS:
        url, drop = make_test_database(backend, tmp_path)
        engine = make_engine(url)
        try:
            _migrate_stored_rows(engine)
        finally:
            engine.dispose()
            drop()


def _migrate_stored_rows(engine) -> None:
    for rev in ("0005_dispatch", "0007_unit_state", "0008_incident_duplicate_key"):
        upgrade(engine, revision=rev)
    t0 = utcnow() - timedelta(hours=2)
    at = [t0 + timedelta(minutes=m) for m in range(10)]
    with engine.begin() as c:
        for uid, callsign, status in ((1, "DMK-1", "bertugas"), (2, "AMB-1", "bertugas"), (3, "POL-1", "tersedia"),
                                      (4, "TRC-1", "bertugas")):
            c.execute(text("INSERT INTO unit (id, callsign, name, type, agency, status, travel_mode, demo, version, "
                           "position_at) VALUES (:i, :c, '', 'damkar', 'damkar', :s, 'road', false, 1, :p)"),
                      {"i": uid, "c": callsign, "s": status, "p": at[0]})
        for iid, status in ((10, "tiba"), (11, "ditutup")):
            c.execute(text("INSERT INTO incident (id, number, category, status, version, created_at, updated_at) "
                           "VALUES (:i, :n, 'kebakaran', :s, 5, :t, :t)"), {"i": iid, "n": f"112-X-{iid}", "s": status,
                                                                          "t": at[0]})
        for iid, steps in ((10, ("baru", "diverifikasi", "dikirim", "menuju_lokasi", "tiba")),
                           (11, ("baru", "diverifikasi", "dikirim", "menuju_lokasi", "tiba", "selesai", "ditutup"))):
            for k, st in enumerate(steps):
                c.execute(text("INSERT INTO incident_transition (incident_id, status, at, actor) "
                               "VALUES (:i, :s, :t, 'op')"), {"i": iid, "s": st, "t": at[k + 1]})
        # Incident 10: unit 1 has its row; unit 2 is known only from the dispatch audit record.
        c.execute(text("INSERT INTO dispatch_assignment (incident_id, unit_id, at, actor) VALUES (10, 1, :t, 'op')"),
                  {"t": at[3]})
        c.execute(text("INSERT INTO audit_log (at, actor, action, entity, entity_id, after) "
                       "VALUES (:t, 'op', 'dispatch', 'incident', '10', :a)"),
                  {"t": at[3], "a": '{"units": [{"id": 1, "callsign": "DMK-1"}, {"id": 2, "callsign": "AMB-1"}]}'})
        c.execute(text("INSERT INTO dispatch_assignment (incident_id, unit_id, at, actor, released_at, released_by) "
                       "VALUES (11, 3, :t, 'op', :r, 'op')"), {"t": at[3], "r": at[7]})
    upgrade(engine)
    with engine.connect() as c:
        got = c.execute(text("SELECT incident_id, unit_id, status, enroute_at IS NOT NULL, arrived_at IS NOT NULL, "
                             "released_at IS NOT NULL, release_reason FROM dispatch_assignment "
                             "ORDER BY incident_id, unit_id")).all()
        unit = dict(c.execute(text("SELECT id, status FROM unit")).all())
        stamped = c.execute(text("SELECT count(*) FROM unit WHERE status_at IS NULL")).scalar()
    assert [tuple(r) for r in got] == [
        (10, 1, "tiba", True, True, False, None),
        (10, 2, "tiba", True, True, False, None),
        (11, 3, "selesai", True, True, True, "kejadian ditutup / incident closed"),
    ]
    # Busy units take their assignment's status; a busy unit without one is out of service, not lost or freed.
    assert unit == {1: "tiba", 2: "tiba", 3: "tersedia", 4: "tidak_tersedia"}
    assert stamped == 0
    # The new CHECK holds: a status outside the set is refused by the database itself.
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as c:
        c.execute(text("UPDATE unit SET status = 'bertugas' WHERE id = 3"))


def test_demo_reset_closes_the_assignments_of_units_it_frees(db, units) -> None:
    from store.layers import read_layers
    from store.units import seed_demo_units

    inc = call(db)
    unit = units["DMK-BTK-1"]
    run(db, lambda w: commands.dispatch(w, inc, [unit]))
    with db.sessions() as s:
        seed_demo_units(s, read_layers(s), reset=True, actor="admin")
        s.commit()
    [row] = rows(db, inc)
    assert (row.status, row.released_by, row.released_at is not None) == ("dilepas", "admin", True)
    again, _ = run(db, lambda w: commands.dispatch(w, call(db), [unit]))
    assert again[1].units[0]["status"] == "dikirim"


def test_an_agency_contact_is_kept_whole_audited_announced_and_bad_ones_say_why(db, mark) -> None:
    """Who was reached, how, by whom and when is stored as given and shown by the incident; the audit log holds
    the same; the call is announced as changed in its contacts. Any agency is taken when no list is given; an
    unknown agency or channel is refused naming the field and the valid values, and writes nothing."""
    inc = call(db)

    def steps(w: Writer) -> tuple[dict[str, Any], list[Exception]]:
        made = commands.record_contact(w, inc, agency="basarnas", channel="radio", contact="Pos SAR Buntok",
                                       note="perahu karet diminta")
        refused = []
        for attempt in (
            lambda: commands.record_contact(w, inc, agency="pln ", channel="telepon",
                                            known_agencies=["pln", "dpupr", "basarnas"]),
            lambda: commands.record_contact(w, inc, agency="pln", channel="surat"),
        ):
            try:
                attempt()
            except InvalidInput as exc:
                refused.append(exc)
        return made, refused

    before = utcnow()
    (made, refused), events = run(db, steps)
    after = utcnow()
    assert set(made) == {"id", "agency", "channel", "contact", "note", "at", "at_wib", "by"}
    assert (made["agency"], made["channel"], made["contact"], made["note"], made["by"]) == (
        "basarnas", "radio", "Pos SAR Buntok", "perahu karet diminta", "op-a")
    assert before <= datetime.fromisoformat(made["at"]) <= after and made["at_wib"].endswith("WIB")
    with db.sessions() as s:
        assert contacts_of(s, [inc]) == {inc: [made]}
        audits = s.scalars(select(AuditRecord).where(AuditRecord.id > mark, AuditRecord.action == "agency_contact")
                           ).all()
        assert [(a.actor, a.entity, a.entity_id, a.client, a.before, a.after) for a in audits] == [
            ("op-a", "incident", str(inc), "10.1.1.1", None, made)]
    announced = [e["data"] for e in events if e["kind"] == "incident.updated" and e["data"]["id"] == inc]
    assert [d["changed"] for d in announced] == [["contacts"]]
    assert [type(e) for e in refused] == [InvalidInput, InvalidInput]
    agency, channel = refused
    assert (agency.field, agency.extra) == ("agency", {"valid": ["basarnas", "dpupr", "pln"]})
    assert agency.message_id == "Instansi tidak dikenal 'pln '; yang sah: ['basarnas', 'dpupr', 'pln']"
    assert agency.message_en == "Unknown agency 'pln '; valid: ['basarnas', 'dpupr', 'pln']"
    valid = ["telepon", "radio", "whatsapp", "langsung", "lainnya"]
    assert (channel.field, channel.extra) == ("channel", {"valid": valid})
    assert channel.message_id == f"Saluran tidak dikenal 'surat'; yang sah: {valid}"
    assert channel.message_en == f"Unknown channel 'surat'; valid: {valid}"


def test_a_units_own_status_changes_once_is_audited_announced_and_refused_on_a_call(db, units, mark) -> None:
    """Off a call a unit's status is set (a second identical setting changes nothing, not even its version);
    on a call it is refused naming the call; a status of a step, or an unknown unit, is refused with reasons."""
    inc = call(db)
    free, busy = units["AMB-BTK-1"], units["DMK-BTK-1"]

    def steps(w: Writer) -> tuple[list[dict[str, Any]], list[Exception]]:
        commands.dispatch(w, inc, [busy])
        done = [commands.set_unit_status(w, free, "tidak_tersedia", note="ban bocor"),
                commands.set_unit_status(w, free, "tidak_tersedia")]
        refused = []
        for attempt in (lambda: commands.set_unit_status(w, busy, "tersedia"),
                        lambda: commands.set_unit_status(w, free, "tiba"),
                        lambda: commands.set_unit_status(w, 987_654, "offline")):
            try:
                attempt()
            except Exception as exc:  # noqa: BLE001 - collected for the assertions
                refused.append(exc)
        return done, refused

    with db.sessions() as s:
        version = s.get(Unit, free).version
    (done, refused), events = run(db, steps)
    first, second = done
    assert (first["status"], first["available"], first["version"]) == ("tidak_tersedia", False, version + 1)
    assert second == first  # the same status again: same time, same version
    with db.sessions() as s:
        audits = s.scalars(select(AuditRecord).where(AuditRecord.id > mark, AuditRecord.action == "unit_status",
                                                     AuditRecord.entity_id == str(free))
                           .order_by(AuditRecord.id)).all()
        assert [(a.actor, a.entity, a.client, a.before, a.after) for a in audits] == [
            ("op-a", "unit", "10.1.1.1", {"status": "tersedia"}, {"status": "tidak_tersedia", "note": "ban bocor"}),
            ("op-a", "unit", "10.1.1.1", {"status": "tidak_tersedia"}, {"status": "tidak_tersedia", "note": None}),
        ]
        assert s.get(Unit, busy).status == "dikirim"
    assert [e["data"] for e in events if e["kind"] == "unit.updated" and e["data"]["id"] == free] == [first, first]
    on_call, a_step, unknown = refused
    with db.sessions() as s:
        number = s.get(Incident, inc).number
    assert (type(on_call).__name__, on_call.field, on_call.extra) == (
        "Conflict", "status", {"incident_id": inc, "incident_number": number})
    assert on_call.message_en == f"Unit DMK-BTK-1 is on {number}; release it from that call first"
    assert on_call.message_id == f"Unit DMK-BTK-1 sedang bertugas di {number}; lepaskan dulu dari kejadian itu"
    valid = ["tersedia", "kembali", "tidak_tersedia", "offline"]
    assert (type(a_step), a_step.field, a_step.extra) == (InvalidInput, "status", {"valid": valid})
    assert a_step.message_en == (f"Unit status 'tiba' cannot be set here; valid: {valid} (steps on a call: "
                                 "through the call)")
    assert a_step.message_id == (f"Status unit 'tiba' tidak bisa diatur di sini; yang sah: {valid} "
                                 "(langkah di kejadian: lewat kejadiannya)")
    assert (type(unknown).__name__, unknown.ids) == ("UnknownUnitsError", [987_654])


def test_a_calls_assignments_show_each_step_who_when_how_it_ended_and_the_intervals(db, units) -> None:
    """What the incident view shows of its units: every step's time and who recorded it, the labels, how each
    assignment ended, what was reported out of order, and the intervals the reports measure (dispatch to en
    route, to scene, time on scene); its agency contacts oldest first; a call with neither shows two empty lists."""
    inc, other, quiet = call(db), call(db, category="penyelamatan"), call(db, category="medis")
    a, b, c = units["DMK-BTK-1"], units["AMB-BTK-1"], units["POL-BTK-1"]

    def steps(w: Writer) -> tuple[dict[str, Any], dict[str, Any]]:
        commands.dispatch(w, inc, [a, b], eta_s={a: 300.0})
        commands.acknowledge(w, inc, a)
        commands.en_route(w, inc, a)
        commands.arrive(w, inc, a)
        commands.arrive(w, inc, b)  # without en route: recorded as reported
        commands.clear(w, inc, a)
        commands.release(w, inc, b, "dibutuhkan di RSUD")
        commands.dispatch(w, other, [c])
        first = commands.record_contact(w, inc, agency="pln", channel="telepon", contact="ULP Buntok")
        second = commands.record_contact(w, inc, agency="dpupr", channel="radio")
        return first, second

    (first, second), _ = run(db, steps)
    ra, rb = rows(db, inc)
    [rc] = rows(db, other)
    # The reports as the field gives them: minutes apart, not the milliseconds of a test. b's row and the second
    # contact are dated before the others though written after them (a row written late, as the migration's
    # backfill writes them): oldest first is by time, not by id.
    t0 = ra.at
    later = {ra.id: {"enroute_at": t0 + timedelta(seconds=61.24), "arrived_at": t0 + timedelta(seconds=300),
                     "released_at": t0 + timedelta(seconds=900)},
             rb.id: {"at": t0 - timedelta(seconds=60), "arrived_at": t0 + timedelta(seconds=120.5),
                     "released_at": t0 + timedelta(seconds=180)}}
    earlier = datetime.fromisoformat(first["at"]) - timedelta(seconds=30)
    second = second | {"at": iso_utc(earlier), "at_wib": format_wib(earlier)}
    with db.sessions() as s:
        for row_id, values in later.items():
            s.execute(update(DispatchAssignment).where(DispatchAssignment.id == row_id).values(**values))
        s.execute(update(AgencyContact).where(AgencyContact.id == second["id"]).values(at=earlier))
        s.commit()
        ra, rb = rows(db, inc)
        kinds = {u.id: (u.type, u.agency) for u in s.scalars(select(Unit).where(Unit.id.in_([a, b, c])))}
        shown = units_on_calls(s, [inc, other, quiet])

    def seen(row: DispatchAssignment, unit: int, callsign: str, unit_status: str, labels: tuple[str, str],
             intervals: tuple) -> dict[str, Any]:
        return {
            "id": row.id, "unit_id": unit, "callsign": callsign, "unit_type": kinds[unit][0],
            "agency": kinds[unit][1], "unit_status": unit_status, "status": row.status,
            "status_label_id": labels[0], "status_label_en": labels[1], "open": row.released_at is None,
            "dispatched_at": iso_utc(row.at), "dispatched_at_wib": format_wib(row.at), "dispatched_by": "op-a",
            "eta_s": row.eta_s, "acknowledged_at": iso_utc(row.acknowledged_at), "acknowledged_by":
            row.acknowledged_by, "enroute_at": iso_utc(row.enroute_at), "enroute_by": row.enroute_by,
            "arrived_at": iso_utc(row.arrived_at), "arrived_by": row.arrived_by,
            "released_at": iso_utc(row.released_at), "released_by": row.released_by,
            "release_reason": row.release_reason, "diverted_to_id": None, "reported": row.reported or [],
            "intervals": dict(zip(("dispatch_to_enroute_s", "dispatch_to_scene_s", "on_scene_s"), intervals,
                                  strict=True)),
        }

    assert (ra.eta_s, ra.acknowledged_by, ra.enroute_by, ra.arrived_by, ra.released_by) == (
        300.0, "op-a", "op-a", "op-a", "op-a")
    assert (rb.eta_s, rb.acknowledged_at, rb.enroute_by, rb.arrived_by, rb.released_by) == (
        None, None, None, "op-a", "op-a")
    assert [(r["step"], r["skipped"], r["by"]) for r in rb.reported] == [("tiba", ["menuju_lokasi"], "op-a")]
    assigned, contacts = shown[inc]
    assert assigned == [
        seen(rb, b, "AMB-BTK-1", "kembali", ("dilepas", "released"), (None, 180.5, 59.5)),
        seen(ra, a, "DMK-BTK-1", "kembali", ("selesai", "cleared"), (61.2, 300.0, 600.0)),
    ]
    assert contacts == [second, first]
    assert shown[other] == ([seen(rc, c, "POL-BTK-1", "dikirim", ("dikirim", "dispatched"), (None, None, None))],
                            [])
    assert shown[quiet] == ([], [])
    assert shown[inc][0][0]["open"] is False and shown[other][0][0]["open"] is True
    with db.sessions() as s:
        assert units_on_calls(s, []) == {} and assignments_of(s, []) == {} and contacts_of(s, []) == {}


def _audits(db, mark: int) -> list[tuple]:
    with db.sessions() as s:
        return [(a.action, a.entity, a.entity_id, a.actor, a.client, a.before, a.after) for a in s.scalars(
            select(AuditRecord).where(AuditRecord.id > mark).order_by(AuditRecord.id))]


def _notes(db, incident_id: int) -> list[tuple[str, str | None]]:
    """The call's steps and their notes; every step after the call was recorded is op-a's (the test's writer)."""
    with db.sessions() as s:
        steps = s.get(Incident, incident_id).transitions
        assert {t.actor for t in steps[1:]} <= {"op-a"}
        return [(t.status, t.note) for t in steps]


def test_a_diverting_dispatch_writes_audits_and_announces_exactly_what_it_did(db, units) -> None:
    """A unit en route to one call and a free unit sent to a new call: the old assignment ends 'dialihkan' at the
    moment the new ones open; the units returned are the units as stored; every audit record and event says what
    changed; a later unit for the same call changes the units only."""
    first, urgent = call(db), call(db, category="penyelamatan")
    a, b, c = units["DMK-BTK-1"], units["AMB-BTK-1"], units["POL-BTK-1"]
    run(db, lambda w: (commands.dispatch(w, first, [a]), commands.en_route(w, first, a)))
    with db.sessions() as s:
        mark = s.scalar(select(func.max(AuditRecord.id)))
        numbers = {i: s.get(Incident, i).number for i in (first, urgent)}
    (_, result), events = run(db, lambda w: commands.dispatch(w, urgent, [b, a], divert=True, note="lebih mendesak",
                                                              eta_s={b: 120.0}))
    ids = sorted([a, b])
    with db.sessions() as s:
        assert result.units == unit_fields(read_units(s, ids=ids))
    new = rows(db, urgent)
    [old] = rows(db, first)
    assert (result.incident_id, result.status, result.transitions, result.diverted_from) == (
        urgent, "dikirim", ["diverifikasi", "dikirim"], [first])
    assert result.assignment_ids == [r.id for r in new] and [r.unit_id for r in new] == ids
    assert [(r.status, r.actor, r.eta_s, r.released_at) for r in new] == [
        ("dikirim", "op-a", 120.0 if i == b else None, None) for i in ids]
    assert (old.status, old.released_at, old.released_by, old.diverted_to_id, old.release_reason) == (
        "dialihkan", new[0].at, "op-a", urgent,
        f"dialihkan ke {numbers[urgent]} / diverted to {numbers[urgent]}")
    callsigns = {a: "DMK-BTK-1", b: "AMB-BTK-1"}
    was = {a: {"status": "menuju_lokasi", "incident_id": first}, b: {"status": "tersedia", "incident_id": None}}
    assert _audits(db, mark) == [
        ("dispatch", "incident", str(urgent), "op-a", "10.1.1.1", None,
         {"units": [{"id": i, "callsign": callsigns[i]} for i in ids],
          "transitions": ["diverifikasi", "dikirim"], "diverted": ["DMK-BTK-1"], "note": "lebih mendesak"}),
    ] + [("unit_diverted" if i == a else "unit_dispatched", "unit", str(i), "op-a", "10.1.1.1", was[i],
          {"status": "dikirim", "incident_id": urgent}) for i in ids]
    assert _notes(db, urgent)[-2:] == [
        ("diverifikasi", "diverifikasi saat dispatch / verified on dispatch"),
        ("dikirim", f"{callsigns[ids[0]]}, {callsigns[ids[1]]} · lebih mendesak")]
    assert [(e["kind"], e["data"]["id"], e["data"].get("changed")) for e in events] == [
        ("unit.updated", i, None) for i in ids] + [
        ("incident.updated", urgent, ["status", "units"]), ("incident.updated", first, ["units"])]
    assert [e["data"] for e in events[:2]] == result.units
    # One more unit for a call already dikirim: no step of the call, its units changed.
    (_, more), events = run(db, lambda w: commands.dispatch(w, urgent, [c]))
    assert (more.status, more.transitions, more.diverted_from) == ("dikirim", [], [])
    assert [(e["kind"], e["data"]["id"], e["data"].get("changed")) for e in events] == [
        ("unit.updated", c, None), ("incident.updated", urgent, ["units"])]


def test_refused_dispatches_steps_and_releases_say_what_and_why_in_both_languages(db, units) -> None:
    inc, other, nowhere = call(db), call(db, category="penyelamatan"), call(db, point=None)
    off, busy, free = units["DMK-BTK-2"], units["DMK-BTK-1"], units["AMB-BTK-1"]
    with db.sessions() as s:
        s.execute(update(Unit).where(Unit.id == off).values(status="offline"))
        s.commit()
        numbers = {i: s.get(Incident, i).number for i in (inc, other)}

    def attempts(w: Writer) -> list:
        commands.dispatch(w, other, [busy])
        return refusals(
            lambda: commands.dispatch(w, inc, [off, busy, free]),
            lambda: commands.dispatch(w, other, [busy]),
            lambda: commands.dispatch(w, inc, []),
            lambda: commands.dispatch(w, inc, [free, 987_654, 987_655]),
            lambda: commands.dispatch(w, nowhere, [free]),
            lambda: commands.report(w, other, busy, "terbang"),
            lambda: commands.arrive(w, inc, free),
            lambda: commands.release(w, other, busy, "  "),
            lambda: commands._end(w, other, busy, "hilang", "x"),
        )

    refused, _ = run(db, attempts)
    assert [type(e).__name__ for e in refused] == [
        "UnitsUnavailableError", "UnitsUnavailableError", "InvalidInput", "UnknownUnitsError",
        "NeedsLocationError", "InvalidInput", "UnitNotOnCallError", "InvalidInput", "InvalidInput"]
    mixed, again, empty, unknown, nowhere_err, step, not_on, no_reason, outcome = refused
    n = numbers[other]
    why = {busy: ("DMK-BTK-1", f"sedang bertugas di {n}; kirim dengan 'alihkan'", f"busy on {n}; send with 'divert'"),
           off: ("DMK-BTK-2", "unit offline", "unit is offline")}
    order = sorted([off, busy])
    assert [(u["id"], u["callsign"], u["message_id"], u["message_en"]) for u in mixed.units] == [
        (i, *why[i]) for i in order]
    assert mixed.field == "unit_ids" and mixed.extra == {"unavailable": mixed.units}
    assert mixed.message_id == "Unit tidak bisa dikirim: " + ", ".join(
        f"{why[i][0]} ({why[i][1]})" for i in order) + "; tidak ada yang diubah"
    assert mixed.message_en == "Units cannot be sent: " + ", ".join(
        f"{why[i][0]} ({why[i][2]})" for i in order) + "; nothing was changed"
    assert set(mixed.units[0]) == {"id", "callsign", "status", "incident_id", "incident_number", "reason",
                                   "message_id", "message_en"}
    # Already on this very call: refused as busy there.
    assert [(u["reason"], u["incident_id"], u["message_en"]) for u in again.units] == [
        ("busy", other, f"busy on {n}; send with 'divert'")]
    assert (empty.field, empty.message_id, empty.message_en) == ("unit_ids", "unit_ids kosong", "unit_ids is empty")
    assert (unknown.ids, unknown.field, unknown.extra) == ([987_654, 987_655], "unit_ids",
                                                           {"unknown": [987_654, 987_655]})
    assert (unknown.message_id, unknown.message_en) == ("Unit tidak dikenal: [987654, 987655]",
                                                        "Unknown units: [987654, 987655]")
    assert (nowhere_err.field, nowhere_err.extra) == ("location", {"status": "perlu_lokasi"})
    valid = ["diterima", "menuju_lokasi", "tiba"]
    assert (step.field, step.extra, step.message_en, step.message_id) == (
        "status", {"valid": valid}, f"Unknown step 'terbang'; valid: {valid}",
        f"Langkah tidak dikenal 'terbang'; yang sah: {valid}")
    assert (not_on.field, not_on.message_id, not_on.message_en) == (
        "unit_id", f"Unit AMB-BTK-1 tidak sedang bertugas di kejadian {numbers[inc]}",
        f"Unit AMB-BTK-1 is not assigned to incident {numbers[inc]}")
    assert (no_reason.field, no_reason.message_id, no_reason.message_en) == (
        "reason", "Alasan wajib diisi", "A reason is required")
    assert (outcome.field, outcome.message_id, outcome.message_en) == (
        "outcome", "outcome harus 'selesai' atau 'dilepas'", "outcome must be 'selesai' or 'dilepas'")
    assert unit_status(db, [busy, free]) == {busy: "dikirim", free: "tersedia"}


def test_an_ended_call_refuses_units_saying_its_state(db, units) -> None:
    inc = call(db)
    with db.sessions() as s:
        s.execute(update(Incident).where(Incident.id == inc).values(status="ditutup"))
        s.commit()
    refused, _ = run(db, lambda w: commands.dispatch(w, inc, [units["AMB-BTK-1"]]))
    assert (type(refused).__name__, refused.field, refused.extra) == ("NotDispatchableError", "status",
                                                                       {"status": "ditutup"})
    assert (refused.message_id, refused.message_en) == ("Kejadian berstatus 'ditutup' tidak bisa diberi unit",
                                                        "An incident in state 'ditutup' cannot receive units")


def test_a_unit_on_scene_without_en_route_a_repeated_report_and_a_release_are_recorded_as_they_came(db,
                                                                                                      units) -> None:
    inc = call(db)
    u = units["DMK-BTK-1"]
    run(db, lambda w: commands.dispatch(w, inc, [u]))
    with db.sessions() as s:
        mark = s.scalar(select(func.max(AuditRecord.id)))

    (first, again), events = run(db, lambda w: (commands.arrive(w, inc, u)[1], commands.arrive(w, inc, u)[1]))
    [row] = rows(db, inc)
    assert (first.status, first.transitions, first.skipped) == ("tiba", ["menuju_lokasi", "tiba"], ["menuju_lokasi"])
    assert (again.status, again.transitions, again.skipped) == ("tiba", [], [])
    assert first.assignment_id == again.assignment_id == row.id and first.incident_id == again.incident_id == inc
    assert [(r["step"], r["skipped"], r["late"], r["by"]) for r in row.reported] == [
        ("tiba", ["menuju_lokasi"], False, "op-a"), ("tiba", [], True, "op-a")]
    assert row.arrived_at == datetime.fromisoformat(row.reported[0]["at"])  # a repeat keeps the first time
    assert _notes(db, inc)[-2:] == [
        ("menuju_lokasi", "DMK-BTK-1 tiba tanpa laporan menuju lokasi / on scene without en-route report"),
        ("tiba", "DMK-BTK-1 tiba di lokasi")]
    step_audits = [a for a in _audits(db, mark) if a[0] != "incident.transition"]
    assert step_audits == [
        ("assignment.tiba", "incident", str(inc), "op-a", "10.1.1.1",
         {"status": "dikirim", "unit_status": "dikirim", "unit_id": u},
         {"status": "tiba", "unit_status": "tiba", "skipped": ["menuju_lokasi"], "late": False, "unit_id": u,
          "callsign": "DMK-BTK-1", "assignment_id": row.id}),
        ("unit_status", "unit", str(u), "op-a", "10.1.1.1", {"status": "dikirim"},
         {"status": "tiba", "incident_id": inc}),
        ("assignment.tiba", "incident", str(inc), "op-a", "10.1.1.1",
         {"status": "tiba", "unit_status": "tiba", "unit_id": u},
         {"status": "tiba", "unit_status": "tiba", "skipped": [], "late": True, "unit_id": u,
          "callsign": "DMK-BTK-1", "assignment_id": row.id}),
        ("unit_status", "unit", str(u), "op-a", "10.1.1.1", {"status": "tiba"}, {"status": "tiba", "incident_id": inc}),
    ]
    assert [(e["kind"], e["data"].get("changed")) for e in events] == [
        ("unit.updated", None), ("incident.updated", ["status", "units"]),
        ("unit.updated", None), ("incident.updated", ["units"])]
    assert events[0]["data"] == first.unit and events[2]["data"] == again.unit

    with db.sessions() as s:
        mark = s.scalar(select(func.max(AuditRecord.id)))
    (_, gone), events = run(db, lambda w: commands.release(w, inc, u, "  dibutuhkan di pos  "))
    [row] = rows(db, inc)
    assert (gone.incident_id, gone.status, gone.transitions, gone.skipped, gone.assignment_id) == (
        inc, "tiba", [], [], row.id)
    assert (row.status, row.release_reason, gone.unit["status"], gone.unit["incident_id"]) == (
        "dilepas", "dibutuhkan di pos", "kembali", None)
    assert _audits(db, mark) == [
        ("assignment.dilepas", "incident", str(inc), "op-a", "10.1.1.1",
         {"status": "tiba", "unit_status": "tiba", "unit_id": u},
         {"status": "dilepas", "unit_status": "kembali", "reason": "dibutuhkan di pos", "unit_id": u,
          "callsign": "DMK-BTK-1", "assignment_id": row.id}),
        ("unit_status", "unit", str(u), "op-a", "10.1.1.1", {"status": "tiba", "incident_id": inc},
         {"status": "kembali", "incident_id": None}),
    ]
    assert [(e["kind"], e["data"].get("changed")) for e in events] == [
        ("unit.updated", None), ("incident.updated", ["units"])]
    assert events[0]["data"] == gone.unit


@pytest.mark.parametrize(("status", "outcome", "reason"), [
    (None, "selesai", "kejadian berakhir / incident ended"),
    ("selesai", "selesai", "kejadian selesai / incident resolved"),
    ("ditutup", "selesai", "kejadian ditutup / incident closed"),
    ("batal", "dilepas", "kejadian batal / incident cancelled"),
])
def test_an_ending_call_closes_every_open_assignment_with_the_reason_of_its_end(db, units, status, outcome,
                                                                              reason) -> None:
    """Each open assignment is closed as the call ended (cancelled: released); a unit that had moved returns
    kembali, one that had not is tersedia, one taken off duty meanwhile stays so; audited once, each freed unit
    announced; a second pass finds nothing to do."""
    inc = call(db)
    moved, still, off = units["DMK-BTK-1"], units["AMB-BTK-1"], units["POL-BTK-1"]
    run(db, lambda w: (commands.dispatch(w, inc, [moved, still, off]), commands.en_route(w, inc, moved)))
    with db.sessions() as s:
        s.execute(update(Unit).where(Unit.id == off).values(status="offline"))
        s.commit()
        mark = s.scalar(select(func.max(AuditRecord.id)))

    def write(hub: EventHub) -> tuple[list[int], list[int]]:
        with db.sessions() as s:
            freed = release_units(s, inc, actor="op-b", hub=hub, client="10.2.2.2", status=status)
            again = release_units(s, inc, actor="op-b", hub=hub, client="10.2.2.2", status=status)
            s.commit()
            return freed, again

    (freed, again), events = asyncio.run(events_while(db, write))
    assert (freed, again) == (sorted([moved, still]), [])
    assigned = rows(db, inc)
    assert {(r.status, r.release_reason, r.released_by, r.released_at is not None) for r in assigned} == {
        (outcome, reason, "op-b", True)}
    assert unit_status(db, [moved, still, off]) == {moved: "kembali", still: "tersedia", off: "offline"}
    assert _audits(db, mark) == [("release_units", "incident", str(inc), "op-b", "10.2.2.2", None, {
        "released_assignments": [r.id for r in assigned], "units": freed, "outcome": outcome})]
    assert [(e["kind"], e["data"]["id"], e["data"]["status"], e["data"]["incident_id"]) for e in events] == [
        ("unit.updated", i, "kembali" if i == moved else "tersedia", None) for i in freed]


def _kept(row: DispatchAssignment) -> tuple:
    """What an assignment recorded: its step, its times and who set them, how it ended."""
    return (row.unit_id, row.status, row.actor, row.at, row.acknowledged_at, row.enroute_at, row.arrived_at,
            row.released_at, row.released_by, row.release_reason, row.diverted_to_id, row.reported)


def test_every_command_touches_only_the_open_assignment_it_is_about(db, units) -> None:
    """A unit released from a call, sent to it again, acknowledged, on scene, then diverted; another unit busy on a
    third call. A late report of the released unit is refused (its closed assignment is not reopened); the steps
    land on the new assignment; the divert closes that one only; the call's end closes only its own open rows. The
    earlier assignment keeps its own reason, and the other call keeps its unit. Each change of the unit's status
    raises its version by exactly one (the version a dispatcher's edit is checked against)."""
    first, urgent, bystander = call(db), call(db, category="penyelamatan"), call(db, category="medis")
    a, b, c = units["DMK-BTK-1"], units["AMB-BTK-1"], units["POL-BTK-1"]

    def sent_and_released(w: Writer) -> tuple[Any, Any, list]:
        sent = commands.dispatch(w, first, [a, b])[1]
        released = commands.release(w, first, a, "salah kirim")[1]
        return sent, released, refusals(lambda: commands.en_route(w, first, a))

    (sent, released, late), _ = run(db, sent_and_released)
    assert [type(e).__name__ for e in late] == ["UnitNotOnCallError"]
    [earlier, with_b] = rows(db, first)
    kept_earlier = _kept(earlier)
    assert kept_earlier[1] == "dilepas" and kept_earlier[5] is None and kept_earlier[9] == "salah kirim"

    def back_on_the_call(w: Writer) -> dict[str, Any]:
        out = {"again": commands.dispatch(w, first, [a])[1]}
        out["ack"] = commands.acknowledge(w, first, a)[1]
        out["arrived"] = commands.arrive(w, first, a)[1]  # acknowledged, then on scene without en route
        commands.dispatch(w, bystander, [c])
        out["diverted"] = commands.divert(w, urgent, [a])[1]
        return out

    out, _ = run(db, back_on_the_call)
    version = {"sent": sent.units[0]["version"], "released": released.unit["version"],
               "again": out["again"].units[0]["version"], "ack": out["ack"].unit["version"],
               "arrived": out["arrived"].unit["version"], "diverted": out["diverted"].units[0]["version"]}
    assert version == {"sent": version["sent"], "released": version["sent"] + 1, "again": version["sent"] + 2,
                       "ack": version["sent"] + 2, "arrived": version["sent"] + 3, "diverted": version["sent"] + 4}
    assert (out["arrived"].skipped, out["arrived"].unit["status"]) == (["menuju_lokasi"], "tiba")
    assert out["diverted"].diverted_from == [first]
    [_, _, second] = rows(db, first)
    assert (second.id, second.status, second.diverted_to_id) == (out["arrived"].assignment_id, "dialihkan", urgent)
    assert second.acknowledged_at <= second.arrived_at and second.enroute_at is None
    assert [(r["step"], r["skipped"], r["late"]) for r in second.reported] == [("tiba", ["menuju_lokasi"], False)]
    kept_second = _kept(second)

    with db.sessions() as s:
        freed = release_units(s, first, actor="op-b", status="selesai")
        s.commit()
    assert freed == [b]
    after = rows(db, first)
    assert [_kept(r) for r in after[::2]] == [kept_earlier, kept_second]
    assert (after[1].id, after[1].status, after[1].release_reason) == (
        with_b.id, "selesai", "kejadian selesai / incident resolved")
    # The other calls keep their units.
    assert [(r.unit_id, r.released_at) for r in rows(db, urgent) + rows(db, bystander)] == [(a, None), (c, None)]
    assert unit_status(db, [a, b, c]) == {a: "dikirim", b: "tersedia", c: "dikirim"}


def test_a_unit_is_refused_to_a_call_without_a_place_again_to_its_own_call_and_busy_without_divert(db,
                                                                                                   units) -> None:
    """Refusals that leave everything as it was: a busy unit sent by a caller that does not say divert (the default
    is not to divert); a unit diverted to the call it already serves; a unit taken off duty while on this call
    (refused as off duty, not as busy); a call that lost its place; a release without any reason."""
    inc, other, placeless = call(db), call(db, category="penyelamatan"), call(db, category="medis")
    busy, off = units["DMK-BTK-1"], units["DMK-BTK-2"]
    run(db, lambda w: (commands.dispatch(w, other, [busy]), commands.dispatch(w, inc, [off])))
    with db.sessions() as s:
        s.execute(update(Unit).where(Unit.id == off).values(status="offline"))
        s.execute(update(Incident).where(Incident.id == placeless).values(geom=None))
        s.commit()
        numbers = {i: s.get(Incident, i).number for i in (inc, other)}
    before = {i: [_kept(r) for r in rows(db, i)] for i in (inc, other)}

    with db.sessions() as s:
        with pytest.raises(UnitsUnavailableError) as default:
            dispatch_units(s, s.get(Incident, inc), [busy], actor="op-a")
        s.rollback()
    refused, _ = run(db, lambda w: refusals(
        lambda: commands.divert(w, other, [busy]),
        lambda: commands.dispatch(w, inc, [off], divert=True),
        lambda: commands.dispatch(w, placeless, [units["AMB-BTK-1"]]),
        lambda: commands.release(w, other, busy, None),
    ))
    own, off_duty, nowhere, no_reason = refused
    assert [(u["callsign"], u["reason"], u["message_en"]) for u in default.value.units] == [
        ("DMK-BTK-1", "busy", f"busy on {numbers[other]}; send with 'divert'")]
    assert [(u["callsign"], u["reason"], u["incident_id"]) for u in own.units] == [("DMK-BTK-1", "busy", other)]
    assert [(u["callsign"], u["reason"], u["incident_id"], u["message_id"]) for u in off_duty.units] == [
        ("DMK-BTK-2", "offline", inc, "unit offline")]
    assert (type(nowhere).__name__, nowhere.field) == ("NeedsLocationError", "location")
    assert (type(no_reason).__name__, no_reason.field, no_reason.message_id, no_reason.message_en) == (
        "InvalidInput", "reason", "Alasan wajib diisi", "A reason is required")
    assert {i: [_kept(r) for r in rows(db, i)] for i in (inc, other)} == before
    assert rows(db, placeless) == []
    assert unit_status(db, [busy, off, units["AMB-BTK-1"]]) == {busy: "dikirim", off: "offline",
                                                               units["AMB-BTK-1"]: "tersedia"}


def test_an_assignment_in_a_state_this_version_does_not_name_is_shown_under_its_own_name(db, units) -> None:
    """A row whose status has no label here (written by a later version, or by hand) still shows, its status
    standing for its labels, rather than costing the call its whole list of units."""
    inc = call(db)
    run(db, lambda w: commands.dispatch(w, inc, [units["AMB-BTK-1"]]))
    with db.sessions() as s:
        s.execute(update(DispatchAssignment).where(DispatchAssignment.incident_id == inc).values(status="ditunda"))
        s.commit()
        [shown] = assignments_of(s, [inc])[inc]
    assert (shown["status"], shown["status_label_id"], shown["status_label_en"], shown["open"]) == (
        "ditunda", "ditunda", "ditunda", True)
