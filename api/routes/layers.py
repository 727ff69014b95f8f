"""Boundary and river layers as GeoJSON FeatureCollections, filtered by bbox and simplified on request."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response

from api.auth import ReaderDep
from api.deps import SpatialDep
from api.errors import InvalidInput
from api.spatial import encode_layer

router = APIRouter(prefix="/api/layers", tags=["layers"])

LayerName = Literal["kabupaten", "kecamatan", "desa", "rivers"]


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


@router.get("/{name}", summary="Lapisan GeoJSON / GeoJSON layer")
def layer(
    spatial: SpatialDep,
    name: LayerName,
    _: ReaderDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    simplify: Annotated[float, Query(ge=0, le=5000, description="toleransi penyederhanaan, meter")] = 0.0,
) -> Response:
    """A layer as a GeoJSON FeatureCollection (WGS84), optionally clipped to a bbox and simplified."""
    box = parse_bbox(bbox)
    # The map's own tolerances were encoded at start-up; any other is encoded for this request only.
    encoded = spatial.encoded.get((name, simplify)) or encode_layer(spatial.layers, name, simplify_m=simplify)
    bounds, features = encoded.bounds, encoded.features
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
