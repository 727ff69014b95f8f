"""Travel-time network: building, node-ifying, derived default network, closures and snapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.crs import UTM50S, project_geometries, to_wgs84
from geo.network import (
    BOAT_SPEED_KMH,
    ROAD_SPEED_KMH,
    TravelNetwork,
    build_network,
    derive_network,
    edges_crossing,
    snap,
    snap_xy,
)

DATA = Path(__file__).resolve().parents[2] / "data"
X0, Y0 = 500_000.0, 9_800_000.0  # UTM 50S, near Buntok


@pytest.fixture(scope="session")
def barsel() -> dict:
    """The bundled desa and Barito river, and the derived network built from them."""
    desa = pyogrio.read_dataframe(DATA / "boundaries" / "barsel_desa.geojson")
    river = pyogrio.read_dataframe(DATA / "hydro" / "barito_river_ne10m.geojson")
    lines = derive_network(
        desa=desa.geometry.values, desa_codes=desa["kode"].to_numpy(), river_lines=river.geometry.values
    )
    desa_utm = project_geometries(desa.geometry.values, dst=UTM50S)
    return {
        "desa": desa,
        "desa_utm": desa_utm,
        "river_utm": project_geometries(river.geometry.values, dst=UTM50S),
        "rep_xy": shapely.get_coordinates(shapely.point_on_surface(desa_utm)),
        "lines": lines,
        "net": build_network(**lines),
    }


def _line(*xy: tuple[float, float]) -> shapely.LineString:
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def _net(lines: list, kind: list[str], **kw) -> TravelNetwork:
    return build_network(lines=np.array(lines, dtype=object), kind=np.array(kind), crs=UTM50S, **kw)


def test_derived_links_cover_every_touching_pair(barsel: dict) -> None:
    names = barsel["lines"]["name"]
    kinds = barsel["lines"]["kind"]
    links = [n for n, k in zip(names, kinds, strict=True) if k == "derived"]
    assert 245 <= len(links) <= 250  # 245 exact touches, plus near-touches across slivers
    assert set(barsel["net"].piece_source.tolist()) == {"derived"}


def test_road_profile_connects_all_93_desa(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    node, dist = snap_xy(net, x=barsel["rep_xy"][:, 0], y=barsel["rep_xy"][:, 1], mode="road")
    assert len(node) == 93 and (dist < 1.0).all()  # every representative point is a road node
    road = net.profiles["road"]
    assert len(np.unique(road.component[node])) == 1
    times = dijkstra(road.forward, indices=node[0])
    assert np.isfinite(times[node]).all()  # strongly connected, not merely weakly


def test_detour_factor_lengthens_derived_links(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    road = np.flatnonzero(net.piece_kind == "derived")
    geom_len = shapely.length(net.piece_geometry(road))
    assert np.allclose(net.piece_length_m[road], 1.3 * geom_len, rtol=1e-9)
    t = net.edge_time_s[np.isin(net.edge_piece, road[:10])]
    assert np.all(t > 0)


def test_landings_reach_the_river(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    river = net.profiles["river"]
    assert len(river.component_size) == 1  # river and every landing form one boat network
    landing_nodes = np.unique(net.piece_u[net.piece_mode == "landing"])
    assert len(landing_nodes) >= 45
    assert (river.component[landing_nodes] == 0).all()
    # Riverside desa (polygon on the river) all have a landing that starts at a road node.
    on_river = shapely.distance(barsel["desa_utm"], shapely.union_all(barsel["river_utm"])) == 0
    landing_names = {n.split("|")[0] for n in barsel["lines"]["name"] if n.endswith("|landing")}
    codes = barsel["desa"]["kode"].to_numpy()
    assert set(codes[on_river]) <= landing_names


def test_shared_vertex_splits_lines_and_close_endpoints_merge() -> None:
    # A cross whose ways share their middle vertex (as OSM ways share a node), plus a way ending 0.4 m
    # from the cross's east end.
    net = _net(
        [
            _line((0, 0), (100, 0), (200, 0)),
            _line((100, -100), (100, 0), (100, 100)),
            _line((200.4, 0), (300, 0)),
        ],
        ["residential", "residential", "track"],
    )
    assert net.n_nodes == 6
    assert len(net.piece_u) == 5
    assert net.n_edges == 10
    centre = snap_xy(net, x=np.array([X0 + 100]), y=np.array([Y0]), mode="road")[0][0]
    assert np.count_nonzero(net.piece_u == centre) + np.count_nonzero(net.piece_v == centre) == 4


def test_oneway_has_single_direction_and_class_speed() -> None:
    net = _net([_line((0, 0), (900, 0))], ["primary"], oneway=np.array([True]))
    assert net.n_edges == 1
    a, b = snap_xy(net, x=np.array([X0, X0 + 900]), y=np.array([Y0, Y0]), mode="road")[0]
    assert net.edge_u[0] == a and net.edge_v[0] == b
    assert net.edge_time_s[0] == pytest.approx(900 / (ROAD_SPEED_KMH["primary"] / 3.6))


def test_long_lines_get_nodes_along_them() -> None:
    net = _net([_line((0, 0), (5000, 0))], ["track"], max_edge_m=1000.0)
    assert len(net.piece_u) >= 5
    assert net.piece_length_m.max() <= 2000.0 + 1e-6
    assert net.piece_length_m.sum() == pytest.approx(5000.0)


def test_speed_override_and_klotok_scaling() -> None:
    net = _net(
        [_line((0, 0), (1000, 0)), _line((1000, 0), (2000, 0))],
        ["river", "secondary"],
        speed_kmh=np.array([np.nan, 20.0]),
    )
    river = net.piece_mode[net.edge_piece] == "river"
    assert net.edge_time_s[river][0] == pytest.approx(1000 / (BOAT_SPEED_KMH["speedboat"] / 3.6))
    assert net.edge_time_s[~river][0] == pytest.approx(1000 / (20 / 3.6))
    fast = net.profiles["river"].forward.data
    slow = net.profiles["river:klotok"].forward.data
    assert slow == pytest.approx(fast * BOAT_SPEED_KMH["speedboat"] / BOAT_SPEED_KMH["klotok"])
    assert net.profiles["road"].forward.nnz == 2  # the secondary road, both ways; no river edges


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown road or waterway class"):
        _net([_line((0, 0), (10, 0))], ["autobahn"])
    with pytest.raises(ValueError, match="no usable lines"):
        _net([shapely.LineString()], ["primary"])
    with pytest.raises(ValueError, match="shorter than the merge tolerance"):
        _net([_line((0, 0), (0.2, 0))], ["primary"])


def test_closing_roads_leaves_boats_alone(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    x, y = barsel["rep_xy"][68]  # Buntok Kota
    lon, lat = to_wgs84(np.array([x]), np.array([y]))
    zone = shapely.Point(x, y).buffer(8000)
    mask = edges_crossing(net, polygons=np.array([zone]), crs=UTM50S)
    assert mask.any()
    assert set(net.edge_mode[mask].tolist()) == {"road"}
    closed = net.with_closed_edges(mask)
    assert closed.profiles["road"].forward.nnz == net.profiles["road"].forward.nnz - mask.sum()
    assert closed.profiles["river"] is net.profiles["river"]
    # The flood zone in lon/lat gives the same mask.
    zone_ll = project_geometries(np.array([zone]), src=UTM50S, dst="EPSG:4326")
    assert (edges_crossing(net, polygons=zone_ll) == mask).all()
    # Nothing near Buntok Kota is left for road units, the river still is.
    node, _ = snap(closed, lon=lon, lat=lat, mode="road")
    assert shapely.distance(shapely.Point(closed.node_xy[node[0]]), shapely.Point(x, y)) > 7000
    assert net.with_closed_edges(np.zeros(net.n_edges, dtype=bool)) is net


def test_snap_respects_mode(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    lon = np.array([114.84, 114.70, 115.30])
    lat = np.array([-1.71, -2.40, -1.90])
    road_node, road_d = snap(net, lon=lon, lat=lat, mode="road")
    boat_node, boat_d = snap(net, lon=lon, lat=lat, mode="river")
    assert road_node.shape == (3,) and boat_node.shape == (3,)
    boat_modes = set(net.edge_mode[np.isin(net.edge_u, boat_node) | np.isin(net.edge_v, boat_node)].tolist())
    assert boat_modes & {"river", "landing"}
    road_nodes = net.profiles["road"].nodes
    assert np.isin(road_node, road_nodes).all()
    # Deep inland (east of the regency) the river is much farther than a road node.
    assert boat_d[2] > road_d[2] + 10_000
    with pytest.raises(ValueError, match="Unknown travel mode"):
        snap(net, lon=lon, lat=lat, mode="helicopter")
