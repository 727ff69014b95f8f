"""Coordinate reference systems and vectorised transforms between WGS84 and UTM 50S."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

WGS84 = "EPSG:4326"
UTM50S = "EPSG:32750"


@lru_cache(maxsize=8)
def transformer(*, src: str, dst: str) -> Transformer:
    """A cached always-xy transformer between two CRS."""
    return Transformer.from_crs(src, dst, always_xy=True)


def to_utm(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat arrays (EPSG:4326) to UTM 50S metres."""
    return transformer(src=WGS84, dst=UTM50S).transform(lon, lat)


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unproject UTM 50S metre arrays to lon/lat (EPSG:4326)."""
    return transformer(src=UTM50S, dst=WGS84).transform(x, y)


def project_geometries(geoms: np.ndarray, *, src: str = WGS84, dst: str = UTM50S) -> np.ndarray:
    """Reproject an array of shapely geometries between CRS, vectorised over all coordinates."""
    tr = transformer(src=src, dst=dst)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _apply)
