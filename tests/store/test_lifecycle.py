"""Incident lifecycle: every legal transition, illegal ones, labels and response intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from store.lifecycle import (
    LABELS,
    OPEN_STATES,
    TERMINAL_STATES,
    IllegalTransitionError,
    IncidentState,
    UnknownStateError,
    allowed_transitions,
    check_transition,
    initial_state,
    is_open,
    parse_state,
    response_intervals,
)

S = IncidentState

LEGAL = {
    (S.PERLU_LOKASI, S.BARU),
    (S.PERLU_LOKASI, S.BATAL),
    (S.BARU, S.DIVERIFIKASI),
    (S.BARU, S.BATAL),
    (S.DIVERIFIKASI, S.DIKIRIM),
    (S.DIVERIFIKASI, S.BATAL),
    (S.DIKIRIM, S.MENUJU_LOKASI),
    (S.DIKIRIM, S.BATAL),
    (S.MENUJU_LOKASI, S.TIBA),
    (S.MENUJU_LOKASI, S.BATAL),
    (S.TIBA, S.SELESAI),
    (S.TIBA, S.BATAL),
    (S.SELESAI, S.DITUTUP),
}


@pytest.mark.parametrize(("current", "requested"), sorted(LEGAL))
def test_every_legal_transition_is_accepted(current: S, requested: S) -> None:
    assert check_transition(current, requested) is requested
    assert check_transition(current.value, requested.value) is requested
    assert requested in allowed_transitions(current)


ILLEGAL = sorted(set(itertools.product(IncidentState, IncidentState)) - LEGAL)


def test_transition_table_is_exactly_the_legal_set() -> None:
    table = {(s, t) for s in IncidentState for t in allowed_transitions(s)}
    assert table == LEGAL
    assert len(ILLEGAL) == 81 - 13


@pytest.mark.parametrize(("current", "requested"), ILLEGAL)
def test_every_illegal_transition_is_refused_naming_the_allowed(current: S, requested: S) -> None:
    with pytest.raises(IllegalTransitionError) as info:
        check_transition(current, requested)
    err = info.value
    assert (err.current, err.requested) == (current, requested)
    assert err.allowed == allowed_transitions(current)
    text = str(err)
    assert "tidak diizinkan" in text and "not allowed" in text
    for state in err.allowed:
        assert state.value in text


def test_specific_refusals_read_well() -> None:
    with pytest.raises(IllegalTransitionError) as info:
        check_transition("baru", "tiba")
    assert "diverifikasi" in str(info.value) and "batal" in str(info.value)
    with pytest.raises(IllegalTransitionError) as info:
        check_transition("ditutup", "baru")
    assert info.value.allowed == ()
    assert "final state" in str(info.value)
    with pytest.raises(IllegalTransitionError):
        check_transition("selesai", "batal")  # resolved is not open
    with pytest.raises(IllegalTransitionError):
        check_transition("baru", "baru")  # no silent self-transition


def test_open_terminal_and_initial_states() -> None:
    assert S.SELESAI not in OPEN_STATES and S.DITUTUP not in OPEN_STATES and S.BATAL not in OPEN_STATES
    assert {S.DITUTUP, S.BATAL} == TERMINAL_STATES
    for state in TERMINAL_STATES:
        assert allowed_transitions(state) == ()
    assert is_open("perlu_lokasi") and is_open(S.TIBA) and not is_open("selesai")
    assert initial_state(has_location=True) is S.BARU
    assert initial_state(has_location=False) is S.PERLU_LOKASI


def test_every_state_reaches_ditutup_or_batal() -> None:
    for state in IncidentState:
        seen, frontier = {state}, [state]
        while frontier:
            nxt = [t for s in frontier for t in allowed_transitions(s) if t not in seen]
            seen.update(nxt)
            frontier = nxt
        assert seen & TERMINAL_STATES, state


def test_labels_cover_every_state_in_both_languages() -> None:
    assert set(LABELS) == set(IncidentState)
    assert LABELS[S.MENUJU_LOKASI].id == "Menuju lokasi"
    assert LABELS[S.MENUJU_LOKASI].en == "En route"
    assert all(label.id and label.en for label in LABELS.values())


def test_unknown_state_lists_valid_codes() -> None:
    with pytest.raises(UnknownStateError) as info:
        parse_state("onscene")
    assert "menuju_lokasi" in str(info.value) and "Unknown state" in str(info.value)
    with pytest.raises(UnknownStateError):
        check_transition("baru", "dispatched")
    assert parse_state(" Baru ") is S.BARU


T0 = datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC)


def test_response_intervals_full_run() -> None:
    run = [
        ("baru", T0),
        ("diverifikasi", T0 + timedelta(seconds=40)),
        ("dikirim", T0 + timedelta(seconds=95)),
        ("menuju_lokasi", T0 + timedelta(seconds=130)),
        ("tiba", T0 + timedelta(minutes=14, seconds=5)),
        ("selesai", T0 + timedelta(hours=1, minutes=2)),
        ("ditutup", T0 + timedelta(hours=3)),
    ]
    got = response_intervals(run)
    assert got.call_to_dispatch_s == 95
    assert got.dispatch_to_scene_s == 14 * 60 + 5 - 95
    assert got.call_to_resolved_s == 3720
    # Order of the list does not matter.
    assert response_intervals(reversed(run)) == got


def test_response_intervals_partial_and_needs_location() -> None:
    run = [
        ("perlu_lokasi", T0),
        ("baru", T0 + timedelta(minutes=3)),
        ("diverifikasi", T0 + timedelta(minutes=4)),
        ("dikirim", T0 + timedelta(minutes=5)),
    ]
    got = response_intervals(run)
    # The call started when it was recorded without a location, not when it was located.
    assert got.call_to_dispatch_s == 300
    assert got.dispatch_to_scene_s is None
    assert got.call_to_resolved_s is None
    empty = response_intervals([])
    assert (empty.call_to_dispatch_s, empty.dispatch_to_scene_s, empty.call_to_resolved_s) == (
        None,
        None,
        None,
    )
    cancelled = response_intervals([("baru", T0), ("batal", T0 + timedelta(minutes=1))])
    assert cancelled.call_to_resolved_s is None


def test_response_intervals_mixed_offsets_and_naive_times() -> None:
    wib = timezone(timedelta(hours=7))
    got = response_intervals(
        [("baru", T0), ("diverifikasi", T0), ("dikirim", (T0 + timedelta(seconds=60)).astimezone(wib))]
    )
    assert got.call_to_dispatch_s == 60
    with pytest.raises(ValueError, match="UTC"):
        response_intervals([("baru", datetime(2026, 3, 1, 9, 0))])
