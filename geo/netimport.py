"""Reading road and waterway lines from OpenStreetMap (.osm.pbf, via osmium) and OGR files (via pyogrio).

Both readers return ``ImportedLines`` in WGS84 with a road class / waterway kind per line that
``geo.network.build_network`` understands; lines it cannot use (footways, proposed roads, streams, ...) are
dropped and counted. One-way lines against their digitised direction (OSM ``oneway=-1``) are reversed so
``oneway`` always means "digitised direction only".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from geo.crs import WGS84, project_geometries
from geo.network import ROAD_SPEED_KMH, WATERWAY_FACTOR

KNOWN_KINDS = frozenset(ROAD_SPEED_KMH) | frozenset(WATERWAY_FACTOR) | {"landing"}
# Highway values a vehicle cannot use, or that do not exist yet: dropped on purpose, not "unknown".
OSM_SKIPPED_HIGHWAYS = frozenset(
    {
        "footway",
        "cycleway",
        "steps",
        "pedestrian",
        "bridleway",
        "construction",
        "proposed",
        "platform",
        "corridor",
        "elevator",
        "bus_stop",
        "raceway",
        "abandoned",
        "disused",
        "escape",
        "rest_area",
        "services",
    }
)
TRUE_WORDS = frozenset({"yes", "true", "1", "y", "ya", "t", "on"})
REVERSE_WORDS = frozenset({"-1", "reverse", "backward"})


@dataclass(frozen=True)
class ImportedLines:
    """Usable lines (WGS84) with kind, one-way flag, optional speed (NaN = class speed) and name."""

    lines: np.ndarray
    kind: np.ndarray
    oneway: np.ndarray
    speed_kmh: np.ndarray
    name: np.ndarray
    read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    def summary(self) -> dict[str, int]:
        """Lines per kind."""
        return dict(Counter(self.kind.tolist()))


def parse_oneway(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(oneway, reverse) flags from OSM-style values: yes/true/1, -1/reverse; anything else two-way."""
    v = np.char.strip(np.char.lower(np.asarray([("" if x is None else str(x)) for x in values], dtype=str)))
    rev = np.isin(v, list(REVERSE_WORDS))
    return np.isin(v, list(TRUE_WORDS)) | rev, rev


def parse_speed(values: np.ndarray) -> np.ndarray:
    """km/h from numbers or OSM maxspeed strings ('50', '30 mph'); NaN when not a usable speed."""
    out = np.full(len(values), np.nan)
    for i, raw in enumerate(values.tolist()):
        if raw is None:
            continue
        if isinstance(raw, int | float):
            out[i] = float(raw)
            continue
        text = str(raw).strip().lower()
        factor = 1.609344 if text.endswith("mph") else 1.0
        try:
            out[i] = float(text.replace("mph", "").replace("km/h", "").replace("kmh", "").strip()) * factor
        except ValueError:
            continue
    out[~(np.isfinite(out) & (out > 0) & (out < 200))] = np.nan
    return out


def _finish(
    geoms: np.ndarray,
    kind: np.ndarray,
    oneway: np.ndarray,
    reverse: np.ndarray,
    speed: np.ndarray,
    name: np.ndarray,
    *,
    read: int,
    skipped: Counter,
) -> ImportedLines:
    """Split multi-lines, reverse backward one-ways, drop empty and unknown-kind lines."""
    kind = np.char.strip(np.char.lower(np.asarray(kind, dtype=str)))
    if len(kind):  # np.char.replace fails on empty arrays
        kind = np.where(np.char.endswith(kind, "_link"), np.char.replace(kind, "_link", ""), kind)
    usable = np.isin(kind, list(KNOWN_KINDS))
    for k, n in Counter(kind[~usable].tolist()).items():
        skipped[k or "(kosong / empty)"] += n
    geoms = np.asarray(geoms, dtype=object)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    skipped["no_geometry"] += int((usable & ~valid).sum())
    keep = usable & valid
    parts, idx = shapely.get_parts(geoms[keep], return_index=True)
    src = np.flatnonzero(keep)[idx]
    is_line = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    skipped["not_a_line"] += int((~is_line).sum())
    parts, src = parts[is_line], src[is_line]
    back = reverse[src]
    if back.any():
        parts[back] = shapely.reverse(parts[back])
    return ImportedLines(
        lines=parts.astype(object),
        kind=kind[src].astype(object),
        oneway=oneway[src].astype(bool),
        speed_kmh=speed[src].astype(float),
        name=np.asarray(name, dtype=object)[src],
        read=read,
        skipped={k: v for k, v in skipped.items() if v},
    )


