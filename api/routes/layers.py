"""Boundary and river layers as GeoJSON FeatureCollections, filtered by bbox and simplified on request."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response

from api.auth import ReaderDep
from api.deps import SpatialDep
from api.params import parse_bbox
from api.spatial import encode_layer

__all__ = ["router"]

router = APIRouter(prefix="/api/layers", tags=["layers"])

LayerName = Literal["kabupaten", "kecamatan", "desa", "rivers"]


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
