"""Incidents as the API shows them: IncidentPublic, a page of them (JSON or GeoJSON), the place search answer.

:func:`incident_public` is the one serializer of an incident; the audit record and the live event carry
projections of the stored columns (``store.incidents.AUDIT_FIELDS`` / ``EVENT_FIELDS``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.schemas import Schema
from api.schemas.assignments import AgencyContactOut, AssignmentOut
from geo.placenames import MatchStatus
from geo.times import format_wib, iso_utc
from store.catalog import Catalog, UnknownCategoryError
from store.incidents import Incident, IncidentRecord, intervals_of
from store.lifecycle import LABELS, IncidentState, parse_state

__all__ = [
    "IncidentFeatureCollection",
    "IncidentPage",
    "IncidentPublic",
    "PlaceSearch",
    "incident_public",
]

# Within this distance of the river centre line a call counts as on the water: boats join its unit types.
ON_WATER_M = 500.0


class AgencyRef(Schema):
    """An agency by code and name."""

    code: str
    name_id: str
    name_en: str


class Agencies(Schema):
    """The agencies a category goes to."""

    primary: list[AgencyRef]
    supporting: list[AgencyRef]


class TransitionOut(Schema):
    """A state the incident entered: when (UTC ISO-8601 and WIB), from which state, by whom, why."""

    status: IncidentState
    from_: IncidentState | None = Field(alias="from")
    at: str
    at_wib: str
    by: str | None
    note: str | None


class NoteOut(Schema):
    """A line of the call log: when (UTC ISO-8601 and WIB), by whom, what."""

    id: int
    at: str
    at_wib: str
    by: str | None
    text: str


class Intervals(Schema):
    """Response intervals in seconds (None until the later state is reached)."""

    call_to_dispatch_s: float | None
    dispatch_to_scene_s: float | None
    call_to_resolved_s: float | None


class PossibleDuplicate(Schema):
    """An open incident of the same category near in space and time."""

    id: int
    number: str | None
    distance_m: float
    minutes_apart: float


class IncidentPublic(Schema):
    """One call: what, where (possibly not known yet), its state and history, who answers it."""

    id: int
    number: str
    category: str
    category_label_id: str
    category_label_en: str
    status: IncidentState
    status_label_id: str
    status_label_en: str
    description: str | None
    caller_name: str | None
    caller_phone: str | None
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    location_source: Literal["coordinates", "place", "aml"] | None
    location: dict[str, Any] | None = Field(description="the locate answer (with place or AML details)")
    desa_code: str | None
    desa_name: str | None
    kecamatan_code: str | None
    kecamatan_name: str | None
    inside_regency: bool | None
    possible_duplicates: list[PossibleDuplicate]
    agencies: Agencies
    unit_types: list[str]
    version: int
    created_by: str | None
    created_at: str
    created_at_wib: str
    updated_at: str
    updated_at_wib: str
    transitions: list[TransitionOut]
    intervals: Intervals
    merged_into: int | None
    merged_from: list[int]
    # Units on the call (issue 15): filled for one incident and for lists alike; see api.schemas.assignments.
    assignments: list[AssignmentOut] = Field(default_factory=list)
    agency_contacts: list[AgencyContactOut] = Field(default_factory=list)
    priority: Literal["P1", "P2", "P3"] = Field(description="P1 nyawa terancam / life at risk now; P2; P3")
    disposition: str | None = Field(description="mengapa berakhir (katalog) / why it ended (catalog)")
    disposition_label_id: str | None
    disposition_label_en: str | None
    claimed_by: str | None = Field(description="operator yang menangani / operator who has taken the call")
    claimed_at: str | None
    state_since: str = Field(description="sejak kapan dalam status ini (UTC) / in this state since (UTC)")
    notes: list[NoteOut] = Field(description="catatan panggilan, terbaru dulu / call log, newest first")


class IncidentPage(Schema):
    """One page of incidents, newest first; `total` is counted up to 200 (`total_capped`: there are more)."""

    total: int
    total_capped: bool = False
    limit: int
    offset: int
    returned: int
    items: list[IncidentPublic]


class PointGeometry(Schema):
    """A GeoJSON point, [lon, lat] WGS84."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class IncidentFeature(Schema):
    """An incident as a GeoJSON feature (no geometry while it has no location)."""

    type: Literal["Feature"]
    id: int
    geometry: PointGeometry | None
    properties: IncidentPublic


class IncidentFeatureCollection(Schema):
    """One page of incidents as GeoJSON."""

    type: Literal["FeatureCollection"]
    features: list[IncidentFeature]
    numberMatched: int
    numberReturned: int
    total: int
    total_capped: bool = False
    limit: int
    offset: int
    returned: int


class PlaceOut(Schema):
    """A desa/kelurahan, kecamatan or kabupaten and its representative point."""

    name: str
    kind: str
    code: str
    parent: str
    lon: float
    lat: float


