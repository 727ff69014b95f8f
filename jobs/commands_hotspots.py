"""Hotspot and flood subcommands: ingest-firms, import-flood, seed-demo-floods."""

from __future__ import annotations

import argparse
from pathlib import Path

from geo.firms import CODING_TEXT, FirmsFormatError
from geo.locate import Locator
from store.db import session_scope
from store.events import EventHub
from store.floods import FloodFileTooLarge, FloodInputError, import_flood_file, seed_proxy_floodplain
from store.hotspots import IngestReport, ingest_detections
from store.layers import read_layers

EXIT_BAD_INPUT = 2


def _open():  # noqa: ANN202 - (engine, sessionmaker, layers)
    from jobs.commands_core import open_database

    engine, sessions = open_database()
    with session_scope(sessions) as session:
        layers = read_layers(session)
    return engine, sessions, layers


def print_report(report: IngestReport) -> None:
    """The ingest counts and the first rejected lines, bilingual."""
    print(f"  dibaca / read          {report.read:>10,}")
    print(f"  di wilayah / kept      {report.kept:>10,}  (luar Kalteng / outside: {report.outside:,})")
    zones = ", ".join(f"{k} {v:,}" for k, v in report.zones.items())
    print(f"    zona / zones: {zones}")
    print(f"  baru / inserted        {report.inserted:>10,}")
    print(f"  sudah ada / duplicate  {report.duplicate:>10,}")
    print(f"  ditolak / rejected     {report.rejected:>10,}")
    if report.confidence_coding:
        coding_id, coding_en = CODING_TEXT[report.confidence_coding]
        print(f"  confidence dibaca sebagai / read as: {coding_id} / {coding_en}")
    if report.date_only:
        print(f"  tanggal saja (tanpa jam) / date only (no time): {report.date_only:,}")
    if report.static_source:
        print(f"  di sumber panas tetap / in static heat sources: {report.static_source:,}")
    if report.alerts:
        print(f"  peringatan wilayah baru / new area alerts: {report.alerts:,}")
    for line, reason in report.rejects[:10]:
        print(f"    baris / line {line}: {reason}")
    if report.rejected > 10:
        print(f"    ... {report.rejected - 10:,} lainnya / more")


def cmd_ingest_firms(args: argparse.Namespace) -> int:
    """Stream a FIRMS MODIS/VIIRS or generic CSV into the hotspot table with a progress bar."""
    from tqdm import tqdm

    path = Path(args.file)
    if not path.exists():
        print(f"Berkas tidak ada / file not found: {path}")
        return EXIT_BAD_INPUT
    columns = None
    if args.format == "generic" or args.lat_column or args.lon_column or args.date_column:
        columns = {
            k: v
            for k, v in {
                "latitude": args.lat_column, "longitude": args.lon_column, "date": args.date_column,
                "time": args.time_column, "confidence": args.confidence_column, "frp": args.frp_column,
            }.items()
            if v
        } or None
    engine, sessions, layers = _open()
    locator = Locator.from_layers(layers)
    hub = EventHub(engine)
    size = path.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc="FIRMS", disable=args.quiet) as bar:
        state = {"pos": 0}

        def progress(_rows: int, pos: int) -> None:
            if pos > state["pos"]:
                bar.update(pos - state["pos"])
                state["pos"] = pos

        try:
            report = ingest_detections(
                sessions, path, locator=locator, fmt=args.format, columns=columns, source=args.source,
                actor="cli", hub=hub, progress=progress, chunk_rows=args.chunk_rows,
            )
        except FirmsFormatError as exc:
            bar.close()
            print(f"Tidak ada yang dimasukkan / nothing ingested: {exc}")
            return EXIT_BAD_INPUT
        bar.update(max(0, size - state["pos"]))
    print(f"{path.name}: format {report.fmt}")
    print_report(report)
    return 0


