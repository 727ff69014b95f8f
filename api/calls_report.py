"""The calls report as people read it: labelled figures (JSON), and the CSV and XLSX a 112 centre sends upward.

Every text cell of the files goes through :func:`api.routes.exports.csv_safe` (a leading = + - @ tab or CR gets
an apostrophe), so an operator name or category a spreadsheet would run as a formula is shown as text.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from api.spatial import Spatial
from geo.times import iso_utc
from store.catalog import Catalog

__all__ = ["TYPE_LABELS", "report_csv", "report_public", "report_xlsx"]

TYPE_LABELS = {
    "darurat": ("Darurat", "Emergency"),
    "informasi": ("Informasi / non-darurat", "Information / non-emergency"),
    "iseng": ("Iseng / prank", "Prank"),
    "ghost": ("Ghost call (diam)", "Ghost (silent)"),
    "salah_sambung": ("Salah sambung", "Wrong number"),
    "panggilan_ulang": ("Panggilan ulang", "Follow-up call"),
    "uji": ("Uji coba", "Test"),
    "tak_terjawab": ("Tak terjawab", "Missed"),
    "belum": ("Belum diketik", "Not typed yet"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    """A cell a spreadsheet will not evaluate as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def report_public(figures: dict[str, Any], *, catalog: Catalog, spatial: Spatial, label: str) -> dict[str, Any]:
    """The report's figures with labels: type names, category and agency names, kecamatan names."""
    kec_names = dict(zip(spatial.layers.kecamatan.code, spatial.layers.kecamatan.name, strict=True))
    by_agency: dict[str, int] = {}
    categories = []
    for code, n in figures["emergency"]["by_category"].items():
        try:
            cat = catalog.category(code)
            name = cat.label_id
            primary, _ = catalog.agencies_for(code)
        except Exception:  # noqa: BLE001 - a category the catalog no longer has is still counted
            name, primary = code, ()
        categories.append({"code": code, "name": name, "count": n})
        for agency in primary[:1] or ():
            by_agency[agency.code] = by_agency.get(agency.code, 0) + n
    agencies = []
    for code, n in sorted(by_agency.items(), key=lambda kv: -kv[1]):
        try:
            agencies.append({"code": code, "name": catalog.agency(code).name_id, "count": n})
        except Exception:  # noqa: BLE001
            agencies.append({"code": code, "name": code, "count": n})
    return {
        "period": label,
        "since": iso_utc(figures["since"]),
        "until": iso_utc(figures["until"]),
        "total": figures["total"],
        "by_type": [
            {"type": t, "label_id": TYPE_LABELS[t][0], "label_en": TYPE_LABELS[t][1], "count": n,
             "share": round(n / figures["total"], 4) if figures["total"] else 0.0}
            for t, n in figures["by_type"].items() if t in TYPE_LABELS
        ],
        "by_hour": figures["by_hour"],
        "by_day": [{"day": d, "total": sum(v.values()), "by_type": v} for d, v in sorted(figures["by_day"].items())],
        "emergency": {
            "total": figures["emergency"]["total"],
            "by_category": categories,
            "by_agency": agencies,
            "by_kecamatan": [
                {"code": k, "name": str(kec_names.get(k, "Tidak diketahui / unknown")), "count": n}
                for k, n in figures["emergency"]["by_kecamatan"].items()
            ],
        },
        "intervals": figures["intervals"],
        "operators": [
            {"operator": op, "total": sum(v.values()), "by_type": v}
            for op, v in sorted(figures["operators"].items(), key=lambda kv: -sum(kv[1].values()))
        ],
    }


def _sections(r: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The report as titled tables, in the order a centre reports them."""
    types = [t for t in TYPE_LABELS if t != "belum"]
    iv = r["intervals"]

    def interval_row(name: str, v: dict[str, Any]) -> list[Any]:
        return [name, v["count"], v["p50_s"], v["p90_s"], v["p95_s"]]

    return [
        ("Laporan panggilan Call Center 112 Barito Selatan / 112 calls report",
         ["Periode", "Mulai (UTC)", "Sampai (UTC)", "Jumlah panggilan"],
         [[r["period"], r["since"], r["until"], r["total"]]]),
        ("Panggilan menurut jenis / calls by type", ["Jenis", "Jumlah", "Persen"],
         [[t["label_id"], t["count"], round(100 * t["share"], 1)] for t in r["by_type"]]),
        ("Panggilan menurut jam (WIB) / calls by hour", ["Jam", "Jumlah"],
         [[f"{h:02d}:00", n] for h, n in enumerate(r["by_hour"])]),
        ("Panggilan menurut hari (WIB) / calls by day", ["Tanggal", "Jumlah", *types],
         [[d["day"], d["total"], *(d["by_type"].get(t, 0) for t in types)] for d in r["by_day"]]),
        ("Panggilan darurat menurut kategori / emergency calls by category", ["Kode", "Kategori", "Jumlah"],
         [[c["code"], c["name"], c["count"]] for c in r["emergency"]["by_category"]]),
        ("Panggilan darurat menurut instansi / by agency", ["Kode", "Instansi", "Jumlah"],
         [[a["code"], a["name"], a["count"]] for a in r["emergency"]["by_agency"]]),
        ("Panggilan darurat menurut kecamatan / by kecamatan", ["Kode", "Kecamatan", "Jumlah"],
         [[k["code"], k["name"], k["count"]] for k in r["emergency"]["by_kecamatan"]]),
        ("Waktu tanggap (detik) / response intervals (seconds)", ["Interval", "n", "P50", "P90", "P95"],
         [interval_row("Jawab -> kirim unit / answer -> dispatch", iv["answer_to_dispatch"]),
          interval_row("Kirim -> tiba / dispatch -> arrival", iv["dispatch_to_arrival"])]),
        ("Panggilan per operator / calls per operator", ["Operator", "Jumlah", *types],
         [[o["operator"], o["total"], *(o["by_type"].get(t, 0) for t in types)] for o in r["operators"]]),
    ]


def report_csv(r: dict[str, Any]) -> bytes:
    """The report as one CSV: each section a title row, a header row, its rows and a blank line (UTF-8 BOM)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for title, header, rows in _sections(r):
        writer.writerow([_safe(title)])
        writer.writerow([_safe(h) for h in header])
        for row in rows:
            writer.writerow([_safe(v) for v in row])
        writer.writerow([])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def report_xlsx(r: dict[str, Any]) -> bytes:
    """The report as an XLSX workbook: a summary sheet with every section, then one sheet per day and operator."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Ringkasan"
    bold = Font(bold=True)
    for title, header, rows in _sections(r):
        ws.append([_safe(title)])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
        ws.append([_safe(h) for h in header])
        for cell in ws[ws.max_row]:
            cell.font = bold
        for row in rows:
            ws.append([_safe(v) for v in row])
        ws.append([])
    ws.column_dimensions["A"].width = 48
    for col in "BCDEFGHIJK":
        ws.column_dimensions[col].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
