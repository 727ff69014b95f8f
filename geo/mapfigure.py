"""The situation map of a report as a picture: boundaries, river, flood zones, hotspots and incidents.

Pure: WGS84 geometries and coordinate arrays in, PNG (or SVG) bytes out. Drawn with geopandas on a
matplotlib Figure of its own (no pyplot state, so reports can be drawn in parallel threads), in UTM 50S so the
scale bar measures true kilometres; with legend, scale bar, north arrow, the time it shows (WIB) and the
sources of its layers.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.crs import UTM50S, WGS84

__all__ = ["MapText", "PointGroup", "situation_figure"]

SEVERITY_COLOUR = {"rendah": "#90caf9", "sedang": "#42a5f5", "tinggi": "#0d47a1"}
HOTSPOT_COLOUR = "#f4511e"
RIVER_COLOUR = "#1e88e5"
NICE_KM = (1, 2, 5, 10, 20, 25, 50, 100)


@dataclass(frozen=True)
class PointGroup:
    """Points drawn alike under one legend entry (an incident category)."""

    label: str
    colour: str
    lon: np.ndarray
    lat: np.ndarray


@dataclass(frozen=True)
class MapText:
    """The words of the figure in the report's language."""

    title: str
    subtitle: str
    stamp: str  # when the map shows, in WIB
    credits: str
    legend: dict[str, str] = field(default_factory=dict)  # legend, kecamatan, desa, river, floods, hotspots, north, km


def _nice_length_km(width_m: float) -> int:
    target = width_m / 5 / 1000
    return max([k for k in NICE_KM if k <= target] or [NICE_KM[0]])


def _scale_bar(ax, *, x0: float, y0: float, km: int, height: float, label: str) -> None:  # noqa: ANN001
    from matplotlib.patches import Rectangle

    step = km * 1000 / 2
    for i in range(2):
        ax.add_patch(
            Rectangle(
                (x0 + i * step, y0),
                step,
                height,
                facecolor="#212121" if i % 2 == 0 else "#ffffff",
                edgecolor="#212121",
                linewidth=0.6,
                zorder=20,
            )
        )
    for i, text in enumerate(("0", f"{km / 2:g}", f"{km} {label}")):
        ax.text(x0 + i * step, y0 + height * 1.6, text, ha="center", va="bottom", fontsize=6.5, zorder=20)


def _north_arrow(ax, *, letter: str) -> None:  # noqa: ANN001
    # UTM 50S grid north is within 0.1 degree of true north over the regency.
    ax.annotate(
        "",
        xy=(0.93, 0.97),
        xytext=(0.93, 0.88),
        xycoords="axes fraction",
        arrowprops={"facecolor": "#212121", "edgecolor": "#212121", "width": 3, "headwidth": 9, "headlength": 9},
        zorder=20,
    )
    ax.text(0.93, 0.855, letter, transform=ax.transAxes, ha="center", va="top", fontsize=9, weight="bold", zorder=20)


