"""Locating points against the real bundled Barito Selatan layers (pure geo, no server)."""

from __future__ import annotations

import dataclasses
import json

import h3
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely import STRtree

from geo.crs import UTM50S, WGS84, project_geometries, transformer
from geo.layers import Layers, LineLayer
from geo.locate import DESA_CELL_DEG, MATCH_NAMES, CoordinateError, Locator, NearestEdge, PolygonGrid

BUNTOK = (114.8450, -1.7100)
BARITO_AT_BUNTOK = (114.8410, -1.7390)  # on the Natural Earth centre line of the Barito beside Buntok


def test_buntok_kota_is_in_dusun_selatan(locator: Locator) -> None:
    ans = locator.locate(lon=BUNTOK[0], lat=BUNTOK[1])
    assert ans["inside_regency"] is True
    assert ans["desa"]["name"] == "Buntok Kota"
    assert ans["desa"]["jenis"] == "kelurahan"
    assert ans["kecamatan"] == {"code": "62.04.06", "name": "Dusun Selatan"}
    assert ans["kabupaten"]["code"] == "62.04"
    assert ans["nearest_desa"] is None
    assert ans["h3"]["cell"].startswith("89") and ans["h3"]["resolution"] == 9
    assert 250_000 < ans["utm"]["x"] < 270_000 and 9_800_000 < ans["utm"]["y"] < 9_820_000


def test_point_in_the_barito_at_buntok_is_near_the_river(locator: Locator) -> None:
    line = shapely.union_all(locator.layers.rivers.geometry)
    on_river = line.interpolate(line.project(shapely.Point(*BARITO_AT_BUNTOK)))
    ans = locator.locate(lon=on_river.x, lat=on_river.y)
    assert ans["river"]["name"] == "Sungai Barito"
    assert ans["river"]["distance_m"] < 300
    near = locator.locate(lon=on_river.x + 0.002, lat=on_river.y)  # about 220 m east
    assert 100 < near["river"]["distance_m"] < 300


def test_point_just_east_of_the_border_is_in_barito_timur(locator: Locator) -> None:
    desa_union = shapely.union_all(locator.layers.desa.geometry)
    eastmost_lat = -1.9
    row = shapely.intersection(desa_union, shapely.box(114, eastmost_lat - 0.001, 116, eastmost_lat + 0.001))
    border_lon = row.bounds[2]
    ans = locator.locate(lon=border_lon + 0.02, lat=eastmost_lat)  # about 2 km east of the outline
    assert ans["inside_regency"] is False
    assert ans["match"] == "outside"
    assert ans["kabupaten"]["name"] == "Kabupaten Barito Timur"
    assert ans["desa"] is None and ans["kecamatan"] is None
    assert 1_000 < ans["nearest_desa"]["distance_m"] < 3_500
    assert ans["nearest_desa"]["code"].startswith("62.04.")


def test_outside_kalimantan_tengah_has_no_kabupaten(locator: Locator) -> None:
    ans = locator.locate(lon=106.8, lat=-6.2)  # Jakarta
    assert ans["inside_regency"] is False
    assert ans["kabupaten"] is None
    assert ans["nearest_desa"]["distance_m"] > 500_000


@settings(max_examples=93, deadline=None)
@given(i=st.integers(min_value=0, max_value=92))
def test_representative_point_of_every_desa_locates_to_it(locator: Locator, i: int) -> None:
    desa = locator.layers.desa
    p = shapely.point_on_surface(desa.geometry[i])
    ans = locator.locate(lon=p.x, lat=p.y)
    assert ans["desa"]["code"] == desa.code[i]
    assert ans["kecamatan"]["code"] == desa.attrs["kecamatan_kode"][i]


@settings(max_examples=60, deadline=None)
@given(i=st.integers(min_value=0, max_value=92), u=st.floats(0, 1), v=st.floats(0, 1))
def test_points_well_inside_a_desa_locate_to_it(locator: Locator, i: int, u: float, v: float) -> None:
    desa = locator.layers.desa
    inner_utm = project_geometries(np.array([desa.geometry[i]]))[0].buffer(-150)
    assume(not inner_utm.is_empty)  # a desa too thin for the 150 m margin draws another example
    inner = project_geometries(np.array([inner_utm]), src="EPSG:32750", dst="EPSG:4326")[0]
    x0, y0, x1, y1 = inner.bounds
    p = shapely.Point(x0 + u * (x1 - x0), y0 + v * (y1 - y0))
    if not inner.contains(p):
        p = shapely.point_on_surface(inner)
    ans = locator.locate(lon=p.x, lat=p.y)
    assert ans["desa"]["code"] == desa.code[i]
    assert ans["match"] == "inside"


def test_grid_agrees_with_brute_force_point_in_polygon(locator: Locator) -> None:
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = shapely.total_bounds(locator.layers.desa.geometry)
    lon = rng.uniform(x0 - 0.05, x1 + 0.05, 50_000)
    lat = rng.uniform(y0 - 0.05, y1 + 0.05, 50_000)
    idx, match = locator.assign_desa(lon=lon, lat=lat)
    pts = shapely.points(lon, lat)
    pt, poly = STRtree(locator.layers.desa.geometry).query(pts, predicate="intersects")
    hits = np.bincount(pt, minlength=len(pts))
    single = hits == 1
    expected = np.full(len(pts), -1)
    expected[pt[single[pt]]] = poly[single[pt]]
    assert np.array_equal(idx[single], expected[single])
    assert set(MATCH_NAMES[match[single]]) == {"inside"}
    assert set(MATCH_NAMES[match[hits > 1]]) <= {"overlap"}
    none = hits == 0
    assert set(MATCH_NAMES[match[none]]) <= {"outside", "gap"}
    assert (hits > 0).sum() > 10_000  # the sample really exercised the inside


def _overlap_and_gap_points(locator: Locator) -> tuple[shapely.Point, shapely.Point]:
    geoms = locator.layers.desa.geometry
    a, b = STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    inter = shapely.intersection(geoms[a[keep]], geoms[b[keep]])
    areas = shapely.area(inter)
    overlap = shapely.point_on_surface(inter[np.argmax(areas)])
    gaps = shapely.difference(locator.outline, shapely.union_all(geoms))
    parts = shapely.get_parts(gaps)
    gap = shapely.point_on_surface(parts[np.argmax(shapely.area(parts))])
    return overlap, gap


