"""The words of a report in Bahasa Indonesia and English, and the plain-language response figures.

No percentile jargon reaches a leader: a 90th percentile becomes "9 dari 10 panggilan dikirim dalam 2 menit".
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from geo.times import WIB

__all__ = ["WORDS", "duration_words", "response_sentences", "wib", "wib_short"]

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title_daily": "Laporan Situasi Harian",
        "title_weekly": "Laporan Situasi Mingguan",
        "title_range": "Laporan Situasi",
        "org": "Call Center 112 Kabupaten Barito Selatan",
        "period": "Periode",
        "made": "Dibuat",
        "state_at": "Keadaan zona banjir dan unit per",
        "empty": "Tidak ada kejadian maupun titik panas yang tercatat dalam periode ini.",
        "headline": "Angka utama",
        "incidents": "Kejadian",
        "still_open": "masih berjalan",
        "hotspots": "Titik panas",
        "flooded_desa": "Desa tergenang",
        "flooded_rule": "desa dihitung tergenang bila paling sedikit {pct} % luasnya terendam",
        "units_available": "Unit siaga",
        "units_out": "Unit tidak beroperasi",
        "of": "dari",
        "response": "Kecepatan respons",
        "by_category": "Kejadian menurut kategori",
        "by_kecamatan": "Kejadian menurut kecamatan",
        "by_status": "Kejadian menurut status",
        "by_priority": "Kejadian menurut prioritas",
        "category": "Kategori",
        "kecamatan": "Kecamatan",
        "desa": "Desa",
        "status": "Status",
        "priority": "Prioritas",
        "count": "Jumlah",
        "notable": "Kejadian penting",
        "notable_note": "Kejadian yang dikirimi unit atau masih berjalan; yang paling lama ditangani lebih dulu.",
        "number": "Nomor",
        "time": "Waktu",
        "place": "Lokasi",
        "units": "Unit",
        "dispatched": "Dikirim",
        "on_scene": "Tiba",
        "resolved": "Selesai",
        "none": "tidak ada",
        "hotspots_by_desa": "Titik panas menurut desa",
        "high_conf": "Keyakinan tinggi",
        "last_seen": "Terakhir terdeteksi",
        "more_desa": "dan {n} desa lainnya",
        "floods": "Zona banjir aktif dan desa terdampak",
        "zone": "Zona",
        "severity": "Tingkat",
        "area": "Luas",
        "observed": "Diamati",
        "source": "Sumber",
        "share": "Terendam",
        "no_desa_above": "tidak ada desa di atas batas {pct} %",
        "proxy": "perkiraan",
        "units_title": "Unit: siaga dan tidak beroperasi",
        "unit_type": "Jenis unit",
        "tersedia": "Siaga",
        "bertugas": "Bertugas",
        "offline": "Tidak beroperasi",
        "map": "Peta situasi",
        "map_title": "Peta situasi Kabupaten Barito Selatan",
        "map_stamp": "Kejadian dan titik panas dalam periode; zona banjir per {at}",
        "legend": "Legenda",
        "river": "Sungai Barito",
        "north": "U",
        "sev_rendah": "rendah",
        "sev_sedang": "sedang",
        "sev_tinggi": "tinggi",
        "sources": (
            "Sumber: kejadian dan unit SIGAP 112; titik panas NASA FIRMS; batas wilayah Kepmendagri "
            "(cahyadsn/wilayah_boundaries, MIT); sungai Natural Earth (domain publik)."
        ),
        "privacy": "Laporan ini tidak memuat nama atau nomor pelapor maupun catatan bebas operator.",
        "page": "Halaman",
        "truncated": "peta menampilkan {n} titik panas terbaru",
        "open_map": "Peta interaktif: buka berkas HTML yang menyertai laporan ini (berjalan tanpa internet).",
        "layer_incidents": "Kejadian",
        "layer_hotspots": "Titik panas",
        "layer_floods": "Zona banjir",
        "layer_units": "Unit",
        "layer_kecamatan": "Kecamatan",
        "layer_desa": "Desa / kelurahan",
        "layer_neighbours": "Kabupaten tetangga",
        "layer_river": "Sungai",
        "first_seen": "Terdeteksi",
        "confidence": "Keyakinan",
        "callsign": "Unit",
        "unit_status": "Status unit",
    },
    "en": {
        "title_daily": "Daily Situation Report",
        "title_weekly": "Weekly Situation Report",
        "title_range": "Situation Report",
        "org": "Call Center 112, Barito Selatan Regency",
        "period": "Period",
        "made": "Made",
        "state_at": "Flood zones and units as at",
        "empty": "No incident and no hotspot was recorded in this period.",
        "headline": "Headline figures",
        "incidents": "Incidents",
        "still_open": "still open",
        "hotspots": "Hotspots",
        "flooded_desa": "Flooded villages",
        "flooded_rule": "a village counts as flooded when at least {pct} % of its area is under water",
        "units_available": "Units available",
        "units_out": "Units out of service",
        "of": "of",
        "response": "Response",
        "by_category": "Incidents by category",
        "by_kecamatan": "Incidents by district",
        "by_status": "Incidents by status",
        "by_priority": "Incidents by priority",
        "category": "Category",
        "kecamatan": "District",
        "desa": "Village",
        "status": "Status",
        "priority": "Priority",
        "count": "Count",
        "notable": "Notable incidents",
        "notable_note": "Incidents that received units or are still open; the longest to reach first.",
        "number": "Number",
        "time": "Time",
        "place": "Place",
        "units": "Units",
        "dispatched": "Dispatched",
        "on_scene": "On scene",
        "resolved": "Resolved",
        "none": "none",
        "hotspots_by_desa": "Hotspots by village",
        "high_conf": "High confidence",
        "last_seen": "Last detected",
        "more_desa": "and {n} more villages",
        "floods": "Active flood zones and affected villages",
        "zone": "Zone",
        "severity": "Severity",
        "area": "Area",
        "observed": "Observed",
        "source": "Source",
        "share": "Flooded",
        "no_desa_above": "no village above the {pct} % threshold",
        "proxy": "approximate",
        "units_title": "Units: available and out of service",
        "unit_type": "Unit type",
        "tersedia": "Available",
        "bertugas": "On duty",
        "offline": "Out of service",
        "map": "Situation map",
        "map_title": "Situation map, Barito Selatan Regency",
        "map_stamp": "Incidents and hotspots of the period; flood zones as at {at}",
        "legend": "Legend",
        "river": "Barito river",
        "north": "N",
        "sev_rendah": "low",
        "sev_sedang": "medium",
        "sev_tinggi": "high",
        "sources": (
            "Sources: incidents and units SIGAP 112; hotspots NASA FIRMS; boundaries Kepmendagri "
            "(cahyadsn/wilayah_boundaries, MIT); river Natural Earth (public domain)."
        ),
        "privacy": "This report holds no caller names or numbers and no free-text operator notes.",
        "page": "Page",
        "truncated": "the map shows the {n} newest hotspots",
        "open_map": "Interactive map: open the HTML file that comes with this report (works without internet).",
        "layer_incidents": "Incidents",
        "layer_hotspots": "Hotspots",
        "layer_floods": "Flood zones",
        "layer_units": "Units",
        "layer_kecamatan": "Districts",
        "layer_desa": "Villages",
        "layer_neighbours": "Neighbouring regencies",
        "layer_river": "River",
        "first_seen": "Detected",
        "confidence": "Confidence",
        "callsign": "Unit",
        "unit_status": "Unit status",
    },
}


def wib(at: datetime | None) -> str:
    """'06-12-2026 07:00 WIB', or '–'."""
    return "–" if at is None else at.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def wib_short(at: datetime | None) -> str:
    """'06-12 07:12' (WIB), or '–'."""
    return "–" if at is None else at.astimezone(WIB).strftime("%d-%m %H:%M")


def duration_words(seconds: float, lang: str) -> str:
    """A span as people say it: '45 detik', '2 menit', '1 jam 5 menit' (minutes rounded up)."""
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} {'detik' if lang == 'id' else 'seconds'}"
    minutes = math.ceil(seconds / 60)
    unit_m = "menit" if lang == "id" else ("minute" if minutes == 1 else "minutes")
    if minutes < 90:
        return f"{minutes} {unit_m}"
    hours, rest = divmod(minutes, 60)
    unit_h = "jam" if lang == "id" else ("hour" if hours == 1 else "hours")
    if not rest:
        return f"{hours} {unit_h}"
    unit_r = "menit" if lang == "id" else ("minute" if rest == 1 else "minutes")
    return f"{hours} {unit_h} {rest} {unit_r}"


_PHRASES = {
    "id": {
        "dispatch": {
            "p90": "9 dari 10 panggilan dikirim dalam {t}.",
            "half": "Separuh panggilan dikirim dalam {t}.",
            "target": "Target kirim {t}: tercapai pada {k} dari {n} panggilan ({pct} %).",
            "none": "Belum ada panggilan yang dikirimi unit dalam periode ini.",
        },
        "scene": {
            "p90": "Pada 9 dari 10 panggilan, unit tiba di lokasi dalam {t}.",
            "half": "Pada separuh panggilan, unit tiba di lokasi dalam {t}.",
            "target": "Target tiba {t}: tercapai pada {k} dari {n} panggilan ({pct} %).",
            "none": "Belum ada unit yang tiba di lokasi dalam periode ini.",
        },
    },
    "en": {
        "dispatch": {
            "p90": "9 in 10 calls were dispatched within {t}.",
            "half": "Half of the calls were dispatched within {t}.",
            "target": "Dispatch target {t}: met for {k} of {n} calls ({pct} %).",
            "none": "No call received units in this period.",
        },
        "scene": {
            "p90": "In 9 of 10 calls the unit reached the scene within {t}.",
            "half": "In half of the calls the unit reached the scene within {t}.",
            "target": "On-scene target {t}: met for {k} of {n} calls ({pct} %).",
            "none": "No unit reached a scene in this period.",
        },
    },
}


def response_sentences(figures: dict[str, Any], *, target_s: float, which: str, lang: str) -> list[str]:
    """Plain sentences for one response interval ('dispatch' or 'scene') from its percentiles and target count.

    "9 dari 10" only from 10 measured calls on: with fewer it would be a guess dressed as a figure.
    """
    words = _PHRASES[lang][which]
    n = int(figures.get("n") or 0)
    if not n:
        return [words["none"]]
    out = []
    if n >= 10 and figures.get("p90_s") is not None:
        out.append(words["p90"].format(t=duration_words(figures["p90_s"], lang)))
    elif n >= 2 and figures.get("median_s") is not None:
        out.append(words["half"].format(t=duration_words(figures["median_s"], lang)))
    k = int(figures.get("within_target") or 0)
    out.append(words["target"].format(t=duration_words(target_s, lang), k=k, n=n, pct=round(100 * k / n)))
    return out
