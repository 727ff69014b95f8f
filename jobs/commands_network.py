"""Network and unit subcommands: import a road/river network, seed the demo stations and units."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from geo.netimport import ImportedLines, parse_mapping, read_ogr, read_osm
from store.db import session_scope
from store.events import EventHub
from store.layers import read_layers
from store.network import StoredState, imported_lineset, replace_network

log = logging.getLogger("sigap.network")
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")


class ImportRefused(ValueError):
    """The file gave no usable network; the stored network is untouched."""


def read_network_file(
    path: Path,
    *,
    layer: str | None = None,
    class_column: str | None = None,
    speed_column: str | None = None,
    oneway_column: str | None = None,
    name_column: str | None = None,
    mapping: str | None = None,
    default_kind: str = "road",
) -> tuple[ImportedLines, str]:
    """Read an OSM or OGR file into lines and say which source label they get ('osm' or 'file')."""
    if not path.exists():
        raise ImportRefused(f"Berkas tidak ada / file not found: {path}")
    if path.name.lower().endswith(OSM_SUFFIXES):
        return read_osm(path), "osm"
    return (
        read_ogr(
            path,
            layer=layer,
            class_column=class_column,
            speed_column=speed_column,
            oneway_column=oneway_column,
            name_column=name_column,
            mapping=parse_mapping(mapping),
            default_kind=default_kind,
        ),
        "file",
    )


def import_network(
    sessions: sessionmaker[Session], engine: Engine, path: Path, *, actor: str | None = None, **options: Any
) -> tuple[StoredState, dict]:
    """Read a file and replace the stored network with it in one transaction; announces `network.updated`.

    Raises ImportRefused (nothing changed) when the file holds no usable line.
    """
    try:
        imported, source = read_network_file(path, **options)
    except (OSError, ValueError) as exc:
        raise ImportRefused(str(exc)) from exc
    if len(imported) == 0:
        raise ImportRefused(
            f"Tidak ada garis jalan/sungai yang bisa dipakai di {path.name}; jaringan lama tetap dipakai / "
            f"no usable road or river lines in {path.name}; the existing network is kept "
            f"(dibaca / read {imported.read}, dilewati / skipped {imported.skipped})"
        )
    with session_scope(sessions) as session:
        layers = read_layers(session)
        lines, kept = imported_lineset(
            lines=imported.lines,
            kind=imported.kind,
            oneway=imported.oneway,
            speed_kmh=imported.speed_kmh,
            name=imported.name,
            source=source,
            layers=layers if len(layers.desa) else None,
        )
        try:
            state = replace_network(session, lines, actor=actor, description=f"impor / import {path.name}")
        except ValueError as exc:
            raise ImportRefused(
                f"{exc} ({path.name}); jaringan lama tetap dipakai / the existing network is kept"
            ) from exc
        EventHub(engine).publish(
            session, "network.updated", {"version": state.version, "source": state.source, "lines": state.lines}
        )
    report = {
        "read": imported.read,
        "used": len(imported),
        "kinds": imported.summary(),
        "skipped": imported.skipped,
        "kept_derived_water": kept,
        "source": source,
    }
    return state, report


def cmd_import_network(args: argparse.Namespace) -> int:
    """`sigap import-network FILE`."""
    from jobs.commands_core import open_database

    engine, sessions = open_database()
    try:
        state, report = import_network(
            sessions,
            engine,
            Path(args.file),
            actor=args.actor,
            layer=args.layer,
            class_column=args.class_column,
            speed_column=args.speed_column,
            oneway_column=args.oneway_column,
            name_column=args.name_column,
            mapping=args.mapping,
            default_kind=args.default_kind,
        )
    except ImportRefused as exc:
        print(f"GAGAL / FAILED: {exc}")
        return 2
    print(
        f"Jaringan versi / network version {state.version} ({state.source}): {state.lines} garis / lines; "
        f"dibaca / read {report['read']}, dipakai / used {report['used']} {report['kinds']}"
    )
    if report["skipped"]:
        print(f"  dilewati / skipped: {report['skipped']}")
    if report["kept_derived_water"]:
        print(
            f"  tanpa sungai di berkas: {report['kept_derived_water']} garis sungai/dermaga turunan dipertahankan / "
            "no waterways in the file: derived river and landing lines kept for boats"
        )
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    """`sigap seed-demo`: demo stations and units at the kecamatan capitals (idempotent)."""
    from jobs.commands_core import open_database
    from store.units import seed_demo_units

    _engine, sessions = open_database()
    with session_scope(sessions) as session:
        layers = read_layers(session)
        if not len(layers.desa):
            print("Batas wilayah belum dimuat; jalankan `sigap load` / boundaries not loaded; run `sigap load`")
            return 2
        report = seed_demo_units(session, layers, reset=args.reset, actor="sigap-cli")
    print(
        f"Demo: {report.stations} markas / stations ({report.stations_created} baru / new), "
        f"{report.units} unit ({report.units_created} baru / new)"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the network and demo subcommands."""
    p = sub.add_parser(
        "import-network",
        help="impor jaringan jalan/sungai (OSM .osm.pbf atau berkas OGR) / import a road and river network",
    )
    p.add_argument("file", help=".osm.pbf, Shapefile, GeoPackage, GeoJSON, ...")
    p.add_argument("--layer", help="nama lapisan (GeoPackage) / layer name")
    p.add_argument("--class-column", help="kolom kelas jalan / road class column")
    p.add_argument("--speed-column", help="kolom kecepatan km/j / speed column (km/h)")
    p.add_argument("--oneway-column", help="kolom satu arah (yes/-1) / one-way column (yes/-1)")
    p.add_argument("--name-column", help="kolom nama / name column")
    p.add_argument(
        "--mapping",
        help='nilai kelas -> kelas SIGAP: JSON, berkas JSON, atau "a=primary,b=track" / class value mapping',
    )
    p.add_argument("--default-kind", default="road", help="kelas bila tanpa kolom kelas / class when no class column")
    p.add_argument("--actor", default="sigap-cli", help="nama di log audit / name in the audit log")
    p.set_defaults(handler=cmd_import_network)
    p = sub.add_parser("seed-demo", help="isi markas dan unit demo / seed demo stations and units")
    p.add_argument("--reset", action="store_true", help="kembalikan unit demo ke markas / put demo units back")
    p.set_defaults(handler=cmd_seed_demo)