def test_overlap_gets_one_deterministic_desa_and_says_so(locator: Locator) -> None:
    overlap, _ = _overlap_and_gap_points(locator)
    first = locator.locate(lon=overlap.x, lat=overlap.y)
    again = locator.locate(lon=overlap.x, lat=overlap.y)
    batch = locator.locate_many(lon=np.array([overlap.x]), lat=np.array([overlap.y])).record(0)
    assert first["match"] == "overlap"
    assert first["desa"] == again["desa"] == batch["desa"]
    assert first["inside_regency"] is True


def _points_deep_in_one_desa_of_an_overlap(locator: Locator, pairs: int) -> list[tuple[float, float, int]]:
    """Points in the `pairs` largest overlaps of two desa, two per overlap: each clearly deeper in one desa.

    Candidates are drawn in each overlap (UTM 50S, fixed seed); for each desa of the pair the candidate
    deepest in it relative to the other is kept when it is at least twice as deep there and a metre deeper.
    Returns (lon, lat, index of the desa the point is deepest in), depth measured here independently.
    """
    geoms = locator.layers.desa.geometry
    a, b = STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    overlaps = project_geometries(shapely.intersection(geoms[a], geoms[b]))
    utm = project_geometries(geoms)
    rng = np.random.default_rng(21)
    out = []
    for i in np.argsort(-shapely.area(overlaps))[:pairs]:
        x0, y0, x1, y1 = shapely.bounds(overlaps[i])
        x, y = rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)
        in_two = shapely.contains_xy(overlaps[i], x, y)
        in_two &= np.sum([shapely.contains_xy(g, x, y) for g in utm], axis=0) == 2  # in no third desa
        x, y = x[in_two], y[in_two]
        pts = shapely.points(x, y)
        depth = {k: shapely.distance(utm[k].boundary, pts) for k in (a[i], b[i])}
        for deep, shallow in ((a[i], b[i]), (b[i], a[i])):
            j = int(np.argmax(depth[deep] - depth[shallow]))
            if depth[deep][j] > max(2 * depth[shallow][j], depth[shallow][j] + 1.0):
                lonlat = project_geometries(np.array([pts[j]]), src="EPSG:32750", dst="EPSG:4326")[0]
                out.append((lonlat.x, lonlat.y, int(deep)))
    return out


def test_in_an_overlap_the_desa_the_point_is_deepest_in_wins(locator: Locator) -> None:
    """The documented rule, pinned on real overlaps of the bundled desa, on the scalar and the array path."""
    points = _points_deep_in_one_desa_of_an_overlap(locator, pairs=8)
    assert len(points) >= 12
    code = locator.layers.desa.code
    expected = [code[deep] for _, _, deep in points]
    assert len(set(expected)) >= 10  # both desa of most overlaps win somewhere: no fixed preference passes
    one_by_one = [locator.locate(lon=x, lat=y) for x, y, _ in points]
    assert [ans["desa"]["code"] for ans in one_by_one] == expected
    assert {ans["match"] for ans in one_by_one} == {"overlap"}
    lon, lat = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    batch = locator.locate_many(lon=lon, lat=lat)
    assert list(batch.desa_code) == expected
    assert set(batch.match) == {"overlap"}


def test_gap_gets_the_nearest_desa_and_says_so(locator: Locator) -> None:
    _, gap = _overlap_and_gap_points(locator)
    ans = locator.locate(lon=gap.x, lat=gap.y)
    assert ans["match"] == "gap"
    assert ans["inside_regency"] is True
    assert ans["desa"] is not None
    dists = shapely.distance(locator.layers.desa.geometry, gap)
    assert ans["desa"]["code"] == locator.layers.desa.code[np.argmin(dists)]


def test_locate_many_matches_locate(locator: Locator) -> None:
    rng = np.random.default_rng(11)
    lon = rng.uniform(114.5, 115.6, 400)
    lat = rng.uniform(-2.7, -1.15, 400)
    batch = locator.locate_many(lon=lon, lat=lat)
    for i in range(len(lon)):
        one = locator.locate(lon=lon[i], lat=lat[i])
        many = batch.record(i)
        for key in (
            "inside_regency",
            "match",
            "desa",
            "kecamatan",
            "kabupaten",
            "h3",
            "boundary_disagreement",
        ):
            assert one[key] == many[key], key
        assert many["river"]["distance_m"] == pytest.approx(one["river"]["distance_m"], rel=0.02, abs=10)
        if one["nearest_desa"]:
            assert many["nearest_desa"]["distance_m"] == pytest.approx(
                one["nearest_desa"]["distance_m"], rel=0.02, abs=10
            )


def test_distances_are_metric_and_true(locator: Locator) -> None:
    rng = np.random.default_rng(3)
    lon = rng.uniform(114.3, 115.8, 300)
    lat = rng.uniform(-3.0, -1.0, 300)
    batch = locator.locate_many(lon=lon, lat=lat)
    river_utm = project_geometries(locator.layers.rivers.geometry)
    pts = shapely.points(batch.utm_x, batch.utm_y)
    exact = shapely.distance(pts[:, None], river_utm[None, :]).min(axis=1)
    near = exact < 5_000
    assert np.allclose(batch.river_m[near], exact[near], atol=6)
    assert np.all(batch.river_m <= exact * 1.02 + 6) and np.all(batch.river_m >= exact - 1e-6)


@pytest.mark.parametrize(
    "lon,lat", [(float("nan"), -1.7), (114.8, float("inf")), (200.0, -1.7), (114.8, -95.0)]
)
def test_bad_coordinates_raise(locator: Locator, lon: float, lat: float) -> None:
    with pytest.raises(CoordinateError):
        locator.locate(lon=lon, lat=lat)
    with pytest.raises(CoordinateError):
        locator.locate_many(lon=np.array([lon]), lat=np.array([lat]))


