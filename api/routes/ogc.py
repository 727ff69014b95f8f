"""OGC API - Features (Part 1 Core, GeoJSON) under /ogc, so QGIS and GDAL read SIGAP layers directly.

Collections: hotspots, flood_zones, incidents (when the incident table exists), desa, kecamatan,
kabupaten. Every request needs a login like the rest of the API (QGIS and GDAL send a bearer token
as a header: GDAL_HTTP_HEADERS="Authorization: Bearer ..."). Caller names and phone numbers are not
published here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import Session

from api.auth import ReaderDep
from api.deps import SessionDep
from api.errors import InvalidInput, NotFound
from api.routes.layers import parse_bbox
from store.floods import FloodZone
from store.hotspots import Hotspot
from store.models import Desa, Kabupaten, Kecamatan

router = APIRouter(prefix="/ogc", tags=["ogc"])

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Collection:
    """One published table: model, the columns that become properties, and its time column."""

    id: str
    title: str
    description: str
    model: Any
    properties: tuple[str, ...]
    time_column: str | None = None
    table: str = ""


def _incident_model() -> Any:
    try:
        from store.incidents import Incident  # noqa: PLC0415 - optional until the incidents schema exists
    except ImportError:
        return None
    return Incident


def collections_catalog() -> dict[str, Collection]:
    """Every collection this build can publish (incidents only when its model is importable)."""
    items = [
        Collection(
            "hotspots",
            "Titik panas FIRMS / FIRMS fire hotspots",
            "Deteksi api satelit NASA FIRMS di Kalimantan Tengah dan 10 km sekitar Barito Selatan / "
            "NASA FIRMS satellite fire detections in Kalimantan Tengah and 10 km around Barito Selatan",
            Hotspot,
            (
                "acq_time",
                "confidence",
                "frp",
                "brightness",
                "satellite",
                "instrument",
                "daynight",
                "source",
                "zone",
                "desa_code",
                "kecamatan_code",
                "kabupaten_code",
                "border_distance_m",
                "h3_7",
            ),
            "acq_time",
            "hotspot",
        ),
        Collection(
            "flood_zones",
            "Zona banjir / flood zones",
            "Zona banjir BPBD (is_proxy=true: perkiraan, bukan pengamatan) / BPBD flood zones "
            "(is_proxy=true: a stand-in, not observed)",
            FloodZone,
            ("name", "severity", "status", "observed_at", "source", "is_proxy", "notes", "version", "updated_at"),
            "observed_at",
            "flood_zone",
        ),
        Collection(
            "desa",
            "Desa/kelurahan Barito Selatan",
            "93 desa/kelurahan (Kepmendagri)",
            Desa,
            ("kode", "nama", "jenis", "kecamatan_kode", "kecamatan"),
            None,
            "desa",
        ),
        Collection(
            "kecamatan",
            "Kecamatan Barito Selatan",
            "6 kecamatan",
            Kecamatan,
            ("kode", "nama", "kabupaten_kode"),
            None,
            "kecamatan",
        ),
        Collection(
            "kabupaten",
            "Kabupaten/kota Kalimantan Tengah",
            "14 kabupaten/kota",
            Kabupaten,
            ("kode", "nama"),
            None,
            "kabupaten",
        ),
    ]
    incident = _incident_model()
    if incident is not None:
        items.insert(
            2,
            Collection(
                "incidents",
                "Kejadian 112 / 112 incidents",
                "Kejadian yang berlokasi, tanpa data pribadi penelepon / located incidents, without caller details",
                incident,
                (
                    "number",
                    "category",
                    "status",
                    "description",
                    "accuracy_m",
                    "location_source",
                    "desa_code",
                    "kecamatan_code",
                    "inside_regency",
                    "version",
                    "created_at",
                    "updated_at",
                ),
                "created_at",
                "incident",
            ),
        )
    return {c.id: c for c in items}


def available(session: Session) -> dict[str, Collection]:
    """The catalog minus collections whose table does not exist in this database."""
    tables = set(inspect(session.connection()).get_table_names())
    return {k: c for k, c in collections_catalog().items() if c.table in tables}


def _get(session: Session, collection_id: str) -> Collection:
    cols = available(session)
    if collection_id not in cols:
        raise NotFound(
            f"Koleksi '{collection_id}' tidak ada; pilih {', '.join(cols)}",
            f"Collection '{collection_id}' does not exist; choose {', '.join(cols)}",
            field="collection",
        )
    return cols[collection_id]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(content: Any, *, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), media_type=media_type)


# ------------------------------------------------------------------------------------ queries


def parse_datetime(raw: str | None) -> tuple[datetime | None, datetime | None] | None:
    """OGC `datetime`: an instant, 'start/end', '../end' or 'start/..' (ISO-8601; UTC when no zone)."""
    if raw is None or raw == "":
        return None

    def one(part: str) -> datetime | None:
        if part in ("..", ""):
            return None
        try:
            t = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"'datetime' tidak valid: {part} (ISO-8601, mis. 2023-09-14T00:00:00Z/..)",
                f"invalid 'datetime': {part} (ISO-8601, e.g. 2023-09-14T00:00:00Z/..)",
                field="datetime",
            ) from exc
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    if "/" in raw:
        a, b = raw.split("/", 1)
        start, end = one(a), one(b)
        if start and end and start > end:
            raise InvalidInput("'datetime': awal setelah akhir", "'datetime': start after end", field="datetime")
        return start, end
    t = one(raw)
    return t, t


def _time_value(t: datetime, dialect: str) -> datetime:
    return t.replace(tzinfo=None) if dialect == "sqlite" else t


def filtered(
    stmt: Select,
    coll: Collection,
    *,
    dialect: str,
    bbox: tuple[float, float, float, float] | None,
    interval: tuple[datetime | None, datetime | None] | None,
) -> Select:
    """Apply bbox (exact intersection) and datetime filters to a select over the collection's table."""
    model = coll.model
    if coll.id == "incidents":
        stmt = stmt.where(model.geom.is_not(None))
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        if dialect == "sqlite":
            stmt = stmt.where(func.ST_Intersects(model.geom, func.BuildMbr(x0, y0, x1, y1, 4326)) == 1)
        else:
            stmt = stmt.where(func.ST_Intersects(model.geom, func.ST_MakeEnvelope(x0, y0, x1, y1, 4326)))
    if interval is not None and coll.time_column:
        col = getattr(model, coll.time_column)
        start, end = interval
        if start is not None:
            stmt = stmt.where(col >= _time_value(start, dialect))
        if end is not None:
            stmt = stmt.where(col <= _time_value(end, dialect))
    return stmt


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def fetch_features(
    session: Session,
    coll: Collection,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    interval: tuple[datetime | None, datetime | None] | None = None,
    limit: int | None = None,
    offset: int = 0,
    fid: int | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """GeoJSON features of a collection (ordered by id) and, when paging, the number matched."""
    model = coll.model
    dialect = session.get_bind().dialect.name
    props = [getattr(model, p) for p in coll.properties]
    stmt = filtered(
        select(model.id, func.ST_AsBinary(model.geom), *props), coll, dialect=dialect, bbox=bbox, interval=interval
    )
    matched = None
    if fid is not None:
        stmt = stmt.where(model.id == fid)
    elif limit is not None:
        count = filtered(select(func.count(model.id)), coll, dialect=dialect, bbox=bbox, interval=interval)
        matched = int(session.execute(count).scalar_one())
        stmt = stmt.order_by(model.id).limit(limit).offset(offset)
    else:
        stmt = stmt.order_by(model.id)
    rows = session.execute(stmt).all()
    if not rows:
        return [], matched
    wkb = np.array([bytes(r[1]) if r[1] is not None else None for r in rows], dtype=object)
    geoms = shapely.from_wkb(wkb)
    text_geoms = shapely.to_geojson(shapely.set_precision(geoms, 1e-7))
    features = []
    for r, g in zip(rows, text_geoms.tolist(), strict=True):
        properties = {name: _plain(v) for name, v in zip(coll.properties, r[2:], strict=True)}
        features.append(
            # The geometry text goes out as written, not parsed back into a dict to be written again.
            {"type": "Feature", "id": r[0], "geometry": orjson.Fragment(g) if g else None, "properties": properties}
        )
    return features, matched


def _extent(session: Session, coll: Collection) -> dict[str, Any]:
    model = coll.model
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        row = session.execute(
            select(
                func.MbrMinX(func.Extent(model.geom)),
                func.MbrMinY(func.Extent(model.geom)),
                func.MbrMaxX(func.Extent(model.geom)),
                func.MbrMaxY(func.Extent(model.geom)),
            )
        ).one()
    else:
        ext = func.ST_Extent(model.geom)
        row = session.execute(select(func.ST_XMin(ext), func.ST_YMin(ext), func.ST_XMax(ext), func.ST_YMax(ext))).one()
    bbox = [[round(float(v), 6) for v in row]] if all(v is not None for v in row) else [[110.7, -3.6, 116.0, 0.8]]
    out: dict[str, Any] = {"spatial": {"bbox": bbox, "crs": CRS84}}
    if coll.time_column:
        col = getattr(model, coll.time_column)
        lo, hi = session.execute(select(func.min(col), func.max(col))).one()
        out["temporal"] = {
            "interval": [[_plain(_dt(lo)), _plain(_dt(hi))]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return out


def _dt(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _collection_doc(request: Request, session: Session, coll: Collection) -> dict[str, Any]:
    base = _base(request)
    return {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": _extent(session, coll),
        "links": [
            {
                "href": f"{base}/ogc/collections/{coll.id}",
                "rel": "self",
                "type": "application/json",
                "title": coll.title,
            },
            {"href": f"{base}/ogc/collections/{coll.id}/items", "rel": "items", "type": GEOJSON, "title": coll.title},
        ],
    }


# ------------------------------------------------------------------------------------- routes


@router.get("", summary="OGC API Features: halaman awal / landing page")
def landing(request: Request, _: ReaderDep) -> Response:
    """Landing page with links to the API definition, conformance and collections."""
    base = _base(request)
    return _json(
        {
            "title": "SIGAP 112 Barito Selatan — OGC API Features",
            "description": "Titik panas, zona banjir, kejadian dan batas wilayah / hotspots, flood zones, "
            "incidents and boundaries",
            "links": [
                {"href": f"{base}/ogc", "rel": "self", "type": "application/json", "title": "this document"},
                {
                    "href": f"{base}/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "API definition",
                },
                {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "API documentation"},
                {
                    "href": f"{base}/ogc/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "conformance",
                },
                {"href": f"{base}/ogc/collections", "rel": "data", "type": "application/json", "title": "collections"},
            ],
        }
    )


@router.get("/conformance", summary="Kesesuaian / conformance classes")
def conformance(_: ReaderDep) -> Response:
    """The conformance classes implemented."""
    return _json({"conformsTo": CONFORMANCE})


@router.get("/collections", summary="Koleksi / collections")
def collections(request: Request, session: SessionDep, _: ReaderDep) -> Response:
    """Every published collection with its extent and links."""
    base = _base(request)
    return _json(
        {
            "links": [{"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection_doc(request, session, c) for c in available(session).values()],
        }
    )


@router.get("/collections/{collection_id}", summary="Satu koleksi / one collection")
def collection(collection_id: str, request: Request, session: SessionDep, _: ReaderDep) -> Response:
    """One collection's description."""
    return _json(_collection_doc(request, session, _get(session, collection_id)))


@router.get("/collections/{collection_id}/items", summary="Fitur / features")
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    _: ReaderDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    datetime_: Annotated[
        str | None, Query(alias="datetime", description="instant atau awal/akhir, '..' terbuka")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """A page of features (GeoJSON) with numberMatched/numberReturned and next/prev links."""
    coll = _get(session, collection_id)
    box = parse_bbox(bbox)
    interval = parse_datetime(datetime_)
    features, matched = fetch_features(session, coll, bbox=box, interval=interval, limit=limit, offset=offset)
    base = f"{_base(request)}/ogc/collections/{coll.id}/items"
    keep = {k: v for k, v in (("bbox", bbox), ("datetime", datetime_)) if v}

    def link(rel: str, off: int) -> dict[str, Any]:
        q = urlencode({**keep, "limit": limit, "offset": off})
        return {"href": f"{base}?{q}", "rel": rel, "type": GEOJSON}

    links = [link("self", offset)]
    if matched is not None and offset + len(features) < matched:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return _json(
        {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now(UTC).isoformat(),
            "links": links,
        },
        media_type=GEOJSON,
    )


@router.get("/collections/{collection_id}/items/{feature_id}", summary="Satu fitur / one feature")
def item(
    collection_id: str,
    feature_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: SessionDep,
    _: ReaderDep,
) -> Response:
    """One feature by id."""
    coll = _get(session, collection_id)
    features, _m = fetch_features(session, coll, fid=feature_id)
    if not features:
        raise NotFound(
            f"Fitur {feature_id} tidak ada di {coll.id}", f"Feature {feature_id} not in {coll.id}", field="feature_id"
        )
    base = f"{_base(request)}/ogc/collections/{coll.id}"
    feature = features[0]
    feature["links"] = [
        {"href": f"{base}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": base, "rel": "collection", "type": "application/json"},
    ]
    return _json(feature, media_type=GEOJSON)


__all__ = ["Collection", "available", "collections_catalog", "fetch_features", "parse_datetime", "router"]
