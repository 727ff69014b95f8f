"""`sigap report daily|weekly|range`: a situation report (PDF and offline HTML map) written into a folder."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from api.config import get_settings
from api.context import load_settings_catalog
from geo.errors import SigapError
from geo.times import utcnow
from jobs.commands_core import open_database
from jobs.report.produce import gather, render_files, write_files
from store.db import session_scope
from store.layers import read_layers
from store.reports import LANGS, claim_report, finish_report, report_period, request_report


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"tanggal YYYY-MM-DD / a date YYYY-MM-DD, not {value!r}") from None


def cmd_report(args: argparse.Namespace) -> int:
    """Make one report and write its files into --out (and store it with --store)."""
    settings = get_settings()
    now = utcnow()
    try:
        period = report_period(
            args.kind, now=now, clock=settings.report_clock, on=getattr(args, "date", None),
            first=getattr(args, "first", None), last=getattr(args, "last", None),
        )  # fmt: skip
    except SigapError as exc:
        print(f"{exc.message_id} / {exc.message_en}", file=sys.stderr)
        return 2
    engine, sessions = open_database()
    try:
        with session_scope(sessions) as session:
            layers = read_layers(session)
            sitrep = gather(session, period=period, now=now, layers=layers, catalog=load_settings_catalog(settings),
                            settings=settings)  # fmt: skip
        files = render_files(sitrep, args.lang)
        paths = write_files(files, Path(args.out))
        if args.store:
            with session_scope(sessions) as session:
                report = request_report(session, period=period, lang=args.lang, actor="cli")
                claim_report(session, report.id)
                finish_report(session, report.id, files=files, figures=sitrep.figures())
                print(f"Disimpan sebagai laporan / stored as report #{report.id}")
    finally:
        engine.dispose()
    print(f"Periode / period: {period.label(args.lang)}")
    if sitrep.empty:
        print("Tidak ada kejadian maupun titik panas dalam periode ini / nothing happened in this period")
    for path in paths:
        print(f"  {path}  ({path.stat().st_size / 1024:.0f} kB)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sigap report`."""
    p = sub.add_parser("report", help="laporan situasi PDF + peta HTML / situation report PDF + HTML map")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    helps = {
        "daily": "24 jam sampai jam laporan (07:00 WIB) / the 24 h up to the report time",
        "weekly": "7 hari sampai jam laporan / the 7 days up to the report time",
        "range": "hari-hari WIB --from sampai --to / WIB days --from to --to",
    }
    for kind, text in helps.items():
        k = kinds.add_parser(kind, help=text)
        if kind == "range":
            k.add_argument("--from", dest="first", type=_date, required=True, help="YYYY-MM-DD (WIB)")
            k.add_argument("--to", dest="last", type=_date, required=True, help="YYYY-MM-DD (WIB, inklusif)")
        else:
            k.add_argument("--date", type=_date, help="hari laporan / the report's day (YYYY-MM-DD, WIB)")
        k.add_argument("--out", required=True, help="folder tujuan / output folder")
        k.add_argument("--lang", choices=LANGS, default="id", help="bahasa / language (id, en)")
        k.add_argument("--store", action="store_true", help="simpan juga di basis data / also store it")
        k.set_defaults(handler=cmd_report)
