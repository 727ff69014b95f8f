"""Layer exports: GeoJSON, GeoPackage and CSV of hotspots, flood zones, incidents and boundaries.

Exported text stays inert: GeoJSON is JSON-encoded, GeoPackage stores values as data, and CSV cells
starting with = + - @ (or a tab/CR) get a leading apostrophe so a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from api.auth import ReaderDep
from api.deps import ContextDep, SessionDep, client_address
from api.errors import InvalidInput
from api.params import known_satellites, known_values, parse_bbox
from geo.firms import CONFIDENCE_LEVELS
from store.accounts import audit_read
from store.features import COLLECTIONS, fetch_features, parse_interval
from store.hotspot_stats import attribute_clauses

router = APIRouter(prefix="/api/export", tags=["exports"])

FORMATS = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# shapely's geometry type ids -> the layer geometry types GDAL names.
_GPKG_TYPES = {0: "Point", 1: "LineString", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}


def csv_safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not evaluate (OWASP CSV injection guard)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _geometries(features: list[dict[str, Any]]) -> Any:
    """The features' geometries as one shapely array (None where a feature has none), parsed in one call."""
    import numpy as np
    import shapely

    texts = np.array([None if f["geometry"] is None else orjson.dumps(f["geometry"]) for f in features], dtype=object)
    return shapely.from_geojson(texts) if len(texts) else np.array([], dtype=object)


def features_csv(features: list[dict[str, Any]], columns: list[str]) -> bytes:
    """CSV with id, the properties, lon/lat of points (or the centroid) and the geometry as WKT."""
    import numpy as np
    import shapely

    geoms = _geometries(features)
    centres = shapely.centroid(geoms)
    lon = np.round(shapely.get_x(centres), 6)
    lat = np.round(shapely.get_y(centres), 6)
    wkt = shapely.to_wkt(geoms, rounding_precision=-1)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", *columns, "lon", "lat", "wkt"])
    # Missing geometries give NaN coordinates and no WKT: empty cells.
    lon_cells = [None if np.isnan(x) else x for x in lon.tolist()]
    lat_cells = [None if np.isnan(y) else y for y in lat.tolist()]
    writer.writerows(
        [csv_safe(v) for v in (f["id"], *(f["properties"].get(k) for k in columns), x, y, w)]
        for f, x, y, w in zip(features, lon_cells, lat_cells, wkt.tolist(), strict=True)
    )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def features_gpkg(features: list[dict[str, Any]], columns: list[str], layer: str) -> bytes:
    """A GeoPackage (EPSG:4326) with one layer, written by pyogrio from an Arrow table to a temporary file."""
    import pyarrow as pa
    import pyogrio
    import shapely

    geoms = _geometries(features)
    data = {"fid_sigap": pa.array([f["id"] for f in features], type=pa.int64())}
    for k in columns:
        values = pa.array([f["properties"].get(k) for f in features])
        # An empty or all-null column has no type GDAL can store: text, as a data frame's object column was.
        data[k] = values.cast(pa.string()) if pa.types.is_null(values.type) else values
    data["geometry"] = pa.array(shapely.to_wkb(geoms).tolist() if len(geoms) else [], type=pa.binary())
    kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    geometry_type = _GPKG_TYPES[kinds.pop()] if len(kinds) == 1 else "Unknown"
    with tempfile.TemporaryDirectory(prefix="sigap-export-") as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        pyogrio.write_arrow(
            pa.table(data), path, layer=layer, driver="GPKG", geometry_name="geometry",
            geometry_type=geometry_type, crs="EPSG:4326",
        )
        return path.read_bytes()


def _hotspot_filters(
    layer: str, *, confidence: str | None, satellite: str | None, include_static: bool | None
) -> list[Any]:
    """The hotspot attribute filters as WHERE clauses; given for another layer, a 422 naming the parameter."""
    if layer != "hotspots":
        for name, value in (("confidence", confidence), ("satellite", satellite), ("include_static", include_static)):
            if value is not None:
                raise InvalidInput(
                    f"'{name}' hanya untuk lapisan hotspots", f"'{name}' only applies to the hotspots layer", field=name
                )
        return []
    return attribute_clauses(
        confidence=known_values(confidence, allowed=CONFIDENCE_LEVELS, field="confidence",
                                what_id="Tingkat kepercayaan", what_en="confidence level(s)"),
        satellites=known_satellites(satellite),
        include_static=include_static,
    )


@router.get("/{filename}", summary="Ekspor lapisan / export a layer (layer.geojson|gpkg|csv)")
async def export(
    filename: str,
    request: Request,
    session: SessionDep,
    user: ReaderDep,
    ctx: ContextDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description="awal/akhir ISO-8601, '..' terbuka")] = None,
    confidence: Annotated[str | None, Query(
        max_length=200, description="Titik panas: low,nominal,high (koma) / hotspots: confidence levels")] = None,
    satellite: Annotated[str | None, Query(
        max_length=200, description="Titik panas: satelit, dipisah koma / hotspots: satellites, comma separated"
    )] = None,
    include_static: Annotated[bool | None, Query(
        description="Titik panas: sertakan sumber panas tetap (bawaan ya) / hotspots: include static heat sources "
                    "(default yes)")] = None,
) -> Response:
    """The whole layer (or the part of it the filters select) in the format named by the file extension.

    Hotspots take the planner page's filters too (confidence, satellite, include_static), so the page's
    export buttons give exactly the detections on screen.
    """
    layer, _dot, fmt = filename.rpartition(".")
    if fmt not in FORMATS or layer not in COLLECTIONS:
        raise InvalidInput(
            f"Ekspor harus <lapisan>.<format>: lapisan {', '.join(COLLECTIONS)}; format {', '.join(FORMATS)}",
            f"Export must be <layer>.<format>: layers {', '.join(COLLECTIONS)}; formats {', '.join(FORMATS)}",
            field="filename",
        )
    coll = COLLECTIONS[layer]
    box, interval = parse_bbox(bbox), parse_interval(datetime_)
    where = _hotspot_filters(layer, confidence=confidence, satellite=satellite, include_static=include_static)
    features, _m = await asyncio.to_thread(fetch_features, session, coll, bbox=box, interval=interval, where=where)
    # Every export is audited: who, which layer and filter, how many rows.
    query = {"format": fmt, "bbox": bbox, "datetime": datetime_, "confidence": confidence, "satellite": satellite,
             "include_static": include_static}
    await asyncio.to_thread(audit_read, ctx.sessions, actor=user.username, action="export", entity=layer,
                            query=query, rows=len(features), client=client_address(request))
    columns = list(coll.columns)
    # A whole layer can be large: it is encoded off the event loop, which keeps serving calls and live events.
    if fmt == "geojson":
        body = await asyncio.to_thread(
            orjson.dumps, {"type": "FeatureCollection", "name": layer, "features": features}
        )
    elif fmt == "csv":
        body = await asyncio.to_thread(features_csv, features, columns)
    else:
        body = await asyncio.to_thread(features_gpkg, features, columns, layer)
    media = FORMATS[fmt] + ("; charset=utf-8" if fmt == "csv" else "")
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="sigap-{layer}.{fmt}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
