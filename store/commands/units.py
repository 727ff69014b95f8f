"""Unit commands: report a position, and the release step of ending an incident.

Each runs in one transaction of its :class:`~store.commands.Writer` and announces ``unit.updated`` through the
writer's hub. Sending units and their steps on a call are ``store.commands.assignments``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from geo.coords import check_point
from geo.errors import Conflict, InvalidInput, NotFound
from geo.times import iso_utc, utcnow
from store.commands.writer import Writer
from store.dispatch import release_units
from store.incidents import Incident
from store.units import Unit, UnitRows, read_units, unit_audit, unit_fields

__all__ = ["FUTURE_TOLERANCE", "release", "set_position"]

# A handset clock a little ahead of the server's is not an error; a position from the future is.
FUTURE_TOLERANCE = timedelta(minutes=2)


class UnitNotFoundError(NotFound):
    """No unit with this id."""

    def __init__(self, unit_id: int) -> None:
        super().__init__(f"Unit {unit_id} tidak ditemukan", f"Unit {unit_id} not found", field="unit_id")


def set_position(
    w: Writer,
    unit_id: int,
    *,
    lon: float,
    lat: float,
    at: datetime | None,
    bounds: tuple[float, float, float, float],
) -> UnitRows:
    """Store a unit's position (AVL report) inside `bounds` (lon/lat box); the unit as it now is.

    Refused: coordinates that are no WGS84 point or lie outside `bounds`, a time without a zone or in the
    future (InvalidInput), an unknown unit (NotFound), a report older than the stored one (Conflict).
    """
    lon, lat = check_point(lon, lat)
    x0, y0, x1, y1 = bounds
    if not (x0 <= lon <= x1 and y0 <= lat <= y1):
        raise InvalidInput(
            f"Posisi ({lon}, {lat}) di luar Kalimantan; periksa koordinat unit",
            f"Position ({lon}, {lat}) is outside Kalimantan; check the unit's coordinates",
            field="lon",
            allowed_bbox=[round(v, 4) for v in bounds],
        )
    now = utcnow()
    if at is not None:
        if at.tzinfo is None:
            raise InvalidInput(
                "'at' harus menyertakan zona waktu (mis. ...Z atau +07:00)",
                "'at' must carry a time zone (e.g. ...Z or +07:00)",
                field="at",
            )
        if at > now + FUTURE_TOLERANCE:
            raise InvalidInput("'at' ada di masa depan", "'at' is in the future", field="at")
    with w.transaction() as session:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise UnitNotFoundError(unit_id)
        if at is not None and unit.position_at is not None and at < unit.position_at:
            raise Conflict(
                "Posisi ini lebih lama dari posisi yang tersimpan",
                "This position is older than the stored one",
                field="at",
                stored_position_at=iso_utc(unit.position_at),
            )
        [before] = unit_fields(read_units(session, ids=[unit_id]))
        unit.geom = f"SRID=4326;POINT({lon!r} {lat!r})"
        unit.position_at = at or now
        unit.version = unit.version + 1
        session.flush()
        rows = read_units(session, ids=[unit_id])
        [after] = unit_fields(rows)
        w.audit(session, action="unit_position", entity="unit", entity_id=unit_id, before=unit_audit(before),
                after=unit_audit(after))
        w.publish(session, "unit.updated", after)
        session.commit()
        return rows


def release(w: Writer, session: Session, incident: Incident) -> list[int]:
    """The step of ending an incident: its open assignments closed, its units tersedia again (announced).

    Runs inside the ending command's transaction; returns the ids of the units freed.
    """
    return release_units(session, incident.id, actor=w.actor, hub=w.hub, client=w.client, status=incident.status)