def cmd_import_flood(args: argparse.Namespace) -> int:
    """Import flood polygons from GeoJSON, Shapefile or GeoPackage."""
    path = Path(args.file)
    if not path.exists():
        print(f"Berkas tidak ada / file not found: {path}")
        return EXIT_BAD_INPUT
    engine, sessions, _ = _open()
    try:
        with session_scope(sessions) as session:
            report = import_flood_file(
                session, path, layer=args.layer, name_column=args.name_column, severity_column=args.severity_column,
                status_column=args.status_column, observed_column=args.observed_column,
                default_severity=args.severity, default_status=args.status, source=args.source, actor="cli",
                hub=EventHub(engine),
            )
    except (FloodInputError, FloodFileTooLarge) as exc:  # unreadable (GDAL's reason in the message) or too large
        print(exc)
        return EXIT_BAD_INPUT
    print(f"Zona dibuat / zones created: {len(report.created)} (id {', '.join(map(str, report.created)) or '-'})")
    for i, reason in report.repaired:
        print(f"  fitur / feature {i}: diperbaiki / repaired ({reason})")
    for i, reason in report.rejected:
        print(f"  fitur / feature {i}: ditolak / rejected: {reason}")
    return 0 if report.created or not report.rejected else EXIT_BAD_INPUT


def cmd_seed_demo_floods(args: argparse.Namespace) -> int:
    """Create the Barito floodplain proxy (status ended unless --active)."""
    engine, sessions, layers = _open()
    with session_scope(sessions) as session:
        zone = seed_proxy_floodplain(
            session, layers=layers, active=args.active, width_m=args.width_m, actor="cli", hub=EventHub(engine)
        )
        print(f"Zona proxy / proxy zone #{zone.id}: {zone.name} — status {zone.status} (is_proxy=true)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the hotspot and flood subcommands."""
    p = sub.add_parser("ingest-firms", help="masukkan CSV FIRMS / ingest a FIRMS (or generic) detection CSV")
    p.add_argument("file", help="CSV (juga .gz/.zip) / CSV file (.gz and .zip accepted)")
    p.add_argument("--format", choices=["auto", "modis", "viirs", "generic"], default="auto")
    p.add_argument("--lat-column", help="kolom lintang (generik) / latitude column (generic CSV)")
    p.add_argument("--lon-column", help="kolom bujur (generik) / longitude column (generic CSV)")
    p.add_argument("--date-column", help="kolom tanggal/waktu (generik) / date or datetime column (generic CSV)")
    p.add_argument("--time-column", help="kolom jam HHMM (generik) / HHMM time column (generic CSV)")
    p.add_argument("--confidence-column")
    p.add_argument("--frp-column")
    p.add_argument("--source", help="label sumber / source label (default firms-nrt|firms-archive|generic)")
    p.add_argument("--chunk-rows", type=int, default=50_000)
    p.add_argument("-q", "--quiet", action="store_true", help="tanpa bilah kemajuan / no progress bar")
    p.set_defaults(handler=cmd_ingest_firms)

    p = sub.add_parser("import-flood", help="impor poligon banjir / import flood polygons (GeoJSON, SHP, GPKG)")
    p.add_argument("file")
    p.add_argument("--layer", help="lapisan GeoPackage / GeoPackage layer")
    p.add_argument("--name-column", default="name")
    p.add_argument("--severity-column", default="severity")
    p.add_argument("--status-column", default="status")
    p.add_argument("--observed-column", default="observed_at")
    p.add_argument("--severity", default="sedang", choices=["rendah", "sedang", "tinggi"], help="bawaan / default")
    p.add_argument("--status", default="active", choices=["active", "ended"], help="bawaan / default")
    p.add_argument("--source", help="label sumber / source label (default: file name)")
    p.set_defaults(handler=cmd_import_flood)

    p = sub.add_parser("seed-demo-floods", help="zona proxy dataran banjir Barito / Barito floodplain proxy")
    p.add_argument("--active", action="store_true", help="jadikan aktif / make it active (default: ended)")
    p.add_argument("--width-m", type=float, default=3000.0)
    p.set_defaults(handler=cmd_seed_demo_floods)
