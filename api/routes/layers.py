"""Boundary and river layers as GeoJSON FeatureCollections, filtered by bbox and simplified on request."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Query, Request, Response

from api.auth import ReaderDep
from api.errors import InvalidInput
from geo.layers import Layers

router = APIRouter(prefix="/api/layers", tags=["layers"])

LayerName = Literal["kabupaten", "kecamatan", "desa", "rivers"]
METRES_PER_DEGREE = 111_320.0


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """'minlon,minlat,maxlon,maxlat' as four floats, or a 422 saying what is wrong."""
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise InvalidInput(
            "'bbox' harus empat angka: minlon,minlat,maxlon,maxlat",
            "'bbox' must be four numbers: minlon,minlat,maxlon,maxlat",
            field="bbox",
        )
    x0, y0, x1, y1 = values
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InvalidInput(
            "'bbox' harus minlon < maxlon dan minlat < maxlat dalam rentang WGS84",
            "'bbox' needs minlon < maxlon and minlat < maxlat within WGS84",
            field="bbox",
        )
    return values  # type: ignore[return-value]


def _properties(layers: Layers, name: str) -> tuple[np.ndarray, list[dict]]:
    if name == "rivers":
        r = layers.rivers
        return r.geometry, [
            {"name": r.name[i], "kind": r.kind[i], "source": r.source[i]} for i in range(len(r))
        ]
    layer = getattr(layers, name)
    props = []
    for i in range(len(layer)):
        row = {"kode": layer.code[i], "nama": layer.name[i]}
        row.update(
            {k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in layer.attrs.items()}
        )
        props.append(row)
    return layer.geometry, props


def _encoded(layers: Layers, name: str, tolerance_deg: float) -> tuple[np.ndarray, list[bytes]]:
    geoms, props = _properties(layers, name)
    if tolerance_deg > 0:
        geoms = shapely.simplify(geoms, tolerance_deg, preserve_topology=True)
    geojson = shapely.to_geojson(shapely.set_precision(geoms, 1e-6))
    features = [
        b'{"type":"Feature","geometry":' + g.encode() + b',"properties":' + orjson.dumps(p) + b"}"
        for g, p in zip(geojson, props, strict=True)
    ]
    return shapely.bounds(geoms), features


@router.get("/{name}", summary="Lapisan GeoJSON / GeoJSON layer")
def layer(
    request: Request,
    name: LayerName,
    _: ReaderDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    simplify: Annotated[float, Query(ge=0, le=5000, description="toleransi penyederhanaan, meter")] = 0.0,
) -> Response:
    """A layer as a GeoJSON FeatureCollection (WGS84), optionally clipped to a bbox and simplified."""
    box = parse_bbox(bbox)
    layers: Layers = request.app.state.layers
    # Encoded features per (layer, tolerance) are kept with the layers they came from.
    cache: dict = request.app.state.layer_cache
    key = (id(layers), name, round(simplify / METRES_PER_DEGREE, 9))
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = _encoded(layers, name, key[2])
    bounds, features = cache[key]
    if box is not None:
        keep = np.flatnonzero(
            (bounds[:, 0] <= box[2])
            & (bounds[:, 2] >= box[0])
            & (bounds[:, 1] <= box[3])
            & (bounds[:, 3] >= box[1])
        )
        features = [features[i] for i in keep]
    body = (
        b'{"type":"FeatureCollection","name":"'
        + name.encode()
        + b'","crs_note":"EPSG:4326","features":['
        + b",".join(features)
        + b"]}"
    )
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "public, max-age=300"})