def situation_figure(
    *,
    desa: Sequence[shapely.Geometry],
    kecamatan: Sequence[shapely.Geometry],
    kecamatan_names: Sequence[str],
    neighbours: Sequence[shapely.Geometry],
    rivers: Sequence[shapely.Geometry],
    floods: Sequence[shapely.Geometry],
    flood_severity: Sequence[str],
    hotspots_lon: np.ndarray,
    hotspots_lat: np.ndarray,
    incidents: Sequence[PointGroup],
    text: MapText,
    fmt: str = "png",
    dpi: int = 200,
    size_in: tuple[float, float] = (7.2, 5.9),
) -> bytes:
    """The situation map as PNG (or SVG) bytes; empty layers are left out of the picture and the legend."""
    import geopandas as gpd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    words = {
        "kecamatan": "Kecamatan",
        "desa": "Desa",
        "river": "Sungai",
        "floods": "Zona banjir",
        "hotspots": "Titik panas",
        "incidents": "Kejadian",
        "north": "U",
        "legend": "Legenda",
        "km": "km",
        **text.legend,
    }

    def utm(geoms: Sequence[shapely.Geometry]) -> gpd.GeoSeries:
        return gpd.GeoSeries(list(geoms), crs=WGS84).to_crs(UTM50S)

    def utm_points(lon: np.ndarray, lat: np.ndarray) -> gpd.GeoSeries:
        ok = np.isfinite(lon) & np.isfinite(lat)
        return gpd.GeoSeries.from_xy(np.asarray(lon)[ok], np.asarray(lat)[ok], crs=WGS84).to_crs(UTM50S)

    fig = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.07, 0.66, 0.80))
    ax.set_facecolor("#f1f1ee")  # land outside Kalimantan Tengah (not water)
    kec = utm(kecamatan)
    x0, y0, x1, y1 = kec.total_bounds
    pad_x, pad_y = (x1 - x0) * 0.04, (y1 - y0) * 0.03
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    handles: list = []

    if len(neighbours):
        utm(neighbours).plot(ax=ax, facecolor="#ecebe4", edgecolor="#9e9e9e", linewidth=0.5, zorder=1)
    kec.plot(ax=ax, facecolor="#fbfaf6", edgecolor="none", zorder=2)
    if len(floods):
        colours = [SEVERITY_COLOUR.get(s, SEVERITY_COLOUR["sedang"]) for s in flood_severity]
        utm(floods).plot(ax=ax, color=colours, alpha=0.6, edgecolor="#0d47a1", linewidth=0.4, zorder=3)
        handles.append(
            Patch(facecolor=SEVERITY_COLOUR["sedang"], edgecolor="#0d47a1", alpha=0.6, label=words["floods"])
        )
    if len(desa):
        utm(desa).plot(ax=ax, facecolor="none", edgecolor="#bcaaa4", linewidth=0.3, zorder=4)
        handles.append(Line2D([], [], color="#bcaaa4", linewidth=0.8, label=words["desa"]))
    kec.plot(ax=ax, facecolor="none", edgecolor="#5d4037", linewidth=1.1, zorder=5)
    handles.append(Line2D([], [], color="#5d4037", linewidth=1.4, label=words["kecamatan"]))
    if len(rivers):
        utm(rivers).plot(ax=ax, color=RIVER_COLOUR, linewidth=1.6, zorder=6)
        handles.append(Line2D([], [], color=RIVER_COLOUR, linewidth=1.8, label=words["river"]))
    for point, name in zip(kec.representative_point(), kecamatan_names, strict=True):
        ax.text(
            point.x, point.y, str(name).upper(), fontsize=5.5, color="#5d4037", ha="center", va="center",
            alpha=0.85, zorder=7,
        )  # fmt: skip
    hot = utm_points(np.asarray(hotspots_lon, dtype=float), np.asarray(hotspots_lat, dtype=float))
    if len(hot):
        hot.plot(ax=ax, marker="^", markersize=9, color=HOTSPOT_COLOUR, edgecolor="#6d4c41", linewidth=0.2, zorder=8)
        handles.append(
            Line2D([], [], marker="^", linestyle="", markersize=5, color=HOTSPOT_COLOUR,
                   label=f"{words['hotspots']} ({len(hot)})")
        )  # fmt: skip
    for group in incidents:
        pts = utm_points(np.asarray(group.lon, dtype=float), np.asarray(group.lat, dtype=float))
        if not len(pts):
            continue
        pts.plot(ax=ax, marker="o", markersize=16, color=group.colour, edgecolor="white", linewidth=0.6, zorder=9)
        handles.append(
            Line2D([], [], marker="o", linestyle="", markersize=6, color=group.colour, markeredgecolor="white",
                   label=textwrap.fill(f"{group.label} ({len(pts)})", 28))
        )  # fmt: skip

    ax.set_xlabel("")
    ax.set_ylabel("")
    width = ax.get_xlim()[1] - ax.get_xlim()[0]
    height = ax.get_ylim()[1] - ax.get_ylim()[0]
    km = _nice_length_km(width)
    _scale_bar(
        ax, x0=ax.get_xlim()[0] + width * 0.05, y0=ax.get_ylim()[0] + height * 0.03, km=km, height=height * 0.008,
        label=words["km"],
    )  # fmt: skip
    _north_arrow(ax, letter=words["north"])
    for spine in ax.spines.values():
        spine.set_edgecolor("#90a4ae")

    fig.text(0.02, 0.975, text.title, fontsize=11, weight="bold", va="top")
    fig.text(0.02, 0.925, text.subtitle, fontsize=8, va="top", color="#37474f")
    legend = fig.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.70, 0.87), fontsize=6.8, frameon=False,
        title=words["legend"], title_fontsize=7.5, alignment="left",
    )  # fmt: skip
    legend.set_zorder(30)
    fig.text(0.70, 0.09, text.stamp, fontsize=7, va="bottom", color="#37474f", wrap=True)
    fig.text(0.02, 0.015, text.credits, fontsize=5.8, va="bottom", color="#61707d", wrap=True)
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=dpi, facecolor="white")
    return out.getvalue()
