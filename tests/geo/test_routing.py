"""Nearest units by travel time: hand-computed ETAs, one-way streets, floods, boats and bad cases."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.crs import UTM50S, project_geometries, to_wgs84
from geo.network import ROAD_SPEED_KMH, TravelNetwork, build_network, derive_network, edges_crossing
from geo.routing import Ranking, place_units, rank_placed, rank_units

DATA = Path(__file__).resolve().parents[2] / "data"
X0, Y0 = 500_000.0, 9_800_000.0  # UTM 50S, near Buntok
KMH = 1 / 3.6


@pytest.fixture(scope="session")
def barsel() -> dict:
    """The derived Barito Selatan network with desa representative points (UTM and lon/lat)."""
    desa = pyogrio.read_dataframe(DATA / "boundaries" / "barsel_desa.geojson")
    river = pyogrio.read_dataframe(DATA / "hydro" / "barito_river_ne10m.geojson")
    net = build_network(
        **derive_network(
            desa=desa.geometry.values, desa_codes=desa["kode"].to_numpy(), river_lines=river.geometry.values
        )
    )
    desa_utm = project_geometries(desa.geometry.values, dst=UTM50S)
    rep = shapely.get_coordinates(shapely.point_on_surface(desa_utm))
    lon, lat = to_wgs84(rep[:, 0], rep[:, 1])
    river_utm = shapely.union_all(project_geometries(river.geometry.values, dst=UTM50S))
    return {
        "net": net,
        "codes": desa["kode"].to_numpy(),
        "desa_utm": desa_utm,
        "river_utm": river_utm,
        "rep_lon": lon,
        "rep_lat": lat,
    }


def _ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_wgs84(np.array([X0 + x]), np.array([Y0 + y]))
    return float(lon[0]), float(lat[0])


def _units(rows: list[tuple[str, str, str, float, float]]) -> dict:
    """Unit arrays from (id, type, mode, x, y) rows with x/y in metres from (X0, Y0)."""
    lonlat = [_ll(x, y) for *_, x, y in rows]
    return {
        "unit_ids": np.array([r[0] for r in rows], dtype=object),
        "unit_types": np.array([r[1] for r in rows], dtype=object),
        "unit_modes": np.array([r[2] for r in rows], dtype=object),
        "unit_lon": np.array([p[0] for p in lonlat]),
        "unit_lat": np.array([p[1] for p in lonlat]),
    }


def _rank(net: TravelNetwork, at: tuple[float, float], rows: list, **kw) -> Ranking:
    lon, lat = _ll(*at)
    return rank_units(net, incident_lon=lon, incident_lat=lat, **_units(rows), **kw)


@pytest.fixture(scope="module")
def triangle() -> TravelNetwork:
    """A (0,0) -> B (1000,0) one-way primary; back from B to A only via C on two-way residential roads.

    An island road 20 km away is not connected to anything.
    """
    cx, cy = 500.0, 1000.0 * np.sqrt(3) / 2
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 1000, Y0)]),
        shapely.LineString([(X0 + 1000, Y0), (X0 + cx, Y0 + cy)]),
        shapely.LineString([(X0 + cx, Y0 + cy), (X0, Y0)]),
        shapely.LineString([(X0 + 20_000, Y0), (X0 + 21_000, Y0)]),
    ]
    return build_network(
        lines=np.array(lines, dtype=object),
        kind=np.array(["primary", "residential", "residential", "residential"]),
        oneway=np.array([True, False, False, False]),
        crs=UTM50S,
    )


def test_oneway_eta_matches_hand_computation(triangle: TravelNetwork) -> None:
    # With the one-way A -> B: 1000 m at 50 km/h.
    res = _rank(triangle, (1000, 0), [("a", "damkar", "road", 0, 0)])
    (u,) = res.by_type["damkar"]
    assert u.eta_s == pytest.approx(1000 / (ROAD_SPEED_KMH["primary"] * KMH), abs=0.05)
    assert u.distance_m == pytest.approx(1000.0, abs=0.01)
    assert [leg.mode for leg in u.legs if leg.distance_m > 0.01] == ["road"]
    # Against it, B -> C -> A: 2000 m at 20 km/h.
    res = _rank(triangle, (0, 0), [("b", "damkar", "road", 1000, 0)])
    (u,) = res.by_type["damkar"]
    assert u.eta_s == pytest.approx(2000 / (ROAD_SPEED_KMH["residential"] * KMH), abs=0.05)
    assert u.distance_m == pytest.approx(2000.0, abs=0.01)
    coords = np.array(u.route["coordinates"])
    assert len(coords) >= 3  # goes round via C, not straight back along the one-way
    assert coords[:, 1].max() > _ll(500, 800)[1]


def test_offnetwork_stretch_counts_at_slow_speed(triangle: TravelNetwork) -> None:
    # Unit 300 m south of A (off-network), incident at B: 300 m at 15 km/h, then the one-way.
    res = _rank(triangle, (1000, 0), [("a", "damkar", "road", 0, -300)])
    (u,) = res.by_type["damkar"]
    assert u.unit_snap_m == pytest.approx(300.0, abs=0.5)
    assert u.eta_s == pytest.approx(300 / (15 * KMH) + 1000 / (50 * KMH), abs=0.5)
    assert sum(leg.time_s for leg in u.legs) == pytest.approx(u.eta_s)
    assert u.route["coordinates"][0] == pytest.approx(list(_ll(0, -300)), abs=1e-6)
    assert u.route["coordinates"][-1] == pytest.approx(list(_ll(1000, 0)), abs=1e-6)


def test_search_keeps_expanding_past_a_unit_far_off_the_road() -> None:
    # X is 7 s from the incident on the road but 3 km off it (720 s at 15 km/h); Y stands on the road
    # 5 km away (360 s at 50 km/h). The first unit the search settles is X; the best is Y.
    net = build_network(
        lines=np.array([shapely.LineString([(X0, Y0), (X0 + 6000, Y0)])], dtype=object),
        kind=np.array(["primary"]),
        crs=UTM50S,
    )
    res = _rank(net, (0, 0), [("X", "damkar", "road", 100, 3000), ("Y", "damkar", "road", 5000, 0)], k=1)
    (best,) = res.by_type["damkar"]
    assert best.unit_id == "Y"
    assert best.eta_s == pytest.approx(5000 / (50 * KMH), abs=0.05)
    assert res.searches >= 2  # the first, straight-line sized budget could not settle Y


def test_ranking_orders_by_eta_not_straight_line(triangle: TravelNetwork) -> None:
    # Incident at A. Unit at B is 1000 m away in a straight line but must go round (360 s); a unit at
    # C is 1000 m too, on a direct residential road (180 s); the island unit has no road to A.
    rows = [
        ("b", "ambulans", "road", 1000, 0),
        ("c", "ambulans", "road", 500, 866),
        ("island", "ambulans", "road", 20_500, 0),
    ]
    res = _rank(triangle, (0, 0), rows, k=3)
    assert [u.unit_id for u in res.by_type["ambulans"]] == ["c", "b"]
    assert [u.rank for u in res.by_type["ambulans"]] == [1, 2]
    assert [(u.unit_id, u.reason) for u in res.unreachable] == [("island", "disconnected")]
    assert "disconnected" in res.unreachable[0].message


def test_unit_and_incident_too_far_from_network(triangle: TravelNetwork) -> None:
    res = _rank(
        triangle,
        (0, 0),
        [("far", "bpbd", "road", 0, -5000), ("near", "bpbd", "road", 0, -50)],
        max_snap_m=2000,
    )
    assert [u.unit_id for u in res.by_type["bpbd"]] == ["near"]
    assert [(u.unit_id, u.reason) for u in res.unreachable] == [("far", "unit_off_network")]
    res = _rank(triangle, (0, -30_000), [("near", "bpbd", "road", 0, 0)], max_snap_m=2000)
    assert res.by_type == {"bpbd": []}
    assert [(u.unit_id, u.reason) for u in res.unreachable] == [("near", "incident_off_network")]
    # A unit without a position is listed, not silently dropped.
    res = rank_units(
        triangle,
        incident_lon=_ll(0, 0)[0],
        incident_lat=_ll(0, 0)[1],
        unit_ids=np.array(["lost"], dtype=object),
        unit_types=np.array(["bpbd"]),
        unit_modes=np.array(["road"]),
        unit_lon=np.array([np.nan]),
        unit_lat=np.array([np.nan]),
    )
    assert [(u.unit_id, u.reason, u.snap_m) for u in res.unreachable] == [("lost", "no_position", None)]
    # A boat on a network without water: incident unreachable by boat, never a crash.
    res = _rank(triangle, (0, 0), [("boat", "perahu", "river", 0, 0)])
    assert [(u.unit_id, u.reason) for u in res.unreachable] == [("boat", "incident_off_network")]
    assert res.incident_snap_m == {"river": None}
    json.dumps(res.as_dict(), allow_nan=False)


def test_zero_units_and_types_without_units(triangle: TravelNetwork) -> None:
    res = _rank(triangle, (0, 0), [])
    assert res.by_type == {} and res.unreachable == []
    res = _rank(triangle, (0, 0), [], types=["damkar", "polisi"])
    assert res.by_type == {"damkar": [], "polisi": []}
    res = _rank(triangle, (0, 0), [("b", "damkar", "road", 1000, 0)], types=["polisi"])
    assert res.by_type == {"polisi": []}
    with pytest.raises(ValueError, match="Unknown travel mode"):
        _rank(triangle, (0, 0), [("h", "damkar", "helicopter", 0, 0)])


def test_oneway_dead_end_is_unreachable_not_a_crash() -> None:
    # A <-> B two-way; A -> E one-way only. E is in the same (weak) component but can never reach A.
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 800, Y0)]),
        shapely.LineString([(X0, Y0), (X0, Y0 + 800)]),
    ]
    net = build_network(
        lines=np.array(lines, dtype=object),
        kind=np.array(["tertiary", "tertiary"]),
        oneway=np.array([False, True]),
        crs=UTM50S,
    )
    res = _rank(net, (0, 0), [("e", "polisi", "road", 0, 800), ("b", "polisi", "road", 800, 0)], k=2)
    assert [u.unit_id for u in res.by_type["polisi"]] == ["b"]
    assert [(u.unit_id, u.reason) for u in res.unreachable] == [("e", "disconnected")]
    # A unit standing on the incident's node gets a zero-length route.
    res = _rank(net, (800, 0), [("b", "polisi", "road", 800, 0)])
    (u,) = res.by_type["polisi"]
    assert u.eta_s == pytest.approx(0.0, abs=1e-3) and u.distance_m == 0.0
    assert len(u.route["coordinates"]) == 2


def test_flood_zone_changes_the_ranking() -> None:
    # Incident I at (0,0). Unit A 2 km east on a direct road, with a 12 km loop as the only other way;
    # unit B 3 km west on a direct road. A flood over A's direct road makes B first.
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 2000, Y0)]),
        shapely.LineString([(X0 + 2000, Y0), (X0 + 2000, Y0 + 5000), (X0, Y0 + 5000), (X0, Y0)]),
        shapely.LineString([(X0, Y0), (X0 - 3000, Y0)]),
    ]
    net = build_network(lines=np.array(lines, dtype=object), kind=np.array(["secondary"] * 3), crs=UTM50S)
    rows = [("A", "damkar", "road", 2000, 0), ("B", "damkar", "road", -3000, 0)]
    before = _rank(net, (0, 0), rows)
    assert [u.unit_id for u in before.by_type["damkar"]] == ["A", "B"]
    zone = shapely.box(X0 + 300, Y0 - 200, X0 + 700, Y0 + 200)
    mask = edges_crossing(net, polygons=np.array([zone]), crs=UTM50S)
    assert mask.sum() == 2  # both directions of the direct road, nothing else
    after = _rank(net, (0, 0), rows, closed_edges=mask)
    assert [u.unit_id for u in after.by_type["damkar"]] == ["B", "A"]
    a = after.by_type["damkar"][1]
    assert a.distance_m == pytest.approx(12_000.0, abs=1.0)
    assert a.eta_s == pytest.approx(12_000 / (40 * KMH), abs=1.0)


def test_buntok_unit_beats_jenamas_unit_to_buntok(barsel: dict) -> None:
    codes = list(barsel["codes"])
    bk, jn = codes.index("62.04.06.1008"), codes.index("62.04.01.1003")  # Buntok Kota, Rantau Kujang
    res = rank_units(
        barsel["net"],
        incident_lon=114.84,
        incident_lat=-1.71,
        unit_ids=np.array(["jenamas", "buntok"], dtype=object),
        unit_types=np.array(["ambulans", "ambulans"]),
        unit_modes=np.array(["road", "road"]),
        unit_lon=barsel["rep_lon"][[jn, bk]],
        unit_lat=barsel["rep_lat"][[jn, bk]],
        k=2,
    )
    first, second = res.by_type["ambulans"]
    assert (first.unit_id, second.unit_id) == ("buntok", "jenamas")
    assert first.eta_s < 900 < 3600 < second.eta_s
    assert second.distance_m > second.straight_line_m  # the network never beats the crow
    assert first.sources == ["derived"]
    json.dumps(res.as_dict(), allow_nan=False)  # ready for the API as it is


def _boats_from_buntok(barsel: dict, lon: float, lat: float) -> Ranking:
    """A speedboat and a klotok waiting at the river point nearest Buntok Kota."""
    bk = list(barsel["codes"]).index("62.04.06.1008")
    rep = shapely.point_on_surface(barsel["desa_utm"][bk])
    jetty = shapely.get_coordinates(shapely.shortest_line(rep, barsel["river_utm"]))[1]
    jlon, jlat = to_wgs84(jetty[:1], jetty[1:])
    return rank_units(
        barsel["net"],
        incident_lon=lon,
        incident_lat=lat,
        unit_ids=np.array(["speedboat", "klotok"], dtype=object),
        unit_types=np.array(["perahu", "perahu"]),
        unit_modes=np.array(["river", "river:klotok"]),
        unit_lon=np.r_[jlon, jlon],
        unit_lat=np.r_[jlat, jlat],
        k=2,
    )


def test_boat_from_buntok_reaches_every_riverside_desa(barsel: dict) -> None:
    codes = barsel["codes"]
    riverside = np.flatnonzero(shapely.distance(barsel["desa_utm"], barsel["river_utm"]) == 0)
    assert len(riverside) >= 30
    # An incident on the river bank inside each riverside desa.
    bank = shapely.get_coordinates(
        shapely.point_on_surface(shapely.intersection(barsel["desa_utm"][riverside], barsel["river_utm"]))
    )
    lon, lat = to_wgs84(bank[:, 0], bank[:, 1])
    for i, code in enumerate(codes[riverside].tolist()):
        res = _boats_from_buntok(barsel, float(lon[i]), float(lat[i]))
        assert res.unreachable == [], code
        fast, slow = res.by_type["perahu"]
        assert (fast.unit_id, slow.unit_id) == ("speedboat", "klotok")
        assert slow.eta_s > fast.eta_s or fast.distance_m < 1.0
        assert fast.incident_snap_m < 1100.0  # river nodes at most ~2 km apart
        assert {leg.mode for leg in fast.legs} <= {"river", "offnetwork", "landing"}
        assert fast.eta_s < 12 * 3600, code


def test_boat_lands_at_villages_near_the_river(barsel: dict) -> None:
    # Villages whose centre is within 3 km of the river: the boat ends with a walked landing.
    rep = shapely.points(*to_utm_xy_all(barsel))
    near = np.flatnonzero(shapely.distance(rep, barsel["river_utm"]) < 3000)
    assert len(near) >= 20
    bk = list(barsel["codes"]).index("62.04.06.1008")
    for i in near.tolist():
        res = _boats_from_buntok(barsel, float(barsel["rep_lon"][i]), float(barsel["rep_lat"][i]))
        fast = res.by_type["perahu"][0]
        assert fast.incident_snap_m < 1.0  # the village's own landing node
        legs = [leg.mode for leg in fast.legs if leg.distance_m > 1.0]
        assert legs[-1] == "landing" or i == bk
        assert "river" in legs or i == bk


def test_bounded_search_agrees_with_full_dijkstra(barsel: dict) -> None:
    """The expanding budget must return exactly the k best of each type a full search would."""
    net: TravelNetwork = barsel["net"]
    rng = np.random.default_rng(7)
    n = 80
    pick = rng.integers(0, 93, n)
    lon = barsel["rep_lon"][pick] + rng.normal(0, 0.03, n)
    lat = barsel["rep_lat"][pick] + rng.normal(0, 0.03, n)
    utype = rng.choice(["damkar", "ambulans", "bpbd", "perahu"], n)
    umode = np.where(utype == "perahu", "river", "road")
    road = net.profiles["road"]
    for j in rng.integers(0, 93, 8).tolist():
        res = rank_units(
            net,
            incident_lon=float(barsel["rep_lon"][j]),
            incident_lat=float(barsel["rep_lat"][j]),
            unit_ids=np.arange(n),
            unit_types=utype,
            unit_modes=umode,
            unit_lon=lon,
            unit_lat=lat,
            k=3,
            max_snap_m=50_000,
        )
        # Reference for road units: a full unbounded search for each unit from its own node.
        inc = road.nodes[road.tree.query_nearest(shapely.points(*to_utm_xy(barsel, j)))[0]]
        for t in ("damkar", "ambulans", "bpbd"):
            idx = np.flatnonzero(utype == t)
            got = [u.unit_id for u in res.by_type[t]]
            ref_eta = []
            for i in idx.tolist():
                ux, uy = to_utm_point(lon[i], lat[i])
                ti, d = road.tree.query_nearest(shapely.points(ux, uy), return_distance=True)
                times = dijkstra(road.forward, indices=road.nodes[ti[0]])
                ref_eta.append(d[0] / (15 * KMH) + times[inc] + res.incident_snap_m["road"] / (15 * KMH))
            ref = idx[np.argsort(ref_eta, kind="stable")][:3]
            assert got == ref.tolist()
            assert [u.eta_s for u in res.by_type[t]] == pytest.approx(np.sort(ref_eta)[:3], rel=1e-9)


def to_utm_point(lon: float, lat: float) -> tuple[float, float]:
    from geo.crs import to_utm

    x, y = to_utm(np.array([lon]), np.array([lat]))
    return float(x[0]), float(y[0])


def to_utm_xy_all(barsel: dict) -> tuple[np.ndarray, np.ndarray]:
    from geo.crs import to_utm

    return to_utm(barsel["rep_lon"], barsel["rep_lat"])


def to_utm_xy(barsel: dict, j: int) -> tuple[float, float]:
    return to_utm_point(float(barsel["rep_lon"][j]), float(barsel["rep_lat"][j]))


DETOUR = inspect.signature(derive_network).parameters["detour_factor"].default


def _route_length_m(coords: list[list[float]]) -> float:
    x, y = _lonlat_to_utm(np.array(coords))
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _lonlat_to_utm(lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    line = project_geometries(np.array([shapely.linestrings(lonlat)]), dst=UTM50S)[0]
    xy = shapely.get_coordinates(line)
    return xy[:, 0], xy[:, 1]


def test_every_route_drawn_is_the_path_its_legs_and_distance_describe(barsel: dict) -> None:
    """For many units of both modes and several incidents, each ranked unit's route is a GeoJSON line from the
    unit to the incident, no point repeated, as long as its legs drawn; the legs add up to that distance and the
    ETA, one leg per run of a mode (an offnetwork stretch only at either end)."""
    net: TravelNetwork = barsel["net"]
    rng = np.random.default_rng(21)
    n = 40
    pick = rng.integers(0, len(barsel["codes"]), n)
    lon = barsel["rep_lon"][pick] + rng.normal(0, 0.02, n)
    lat = barsel["rep_lat"][pick] + rng.normal(0, 0.02, n)
    utype = rng.choice(["damkar", "perahu"], n)
    umode = np.where(utype == "perahu", "river", "road")
    checked = 0
    for target in rng.integers(0, len(barsel["codes"]), 6).tolist():
        inc_lon, inc_lat = float(barsel["rep_lon"][target]), float(barsel["rep_lat"][target])
        res = rank_units(net, incident_lon=inc_lon, incident_lat=inc_lat, unit_ids=np.arange(n), unit_types=utype,
                         unit_modes=umode, unit_lon=lon, unit_lat=lat, k=n)
        for ranked in (u for units in res.by_type.values() for u in units):
            i = int(ranked.unit_id)
            coords = ranked.route["coordinates"]
            assert ranked.route["type"] == "LineString" and len(coords) >= 2
            assert coords[0] == pytest.approx([lon[i], lat[i]], abs=1e-6)
            assert coords[-1] == pytest.approx([inc_lon, inc_lat], abs=1e-6)
            assert all(a != b for a, b in zip(coords, coords[1:], strict=False)), "a point repeated"
            assert all(round(v, 7) == v for point in coords for v in point)  # ~1 cm: no false precision on the wire
            # Drawn, derived road links are straight: the network counts them longer by the detour factor.
            drawn = sum(leg.distance_m / (DETOUR if leg.mode == "road" else 1.0) for leg in ranked.legs)
            assert _route_length_m(coords) == pytest.approx(drawn, rel=1e-3, abs=1.0)
            legs = ranked.legs
            assert sum(leg.distance_m for leg in legs) == pytest.approx(ranked.distance_m, rel=1e-9, abs=1e-6)
            assert sum(leg.time_s for leg in legs) == pytest.approx(ranked.eta_s, rel=1e-6, abs=1e-3)
            inner = [leg.mode for leg in legs[1:-1]]
            assert "offnetwork" not in inner
            network_modes = [leg.mode for leg in legs if leg.mode != "offnetwork"]
            assert all(a != b for a, b in zip(network_modes, network_modes[1:], strict=False)), legs
            assert all(leg.distance_m > 0 and leg.time_s > 0 for leg in legs)
            assert (legs[0].mode == "offnetwork") == (ranked.unit_snap_m > 0)
            checked += 1
    assert checked >= 100


def test_defaults_and_refusals_say_what_is_wrong(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    n = 6
    units = {"unit_ids": np.arange(n), "unit_types": np.array(["damkar"] * n, dtype=object),
             "unit_modes": np.array(["road"] * n, dtype=object), "unit_lon": barsel["rep_lon"][:n],
             "unit_lat": barsel["rep_lat"][:n]}
    at = {"incident_lon": float(barsel["rep_lon"][10]), "incident_lat": float(barsel["rep_lat"][10])}
    assert len(rank_units(net, **at, **units).by_type["damkar"]) == 3  # k defaults to three per type
    with pytest.raises(ValueError, match="k must be >= 1"):
        rank_units(net, **at, **units, k=0)
    for bad in ({"incident_lon": float("nan")}, {"incident_lat": float("nan")}):
        with pytest.raises(ValueError, match="incident location is not a finite lon/lat"):
            rank_units(net, **(at | bad), **units)
    with pytest.raises(ValueError, match="unit arrays must have the same length"):
        rank_units(net, **at, **(units | {"unit_lat": barsel["rep_lat"][: n - 1]}))
    # Column vectors are read as flat lists of units.
    column = {key: np.asarray(value).reshape(-1, 1) for key, value in units.items()}
    flat = rank_units(net, **at, **units, k=n)
    assert [u.unit_id for u in rank_units(net, **at, **column, k=n).by_type["damkar"]] == \
        [u.unit_id for u in flat.by_type["damkar"]]


def test_a_unit_without_a_position_is_unreachable_and_the_others_still_rank(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    lon = barsel["rep_lon"][:4].copy()
    lat = barsel["rep_lat"][:4].copy()
    lat[1] = np.nan  # one coordinate missing is enough
    res = rank_units(net, incident_lon=float(barsel["rep_lon"][20]), incident_lat=float(barsel["rep_lat"][20]),
                     unit_ids=np.array(["a", "b", "c", "d"], dtype=object),
                     unit_types=np.array(["damkar", "damkar", "perahu", "perahu"], dtype=object),
                     unit_modes=np.array(["road", "road", "river", "river"], dtype=object),
                     unit_lon=lon, unit_lat=lat, k=4)
    assert [u.unit_id for u in res.unreachable if u.reason == "no_position"] == ["b"]
    assert {u.unit_id for u in res.by_type["damkar"]} == {"a"}
    assert {u.unit_id for u in res.by_type["perahu"]} | {u.unit_id for u in res.unreachable} >= {"c", "d"}


def test_the_offnetwork_speed_given_is_the_speed_used(barsel: dict) -> None:
    net: TravelNetwork = barsel["net"]
    args = {"incident_lon": float(barsel["rep_lon"][30]) + 0.01, "incident_lat": float(barsel["rep_lat"][30]),
            "unit_ids": np.array([1]), "unit_types": np.array(["damkar"], dtype=object),
            "unit_modes": np.array(["road"], dtype=object), "unit_lon": barsel["rep_lon"][[5]] + 0.01,
            "unit_lat": barsel["rep_lat"][[5]]}
    slow = rank_units(net, **args, offnetwork_kmh=2.0).by_type["damkar"][0]
    fast = rank_units(net, **args, offnetwork_kmh=20.0).by_type["damkar"][0]
    off_slow = [leg for leg in slow.legs if leg.mode == "offnetwork"]
    off_fast = [leg for leg in fast.legs if leg.mode == "offnetwork"]
    assert off_slow and [leg.distance_m for leg in off_slow] == [leg.distance_m for leg in off_fast]
    for s, f in zip(off_slow, off_fast, strict=True):
        assert s.time_s == pytest.approx(s.distance_m / (2.0 / 3.6))
        assert f.time_s == pytest.approx(f.distance_m / (20.0 / 3.6))


def test_unreachable_units_say_who_what_and_how_far(triangle: TravelNetwork) -> None:
    """Each unreachable record carries the unit's type and mode and the distance that failed: the unit's own
    snap when it is off the network, the incident's when the incident is."""
    res = _rank(triangle, (0, 0), [("far", "bpbd", "road", 0, -5000)], max_snap_m=2000)
    (far,) = res.unreachable
    assert (far.unit_type, far.travel_mode, far.reason) == ("bpbd", "road", "unit_off_network")
    assert far.snap_m == pytest.approx(5000, abs=1)
    res = _rank(triangle, (0, -30_000), [("near", "damkar", "road", 0, 10)], max_snap_m=2000)
    (near,) = res.unreachable
    assert (near.unit_type, near.travel_mode, near.reason) == ("damkar", "road", "incident_off_network")
    assert near.snap_m == pytest.approx(30_000, abs=1) and res.incident_snap_m["road"] == pytest.approx(30_000, abs=1)
    assert near.message
    ok = _rank(triangle, (1000, 0), [("a", "damkar", "road", 0, 0)])
    assert ok.searches >= 1 and ok.budget_s > 0


def test_rank_placed_refuses_what_rank_units_refuses(triangle: TravelNetwork) -> None:
    placed = place_units(triangle, **_units([("a", "damkar", "road", 0, 0), ("b", "damkar", "road", 1000, 0)]))
    lon, lat = _ll(500, 0)
    assert len(rank_placed(placed, incident_lon=lon, incident_lat=lat).by_type["damkar"]) == 2  # k=3 by default
    with pytest.raises(ValueError, match="k must be >= 1"):
        rank_placed(placed, incident_lon=lon, incident_lat=lat, k=0)
    for bad in ((float("nan"), lat), (lon, float("inf"))):
        with pytest.raises(ValueError, match="incident location is not a finite lon/lat"):
            rank_placed(placed, incident_lon=bad[0], incident_lat=bad[1])
