"""The in-memory spatial snapshot every request reads: layers, locator, place index, encoded layer GeoJSON.

One immutable :class:`Spatial` is built at start-up from what the database holds and replaced whole (never
edited) when an imported road network changes the locator's roads; a request keeps the snapshot it started
with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import orjson
import shapely

from geo.crs import project_geometries
from geo.layers import Layers, LineLayer
from geo.locate import Locator
from geo.placenames import PlaceIndex, places_from_layers
from store.network import LineSet

# Network kinds that are not roads a caller could be standing beside.
NOT_ROADS = {"river", "canal", "landing", "ferry"}
# Units report from anywhere in Kalimantan Tengah and just beyond (convoys from Banjarmasin, boats on the
# lower Barito): the province's bounding box plus this margin in degrees.
KALIMANTAN_MARGIN_DEG = 1.5
LAYER_NAMES = ("kabupaten", "kecamatan", "desa", "rivers")
# The simplification (metres) the map pages ask for: those answers are encoded once at start-up.
MAP_SIMPLIFY_M = {"kabupaten": 300.0, "kecamatan": 60.0, "desa": 30.0, "rivers": 50.0}
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class EncodedLayer:
    """A layer's features already written as GeoJSON bytes, with each feature's bounds for bbox filtering."""

    bounds: np.ndarray
    features: list[bytes]


@dataclass(frozen=True)
class Spatial:
    """Everything spatial a request reads, built once per set of layers."""

    layers: Layers
    locator: Locator
    places: PlaceIndex
    place_radius_m: dict[str, float]
    kecamatan_by_name: dict[str, str]
    desa_by_name: dict[str, list[str]]
    kalimantan_box: tuple[float, float, float, float]
    # (layer name, simplification in metres) -> encoded features, for 0 and the map's own tolerances.
    encoded: dict[tuple[str, float], EncodedLayer]


def real_roads(lines: LineSet) -> LineLayer | None:
    """Imported road lines (OSM or the regency's files) for the locator; the derived links are not roads."""
    keep = (lines.source != "derived") & ~np.isin(lines.kind.astype(str), list(NOT_ROADS))
    if not keep.any():
        return None
    return LineLayer(geometry=lines.lines[keep], name=lines.name[keep], kind=lines.kind[keep],
                     source=lines.source[keep])


def _layer_properties(layers: Layers, name: str) -> tuple[np.ndarray, list[dict]]:
    if name == "rivers":
        r = layers.rivers
        return r.geometry, [{"name": r.name[i], "kind": r.kind[i], "source": r.source[i]} for i in range(len(r))]
    layer = getattr(layers, name)
    props = []
    for i in range(len(layer)):
        row = {"kode": layer.code[i], "nama": layer.name[i]}
        row.update({k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in layer.attrs.items()})
        props.append(row)
    return layer.geometry, props


def encode_layer(layers: Layers, name: str, *, simplify_m: float = 0.0) -> EncodedLayer:
    """A layer's features as GeoJSON bytes (simplified by `simplify_m` metres when above 0) and their bounds."""
    geoms, props = _layer_properties(layers, name)
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
    geojson = shapely.to_geojson(shapely.set_precision(geoms, 1e-6))
    features = [
        b'{"type":"Feature","geometry":' + g.encode() + b',"properties":' + orjson.dumps(p) + b"}"
        for g, p in zip(geojson, props, strict=True)
    ]
    return EncodedLayer(bounds=shapely.bounds(geoms), features=features)


def build_spatial(layers: Layers) -> Spatial:
    """Locator, place index, place radii, name look-ups and encoded layers for a set of layers."""
    if not len(layers.desa):
        raise RuntimeError(
            "Basis data belum berisi batas wilayah; jalankan `sigap load` / "
            "the database holds no boundaries yet; run `sigap load`"
        )
    places = places_from_layers(desa=layers.desa, kecamatan=layers.kecamatan)
    # A place name locates to a point inside the place; its uncertainty is the place's size, given as the
    # radius of a circle of equal area.
    geoms = np.concatenate([layers.desa.geometry, layers.kecamatan.geometry])
    codes = np.concatenate([layers.desa.code, layers.kecamatan.code])
    radii = np.sqrt(shapely.area(project_geometries(geoms)) / np.pi)
    by_desa: dict[str, list[str]] = {}
    for n, c in zip(layers.desa.name, layers.desa.code, strict=True):
        by_desa.setdefault(str(n).lower(), []).append(str(c))
    x0, y0, x1, y1 = shapely.total_bounds(layers.kabupaten.geometry)
    m = KALIMANTAN_MARGIN_DEG
    return Spatial(
        layers=layers,
        locator=Locator.from_layers(layers),
        places=PlaceIndex(places),
        place_radius_m=dict(zip(codes.tolist(), np.round(radii, 0).tolist(), strict=True)),
        kecamatan_by_name={
            str(n).lower(): str(c) for n, c in zip(layers.kecamatan.name, layers.kecamatan.code, strict=True)
        },
        desa_by_name=by_desa,
        kalimantan_box=(float(x0 - m), float(y0 - m), float(x1 + m), float(y1 + m)),
        encoded={
            (name, m): encode_layer(layers, name, simplify_m=m)
            for name in LAYER_NAMES
            for m in (0.0, MAP_SIMPLIFY_M[name])
        },
    )


def with_roads(spatial: Spatial, lines: LineSet) -> Spatial:
    """The same snapshot with the locator's roads taken from a newly stored network."""
    layers = dataclasses.replace(spatial.layers, roads=real_roads(lines))
    return dataclasses.replace(spatial, layers=layers, locator=Locator.from_layers(layers))