def _points_near_distance(locator: Locator, metres: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """UTM points scattered within 60 m either side of `metres` from the regency outline."""
    outline = project_geometries(np.array([locator.outline]))[0]
    ring = shapely.boundary(shapely.buffer(outline, metres, quad_segs=16))
    along = shapely.line_interpolate_point(ring, rng.uniform(0, 1, n), normalized=True)
    xy = shapely.get_coordinates(along) + rng.uniform(-60, 60, (n, 2))
    return xy


@pytest.mark.parametrize("cap", [10_000.0, 5_000.0, 2_500.0])
def test_capped_nearest_equals_uncapped_within_the_cap(locator: Locator, cap: float) -> None:
    rng = np.random.default_rng(int(cap))
    edges = NearestEdge(locator.layers.desa.geometry)  # built here: its construction is checked with its answers
    lo, hi = edges.coords.min(axis=0) - 25_000, edges.coords.max(axis=0) + 25_000
    xy = np.concatenate(
        [
            rng.uniform(lo, hi, (20_000, 2)),
            _points_near_distance(locator, cap, 4_000, rng),
            _points_near_distance(locator, 5_000.0, 1_000, rng),  # either side of the exact-search radius
            edges.coords[rng.integers(0, len(edges.coords), 1_000)],  # on the edges, shared ones included
        ]
    )
    owner, dist = edges.nearest(xy[:, 0], xy[:, 1])
    (_, seg), exact = edges.segment_tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    close = np.abs(exact - cap) < 60
    assert close.sum() > 500 and (exact[close] <= cap).any() and (exact[close] > cap).any()
    near = dist < edges.EXACT_WITHIN_M - 100  # where the search without a cap is exact already
    for workers in (1, -1, None):
        c_owner, c_dist = edges.nearest(xy[:, 0], xy[:, 1], max_distance=cap, workers=workers)
        kept = c_owner >= 0
        # The cap is a sharp line: a point is kept exactly when its true distance is within it (9.9 km is in).
        # (The densified search near the edges may differ from the raw segments by a few centimetres, at a
        # corner by up to a metre; far out the shell is measured on the raw segments.)
        clear = np.abs(exact - cap) > 1.0
        np.testing.assert_array_equal(kept[clear], (exact <= cap)[clear])
        np.testing.assert_allclose(c_dist[kept & ~near], exact[kept & ~near], rtol=0, atol=1e-6)
        np.testing.assert_allclose(c_dist[kept], exact[kept], rtol=0, atol=1.0)
        # Near the edges the capped search answers exactly as the search without a cap.
        np.testing.assert_array_equal(c_dist[near & kept], dist[near & kept])
        np.testing.assert_array_equal(c_owner[near & kept], owner[near & kept])
        assert np.isinf(c_dist[~kept]).all()


def test_thread_choice_does_not_change_answers(locator: Locator) -> None:
    rng = np.random.default_rng(5)
    edges = NearestEdge(locator.layers.desa.geometry)
    xy = rng.uniform(edges.coords.min(axis=0) - 20_000, edges.coords.max(axis=0) + 20_000, (6_000, 2))
    one = edges.nearest(xy[:, 0], xy[:, 1], workers=1)
    for workers in (-1, None):
        many = edges.nearest(xy[:, 0], xy[:, 1], workers=workers)
        np.testing.assert_array_equal(many[0], one[0])
        np.testing.assert_array_equal(many[1], one[1])


def test_vertex_lower_bound_is_a_lower_bound(locator: Locator) -> None:
    rng = np.random.default_rng(9)
    for edges in (NearestEdge(locator.layers.desa.geometry), NearestEdge(locator.layers.rivers.geometry)):
        xy = rng.uniform(edges.coords.min(axis=0) - 30_000, edges.coords.max(axis=0) + 30_000, (20_000, 2))
        true = edges.tree.query(xy)[0]
        bound = edges.vertex_lower_bound(xy)
        assert (bound <= true).all()
        assert (bound > 0).mean() > 0.3  # and it says something for points away from the edges


def test_single_locate_through_exact_kabupaten_cells_matches_locate_many(locator: Locator) -> None:
    grid = locator.kabupaten_grid
    rng = np.random.default_rng(17)
    lon = rng.uniform(113.8, 116.0, 60_000)
    lat = rng.uniform(-3.4, -0.6, 60_000)
    pick = np.flatnonzero(grid.lookup(lon, lat) == grid.EXACT)[:300]
    assert len(pick) > 100
    batch = locator.locate_many(lon=lon[pick], lat=lat[pick])
    for i, j in enumerate(pick):
        one = locator.locate(lon=lon[j], lat=lat[j])
        many = batch.record(i)
        for key in ("inside_regency", "match", "desa", "kabupaten", "boundary_disagreement"):
            assert one[key] == many[key], key


def test_the_edges_of_the_wgs84_range_are_answered_on_both_paths(locator: Locator) -> None:
    """lon ±180 and lat ±90 are coordinates, not refusals: far outside, with no kabupaten."""
    lon = np.array([180.0, -180.0, 114.8, 114.8])
    lat = np.array([0.0, 0.0, 90.0, -90.0])
    batch = locator.locate_many(lon=lon, lat=lat)
    for i in range(len(lon)):
        one = locator.locate(lon=lon[i], lat=lat[i])
        many = batch.record(i)
        for ans in (one, many):
            assert ans["inside_regency"] is False and ans["match"] == "outside"
            assert ans["desa"] is None and ans["kabupaten"] is None
            assert ans["nearest_desa"]["distance_m"] > 1_000_000


@pytest.mark.parametrize(
    "lon,lat,count",
    [
        ([114.8, float("nan"), 200.0], [-1.7, -1.7, -1.7], 2),
        ([114.8, 180.0001, 114.8], [-1.7, -1.7, 90.0001], 2),
        ([-180.0001], [-90.0001], 1),
    ],
)
def test_a_bad_batch_is_refused_naming_the_field_and_counting_the_bad_points(
    locator: Locator, lon: list, lat: list, count: int
) -> None:
    with pytest.raises(CoordinateError) as err:
        locator.locate_many(lon=np.array(lon), lat=np.array(lat))
    assert err.value.field == "lon"
    assert err.value.message_en == f"{count} coordinate(s) are not finite WGS84 lon/lat"
    assert err.value.message_id == f"{count} koordinat bukan lon/lat WGS84 yang terhingga"
    for x, y in zip(lon, lat, strict=True):
        if not (np.isfinite(x) and np.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
            with pytest.raises(CoordinateError) as one:
                locator.locate(lon=x, lat=y)
            assert one.value.field == "lon"
            assert one.value.message_en == "Coordinate is not a finite WGS84 lon/lat"
            assert one.value.message_id == "Koordinat bukan lon/lat WGS84 yang terhingga"


@pytest.mark.parametrize(
    "lon,lat",
    [(np.array([114.8, 114.9]), np.array([-1.7])), (np.array([[114.8]]), np.array([[-1.7]]))],
    ids=["unequal lengths", "two-dimensional"],
)
def test_arrays_of_other_shapes_are_refused(locator: Locator, lon: np.ndarray, lat: np.ndarray) -> None:
    with pytest.raises(CoordinateError) as err:
        locator.locate_many(lon=lon, lat=lat)
    assert err.value.field == "lon"
    assert err.value.message_en == "lon and lat must be one-dimensional arrays of equal length"
    assert err.value.message_id == "lon dan lat harus larik satu dimensi yang sama panjang"


def _exact_m(geometries: np.ndarray, x: float, y: float) -> float:
    return float(shapely.distance(project_geometries(geometries), shapely.Point(x, y)).min())


def _measured(got: float, exact: float, *, batch: bool) -> bool:
    """Rounded to the decimetre; exact, or (the array path beyond EXACT_WITHIN_M) within its documented EPSILON."""
    if got != round(got, 1):
        return False
    if batch and exact >= NearestEdge.EXACT_WITHIN_M:
        return exact - 0.05 <= got <= (exact + NearestEdge.SPACING_M) * (1 + NearestEdge.EPSILON)
    return abs(got - exact) <= 0.05 + 1e-9


def test_the_answer_is_rounded_as_documented_and_says_its_crs(locator: Locator) -> None:
    """UTM to the centimetre, distances to the decimetre, both paths, against pyproj and shapely directly."""
    points = [BUNTOK, (114.60, -1.95), (115.20, -2.40), (114.62, -1.93)]
    batch = locator.locate_many(lon=np.array([p[0] for p in points]), lat=np.array([p[1] for p in points]))
    to_utm = transformer(src=WGS84, dst=UTM50S)
    outside = 0
    for i, (lon, lat) in enumerate(points):
        x, y = to_utm.transform(lon, lat)
        river = _exact_m(locator.layers.rivers.geometry, x, y)
        desa = _exact_m(locator.layers.desa.geometry, x, y)
        for is_batch, ans in ((False, locator.locate(lon=lon, lat=lat)), (True, batch.record(i))):
            assert ans["lon"] == lon and ans["lat"] == lat
            assert ans["utm"] == {"crs": "EPSG:32750", "x": round(x, 2), "y": round(y, 2)}
            assert ans["h3"] == {"resolution": 9, "cell": ans["h3"]["cell"]}
            assert ans["river"]["name"] == "Sungai Barito"
            assert _measured(ans["river"]["distance_m"], river, batch=is_batch), (i, is_batch, river)
            assert ans["road"] is None  # the bundled layers have no roads
            if ans["inside_regency"]:
                assert ans["nearest_desa"] is None
            else:
                outside += 1
                assert _measured(ans["nearest_desa"]["distance_m"], desa, batch=is_batch), (i, is_batch, desa)
                names = dict(zip(locator.layers.desa.code, locator.layers.desa.name, strict=True))
                assert ans["nearest_desa"]["name"] == names[ans["nearest_desa"]["code"]]
    assert outside >= 2


ROADS = LineLayer(
    geometry=np.array(
        [
            shapely.LineString([(114.80, -1.70), (114.90, -1.70)]),  # east-west through Buntok
            shapely.LineString([(114.60, -2.00), (114.60, -1.90)]),  # north-south, west of the regency
        ]
    ),
    name=np.array(["Jalan A", "Jalan B"], dtype=object),
    kind=np.array(["primary", "track"], dtype=object),
    source=np.array(["osm", "pemda"], dtype=object),
)


def test_road_distance_and_source_on_both_paths(bundled_layers: Layers) -> None:
    """The bundled layers have no roads; an imported network gives the locator some (api.context)."""
    loc = Locator.from_layers(dataclasses.replace(bundled_layers, roads=ROADS))
    points = [(114.85, -1.71), (114.62, -1.95), (114.90, -1.67)]
    batch = loc.locate_many(lon=np.array([p[0] for p in points]), lat=np.array([p[1] for p in points]))
    to_utm = transformer(src=WGS84, dst=UTM50S)
    roads = project_geometries(ROADS.geometry)
    sources = []
    for i, (lon, lat) in enumerate(points):
        x, y = to_utm.transform(lon, lat)
        d = shapely.distance(roads, shapely.Point(x, y))
        for ans in (loc.locate(lon=lon, lat=lat), batch.record(i)):
            assert ans["road"]["source"] == ROADS.source[np.argmin(d)]
            assert abs(ans["road"]["distance_m"] - d.min()) <= 0.05 + 1e-6
            assert ans["road"]["distance_m"] == round(ans["road"]["distance_m"], 1)
        sources.append(ans["road"]["source"])
    assert sources == ["osm", "pemda", "osm"]
    # A road layer with no line in it is no road at all.
    empty = LineLayer(geometry=ROADS.geometry[:0], name=ROADS.name[:0], kind=ROADS.kind[:0], source=ROADS.source[:0])
    without = Locator.from_layers(dataclasses.replace(bundled_layers, roads=empty))
    assert without.locate(lon=114.85, lat=-1.71)["road"] is None
    assert without.locate_many(lon=np.array([114.85]), lat=np.array([-1.71])).record(0)["road"] is None


def _just_inside_every_desa(desa_geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertices of every desa shrunk by about a metre: points just inside each edge, the extreme tips of the
    regency included, each with the desa it lies in (points in no desa or in two are left out)."""
    inner = shapely.buffer(desa_geometry, -1e-5)
    xy, owner = shapely.get_coordinates(inner, return_index=True)
    pts = shapely.points(xy)
    pt, poly = shapely.STRtree(desa_geometry).query(pts, predicate="within")
    hits = np.bincount(pt, minlength=len(pts))
    alone = np.flatnonzero(hits == 1)
    expected = np.full(len(pts), -1)
    expected[pt[hits[pt] == 1]] = poly[hits[pt] == 1]
    return xy[alone, 0], xy[alone, 1], expected[alone]


def test_a_locator_built_afresh_places_points_as_brute_force_does(bundled_layers: Layers) -> None:
    """The construction itself (grids, outline, trees), on a locator built here: the shared `locator` fixture
    is built inside whichever test asks for it first, so a fault in the building code would otherwise meet
    that one test alone."""
    loc = Locator.from_layers(bundled_layers)
    desa = bundled_layers.desa
    code = np.append(desa.code, None)
    # Just inside every edge, the westmost, eastmost, southmost and northmost tips included.
    lon, lat, expected = _just_inside_every_desa(desa.geometry)
    assert len(lon) > 5_000
    x0, y0, x1, y1 = shapely.total_bounds(desa.geometry)
    assert lon.min() < x0 + 1e-4 and lon.max() > x1 - 1e-4 and lat.min() < y0 + 1e-4 and lat.max() > y1 - 1e-4
    edge = loc.locate_many(lon=lon, lat=lat)
    assert list(edge.desa_code) == list(code[expected])
    assert set(edge.match) == {"inside"}
    for i in np.linspace(0, len(lon) - 1, 200).astype(int):
        assert loc.locate(lon=lon[i], lat=lat[i])["desa"]["code"] == code[expected[i]]
    # Anywhere in and around the regency.
    rng = np.random.default_rng(23)
    lon = rng.uniform(x0 - 0.05, x1 + 0.05, 20_000)
    lat = rng.uniform(y0 - 0.05, y1 + 0.05, 20_000)
    pt, poly = shapely.STRtree(desa.geometry).query(shapely.points(lon, lat), predicate="intersects")
    hits = np.bincount(pt, minlength=len(lon))
    expected = np.full(len(lon), -1)
    expected[pt[hits[pt] == 1]] = poly[hits[pt] == 1]
    single = hits == 1
    batch = loc.locate_many(lon=lon, lat=lat)
    assert list(batch.desa_code[single]) == list(code[expected[single]])
    assert set(batch.match[single]) == {"inside"} and set(batch.match[hits > 1]) <= {"overlap"}
    assert set(batch.match[hits == 0]) <= {"outside", "gap"}
    kec = dict(zip(desa.code, desa.attrs["kecamatan_kode"], strict=True))
    assert list(batch.kecamatan_code[single]) == [kec[c] for c in batch.desa_code[single]]
    assert set(batch.kabupaten_code[hits > 0]) == {"62.04"}
    deep = _points_deep_in_one_desa_of_an_overlap(loc, pairs=4)
    assert len(deep) >= 6
    in_overlaps = loc.locate_many(lon=np.array([p[0] for p in deep]), lat=np.array([p[1] for p in deep]))
    assert list(in_overlaps.desa_code) == [desa.code[k] for _, _, k in deep]
    assert set(in_overlaps.match) == {"overlap"}
    _, gap = _overlap_and_gap_points(loc)
    in_gap = loc.locate_many(lon=np.array([gap.x]), lat=np.array([gap.y])).record(0)
    assert in_gap["match"] == "gap" and in_gap["inside_regency"] is True
    assert in_gap["desa"]["code"] == desa.code[np.argmin(shapely.distance(desa.geometry, gap))]
    for i in rng.choice(len(lon), 300, replace=False):
        one = loc.locate(lon=lon[i], lat=lat[i])
        many = batch.record(i)
        for key in ("inside_regency", "match", "desa", "kecamatan", "kabupaten", "boundary_disagreement"):
            assert one[key] == many[key], key
    # Outside every desa: the kabupaten polygon the point is in (away from the regency, whose coarse polygon
    # hands its fringe to the nearest neighbour), on both paths.
    kab = bundled_layers.kabupaten
    lon = rng.uniform(112.0, 116.5, 3_000)
    lat = rng.uniform(-3.6, 0.8, 3_000)
    pt, poly = shapely.STRtree(kab.geometry).query(shapely.points(lon, lat), predicate="within")
    hits = np.bincount(pt, minlength=len(lon))
    expected = np.full(len(lon), -1)
    expected[pt[hits[pt] == 1]] = poly[hits[pt] == 1]
    far = shapely.distance(loc.outline, shapely.points(lon, lat)) > 0.1
    clear = (hits <= 1) & far
    assert (expected[clear] >= 0).sum() > 1_000 and (expected[clear] < 0).sum() > 100
    batch = loc.locate_many(lon=lon, lat=lat)
    assert list(batch.kabupaten_code[clear]) == list(np.append(kab.code, None)[expected[clear]])
    assert not batch.boundary_disagreement[clear].any()
    for i in np.flatnonzero(clear)[:200]:
        assert loc.locate(lon=lon[i], lat=lat[i])["kabupaten"] == batch.record(i)["kabupaten"]
    # Distances to the river and to the nearest desa, as shapely measures them in UTM, on both paths.
    lon, lat = rng.uniform(x0 - 0.3, x1 + 0.3, 40), rng.uniform(y0 - 0.3, y1 + 0.3, 40)
    batch = loc.locate_many(lon=lon, lat=lat)
    for i in range(len(lon)):
        river = _exact_m(bundled_layers.rivers.geometry, batch.utm_x[i], batch.utm_y[i])
        nearest = _exact_m(desa.geometry, batch.utm_x[i], batch.utm_y[i])
        for is_batch, ans in ((False, loc.locate(lon=lon[i], lat=lat[i])), (True, batch.record(i))):
            assert _measured(ans["river"]["distance_m"], river, batch=is_batch), (i, is_batch, river)
            if not ans["inside_regency"]:
                assert _measured(ans["nearest_desa"]["distance_m"], nearest, batch=is_batch), (i, is_batch, nearest)


def test_batch_records_are_plain_json(locator: Locator) -> None:
    """What the batch endpoint serialises: Python scalars, no NaN, no numpy types, equal to the scalar answer."""
    lon = np.array([BUNTOK[0], 114.60, 106.8])
    lat = np.array([BUNTOK[1], -1.95, -6.2])
    batch = locator.locate_many(lon=lon, lat=lat)
    assert len(batch) == 3

    def plain(v: object) -> bool:
        if isinstance(v, dict):
            return all(plain(w) for w in v.values())
        return v is None or type(v) in (bool, int, float, str)

    for i in range(3):
        rec = batch.record(i)
        assert json.loads(json.dumps(rec, allow_nan=False)) == rec
        assert plain(rec), rec
        one = locator.locate(lon=lon[i], lat=lat[i])
        assert {k: v for k, v in rec.items() if k not in ("river", "nearest_desa")} == {
            k: v for k, v in one.items() if k not in ("river", "nearest_desa")}


def test_the_regency_fringe_outside_its_desa_goes_to_a_near_neighbour_or_to_none(locator: Locator) -> None:
    """The coarse kabupaten polygon of Barito Selatan reaches past its desa. A point there belongs to the nearest
    neighbouring kabupaten within 0.05 degrees; farther (toward Kalimantan Selatan, which the layer lacks) to none.
    Either way the answer says the polygons disagreed."""
    loc = Locator.from_layers(locator.layers)  # built here: the neighbours it keeps are part of what is checked
    kab = loc.layers.kabupaten
    fringe = shapely.difference(kab.geometry[kab.code == "62.04"][0], loc.outline)
    rng = np.random.default_rng(31)
    x0, y0, x1, y1 = fringe.bounds
    lon, lat = rng.uniform(x0, x1, 200_000), rng.uniform(y0, y1, 200_000)
    keep = shapely.contains_xy(fringe, lon, lat)
    lon, lat = lon[keep], lat[keep]
    pts = shapely.points(lon, lat)
    neighbours = np.flatnonzero(kab.code != "62.04")
    dist = shapely.distance(kab.geometry[neighbours][:, None], pts[None, :])  # neighbour x point, degrees
    nearest = dist.min(axis=0)
    far = np.flatnonzero(nearest > 0.06)[:20]
    near = np.flatnonzero((nearest > 0.001) & (nearest < 0.04))[:20]
    assert len(far) == 20 and len(near) == 20
    codes = np.append(kab.code, None)
    expected = {int(i): codes[neighbours[np.argmin(dist[:, i])]] for i in near} | {int(i): None for i in far}
    pick = np.array(sorted(expected))
    batch = loc.locate_many(lon=lon[pick], lat=lat[pick])
    for j, i in enumerate(pick):
        for ans in (loc.locate(lon=lon[i], lat=lat[i]), batch.record(j)):
            assert ans["inside_regency"] is False
            assert (ans["kabupaten"] or {}).get("code") == expected[i], (i, nearest[i])
            assert ans["boundary_disagreement"] is True


def test_batch_columns_are_typed_as_the_batch_endpoint_encodes_them(locator: Locator) -> None:
    """api.batch_pool writes float columns rounded, bool columns as true/false and the rest as lists: a column
    of another type changes the JSON a client reads (0.0/1.0 for false/true, null for 0 m)."""
    lon = np.array([BUNTOK[0], 114.60, 106.8])
    lat = np.array([BUNTOK[1], -1.95, -6.2])
    batch = locator.locate_many(lon=lon, lat=lat)
    for name in ("inside_regency", "boundary_disagreement"):
        assert getattr(batch, name).dtype == bool, name
    for name in ("lon", "lat", "nearest_desa_m", "river_m", "road_m", "utm_x", "utm_y"):
        assert getattr(batch, name).dtype == np.float64, name
    assert batch.inside_regency.tolist() == [True, False, False]
    assert batch.nearest_desa_m[0] == 0.0 and batch.nearest_desa_m[1] > 0
    assert np.isnan(batch.road_m).all()  # no roads in the bundled layers
    assert batch.kabupaten_code.tolist() == ["62.04", "62.03", None]
    assert batch.kecamatan_code.tolist()[1:] == [None, None] and batch.desa_code.tolist()[1:] == [None, None]
    coarse = locator.locate_many(lon=lon, lat=lat, h3_resolution=7)
    assert coarse.h3.tolist() == [h3.latlng_to_cell(y, x, 7) for x, y in zip(lon, lat, strict=True)]
    as_ints = locator.locate_many(lon=[115, 114], lat=[-2, -2])
    as_floats = locator.locate_many(lon=np.array([115.0, 114.0]), lat=np.array([-2.0, -2.0]))
    for i in range(2):
        assert as_ints.record(i) == as_floats.record(i)


def test_one_point_alone_on_an_edge_cell_and_just_past_the_grids(locator: Locator) -> None:
    """A batch of one point that needs the exact test (one polygon hit in all), and points within a cell past the
    east and north end of each grid: answered as locate() answers them, not dropped or out of bounds."""
    lon, lat, expected = _just_inside_every_desa(locator.layers.desa.geometry)
    on_edge = np.flatnonzero(locator.desa_grid.lookup(lon, lat) == locator.desa_grid.EXACT)[:5]
    assert len(on_edge) == 5
    for i in on_edge:
        alone = locator.locate_many(lon=lon[i:i + 1], lat=lat[i:i + 1]).record(0)
        assert alone["desa"]["code"] == locator.layers.desa.code[expected[i]] and alone["match"] == "inside"
    for grid in (locator.desa_grid, locator.kabupaten_grid):
        for x, y in ((grid.x0 + (grid.nx + 0.5) * grid.cell, -2.0), (115.0, grid.y0 + (grid.ny + 0.5) * grid.cell)):
            one = locator.locate(lon=x, lat=y)
            assert one["inside_regency"] is False
            assert locator.locate_many(lon=np.array([x]), lat=np.array([y])).record(0)["kabupaten"] == one["kabupaten"]


def _reshaped_desa(layers: Layers, *, shrink: int, shrink_m: float, grow: int, grow_m: float) -> Layers:
    """The bundled layers with one desa shrunk and another grown (in UTM metres), everything else as it was."""
    desa = layers.desa
    utm = project_geometries(desa.geometry)
    utm[shrink] = utm[shrink].buffer(-shrink_m)
    utm[grow] = utm[grow].buffer(grow_m)
    geometry = project_geometries(utm, src="EPSG:32750", dst="EPSG:4326")
    return dataclasses.replace(layers, desa=dataclasses.replace(desa, geometry=geometry))


def _points_in(area_utm: shapely.Geometry, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random UTM points in a polygon, as WGS84 lon/lat and their UTM points."""
    x0, y0, x1, y1 = area_utm.bounds
    x, y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    keep = shapely.contains_xy(area_utm, x, y)
    utm = shapely.points(x[keep], y[keep])
    return shapely.get_coordinates(project_geometries(utm, src="EPSG:32750", dst="EPSG:4326")), utm


def test_a_wide_gap_between_desa_is_a_gap_and_goes_to_the_nearest_desa(bundled_layers: Layers) -> None:
    """A desa shrunk by 130 m leaves a ring in no desa, wide enough to hold whole grid cells: where the regency's
    outline closes it (between neighbours, not along the regency border) a call there is inside the regency, a gap,
    given to the nearest desa; along the border it is outside. The bundled desa have no gap this wide."""
    shrunk = 59  # a large desa on the north-east border with six neighbours
    layers = _reshaped_desa(bundled_layers, shrink=shrunk, shrink_m=130.0, grow=shrunk, grow_m=0.0)
    loc = Locator.from_layers(layers)
    before, after = project_geometries(bundled_layers.desa.geometry[[shrunk]])[0], project_geometries(
        layers.desa.geometry[[shrunk]])[0]
    lonlat, utm = _points_in(shapely.difference(before, after), 200_000, np.random.default_rng(41))
    desa_utm = project_geometries(layers.desa.geometry)
    dist = shapely.distance(desa_utm[:, None], utm[None, :])  # desa x point, metres
    two = np.sort(dist, axis=0)[:2]
    # The regency's outline as documented: the desa closed by GAP_TOLERANCE_M (75 m), measured here in UTM.
    outline = shapely.union_all(desa_utm).buffer(75.0).buffer(-75.0)
    in_outline = shapely.contains_xy(outline, shapely.get_x(utm), shapely.get_y(utm))
    # Clear cases only: 30 m from every desa and from the outline, the nearest desa 10 m nearer than the next;
    # outside, 90 m from every desa (no 75 m closing reaches there).
    clear = (two[0] > 30) & (two[1] - two[0] > 10) & (shapely.distance(outline.boundary, utm) > 30)
    gap, outside = np.flatnonzero(clear & in_outline)[:300], np.flatnonzero(clear & ~in_outline & (two[0] > 90))[:100]
    assert len(gap) == 300 and len(outside) == 100
    batch = loc.locate_many(lon=lonlat[gap, 0], lat=lonlat[gap, 1])
    nearest = layers.desa.code[np.argmin(dist[:, gap], axis=0)]
    assert set(batch.match) == {"gap"} and batch.inside_regency.all()
    assert list(batch.desa_code) == list(nearest)
    for j, i in enumerate(gap[:40]):
        one = loc.locate(lon=lonlat[i, 0], lat=lonlat[i, 1])
        assert one["match"] == "gap" and one["desa"]["code"] == nearest[j]
    away = loc.locate_many(lon=lonlat[outside, 0], lat=lonlat[outside, 1])
    assert set(away.match) == {"outside"} and not away.inside_regency.any()


def test_a_wide_overlap_goes_point_by_point_to_the_desa_it_is_deepest_in(bundled_layers: Layers) -> None:
    """A desa grown by 300 m overlaps its neighbours by whole grid cells. Each point there is in an overlap and
    belongs to the desa it is deepest in, on both paths: not one desa for a whole stretch of the overlap."""
    grown = 10  # an inner desa of Dusun Selatan with four neighbours
    layers = _reshaped_desa(bundled_layers, shrink=grown, shrink_m=0.0, grow=grown, grow_m=300.0)
    loc = Locator.from_layers(layers)
    geometry = layers.desa.geometry
    grown_utm = project_geometries(geometry[[grown]])[0]
    others = shapely.union_all(project_geometries(np.delete(bundled_layers.desa.geometry, grown)))
    lonlat, _ = _points_in(shapely.intersection(grown_utm, others), 100_000, np.random.default_rng(43))
    inside = shapely.contains_xy(geometry[:, None], lonlat[:, 0][None, :], lonlat[:, 1][None, :])  # desa x point
    # Depth as the documented rule measures it (distance to the desa's edge in degrees); clear cases only.
    depth = np.where(inside, shapely.distance(shapely.boundary(geometry)[:, None], shapely.points(lonlat)[None, :]), -1)
    deepest, second = np.sort(depth, axis=0)[-1], np.sort(depth, axis=0)[-2]
    clear = np.flatnonzero((inside.sum(axis=0) == 2) & (deepest > 2 * second) & (deepest - second > 3e-4))[:300]
    assert len(clear) == 300
    expected = layers.desa.code[np.argmax(depth[:, clear], axis=0)]
    assert len(set(expected)) >= 3  # the grown desa wins near its own middle, its neighbours near theirs
    batch = loc.locate_many(lon=lonlat[clear, 0], lat=lonlat[clear, 1])
    assert set(batch.match) == {"overlap"}
    assert list(batch.desa_code) == list(expected)
    for j, i in enumerate(clear[:60]):
        one = loc.locate(lon=lonlat[i, 0], lat=lonlat[i, 1])
        assert one["match"] == "overlap" and one["desa"]["code"] == expected[j]


_TWO_SQUARES = shapely.MultiPolygon(
    [shapely.box(114.80, -1.72, 114.82, -1.70), shapely.box(114.90, -1.72, 114.92, -1.70)]
)
_HOLED = shapely.Polygon(shapely.box(114.60, -2.00, 114.70, -1.90).exterior.coords,
                         [shapely.box(114.64, -1.96, 114.66, -1.94).exterior.coords])
_TWO_LINES = shapely.MultiLineString([[(114.80, -1.68), (114.82, -1.68)], [(114.90, -1.68), (114.92, -1.68)]])


_AREAS = np.array([_TWO_SQUARES, _HOLED, shapely.box(114.70, -1.55, 114.75, -1.50)])
# A bend drawn with sub-metre segments (as a surveyed river bank may be): the closest point is inside a segment.
_FINE = shapely.segmentize(shapely.LineString([(114.75, -1.60), (114.7504, -1.6001), (114.7507, -1.5998)]), 4e-6)
_LINES = np.array([_TWO_LINES, shapely.LineString([(114.7, -1.5), (114.8, -1.5)]), _FINE])


@pytest.mark.parametrize("dense", [False, True], ids=["few segments", "many segments"])
@pytest.mark.parametrize("geometries", [_AREAS, _LINES], ids=["desa", "rivers"])
def test_distances_to_geometries_in_several_parts_are_to_their_parts(geometries: np.ndarray, dense: bool) -> None:
    """A desa in two parts or with a hole, a river or road in two pieces: the distance is to the nearest part, on
    both paths. Consecutive coordinates of two parts are no segment: the gap between the two squares or the two
    lines is not an edge, and the way from the outer ring to the hole is not either."""
    if dense:  # past BRUTE_FORCE_SEGMENTS: the single-point path walks the segment tree instead
        geometries = shapely.segmentize(geometries, 0.00003)
    edges = NearestEdge(geometries)
    assert (edges._brute is None) == dense
    utm = project_geometries(geometries)
    lines = shapely.boundary(utm) if shapely.get_dimensions(utm).max() == 2 else utm
    rng = np.random.default_rng(47)
    x0, y0, x1, y1 = shapely.total_bounds(utm)
    fine = shapely.get_coordinates(project_geometries(np.array([_FINE])))
    xy = np.concatenate([rng.uniform((x0 - 5_000, y0 - 5_000), (x1 + 5_000, y1 + 5_000), (2_000, 2)),
                         shapely.get_coordinates(shapely.centroid(utm)),
                         (fine[:-1] + fine[1:]) / 2 + rng.uniform(-3, 3, (len(fine) - 1, 2))])  # beside _FINE
    dist = shapely.distance(lines[:, None], shapely.points(xy)[None, :])  # geometry x point
    exact, nearest = dist.min(axis=0), dist.argmin(axis=0)
    owner, many = edges.nearest(xy[:, 0], xy[:, 1])
    close = exact < NearestEdge.EXACT_WITHIN_M
    np.testing.assert_allclose(many[close], exact[close], atol=1e-6)
    np.testing.assert_array_equal(owner[close], nearest[close])
    for i in range(len(xy)):
        got_owner, got = edges.nearest_one(xy[i, 0], xy[i, 1])
        assert got == pytest.approx(exact[i], abs=1e-6) and got_owner == nearest[i], i


def test_desa_strips_a_cell_or_two_wide_are_told_apart_by_the_grid() -> None:
    """Desa as thin as a grid cell (a riverside strip): many lie between two edge rows with one row of whole cells
    or none, and each such row must read as its own desa, not its neighbour's. Strips of random widths between
    0.6 and 2.5 cells, stacked north-south and east-west, every point placed as the polygons place it."""
    rng = np.random.default_rng(53)
    cell = DESA_CELL_DEG
    for stacked_north in (True, False):
        cuts = np.cumsum(np.concatenate([[0.0], rng.uniform(0.6, 2.5, 60)])) * cell
        if stacked_north:
            strips = shapely.box(114.80, -1.80 + cuts[:-1], 114.80 + 40 * cell, -1.80 + cuts[1:])
        else:
            strips = shapely.box(114.80 + cuts[:-1], -1.80, 114.80 + cuts[1:], -1.80 + 40 * cell)
        grid = PolygonGrid(strips, cell_deg=cell)
        x0, y0, x1, y1 = shapely.total_bounds(strips)
        lon, lat = rng.uniform(x0, x1, 40_000), rng.uniform(y0, y1, 40_000)
        inside = shapely.contains_xy(strips[:, None], lon[None, :], lat[None, :])  # strip x point
        alone = inside.sum(axis=0) == 1
        assert alone.mean() > 0.99
        idx, overlap = grid.locate(lon, lat, order_key=np.arange(len(strips)))
        np.testing.assert_array_equal(idx[alone], inside.argmax(axis=0)[alone])
        assert not overlap[alone].any()


def test_desa_without_a_jenis_or_a_known_kecamatan_are_answered_with_none(bundled_layers: Layers) -> None:
    """A desa layer may come without the desa/kelurahan kind, and a desa may name a kecamatan the kecamatan layer
    lacks: the answer says None for each, on both paths, and still names the desa."""
    desa = bundled_layers.desa
    attrs = {k: v for k, v in desa.attrs.items() if k != "jenis"}
    attrs["kecamatan_kode"] = np.where(desa.name == "Buntok Kota", "62.04.99", attrs["kecamatan_kode"])
    # And the first desa moved to another kecamatan than its neighbour in the table: its own is answered.
    attrs["kecamatan_kode"][0] = next(k for k in bundled_layers.kecamatan.code if k != attrs["kecamatan_kode"][1])
    loc = Locator.from_layers(dataclasses.replace(bundled_layers, desa=dataclasses.replace(desa, attrs=attrs)))
    one = loc.locate(lon=BUNTOK[0], lat=BUNTOK[1])
    many = loc.locate_many(lon=np.array([BUNTOK[0]]), lat=np.array([BUNTOK[1]])).record(0)
    assert one["desa"]["name"] == many["desa"]["name"] == "Buntok Kota"
    assert one["desa"]["jenis"] is None and many["desa"]["jenis"] is None
    assert one["kecamatan"] is None and many["kecamatan"] is None
    first = shapely.point_on_surface(desa.geometry[0])
    batch = loc.locate_many(lon=np.array([first.x]), lat=np.array([first.y]))
    assert batch.kecamatan_code[0] == attrs["kecamatan_kode"][0] != desa.attrs["kecamatan_kode"][0]
    assert loc.locate(lon=first.x, lat=first.y)["kecamatan"]["code"] == attrs["kecamatan_kode"][0]
