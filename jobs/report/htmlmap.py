"""The shareable situation map: one self-contained HTML file made with folium that opens offline on a phone.

folium links Leaflet, jQuery, Bootstrap and its marker plugins from CDNs. Here every map object gets local
assets instead (Leaflet and Leaflet.markercluster from the npm packages the platform already installs, see
web/map/package.json), and after rendering each <script src> and stylesheet <link> is replaced by the file's
contents, the images a stylesheet names by data: URIs. The page needs no tiles: the boundaries are drawn as
polygons. Nothing is fetched from anywhere when it opens; `external_references` proves it for a test.

Incidents and hotspots are sent as compact arrays and turned into markers in the browser (folium's
FastMarkerCluster pattern), so 2,000 incidents stay a few hundred kB.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely
from folium import MacroElement
from folium.map import Layer
from folium.plugins import FastMarkerCluster
from folium.template import Template

from api.config import PROJECT_ROOT
from geo.errors import ServiceUnavailable
from geo.mapfigure import HOTSPOT_COLOUR, RIVER_COLOUR, SEVERITY_COLOUR
from geo.times import format_wib_many
from jobs.report.text import WORDS, wib
from store.lifecycle import LABELS, IncidentState
from store.sitrep import Sitrep

__all__ = ["NODE_MODULES", "external_references", "render_html_map"]

NODE_MODULES = PROJECT_ROOT / "web" / "map" / "node_modules"
ASSET = "sigap-asset:"
LEAFLET_JS = [("leaflet", f"{ASSET}leaflet/dist/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", f"{ASSET}leaflet/dist/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", f"{ASSET}leaflet.markercluster/dist/leaflet.markercluster.js")]
CLUSTER_CSS = [
    ("markerclustercss", f"{ASSET}leaflet.markercluster/dist/MarkerCluster.css"),
    ("markerclusterdefaultcss", f"{ASSET}leaflet.markercluster/dist/MarkerCluster.Default.css"),
]
UNIT_COLOUR = {"tersedia": "#2e7d32", "bertugas": "#ef6c00", "offline": "#757575"}
# Boundaries simplified to about 30 m (the polygons are already simplified at source) and 5 decimals (1 m).
SIMPLIFY_DEG = 0.0003
DECIMALS = 5


class PointLayer(Layer):
    """A layer of many points made in the browser from a compact array by a JS callback (row -> layer)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var callback = {{ this.callback }};
                var data = {{ this.data|tojson }};
                var group = L.featureGroup();
                for (var i = 0; i < data.length; i++) { callback(data[i]).addTo(group); }
                return group;
            })();
        {% endmacro %}"""
    )

    def __init__(self, data: list[list[Any]], *, callback: str, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.data = data
        self.callback = callback


class _Script(MacroElement):
    """Plain JS that runs after its parent (the map) is made."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Script"
        self.code = code


