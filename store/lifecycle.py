"""Incident lifecycle: states, legal transitions and response intervals (pure, no database).

    perlu_lokasi -> baru -> diverifikasi -> dikirim -> menuju_lokasi -> tiba -> selesai -> ditutup
                    any open state -> batal

``perlu_lokasi`` is where an incident created without a location waits (a call is never refused
for lack of a place); it moves to ``baru`` once located. Open states are everything before
``selesai``: a resolved incident is no longer cancellable (cancelling would erase the record that
responders did attend), and ``ditutup``/``batal`` are terminal. Skipping a step is not allowed, so
every derived interval rests on a recorded timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from geo.errors import Conflict, InvalidInput

__all__ = [
    "DEFAULT_STATE_TIMERS",
    "IllegalTransitionError",
    "IncidentState",
    "LABELS",
    "OPEN_STATES",
    "ResponseIntervals",
    "StateLabel",
    "TERMINAL_STATES",
    "UnknownStateError",
    "allowed_transitions",
    "check_transition",
    "initial_state",
    "is_open",
    "parse_state",
    "response_intervals",
]


class IncidentState(StrEnum):
    """Incident states; values are the stored codes."""

    PERLU_LOKASI = "perlu_lokasi"
    BARU = "baru"
    DIVERIFIKASI = "diverifikasi"
    DIKIRIM = "dikirim"
    MENUJU_LOKASI = "menuju_lokasi"
    TIBA = "tiba"
    SELESAI = "selesai"
    DITUTUP = "ditutup"
    BATAL = "batal"


@dataclass(frozen=True, slots=True)
class StateLabel:
    """Human labels of a state in Indonesian and English."""

    id: str
    en: str


S = IncidentState

LABELS: dict[IncidentState, StateLabel] = {
    S.PERLU_LOKASI: StateLabel("Perlu lokasi", "Needs location"),
    S.BARU: StateLabel("Baru", "New"),
    S.DIVERIFIKASI: StateLabel("Diverifikasi", "Verified"),
    S.DIKIRIM: StateLabel("Dikirim", "Dispatched"),
    S.MENUJU_LOKASI: StateLabel("Menuju lokasi", "En route"),
    S.TIBA: StateLabel("Tiba di lokasi", "On scene"),
    S.SELESAI: StateLabel("Selesai", "Resolved"),
    S.DITUTUP: StateLabel("Ditutup", "Closed"),
    S.BATAL: StateLabel("Batal", "Cancelled"),
}

_FORWARD: dict[IncidentState, IncidentState] = {
    S.PERLU_LOKASI: S.BARU,
    S.BARU: S.DIVERIFIKASI,
    S.DIVERIFIKASI: S.DIKIRIM,
    S.DIKIRIM: S.MENUJU_LOKASI,
    S.MENUJU_LOKASI: S.TIBA,
    S.TIBA: S.SELESAI,
    S.SELESAI: S.DITUTUP,
}

OPEN_STATES: frozenset[IncidentState] = frozenset(
    {S.PERLU_LOKASI, S.BARU, S.DIVERIFIKASI, S.DIKIRIM, S.MENUJU_LOKASI, S.TIBA}
)
TERMINAL_STATES: frozenset[IncidentState] = frozenset({S.DITUTUP, S.BATAL})

_ALLOWED: dict[IncidentState, tuple[IncidentState, ...]] = {
    state: tuple(s for s in (_FORWARD.get(state), S.BATAL if state in OPEN_STATES else None) if s is not None)
    for state in IncidentState
}


class UnknownStateError(InvalidInput, ValueError):
    """A state code that is not one of IncidentState; lists the valid codes."""

    def __init__(self, value: object, *, field: str = "status") -> None:
        self.value = value
        codes = [s.value for s in IncidentState]
        valid = ", ".join(codes)
        super().__init__(
            f"Status tidak dikenal '{value}'; yang sah: {valid}",
            f"Unknown state '{value}'; valid: {valid}",
            field=field,
            valid=codes,
        )


class IllegalTransitionError(Conflict, ValueError):
    """A transition the lifecycle does not allow; names the allowed ones."""

    def __init__(
        self,
        current: IncidentState,
        requested: IncidentState,
        allowed: tuple[IncidentState, ...],
        *,
        field: str = "to",
    ) -> None:
        self.current = current
        self.requested = requested
        self.allowed = allowed
        ids = ", ".join(f"{s.value} ({LABELS[s].id})" for s in allowed) or "tidak ada (status akhir)"
        ens = ", ".join(f"{s.value} ({LABELS[s].en})" for s in allowed) or "none (final state)"
        super().__init__(
            f"Perubahan status dari '{current.value}' ke '{requested.value}' tidak diizinkan; yang diizinkan: {ids}",
            f"Transition from '{current.value}' to '{requested.value}' is not allowed; allowed: {ens}",
            field=field,
            current=current.value,
            allowed=[s.value for s in allowed],
        )


@dataclass(frozen=True, slots=True)
class ResponseIntervals:
    """Response intervals in seconds; None where the later state was never reached."""

    call_to_dispatch_s: float | None
    dispatch_to_scene_s: float | None
    call_to_resolved_s: float | None


def parse_state(value: str | IncidentState, *, field: str = "status") -> IncidentState:
    """Turn a state code into IncidentState, raising UnknownStateError (naming `field`) listing valid codes."""
    if isinstance(value, IncidentState):
        return value
    try:
        return IncidentState(str(value).strip().lower())
    except ValueError:
        raise UnknownStateError(value, field=field) from None


def initial_state(*, has_location: bool) -> IncidentState:
    """The state a new incident starts in: baru when located, perlu_lokasi otherwise."""
    return S.BARU if has_location else S.PERLU_LOKASI


def is_open(state: str | IncidentState) -> bool:
    """True while an incident still needs work (before selesai, not cancelled)."""
    return parse_state(state) in OPEN_STATES


def allowed_transitions(state: str | IncidentState) -> tuple[IncidentState, ...]:
    """States reachable from `state` in one step, forward step first."""
    return _ALLOWED[parse_state(state)]


def check_transition(current: str | IncidentState, requested: str | IncidentState) -> IncidentState:
    """Return the requested state if the move is legal, else raise IllegalTransitionError."""
    cur, req = parse_state(current), parse_state(requested)
    allowed = _ALLOWED[cur]
    if req not in allowed:
        raise IllegalTransitionError(cur, req, allowed)
    return req


def response_intervals(
    transitions: Iterable[tuple[str | IncidentState, datetime]],
) -> ResponseIntervals:
    """Derive call->dispatch, dispatch->on scene and call->resolved seconds from timestamped states."""
    first: dict[IncidentState, datetime] = {}
    call: datetime | None = None
    for raw_state, at in transitions:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(
                f"Waktu transisi '{at.isoformat()}' tanpa zona waktu; gunakan UTC / "
                f"Transition time '{at.isoformat()}' has no time zone; use UTC"
            )
        state = parse_state(raw_state)
        # The call is when the incident was first recorded, whatever its first state.
        if call is None or at < call:
            call = at
        if state not in first or at < first[state]:
            first[state] = at

    def span(start: datetime | None, end: datetime | None) -> float | None:
        return None if start is None or end is None else (end - start).total_seconds()

    dispatched, on_scene, resolved = first.get(S.DIKIRIM), first.get(S.TIBA), first.get(S.SELESAI)
    return ResponseIntervals(
        call_to_dispatch_s=span(call, dispatched),
        dispatch_to_scene_s=span(dispatched, on_scene),
        call_to_resolved_s=span(call, resolved),
    )


# Time in state (seconds) after which an open call turns amber, then red, per state and priority. In the
# spirit of NFPA 1221/1225 and 1710: a P1 call is processed (answered to dispatched) within 60 s, crews turn
# out within 60-80 s; travel and on-scene limits are rural (Barito Selatan's distances, its river).
DEFAULT_STATE_TIMERS: dict[str, dict[str, tuple[float, float]]] = {
    S.PERLU_LOKASI.value: {"P1": (30, 60), "P2": (60, 120), "P3": (120, 300)},
    S.BARU.value: {"P1": (30, 60), "P2": (60, 120), "P3": (120, 300)},
    S.DIVERIFIKASI.value: {"P1": (30, 60), "P2": (60, 120), "P3": (180, 300)},
    S.DIKIRIM.value: {"P1": (60, 90), "P2": (90, 180), "P3": (180, 300)},
    S.MENUJU_LOKASI.value: {"P1": (600, 900), "P2": (900, 1800), "P3": (1800, 3600)},
    S.TIBA.value: {"P1": (1800, 3600), "P2": (3600, 7200), "P3": (7200, 14400)},
}
