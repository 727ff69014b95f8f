"""The PDF sitrep: an HTML page filled from a Sitrep, printed to A4 by WeasyPrint.

One font family, DejaVu Sans, is read from the files matplotlib ships in its wheel (a declared dependency,
the same bytes on every machine), so the PDF never depends on the fonts a server happens to have. The map
figure comes from geo.mapfigure, embedded as a PNG.
"""

from __future__ import annotations

import base64
import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape

from geo.mapfigure import MapText, PointGroup, situation_figure
from geo.times import as_utc
from jobs.report.text import WORDS, response_sentences, wib, wib_short
from store.lifecycle import LABELS, IncidentState
from store.sitrep import Sitrep

__all__ = ["FONT_FILES", "font_dir", "map_png", "render_pdf", "sitrep_html"]

# WeasyPrint narrates every step at INFO; a report job logs its own outcome.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_FILES = {
    (400, "normal"): "DejaVuSans.ttf",
    (700, "normal"): "DejaVuSans-Bold.ttf",
    (400, "italic"): "DejaVuSans-Oblique.ttf",
    (700, "italic"): "DejaVuSans-BoldOblique.ttf",
}
HOTSPOT_ROWS = 25


@cache
def font_dir() -> Path:
    """Where the DejaVu Sans files are: matplotlib's bundled fonts."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _font_css() -> str:
    return "\n".join(
        f'@font-face {{ font-family: "SIGAP Sans"; src: url("{(font_dir() / name).as_uri()}"); '
        f"font-weight: {weight}; font-style: {style}; }}"
        for (weight, style), name in FONT_FILES.items()
    )


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _title(kind: str, lang: str) -> str:
    return WORDS[lang][f"title_{kind}"]


def map_png(s: Sitrep, lang: str, *, dpi: int = 200) -> bytes:
    """The report's map figure (PNG)."""
    w = WORDS[lang]
    layers = s.layers
    inc = s.incidents
    groups = []
    for row in s.by_category:
        sel = inc.category == row["code"]
        groups.append(PointGroup(row[f"label_{lang}"], row["colour"], inc.lon[sel], inc.lat[sel]))
    kab = layers.kabupaten
    neighbours = kab.geometry[np.asarray(kab.code) != "62.04"]
    return situation_figure(
        desa=layers.desa.geometry,
        kecamatan=layers.kecamatan.geometry,
        kecamatan_names=layers.kecamatan.name,
        neighbours=neighbours,
        rivers=layers.rivers.geometry,
        floods=[z.geometry for z in s.floods],
        flood_severity=[z.severity for z in s.floods],
        hotspots_lon=s.hotspot_points["lon"],
        hotspots_lat=s.hotspot_points["lat"],
        incidents=groups,
        text=MapText(
            title=w["map_title"],
            subtitle=f"{w['period']}: {s.period.label(lang)}",
            stamp=w["map_stamp"].format(at=wib(s.generated_at)),
            credits=w["sources"],
            legend={
                "legend": w["legend"],
                "kecamatan": w["layer_kecamatan"],
                "desa": w["layer_desa"],
                "river": w["river"],
                "floods": w["layer_floods"],
                "hotspots": w["layer_hotspots"],
                "north": w["north"],
            },
        ),
        dpi=dpi,
    )


def _context(s: Sitrep, lang: str, png: bytes) -> dict[str, Any]:
    w = WORDS[lang]
    labels = {c.code: (c.label_id if lang == "id" else c.label_en) for c in s.catalog.categories}
    state = {st.value: (LABELS[st].id if lang == "id" else LABELS[st].en) for st in IncidentState}
    pct = round(s.flooded_share * 100, 1)
    notable = [
        {
            "number": n.number,
            "created": wib_short(n.created),
            "category": labels.get(n.category, n.category),
            "place": ", ".join(p for p in (n.desa, n.kecamatan) if p) or "–",
            "status": state.get(n.status, n.status),
            "priority": n.priority or "–",
            "units": n.units,
            "dispatched": wib_short(n.dispatched),
            "on_scene": wib_short(n.on_scene),
            "resolved": wib_short(n.resolved),
        }
        for n in s.notable
    ]
    hot = [{**r, "last": wib_short(as_utc(r.get("last_seen")))} for r in s.hotspots_by_desa[:HOTSPOT_ROWS]]
    more = len(s.hotspots_by_desa) - len(hot)
    floods = [
        {
            "name": z.name,
            "is_proxy": z.is_proxy,
            "severity": w.get(f"sev_{z.severity}", z.severity),
            "area": f"{z.area_km2:g}",
            "observed": wib(z.observed_at),
            "source": z.source,
            "desa": [{**d, "pct": round(d["share"] * 100)} for d in z.desa],
            "no_desa": w["no_desa_above"].format(pct=f"{pct:g}"),
        }
        for z in s.floods
    ]
    response = response_sentences(
        s.response["call_to_dispatch"], target_s=s.targets["dispatch_s"], which="dispatch", lang=lang
    ) + response_sentences(s.response["call_to_scene"], target_s=s.targets["scene_s"], which="scene", lang=lang)
    return {
        "lang": lang,
        "w": w,
        "s": s,
        "title": _title(s.period.kind, lang),
        "period_label": s.period.label(lang),
        "made": wib(s.generated_at),
        "figures": s.figures(),
        "units_total": sum(s.units_by_status.values()),
        "flooded_rule": w["flooded_rule"].format(pct=f"{pct:g}"),
        "response": response,
        "map_src": "data:image/png;base64," + base64.b64encode(png).decode(),
        "truncated": w["truncated"].format(n=len(s.hotspot_points["lon"])),
        "notable": notable,
        "has_priority": bool(s.by_priority),
        "hotspots": hot,
        "hotspots_more": w["more_desa"].format(n=more) if more > 0 else "",
        "floods": floods,
    }


def sitrep_html(s: Sitrep, lang: str, *, png: bytes | None = None) -> str:
    """The sitrep as the HTML page WeasyPrint prints (its map figure inlined)."""
    return _env().get_template("sitrep.html").render(**_context(s, lang, png if png is not None else map_png(s, lang)))


def render_pdf(s: Sitrep, lang: str) -> bytes:
    """The sitrep of a period as PDF bytes (A4)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=_font_css() + (TEMPLATES / "sitrep.css").read_text(encoding="utf-8"), font_config=fonts)
    html = HTML(string=sitrep_html(s, lang), base_url=str(TEMPLATES))
    return html.write_pdf(stylesheets=[css], font_config=fonts)