def read_osm(path: str | Path) -> ImportedLines:
    """Roads (highway=*), rivers and canals (waterway=river|canal) and ferry routes from an OSM file."""
    import osmium
    from osmium.filter import KeyFilter

    wkb_factory = osmium.geom.WKBFactory()
    wkb: list[str] = []
    kinds: list[str] = []
    ows: list[str | None] = []
    speeds: list[str | None] = []
    names: list[str | None] = []
    skipped: Counter = Counter()
    read = 0
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    fp = fp.with_filter(KeyFilter("highway", "waterway", "route"))
    for obj in fp:
        if not isinstance(obj, osmium.osm.Way):
            continue
        read += 1
        tags = obj.tags
        hw, ww, route = tags.get("highway"), tags.get("waterway"), tags.get("route")
        if route == "ferry":
            kind = "ferry"
        elif hw is not None:
            if hw in OSM_SKIPPED_HIGHWAYS:
                skipped[f"highway={hw}"] += 1
                continue
            kind = hw
        elif ww in WATERWAY_FACTOR:
            kind = ww
        else:
            skipped[f"waterway={ww}" if ww else "other"] += 1
            continue
        try:
            wkb.append(wkb_factory.create_linestring(obj))
        except (osmium.InvalidLocationError, RuntimeError):
            skipped["missing_nodes"] += 1
            continue
        ow = tags.get("oneway")
        # Motorways and roundabouts are one-way by OSM convention unless tagged otherwise.
        if ow is None and (kind == "motorway" or tags.get("junction") in ("roundabout", "circular")):
            ow = "yes"
        kinds.append(kind)
        ows.append(ow)
        speeds.append(tags.get("maxspeed"))
        names.append(tags.get("name"))
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.zeros(0, dtype=object)
    oneway, reverse = parse_oneway(np.array(ows, dtype=object))
    return _finish(
        geoms,
        np.array(kinds, dtype=str),
        oneway,
        reverse,
        parse_speed(np.array(speeds, dtype=object)),
        np.array(names, dtype=object),
        read=read,
        skipped=skipped,
    )


def parse_mapping(raw: str | None) -> dict[str, str]:
    """A class mapping from JSON ('{"Jalan Kolektor": "secondary"}'), a JSON file path, or 'a=b,c=d'."""
    if not raw:
        return {}
    text = raw.strip()
    if not text.startswith("{") and Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("--mapping harus objek JSON / must be a JSON object")
        return {str(k).strip().lower(): str(v).strip().lower() for k, v in data.items()}
    out: dict[str, str] = {}
    for pair in text.split(","):
        if "=" not in pair:
            raise ValueError(f"--mapping: '{pair}' bukan nilai=kelas / is not value=class")
        k, v = pair.split("=", 1)
        out[k.strip().lower()] = v.strip().lower()
    return out


def read_ogr(
    path: str | Path,
    *,
    layer: str | int | None = None,
    class_column: str | None = None,
    speed_column: str | None = None,
    oneway_column: str | None = None,
    name_column: str | None = None,
    mapping: dict[str, str] | None = None,
    default_kind: str = "road",
) -> ImportedLines:
    """Lines from any OGR file (Shapefile, GeoPackage, GeoJSON, ...), reprojected to WGS84.

    ``class_column`` values go through ``mapping`` (case-insensitive) to a road class or waterway kind;
    without a class column every line gets ``default_kind``.
    """
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    fields = [str(f) for f in info["fields"]]
    lower = {f.lower(): f for f in fields}

    def col(name: str | None, what: str) -> str | None:
        if name is None:
            return None
        if name in fields:
            return name
        if name.lower() in lower:
            return lower[name.lower()]
        raise ValueError(
            f"Kolom '{name}' ({what}) tidak ada di berkas / column '{name}' ({what}) is not in the file; "
            f"ada / available: {fields}"
        )

    cols = {
        "class": col(class_column, "--class-column"),
        "speed": col(speed_column, "--speed-column"),
        "oneway": col(oneway_column, "--oneway-column"),
        "name": col(name_column or ("name" if "name" in lower else None), "--name-column"),
    }
    wanted = sorted({c for c in cols.values() if c})
    meta, _fids, wkb, values = pyogrio.raw.read(path, layer=layer, columns=wanted)
    data = dict(zip(meta["fields"], values, strict=True))
    geoms = shapely.from_wkb(wkb)
    n = len(geoms)
    crs = meta.get("crs")
    if crs and crs not in (WGS84, "OGC:CRS84"):
        ok = ~shapely.is_missing(geoms)
        geoms[ok] = project_geometries(geoms[ok], src=crs, dst=WGS84)
    if cols["class"]:
        raw = np.array(["" if v is None else str(v).strip().lower() for v in data[cols["class"]]], dtype=object)
        mp = mapping or {}
        kind = np.array([mp.get(v, v) for v in raw.tolist()], dtype=str)
    else:
        kind = np.full(n, default_kind.lower(), dtype=str)
    if cols["oneway"]:
        oneway, reverse = parse_oneway(np.asarray(data[cols["oneway"]], dtype=object))
    else:
        oneway = reverse = np.zeros(n, dtype=bool)
    speed = parse_speed(np.asarray(data[cols["speed"]], dtype=object)) if cols["speed"] else np.full(n, np.nan)
    name = np.asarray(data[cols["name"]], dtype=object) if cols["name"] else np.full(n, None, dtype=object)
    return _finish(geoms, kind, oneway, reverse, speed, name, read=n, skipped=Counter())
