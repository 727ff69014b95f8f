"""The call card's store half on both backends (issue 16): history counts stop at the cap, phone and number
conditions, open calls near a point, the phone digits kept on edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from store.incidents import (
    COUNT_CAP,
    Incident,
    IncidentFilter,
    IncidentNote,
    create_incident,
    list_incidents,
    load_incident,
    phone_digits,
)
from store.search import open_calls_near, search_calls

T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _bulk(session, n: int, **extra) -> None:
    rows = [
        {"id": 10_000 + i, "number": f"112-20261206-{9000 + i:04d}", "category": "medis", "status": "ditutup",
         "description": "pingsan di pasar", "version": 1, "created_at": T0 + timedelta(seconds=i),
         "updated_at": T0 + timedelta(seconds=i), "priority": "P2", "disposition": "selesai_ditangani"} | extra
        for i in range(n)
    ]
    session.execute(insert(Incident.__table__), rows)


def test_history_counts_stop_at_the_cap_but_pages_go_on(db) -> None:
    with db.sessions() as s:
        _bulk(s, COUNT_CAP + 5)
        s.commit()
        total, page = list_incidents(s, IncidentFilter(text="PASAR"), limit=20)
        assert total == COUNT_CAP and len(page) == 20
        total, page = list_incidents(s, IncidentFilter(text="pasar"), limit=20, offset=COUNT_CAP)
        assert len(page) == 5  # the rows past the cap are still there to page through
        total, _ = list_incidents(s, IncidentFilter(text="pasar", since=T0 + timedelta(seconds=COUNT_CAP)))
        assert total == 5


def test_phone_digits_and_number_conditions(db) -> None:
    assert phone_digits("+62 812-3456-7890") == phone_digits("0812 3456 7890") == "081234567890"
    assert phone_digits("62812345678901") == "0812345678901" and phone_digits("112") == "112"
    with db.sessions() as s:
        a = create_incident(s, category="medis", actor="op1", caller_phone="+62 819-9999-1234", at=T0)
        b = create_incident(s, category="medis", actor="op1", caller_phone="0820 1111", at=T0)
        s.commit()
        got = lambda **f: [r.id for r in list_incidents(s, IncidentFilter(**f))[1]]  # noqa: E731
        assert got(phone="0819 9999") == [a.id]  # a prefix ending in 9: the range's upper end carries
        assert got(phone="+62 82") == [b.id] and got(phone="08") == [b.id, a.id] and got(phone="abc") == []
        assert got(number=a.number) == [a.id] and got(number=a.number.lower()) == [a.id]
        assert set(got(number="112-2026")) == {a.id, b.id} and got(number="112-2026%") == []
        # An edited phone gets new digits.
        inc = load_incident(s, a.id)
        inc.caller_phone = "0813 7777"
        s.commit()
        assert got(phone="0813") == [a.id] and got(phone="0819") == []
        assert [c["id"] for c in search_calls(s, "0813-7777")] == [a.id]


def test_open_calls_near_ignore_ended_merged_old_and_far(db) -> None:
    with db.sessions() as s:
        here = create_incident(s, category="banjir", actor="x", lon=114.85, lat=-1.71, at=T0)
        old = create_incident(s, category="medis", actor="x", lon=114.85, lat=-1.71, at=T0 - timedelta(minutes=90))
        far = create_incident(s, category="medis", actor="x", lon=114.86, lat=-1.71, at=T0)  # ~1.1 km
        ended = create_incident(s, category="medis", actor="x", lon=114.85, lat=-1.71, at=T0)
        ended.status = "batal"
        s.commit()
        found = open_calls_near(s, lon=114.8501, lat=-1.7101, at=T0 + timedelta(minutes=5), radius_m=1000, minutes=60)
        assert [f["id"] for f in found] == [here.id]
        assert found[0]["minutes_ago"] == 5.0 and found[0]["distance_m"] < 20
        wide = open_calls_near(s, lon=114.8501, lat=-1.7101, at=T0 + timedelta(minutes=5), radius_m=1500,
                               minutes=120)
        assert {f["id"] for f in wide} == {here.id, old.id, far.id}


def test_a_command_refuses_an_unknown_priority(db) -> None:
    import pytest

    from geo.errors import InvalidInput
    from store.catalog import load_catalog
    from store.commands import Writer
    from store.commands import incidents as commands
    from store.events import EventHub

    with db.sessions() as s:
        inc = create_incident(s, category="medis", actor="x", lon=114.85, lat=-1.71, at=T0)
        s.commit()
    w = Writer(db.sessions, EventHub(db.engine), actor="op")
    with pytest.raises(InvalidInput) as err:
        commands.update(w, inc.id, version=1, changes={"priority": "P0"}, location=None, catalog=load_catalog())
    assert err.value.field == "priority"
    done = commands.update(w, inc.id, version=1, changes={"priority": "P3"}, location=None, catalog=load_catalog())
    assert done.incident.priority == "P3"


def test_number_part_and_words_in_notes_found_through_the_search_indexes(db) -> None:
    """The last digits of a call number (trigram index, kept on insert, renumber and delete) and a word in a
    note (correlated lookup) find the same calls as a plain scan would; wildcards and short parts stay literal."""
    with db.sessions() as s:
        _bulk(s, 30)
        s.commit()
        got = lambda **f: [r.id for r in list_incidents(s, IncidentFilter(**f), limit=50)[1]]  # noqa: E731
        assert got(number="9017") == [10_017] and got(number="-9017") == [10_017]
        assert got(number="9999") == [] and got(number="017") == [10_017]
        assert got(number="17") == [10_017]  # under three characters: no trigram, still found
        assert got(number="9%1") == [] and got(number="9_17") == [] and got(number="\\") == []
        assert len(got(number="1206-90")) == 30
        inc = load_incident(s, 10_017)
        inc.number = "112-20261206-7777"  # a renumbered call moves in the index
        s.commit()
        assert got(number="9017") == [] and got(number="7777") == [10_017]
        s.delete(load_incident(s, 10_018))
        s.commit()
        assert got(number="9018") == []
        a = create_incident(s, category="medis", actor="op1", description="jatuh", at=T0)
        s.commit()
        assert got(text="klotok") == []
        s.add(IncidentNote(incident_id=a.id, at=T0, actor="op1", text="Korban di KLOTOK"))
        s.commit()
        assert got(text="klotok") == [a.id] and got(text="klotok jatuh") == [a.id]
        assert got(text="klotok pasar") == []