class FoundPlace(PlaceOut):
    """The place a name means, with the radius a call placed there gets as its accuracy."""

    radius_m: float | None


class PlaceCandidateOut(PlaceOut):
    """A candidate place and its similarity to the query (0-100)."""

    score: float


class PlaceSearch(Schema):
    """What a place name means: one place (exact, close) or only candidates (ambiguous, not found)."""

    query: str
    status: MatchStatus
    place: FoundPlace | None
    candidates: list[PlaceCandidateOut]


_NO_VIEW: dict[str, Any] = {"agencies": {"primary": [], "supporting": []}, "unit_types": []}


def incident_public(
    incident: Incident | IncidentRecord,
    catalog: Catalog,
    merged_from: list[int] | None = None,
    *,
    units: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], []),
) -> dict[str, Any]:
    """The IncidentPublic document of an incident (`merged_from`: ids of the incidents merged into it).

    `units`: its assignments and agency contacts (``store.dispatch.assignments_of`` / ``contacts_of``).
    """
    state = parse_state(incident.status)
    loc = incident.location or {}
    river = (loc.get("river") or {}).get("distance_m")
    try:
        # Its circle (point and accuracy) reaching the river counts: a call placed by a village name by the river.
        near = river is not None and river <= ON_WATER_M + (incident.accuracy_m or 0.0)
        view = catalog.incident_view(incident.category, on_water=near)
    except UnknownCategoryError:
        # A category removed from the catalog after the call was recorded: keep serving the call.
        view = _NO_VIEW | {"category_label_id": incident.category, "category_label_en": incident.category}
    disposition = _disposition_labels(catalog, incident.disposition)
    return {
        "id": incident.id,
        "number": incident.number,
        "category": incident.category,
        "category_label_id": view["category_label_id"],
        "category_label_en": view["category_label_en"],
        "status": state.value,
        "status_label_id": LABELS[state].id,
        "status_label_en": LABELS[state].en,
        "description": incident.description,
        "caller_name": incident.caller_name,
        "caller_phone": incident.caller_phone,
        "lon": incident.lon,
        "lat": incident.lat,
        "accuracy_m": incident.accuracy_m,
        "location_source": incident.location_source,
        "location": incident.location,
        "desa_code": incident.desa_code,
        "desa_name": (loc.get("desa") or {}).get("name") if incident.desa_code else None,
        "kecamatan_code": incident.kecamatan_code,
        "kecamatan_name": (loc.get("kecamatan") or {}).get("name") if incident.kecamatan_code else None,
        "inside_regency": incident.inside_regency,
        "possible_duplicates": incident.possible_duplicates or [],
        "agencies": view["agencies"],
        "unit_types": view["unit_types"],
        "version": incident.version,
        "created_by": incident.created_by,
        "created_at": iso_utc(incident.created_at),
        "created_at_wib": format_wib(incident.created_at),
        "updated_at": iso_utc(incident.updated_at),
        "updated_at_wib": format_wib(incident.updated_at),
        "transitions": [
            {
                "status": t.status,
                "from": t.from_status,
                "at": iso_utc(t.at),
                "at_wib": format_wib(t.at),
                "by": t.actor,
                "note": t.note,
            }
            for t in incident.transitions
        ],
        "intervals": intervals_of(incident),
        "merged_into": incident.merged_into_id,
        "merged_from": merged_from or [],
        "assignments": units[0],
        "agency_contacts": units[1],
        "priority": incident.priority or "P2",
        "disposition": incident.disposition,
        "disposition_label_id": disposition[0],
        "disposition_label_en": disposition[1],
        "claimed_by": incident.claimed_by,
        "claimed_at": iso_utc(incident.claimed_at),
        "state_since": iso_utc(max((t.at for t in incident.transitions), default=incident.created_at)),
        "notes": [
            {"id": n.id, "at": iso_utc(n.at), "at_wib": format_wib(n.at), "by": n.actor, "text": n.text}
            for n in sorted(getattr(incident, "notes", None) or (), key=lambda n: n.id, reverse=True)
        ],
    }


def _disposition_labels(catalog: Catalog, code: str | None) -> tuple[str | None, str | None]:
    """The Indonesian and English labels of a disposition (the code itself when the catalog dropped it)."""
    if code is None:
        return None, None
    for d in catalog.dispositions:
        if d.code == code:
            return d.label_id, d.label_en
    return code, code


def incident_feature(item: dict[str, Any]) -> dict[str, Any]:
    """An IncidentPublic document as a GeoJSON feature."""
    point = None if item["lon"] is None else {"type": "Point", "coordinates": [item["lon"], item["lat"]]}
    return {"type": "Feature", "id": item["id"], "geometry": point, "properties": item}
