"""OGC API - Features (Part 1 Core, GeoJSON) under /ogc, so QGIS and GDAL read SIGAP layers directly.

The collections and their queries live in `store/features.py`. Every request needs a login like the rest
of the API (QGIS and GDAL send a bearer token as a header: GDAL_HTTP_HEADERS="Authorization: Bearer ...").
Caller names and phone numbers are not published here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api.auth import ReaderDep
from api.deps import PublicBaseDep, SessionDep
from api.errors import NotFound
from api.params import parse_bbox
from store.features import COLLECTIONS, Collection, collection_extent, fetch_features, get_collection, parse_interval

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


def _base(public: str) -> str:
    # Links are built from the configured public address (SIGAP_PUBLIC_URL), never from the Host header.
    return public


def _json(content: Any, *, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), media_type=media_type)


def _extent(session: Session, coll: Collection) -> dict[str, Any]:
    ext = collection_extent(session, coll)
    out: dict[str, Any] = {"spatial": {"bbox": [ext["bbox"]], "crs": CRS84}}
    if ext["interval"] is not None:
        out["temporal"] = {"interval": [ext["interval"]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return out


def _collection_doc(request: str, session: Session, coll: Collection) -> dict[str, Any]:
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
def landing(request: PublicBaseDep, _: ReaderDep) -> Response:
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
def collections(request: PublicBaseDep, session: SessionDep, _: ReaderDep) -> Response:
    """Every published collection with its extent and links."""
    base = _base(request)
    return _json(
        {
            "links": [{"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection_doc(request, session, c) for c in COLLECTIONS.values()],
        }
    )


@router.get("/collections/{collection_id}", summary="Satu koleksi / one collection")
def collection(collection_id: str, request: PublicBaseDep, session: SessionDep, _: ReaderDep) -> Response:
    """One collection's description."""
    return _json(_collection_doc(request, session, get_collection(collection_id)))


@router.get("/collections/{collection_id}/items", summary="Fitur / features")
def items(
    collection_id: str,
    request: PublicBaseDep,
    session: SessionDep,
    _: ReaderDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    datetime_: Annotated[
        str | None, Query(alias="datetime", description="instant atau awal/akhir, '..' terbuka")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # beyond: 422, not a database overflow
) -> Response:
    """A page of features (GeoJSON) with numberMatched/numberReturned and next/prev links."""
    coll = get_collection(collection_id)
    box = parse_bbox(bbox)
    interval = parse_interval(datetime_)
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
    request: PublicBaseDep,
    session: SessionDep,
    _: ReaderDep,
) -> Response:
    """One feature by id."""
    coll = get_collection(collection_id)
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

