"""Boundary and line layers as shapely arrays with their attributes, read from the bundled files."""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from geo.crs import WGS84


@dataclass(frozen=True)
class AreaLayer:
    """Polygons in WGS84 with a code, a name and further attribute columns."""

    geometry: np.ndarray
    code: np.ndarray
    name: np.ndarray
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.code)


@dataclass(frozen=True)
class LineLayer:
    """Lines in WGS84 with a name, a kind (river, road class) and a source label."""

    geometry: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.geometry)


@dataclass(frozen=True)
class Layers:
    """Everything the locator needs: three administrative levels, rivers and optional roads."""

    desa: AreaLayer
    kecamatan: AreaLayer
    kabupaten: AreaLayer
    rivers: LineLayer
    roads: LineLayer | None = None


BUNDLED_FILES = {
    "desa": "boundaries/barsel_desa.geojson",
    "kecamatan": "boundaries/barsel_kecamatan.geojson",
    "kabupaten": "boundaries/kalteng_kabupaten.geojson",
    "rivers": "hydro/barito_river_ne10m.geojson",
}


def bundled_data_dir() -> Path:
    """The bundled layers and catalog: data/ of a source checkout, or the copy a wheel installs.

    ``pip install .`` puts data/ under ``<prefix>/share/sigap112/data`` (pyproject's data-files), since it is
    no Python package; an editable install or a checkout reads the tree's own data/.
    """
    checkout = Path(__file__).resolve().parents[1] / "data"
    if (checkout / BUNDLED_FILES["desa"]).is_file():
        return checkout
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        installed = Path(sysconfig.get_path("data", scheme)) / "share" / "sigap112" / "data"
        if (installed / BUNDLED_FILES["desa"]).is_file():
            return installed
    return checkout


def _read(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    info, _fids, wkb, values = pyogrio.raw.read(path)
    crs = info.get("crs") or WGS84
    if crs not in (WGS84, "OGC:CRS84"):
        raise ValueError(f"{path}: expected WGS84 lon/lat, got {crs}")
    geoms = shapely.make_valid(shapely.from_wkb(wkb))
    attrs = {name: np.asarray(col) for name, col in zip(info["fields"], values, strict=True)}
    return geoms, attrs


def read_area_layer(path: Path, *, code_field: str = "kode", name_field: str = "nama") -> AreaLayer:
    """Read a polygon layer (GeoJSON, GeoPackage, Shapefile) in WGS84 into an AreaLayer."""
    geoms, attrs = _read(path)
    code = attrs.pop(code_field).astype(object)
    name = attrs.pop(name_field).astype(object)
    order = np.argsort(code, kind="stable")
    return AreaLayer(
        geometry=geoms[order],
        code=code[order],
        name=name[order],
        attrs={k: v[order] for k, v in attrs.items()},
    )


def read_line_layer(path: Path, *, kind_field: str = "waterway", default_source: str = "file") -> LineLayer:
    """Read a line layer in WGS84 into a LineLayer."""
    geoms, attrs = _read(path)
    n = len(geoms)
    empty = np.full(n, None, dtype=object)
    return LineLayer(
        geometry=geoms,
        name=attrs.get("name", empty).astype(object),
        kind=attrs.get(kind_field, np.full(n, "river", dtype=object)).astype(object),
        source=attrs.get("source", np.full(n, default_source, dtype=object)).astype(object),
    )


DEFAULT_DATA_DIR = bundled_data_dir()


def read_bundled_layers(data_dir: Path = DEFAULT_DATA_DIR) -> Layers:
    """The bundled real Barito Selatan layers straight from `data/`."""
    return Layers(
        desa=read_area_layer(data_dir / BUNDLED_FILES["desa"]),
        kecamatan=read_area_layer(data_dir / BUNDLED_FILES["kecamatan"]),
        kabupaten=read_area_layer(data_dir / BUNDLED_FILES["kabupaten"]),
        rivers=read_line_layer(data_dir / BUNDLED_FILES["rivers"]),
    )