def _geojson(geoms: np.ndarray, props: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of simplified, rounded geometries."""
    simple = shapely.set_precision(shapely.simplify(np.asarray(geoms, dtype=object), SIMPLIFY_DEG), 10**-DECIMALS)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(g))}
            for g, p in zip(simple, props, strict=True)
            if g is not None and not g.is_empty
        ],
    }


def _data_uri(path: Path) -> str:
    kind = "svg+xml" if path.suffix == ".svg" else path.suffix.lstrip(".")
    return f"data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _asset(rel: str, assets: Path) -> Path:
    path = assets / rel
    if not path.is_file():
        raise ServiceUnavailable(
            f"Aset peta belum terpasang ({rel}); jalankan make setup (npm ci di web/map)",
            f"Map assets are not installed ({rel}); run make setup (npm ci in web/map)",
            field="assets",
        )
    return path


def _inline(html: str, assets: Path) -> str:
    """Every sigap-asset: script and stylesheet replaced by its contents (stylesheet images as data: URIs)."""

    def script(match: re.Match[str]) -> str:
        code = _asset(match.group(1), assets).read_text(encoding="utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        path = _asset(match.group(1), assets)
        css = path.read_text(encoding="utf-8")

        def image(m: re.Match[str]) -> str:
            target = (path.parent / m.group(2)).resolve()
            return f"url({_data_uri(target)})" if target.is_file() else m.group(0)

        css = re.sub(r"url\((['\"]?)(?!data:)([^)'\"]+)\1\)", image, css)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    html = re.sub(r'<script src="' + re.escape(ASSET) + r'([^"]+)"></script>', script, html)
    return re.sub(r'<link rel="stylesheet" href="' + re.escape(ASSET) + r'([^"]+)"\s*/?>', style, html)


def external_references(html: str) -> list[str]:
    """Every script, stylesheet, image, font or frame the page would fetch from a URL (none is allowed)."""
    tags = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"']([^\"']+)[\"']", html, re.I)
    urls = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", html, re.I)
    imports = re.findall(r"@import\s+['\"]?([^'\";]+)", html, re.I)
    return [u for u in tags + urls + imports if not u.startswith(("data:", "#"))]


def _incident_rows(s: Sitrep, lang: str) -> tuple[list[list[Any]], list[dict[str, str]], list[str]]:
    inc = s.incidents
    cats = [{"code": r["code"], "label": r[f"label_{lang}"], "colour": r["colour"]} for r in s.by_category]
    cat_index = {c["code"]: i for i, c in enumerate(cats)}
    states = [st.value for st in IncidentState]
    desa = dict(zip(s.layers.desa.code.tolist(), s.layers.desa.name.tolist(), strict=True))
    kec = dict(zip(s.layers.kecamatan.code.tolist(), s.layers.kecamatan.name.tolist(), strict=True))
    rows = []
    created = _wib_texts(inc.created)
    for i in np.flatnonzero(np.isfinite(inc.lon) & np.isfinite(inc.lat)).tolist():
        place = ", ".join(p for p in (desa.get(inc.desa_code[i]), kec.get(inc.kecamatan_code[i])) if p)
        rows.append(
            [
                round(float(inc.lat[i]), DECIMALS),
                round(float(inc.lon[i]), DECIMALS),
                cat_index.get(inc.category[i], 0),
                states.index(inc.status[i]) if inc.status[i] in states else 0,
                str(inc.number[i]),
                place,
                created[i],
                ", ".join(inc.units[i]),
            ]
        )
    state_labels = [LABELS[st].id if lang == "id" else LABELS[st].en for st in IncidentState]
    return rows, cats, state_labels


def _wib_texts(times: np.ndarray) -> list[str]:
    """datetime64 UTC values as '06-12-2026 07:12 WIB' ('–' for NaT), the whole column at once."""
    texts = format_wib_many(pd.DatetimeIndex(np.asarray(times, dtype="datetime64[s]")).tz_localize("UTC"))
    return [t or "–" for t in texts]


INCIDENT_CALLBACK = """function (row) {
    var cat = SITREP.cats[row[2]] || {colour: '#424242', label: '?'};
    var icon = L.divIcon({className: 'sitrep-inc', iconSize: [18, 18], iconAnchor: [9, 9],
        html: '<span style="background:' + cat.colour + '"></span>'});
    var m = L.marker([row[0], row[1]], {icon: icon, title: row[4]});
    m.bindPopup(function () {
        return '<b>' + esc(row[4]) + '</b><br>' + esc(cat.label) + '<br>' + esc(SITREP.states[row[3]]) +
            (row[5] ? '<br>' + esc(row[5]) : '') + '<br><small>' + esc(row[6]) + '</small>' +
            (row[7] ? '<br>' + esc(SITREP.words.units) + ': ' + esc(row[7]) : '');
    });
    return m;
}"""

HOTSPOT_CALLBACK = (
    """function (row) {
    return L.circleMarker([row[0], row[1]], {radius: 4, weight: 0.6, color: '#6d4c41', fillColor: '__HOT__',
        fillOpacity: 0.85, renderer: SITREP.canvas || (SITREP.canvas = L.canvas({padding: 0.3}))})
      .bindPopup(function () {
        return '<b>' + esc(SITREP.words.hotspot) + '</b><br>' + esc(row[2]) +
          (row[3] ? '<br>' + esc(SITREP.words.confidence) + ': ' + esc(row[3]) : '') +
          (row[4] ? '<br>' + esc(row[4]) : '');
      });
}""".replace("__HOT__", HOTSPOT_COLOUR)
)

UNIT_CALLBACK = """function (row) {
    var colour = SITREP.unitColours[row[3]] || '#757575';
    var icon = L.divIcon({className: 'sitrep-unit', iconSize: [12, 12], iconAnchor: [6, 6],
        html: '<span style="background:' + colour + '"></span>'});
    return L.marker([row[0], row[1]], {icon: icon, title: row[2]}).bindPopup(function () {
        return '<b>' + esc(row[2]) + '</b><br>' + esc(row[4]) + '<br>' + esc(SITREP.unitStates[row[3]] || row[3]);
    });
}"""

STYLE = (
    """
html, body { margin: 0; height: 100%; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.leaflet-container { background: #f1f1ee; }
.sitrep-inc span { display: block; width: 14px; height: 14px; border-radius: 50%; border: 2px solid #fff;
  box-shadow: 0 0 2px #000a; }
.sitrep-unit span { display: block; width: 10px; height: 10px; border-radius: 2px; border: 1px solid #fff;
  box-shadow: 0 0 2px #000a; }
.sitrep-box { background: #fff; padding: 6px 8px; border-radius: 4px; box-shadow: 0 1px 4px #0004;
  font-size: 12px; line-height: 1.35; max-width: 260px; }
.sitrep-box h1 { font-size: 14px; margin: 0 0 2px; color: #b71c1c; }
.sitrep-box .muted { color: #61707d; font-size: 11px; }
.sitrep-legend .row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.sitrep-legend .dot { width: 11px; height: 11px; border-radius: 50%; border: 1px solid #fff;
  box-shadow: 0 0 1px #000; flex: 0 0 auto; }
.sitrep-legend .sq { width: 12px; height: 10px; flex: 0 0 auto; }
.sitrep-legend .tri { width: 0; height: 0; border-left: 6px solid transparent; border-right: 6px solid transparent;
  border-bottom: 10px solid __HOT__; flex: 0 0 auto; }
.sitrep-legend details summary { cursor: pointer; font-weight: 600; }
@media (max-width: 600px) { .sitrep-box { max-width: 190px; font-size: 11px; } }
""".replace("__HOT__", HOTSPOT_COLOUR)
)


def _js_string(text: str) -> str:
    """A JS string literal safe inside a <script> element."""
    return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")


def _esc(text: Any) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _legend_html(s: Sitrep, lang: str, cats: list[dict[str, str]]) -> str:
    w = WORDS[lang]
    rows = [
        f'<div class="row"><span class="dot" style="background:{c["colour"]}"></span>{_esc(c["label"])}'
        f" ({next(r['count'] for r in s.by_category if r['code'] == c['code'])})</div>"
        for c in cats
    ]
    rows.append(f'<div class="row"><span class="tri"></span>{_esc(w["layer_hotspots"])} ({s.hotspot_count})</div>')
    rows += [
        f'<div class="row"><span class="sq" style="background:{colour};opacity:.7"></span>'
        f"{_esc(w['layer_floods'])}: {_esc(w['sev_' + sev])}</div>"
        for sev, colour in SEVERITY_COLOUR.items()
    ]
    rows.append(
        f'<div class="row"><span class="sq" style="background:{RIVER_COLOUR};height:3px"></span>'
        f"{_esc(w['river'])}</div>"
    )
    rows += [
        f'<div class="row"><span class="sq" style="background:{colour};width:10px"></span>'
        f"{_esc(w['layer_units'])}: {_esc(w[status])}</div>"
        for status, colour in UNIT_COLOUR.items()
    ]
    return (
        '<div class="sitrep-box sitrep-legend" id="sitrep-legend"><details open><summary>'
        f"{_esc(w['legend'])}</summary>{''.join(rows)}</details></div>"
    )


def render_html_map(s: Sitrep, lang: str, *, assets: Path = NODE_MODULES) -> bytes:
    """The period's situation map as one self-contained HTML file (UTF-8 bytes)."""
    w = WORDS[lang]
    layers = s.layers
    x0, y0, x1, y1 = shapely.total_bounds(layers.kecamatan.geometry)
    inc = s.incidents
    located = np.isfinite(inc.lon) & np.isfinite(inc.lat)
    if located.any():
        x0, x1 = min(x0, float(inc.lon[located].min())), max(x1, float(inc.lon[located].max()))
        y0, y1 = min(y0, float(inc.lat[located].min())), max(y1, float(inc.lat[located].max()))
    # No tiles, so Leaflet learns the zoom range from here (the marker clusters need a maxZoom).
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=9, tiles=None, control_scale=True,
                   prefer_canvas=False)  # fmt: skip
    m.options.update({"maxZoom": 18, "minZoom": 6})  # folium gives a zoom range to tiles only
    m.default_js, m.default_css = list(LEAFLET_JS), list(LEAFLET_CSS)
    m.fit_bounds([[y0, x0], [y1, x1]])

    kab = layers.kabupaten
    others = np.asarray(kab.code) != "62.04"
    folium.GeoJson(
        _geojson(kab.geometry[others], [{"nama": str(n)} for n in np.asarray(kab.name)[others]]),
        name=w["layer_neighbours"],
        style_function=lambda _: {"color": "#9e9e9e", "weight": 1, "fillColor": "#ecebe4", "fillOpacity": 1},
        tooltip=folium.GeoJsonTooltip(fields=["nama"], labels=False),
    ).add_to(m)
    desa_kec = layers.desa.attrs.get("kecamatan", np.full(len(layers.desa), "", dtype=object))
    folium.GeoJson(
        _geojson(
            layers.desa.geometry,
            [{"nama": str(n), "kecamatan": str(k)} for n, k in zip(layers.desa.name, desa_kec, strict=True)],
        ),
        name=w["layer_desa"],
        style_function=lambda _: {"color": "#a1887f", "weight": 0.7, "fillColor": "#fbfaf6", "fillOpacity": 1},
        tooltip=folium.GeoJsonTooltip(fields=["nama", "kecamatan"], aliases=[w["desa"], w["kecamatan"]]),
    ).add_to(m)
    folium.GeoJson(
        _geojson(layers.kecamatan.geometry, [{"nama": str(n)} for n in layers.kecamatan.name]),
        name=w["layer_kecamatan"],
        style_function=lambda _: {"color": "#5d4037", "weight": 2, "fill": False},
        interactive=False,
    ).add_to(m)
    folium.GeoJson(
        _geojson(layers.rivers.geometry, [{"nama": str(n or "Barito")} for n in layers.rivers.name]),
        name=w["layer_river"],
        style_function=lambda _: {"color": RIVER_COLOUR, "weight": 3, "opacity": 0.85},
        interactive=False,
    ).add_to(m)
    if s.floods:
        props = [
            {
                "nama": z.name,
                "tingkat": w.get(f"sev_{z.severity}", z.severity),
                "severity": z.severity,
                "diamati": wib(z.observed_at),
                "desa": ", ".join(f"{d['name']} ({round(d['share'] * 100)} %)" for d in z.desa) or w["none"],
            }
            for z in s.floods
        ]
        folium.GeoJson(
            _geojson(np.array([z.geometry for z in s.floods], dtype=object), props),
            name=w["layer_floods"],
            style_function=lambda f: {
                "color": "#0d47a1",
                "weight": 1,
                "fillColor": SEVERITY_COLOUR.get(f["properties"]["severity"], SEVERITY_COLOUR["sedang"]),
                "fillOpacity": 0.5,
            },
            popup=folium.GeoJsonPopup(
                fields=["nama", "tingkat", "diamati", "desa"],
                aliases=[w["zone"], w["severity"], w["observed"], w["flooded_desa"]],
            ),
        ).add_to(m)
    hot = s.hotspot_points
    conf_words = {"high": "tinggi" if lang == "id" else "high", "nominal": "sedang" if lang == "id" else "nominal",
                  "low": "rendah" if lang == "id" else "low"}  # fmt: skip
    hot_rows = [
        [round(float(y), DECIMALS), round(float(x), DECIMALS), t, conf_words.get(c, c), d]
        for x, y, t, c, d in zip(hot["lon"], hot["lat"], _wib_texts(hot["acq_time"]), hot["confidence"],
                                 hot["desa_name"], strict=True)
        if np.isfinite(x) and np.isfinite(y)
    ]  # fmt: skip
    PointLayer(hot_rows, callback=HOTSPOT_CALLBACK, name=f"{w['layer_hotspots']} ({len(hot_rows)})").add_to(m)
    units = s.unit_points
    unit_type = {u.code: (u.label_id if lang == "id" else u.label_en) for u in s.catalog.unit_types}
    unit_rows = [
        [round(float(y), DECIMALS), round(float(x), DECIMALS), str(c), str(st), unit_type.get(t, t)]
        for x, y, c, st, t in zip(units.get("lon", []), units.get("lat", []), units.get("callsign", []),
                                  units.get("status", []), units.get("type", []), strict=True)
        if np.isfinite(x) and np.isfinite(y)
    ]  # fmt: skip
    PointLayer(unit_rows, callback=UNIT_CALLBACK, name=w["layer_units"], show=False).add_to(m)
    rows, cats, state_labels = _incident_rows(s, lang)
    cluster = FastMarkerCluster(
        rows,
        callback=INCIDENT_CALLBACK,
        name=f"{w['layer_incidents']} ({len(rows)})",
        maxClusterRadius=40,
        disableClusteringAtZoom=14,
        spiderfyOnMaxZoom=True,
    )
    cluster.default_js, cluster.default_css = list(CLUSTER_JS), list(CLUSTER_CSS)
    cluster.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)

    setup = {
        "cats": cats,
        "states": state_labels,
        "unitColours": UNIT_COLOUR,
        "unitStates": {k: w[k] for k in UNIT_COLOUR},
        "words": {"units": w["units"], "hotspot": w["layer_hotspots"], "confidence": w["confidence"]},
    }
    root = m.get_root()
    # Defined before the map's own script, which calls the callbacks.
    root.header.add_child(
        folium.Element(
            "<script>var SITREP = " + json.dumps(setup, ensure_ascii=False).replace("</", "<\\/") + ";"
            # The hotspots share one canvas renderer (made on first use): thousands of circles stay light.
            "SITREP.canvas = null;"
            "function esc(s) { return String(s === null || s === undefined ? '' : s).replace(/[&<>\"']/g,"
            " function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;', \"'\": '&#39;'}[c]; }); }"
            "</script>"
        )
    )
    root.header.add_child(folium.Element(f"<style>{STYLE}</style>"))
    root.header.add_child(folium.Element(f"<title>{_esc(WORDS[lang]['title_' + s.period.kind])} · "
                                         f"{_esc(s.period.label(lang))}</title>"))  # fmt: skip
    title = (
        f'<div class="sitrep-box" id="sitrep-title"><h1>{_esc(w["title_" + s.period.kind])}</h1>'
        f"{_esc(w['org'])}<br>{_esc(w['period'])}: {_esc(s.period.label(lang))}"
        f'<div class="muted">{_esc(w["made"])}: {_esc(wib(s.generated_at))} · '
        f"{len(rows)} {_esc(w['incidents'].lower())}"
        f" · {s.hotspot_count} {_esc(w['hotspots'].lower())}</div>"
        f'<div class="muted">{_esc(w["privacy"])}</div></div>'
    )
    # Leaflet controls for the title (top left, under the zoom buttons) and the legend (bottom left).
    boxes = {"topleft": title, "bottomleft": _legend_html(s, lang, cats)}
    control_js = "".join(
        f"(function(){{var c = L.control({{position: {json.dumps(pos)}}}); c.onAdd = function () {{"
        f"var d = L.DomUtil.create('div'); d.innerHTML = {_js_string(html)};"
        "L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d; };"
        f"c.addTo({m.get_name()});}})();"
        for pos, html in boxes.items()
    )
    # On a phone the legend starts folded: the map comes first.
    control_js += "if (window.innerWidth < 600) { document.querySelector('#sitrep-legend details').open = false; }"
    _Script(control_js).add_to(m)  # a child of the map: its script runs once the map exists
    html = root.render().replace("L.control.scale()", "L.control.scale({imperial: false})", 1)
    html = _inline(html, assets)
    leftover = external_references(html)
    if leftover:
        raise RuntimeError(f"the situation map would load {leftover[:3]}")
    return html.encode("utf-8")
