"""Flood-zone geometry: repair or reject polygons, desa under water (UTM areas), lines cut, Barito proxy.

Pure logic: shapely geometries in WGS84 (EPSG:4326) in and out; areas and buffers are computed in
UTM zone 50S (EPSG:32750).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM50S, WGS84, project_geometries
from geo.errors import InvalidInput

PROXY_SOURCE = "proxy: buffer Sungai Barito"
PROXY_NAME = "Dataran banjir Sungai Barito (perkiraan) / Barito floodplain (proxy)"
PROXY_WIDTH_M = 3_000.0
MIN_AREA_M2 = 1.0


class FloodGeometryError(InvalidInput):
    """A flood polygon that cannot be used, with the reason in Indonesian and English."""

    def __init__(self, message_id: str, message_en: str, *, field: str = "geometry", **extra: Any) -> None:
        super().__init__(message_id, message_en, field=field, **extra)


@dataclass(frozen=True)
class CleanPolygon:
    """A usable MultiPolygon (WGS84) and, when it had to be repaired, why."""

    geometry: shapely.MultiPolygon
    repaired: bool
    reason: str | None
    area_m2: float


def _multi(parts: list[shapely.Geometry]) -> shapely.MultiPolygon:
    polys: list[shapely.Polygon] = []
    for p in parts:
        polys.extend(shapely.get_parts(p).tolist() if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(polys)


def geometry_from_geojson(geometry: dict[str, Any]) -> shapely.Geometry:
    """A shapely geometry from a GeoJSON geometry object, or FloodGeometryError saying why it cannot be read."""
    try:
        return shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise FloodGeometryError(
            f"Geometri GeoJSON tidak terbaca: {exc}", f"GeoJSON geometry cannot be read: {exc}"
        ) from exc


def clean_polygon(geom: shapely.Geometry | None, *, crs: str = WGS84) -> CleanPolygon:
    """A valid WGS84 MultiPolygon from `geom` (repaired with make_valid), or FloodGeometryError saying why."""
    if crs != WGS84:
        raise FloodGeometryError(f"CRS harus {WGS84}, bukan {crs}", f"CRS must be {WGS84}, got {crs}", field="crs")
    if geom is None or geom.is_empty:
        raise FloodGeometryError("Geometri kosong", "empty geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise FloodGeometryError(
            f"Zona banjir harus poligon, bukan {geom.geom_type}",
            f"a flood zone must be a polygon, not {geom.geom_type}",
        )
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise FloodGeometryError("Koordinat tidak terhingga", "non-finite coordinates")
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise FloodGeometryError(
            "Koordinat di luar WGS84; urutannya harus [bujur, lintang]",
            "coordinates outside WGS84; the order must be [lon, lat]",
        )
    geom = shapely.force_2d(geom)
    repaired, reason = False, None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        polys = [p for p in shapely.get_parts(fixed).tolist() if p.geom_type in ("Polygon", "MultiPolygon")]
        if fixed.geom_type == "GeometryCollection":
            polys = [
                p
                for g in shapely.get_parts(fixed).tolist()
                for p in shapely.get_parts(g).tolist()
                if p.geom_type == "Polygon"
            ]
        if not polys:
            raise FloodGeometryError(
                f"Poligon tidak valid dan tidak bisa diperbaiki ({reason})",
                f"invalid polygon that cannot be repaired ({reason})",
            )
        geom = shapely.union_all(polys)
        repaired = True
    multi = _multi([geom])
    area = float(shapely.area(project_geometries(np.array([multi]), src=WGS84, dst=UTM50S))[0])
    if area < MIN_AREA_M2:
        raise FloodGeometryError(f"Luas poligon nol ({reason or 'degenerate'})", "polygon has no area")
    return CleanPolygon(multi, repaired, reason, area)


def affected_desa(
    zone: shapely.Geometry, *, desa_geometry: np.ndarray, desa_code: np.ndarray, desa_name: np.ndarray
) -> pd.DataFrame:
    """Desa the zone overlaps: code, name, flooded_m2, desa_m2, share (0..1), sorted by share, in UTM 50S."""
    cols = ["desa_code", "desa_name", "flooded_m2", "desa_m2", "share"]
    tree = shapely.STRtree(desa_geometry)
    hit = tree.query(zone, predicate="intersects")
    if not len(hit):
        return pd.DataFrame({c: [] for c in cols})
    desa_utm = project_geometries(desa_geometry[hit])
    zone_utm = project_geometries(np.array([zone]))[0]
    flooded = shapely.area(shapely.intersection(desa_utm, zone_utm))
    total = shapely.area(desa_utm)
    out = pd.DataFrame(
        {
            "desa_code": np.asarray(desa_code, dtype=object)[hit],
            "desa_name": np.asarray(desa_name, dtype=object)[hit],
            "flooded_m2": flooded,
            "desa_m2": total,
            "share": np.where(total > 0, flooded / np.where(total > 0, total, 1), 0.0),
        }
    )
    out = out[out["flooded_m2"] > 0]
    return out.sort_values(["share", "desa_code"], ascending=[False, True]).reset_index(drop=True)[cols]


def lines_cut(zone: shapely.Geometry, lines: np.ndarray) -> np.ndarray:
    """Indexes of the lines (WGS84) that cross or lie in the zone."""
    if not len(lines):
        return np.empty(0, dtype=np.int64)
    return np.sort(shapely.STRtree(lines).query(zone, predicate="intersects"))


def barito_floodplain_proxy(
    *, rivers: np.ndarray, regency: shapely.Geometry, width_m: float = PROXY_WIDTH_M
) -> shapely.MultiPolygon:
    """A floodplain stand-in: the river lines buffered by `width_m` each side (UTM), clipped to the regency."""
    if width_m <= 0:
        raise ValueError("width_m must be > 0")
    river_utm = project_geometries(np.asarray(rivers, dtype=object))
    band = shapely.union_all(shapely.buffer(river_utm, width_m, quad_segs=4))
    regency_utm = project_geometries(np.array([regency]))[0]
    clipped = shapely.intersection(band, shapely.make_valid(regency_utm))
    clipped = shapely.simplify(clipped, 20.0, preserve_topology=True)
    back = project_geometries(np.array([clipped]), src=UTM50S, dst=WGS84)[0]
    parts = [p for p in shapely.get_parts(shapely.make_valid(back)).tolist() if p.geom_type == "Polygon"]
    if not parts:
        raise FloodGeometryError("Sungai tidak melintasi wilayah", "the river does not cross the area")
    return _multi(parts)


__all__ = [
    "PROXY_NAME",
    "PROXY_SOURCE",
    "CleanPolygon",
    "FloodGeometryError",
    "geometry_from_geojson",
    "affected_desa",
    "barito_floodplain_proxy",
    "clean_polygon",
    "lines_cut",
]
