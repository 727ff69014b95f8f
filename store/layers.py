"""Loading the boundary and river layers into the database and reading them back as shapely arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from geo.layers import AreaLayer, Layers, LineLayer, read_bundled_layers
from store.models import Desa, Kabupaten, Kecamatan, River


@dataclass(frozen=True)
class LoadReport:
    """How many rows of each layer the database holds after a load, and how many were written."""

    counts: dict[str, int]
    written: dict[str, int]


def _multi(geom: shapely.Geometry) -> shapely.Geometry:
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def _polygon_rows(layer: AreaLayer, extra: list[str]) -> list[dict]:
    rows = []
    for i in range(len(layer)):
        row = {
            "kode": str(layer.code[i]),
            "nama": str(layer.name[i]),
            "geom": from_shape(_multi(layer.geometry[i]), srid=4326),
        }
        for name in extra:
            value = layer.attrs[name][i]
            row[name] = value.item() if isinstance(value, np.generic) else value
        rows.append(row)
    return rows


def _sync(session: Session, model: type[Any], rows: list[dict], key: str) -> int:
    """Insert missing rows and update changed ones by natural key; returns how many were written."""
    existing = {getattr(obj, key): obj for obj in session.scalars(select(model))}
    written = 0
    for row in rows:
        obj = existing.pop(row[key], None)
        if obj is None:
            session.add(model(**row))
            written += 1
            continue
        changed = False
        for name, value in row.items():
            if name == "geom":
                if to_shape(obj.geom).equals_exact(to_shape(value), 1e-9):
                    continue
            elif getattr(obj, name) == value:
                continue
            setattr(obj, name, value)
            changed = True
        written += changed
    for obj in existing.values():
        session.delete(obj)
        written += 1
    return written


def load_layers(session: Session, layers: Layers) -> LoadReport:
    """Make the stored boundaries and rivers equal to `layers`; running it twice writes nothing."""
    written = {
        "kabupaten": _sync(session, Kabupaten, _polygon_rows(layers.kabupaten, []), "kode"),
        "kecamatan": _sync(
            session,
            Kecamatan,
            [
                {**r, "kabupaten_kode": r["kode"].rsplit(".", 1)[0]}
                for r in _polygon_rows(layers.kecamatan, [])
            ],
            "kode",
        ),
        "desa": _sync(
            session,
            Desa,
            _polygon_rows(layers.desa, ["jenis", "kecamatan_kode", "kecamatan", "lat", "lng"]),
            "kode",
        ),
    }
    rivers = layers.rivers
    current = list(session.scalars(select(River).order_by(River.id)))
    wanted = [
        {
            "name": rivers.name[i],
            "waterway": str(rivers.kind[i]),
            "source": str(rivers.source[i]),
            "geom": rivers.geometry[i],
        }
        for i in range(len(rivers))
    ]
    same = len(current) == len(wanted) and all(
        c.name == w["name"]
        and c.waterway == w["waterway"]
        and c.source == w["source"]
        and to_shape(c.geom).equals_exact(w["geom"], 1e-9)
        for c, w in zip(current, wanted, strict=True)
    )
    written["rivers"] = 0
    if not same:
        session.execute(delete(River))
        session.add_all([River(**{**w, "geom": from_shape(w["geom"], srid=4326)}) for w in wanted])
        written["rivers"] = len(wanted)
    session.flush()
    return LoadReport(counts=layer_counts(session), written=written)


def load_bundled(session: Session, data_dir: Path) -> LoadReport:
    """Load the bundled Barito Selatan layers from `data_dir`."""
    return load_layers(session, read_bundled_layers(data_dir))


def layer_counts(session: Session) -> dict[str, int]:
    """Row counts of the stored layers."""
    return {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in (
            ("kabupaten", Kabupaten),
            ("kecamatan", Kecamatan),
            ("desa", Desa),
            ("rivers", River),
        )
    }


def _area_layer(session: Session, model: type[Any], extra: list[str]) -> AreaLayer:
    objs = list(session.scalars(select(model).order_by(model.kode)))
    return AreaLayer(
        geometry=np.array([to_shape(o.geom) for o in objs], dtype=object),
        code=np.array([o.kode for o in objs], dtype=object),
        name=np.array([o.nama for o in objs], dtype=object),
        attrs={name: np.array([getattr(o, name) for o in objs], dtype=object) for name in extra},
    )


def read_layers(session: Session) -> Layers:
    """The stored layers as shapely arrays for the locator (roads are added by the network module)."""
    rivers = list(session.scalars(select(River).order_by(River.id)))
    return Layers(
        desa=_area_layer(session, Desa, ["jenis", "kecamatan_kode", "kecamatan"]),
        kecamatan=_area_layer(session, Kecamatan, ["kabupaten_kode"]),
        kabupaten=_area_layer(session, Kabupaten, []),
        rivers=LineLayer(
            geometry=np.array([to_shape(r.geom) for r in rivers], dtype=object),
            name=np.array([r.name for r in rivers], dtype=object),
            kind=np.array([r.waterway for r in rivers], dtype=object),
            source=np.array([r.source for r in rivers], dtype=object),
        ),
    )


def is_empty(engine: Engine) -> bool:
    """True when no desa is stored yet."""
    with Session(engine) as session:
        return not session.scalar(select(func.count()).select_from(Desa))
