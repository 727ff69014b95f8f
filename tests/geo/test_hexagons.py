"""H3 cells, per-cell aggregation, persistence runs and Getis-Ord Gi* hotspots."""

from __future__ import annotations

import json
import os

import h3
import numpy as np
import pandas as pd
import pytest

from geo.clusters import getis_ord
from geo.crs import to_utm, to_wgs84
from geo.firms import read_detections
from geo.hexagons import (
    aggregate_cells,
    cell_of,
    cell_parents,
    cells_around,
    cells_from_lonlat,
    cells_from_lonlat_h3,
    cells_from_str,
    cells_geojson,
    cells_to_str,
    disk_cells,
    merge_aggregates,
    neighbour_pairs,
    persistence,
    start_cells,
)
from tests.geo.test_firms import FIX
from tests.waiting import WaitTimeout, wait_until


@pytest.mark.parametrize("res", [5, 6, 7, 8, 9])
def test_cells_match_h3_reference(res: int) -> None:
    rng = np.random.default_rng(res)
    lon = rng.uniform(114.5, 115.5, 500)
    lat = rng.uniform(-2.7, -1.2, 500)
    cells = cells_from_lonlat(lon=lon, lat=lat, res=res)
    assert cells.dtype == np.uint64
    ref = [h3.latlng_to_cell(y, x, res) for x, y in zip(lon, lat, strict=True)]
    assert cells_to_str(cells).tolist() == ref
    assert (cells_from_lonlat_h3(lon=lon, lat=lat, res=res) == cells).all()
    assert (cells_from_str(ref) == cells).all()


def test_parents_by_bits_match_h3_cell_to_parent() -> None:
    rng = np.random.default_rng(2024)
    # Kalimantan plus points all over the globe (every base cell family, pentagons' neighbourhoods included).
    lon = np.r_[rng.uniform(110.0, 117.0, 3000), rng.uniform(-180.0, 180.0, 3000)]
    lat = np.r_[rng.uniform(-4.0, 1.0, 3000), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 3000)))]
    fine = cells_from_lonlat(lon=lon, lat=lat, res=9)
    for res in range(0, 10):
        ref = [h3.cell_to_parent(h3.int_to_str(int(c)), res) for c in fine]
        assert cells_to_str(cell_parents(fine, res=res)).tolist() == ref
    # H3 is not strictly nested: some points' res-5 cell is not their res-9 cell's parent.
    direct5 = cells_from_lonlat(lon=lon, lat=lat, res=5)
    assert 0 < (cell_parents(fine, res=5) != direct5).sum() < 0.2 * len(fine)
    with pytest.raises(ValueError, match="coarser"):
        cell_parents(direct5, res=7)


def test_aggregation_by_sort_matches_groupby_and_categorical_ranks() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    lon, lat = rng.uniform(114.5, 115.5, n), rng.uniform(-2.7, -1.2, n)
    frp = rng.gamma(1.5, 4.0, n)
    frp[::97] = np.nan
    conf = pd.Series(pd.Categorical(rng.choice(["low", "nominal", "high"], n),
                                    categories=["low", "nominal", "high"], ordered=True))
    when = pd.DatetimeIndex(pd.Timestamp("2023-09-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 9e5, n), unit="s"))
    when = when.where(rng.random(n) > 0.05)  # some NaT
    cells = cells_from_lonlat(lon=lon, lat=lat, res=6)
    agg = aggregate_cells(cells=cells, frp=frp, confidence=conf, acq_time_utc=when)
    # The reader's categorical confidence and plain text give the same ranks.
    as_text = aggregate_cells(cells=cells, frp=frp, confidence=conf.astype(object).to_numpy(), acq_time_utc=when)
    pd.testing.assert_frame_equal(agg, as_text)
    ref = pd.DataFrame({"cell": cells, "frp": np.nan_to_num(frp), "t": when}).groupby("cell").agg(
        count=("frp", "size"), frp_sum=("frp", "sum"), first_seen=("t", "min"), last_seen=("t", "max"))
    got = agg.set_index("cell")
    assert (got.index.to_numpy() == ref.index.to_numpy()).all()
    assert (got["count"].to_numpy() == ref["count"].to_numpy()).all()
    np.testing.assert_allclose(got["frp_sum"].to_numpy(), ref["frp_sum"].to_numpy(), rtol=1e-12)
    pd.testing.assert_series_equal(got["first_seen"], ref["first_seen"], check_freq=False)
    pd.testing.assert_series_equal(got["last_seen"], ref["last_seen"], check_freq=False)
    codes = pd.DataFrame({"cell": cells, "r": conf.cat.codes + 1}).groupby("cell")["r"].max()
    assert (got["max_confidence_rank"].to_numpy() == codes.to_numpy()).all()


def test_split_and_background_cells_equal_one_thread_and_h3() -> None:
    from geo import hexagons

    rng = np.random.default_rng(31)
    n = 3 * hexagons._SPLIT_MIN_POINTS + 1
    lon = np.r_[rng.uniform(110.0, 117.0, n // 2), rng.uniform(-180.0, 180.0, n - n // 2)]
    lat = np.r_[rng.uniform(-4.0, 1.0, n // 2), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n - n // 2)))]
    sample = rng.choice(n, 400, replace=False)
    for res in (5, 7, 9):
        split = cells_from_lonlat(lon=lon, lat=lat, res=res)
        assert (split == hexagons._rs_cells(lat, lon, res)).all()
        assert cells_to_str(split[sample]).tolist() == [h3.latlng_to_cell(lat[i], lon[i], res) for i in sample]
    job = start_cells(lon=lon, lat=lat, resolutions=(9, 5, 7, 5))
    got = job.result()
    assert list(got) == [9, 5, 7]
    for res, cells in got.items():
        assert cells.dtype == np.uint64 and (cells == cells_from_lonlat(lon=lon, lat=lat, res=res)).all()
    small = start_cells(lon=lon[:10], lat=lat[:10], resolutions=(8,)).result()[8]
    assert (small == cells_from_lonlat(lon=lon[:10], lat=lat[:10], res=8)).all()
    none = start_cells(lon=np.empty(0), lat=np.empty(0), resolutions=(7,)).result()[7]
    assert none.dtype == np.uint64 and len(none) == 0
    start_cells(lon=lon, lat=lat, resolutions=(6,)).cancel()  # dropping a job is harmless
    with pytest.raises(ValueError, match="5..9"):
        start_cells(lon=lon, lat=lat, resolutions=(7, 10))
    with pytest.raises(ValueError, match="same shape"):
        start_cells(lon=lon, lat=lat[:-1], resolutions=(7,))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_split_cells_work_in_a_forked_child() -> None:
    # The parent's H3 threads do not exist in a fork: the child must start its own, not wait forever.
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(110.0, 117.0, 30_000), rng.uniform(-4.0, 1.0, 30_000)
    parent = cells_from_lonlat(lon=lon, lat=lat, res=7)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        ok = (cells_from_lonlat(lon=lon, lat=lat, res=7) == parent).all()
        os._exit(0 if ok else 3)
    try:
        done = wait_until(lambda: (w := os.waitpid(pid, os.WNOHANG))[0] != 0 and w, timeout=30, interval=0.02)
    except WaitTimeout:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("H3 cells hung in a forked child")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_aggregation_of_sorted_and_unsorted_cells_agree() -> None:
    rng = np.random.default_rng(8)
    n = 4000
    cells = cells_from_lonlat(lon=rng.normal(114.85, 0.05, n), lat=rng.normal(-1.73, 0.05, n), res=7)
    frp = rng.gamma(1.5, 4.0, n)
    conf = rng.choice(np.array(["low", "nominal", "high", None], dtype=object), n)
    when = pd.DatetimeIndex(pd.Timestamp("2023-09-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 9e5, n), unit="s"))
    # One cell seen only at unknown times keeps NaT for first and last seen.
    cells[:3] = np.uint64(0x872830828FFFFFF)
    when = when.where(np.arange(n) >= 3)
    unsorted = aggregate_cells(cells=cells, frp=frp, confidence=conf, acq_time_utc=when)
    order = np.argsort(cells, kind="stable")
    by_run = aggregate_cells(cells=cells[order], frp=frp[order], confidence=conf[order], acq_time_utc=when[order])
    pd.testing.assert_frame_equal(unsorted, by_run, check_exact=False, rtol=1e-12)
    lonely = unsorted.set_index("cell").loc[np.uint64(0x872830828FFFFFF)]
    assert lonely["count"] == 3 and pd.isna(lonely["first_seen"]) and pd.isna(lonely["last_seen"])
    assert unsorted["cell"].is_monotonic_increasing and unsorted["count"].sum() == n


def test_resolution_outside_5_9_refused() -> None:
    with pytest.raises(ValueError, match="5..9"):
        cells_from_lonlat(lon=np.array([114.8]), lat=np.array([-1.7]), res=10)


def test_aggregation_counts_frp_and_max_confidence() -> None:
    frame = pd.concat([c.frame for c in read_detections(FIX / "viirs_snpp_nrt.csv")], ignore_index=True)
    cells = cells_from_lonlat(lon=frame["lon"].to_numpy(), lat=frame["lat"].to_numpy(), res=7)
    agg = aggregate_cells(cells=cells, frp=frame["frp"].to_numpy(), confidence=frame["confidence"].to_numpy(),
                          acq_time_utc=frame["acq_time_utc"])
    # Rows 1-2 are 500 m apart near Buntok (one res-7 cell), rows 3 and 4 are far from them and each other.
    assert cells[0] == cells[1] and len(set(cells.tolist())) == 3
    by_cell = agg.set_index("cell")
    first = by_cell.loc[cells[0]]
    assert first["count"] == 2
    assert first["frp_sum"] == pytest.approx(4.21 + 11.87)
    assert first["max_confidence"] == "high"
    assert by_cell.loc[cells[2], "max_confidence"] == "low"
    assert agg["count"].sum() == 4
    assert first["first_seen"] == pd.Timestamp("2023-09-14 05:42", tz="UTC")
    # Aggregating two halves and merging equals aggregating the whole.
    frp, conf, when = frame["frp"].to_numpy(), frame["confidence"].to_numpy(), frame["acq_time_utc"]
    halves = [aggregate_cells(cells=cells[s], frp=frp[s], confidence=conf[s], acq_time_utc=when[s])
              for s in (slice(0, 1), slice(1, 4))]
    merged = merge_aggregates(halves)
    pd.testing.assert_frame_equal(merged[agg.columns], agg)


def test_geojson_polygons_contain_their_points() -> None:
    lon, lat = np.array([114.855, 115.21]), np.array([-1.732, -1.52])
    cells = cells_from_lonlat(lon=lon, lat=lat, res=8)
    agg = aggregate_cells(cells=cells, frp=np.array([1.0, 2.0]))
    fc = json.loads(json.dumps(cells_geojson(agg)))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2
    import shapely

    for feat in fc["features"]:
        poly = shapely.geometry.shape(feat["geometry"])
        assert feat["properties"]["h3"] == feat["id"]
        inside = [poly.contains(shapely.Point(x, y)) for x, y in zip(lon, lat, strict=True)]
        assert sum(inside) == 1  # [lon, lat] order: swapped coordinates would contain neither point
        assert 0.5 < shapely.area(poly) / (0.007 ** 2) < 2.5  # a res-8 cell is ~0.7 km^2


def test_neighbour_pairs_are_grid_neighbours() -> None:
    centre = h3.str_to_int(h3.latlng_to_cell(-1.73, 114.85, 8))
    disk = disk_cells(np.array([centre], dtype=np.uint64), k=2)
    assert len(disk) == 19
    i, j = neighbour_pairs(disk, k=1)
    assert len(i) == 2 * 42  # 19-cell hexagon patch has 42 internal edges, each counted both ways
    assert all(h3.grid_distance(h3.int_to_str(int(disk[a])), h3.int_to_str(int(disk[b]))) == 1
               for a, b in zip(i, j, strict=True))


def test_persistence_runs() -> None:
    days = np.array(["2023-09-01", "2023-09-02", "2023-09-03", "2023-09-05", "2023-09-06", "2023-09-06",
                     "2023-09-02", "2023-09-06", "2023-09-03", "2023-09-04"], dtype="datetime64[D]")
    cells = np.array(["a", "a", "a", "a", "a", "a", "b", "b", "c", "c"], dtype=object)
    out = persistence(cells, days).set_index("cell")
    assert out.loc["a", "days_burned"] == 5          # the duplicate 09-06 counts once
    assert out.loc["a", "longest_run"] == 3          # 01-03
    assert out.loc["a", "current_run"] == 2          # 05-06, ending on the latest day
    assert out.loc["b", "longest_run"] == 1 and out.loc["b", "current_run"] == 1
    assert out.loc["c", "longest_run"] == 2 and out.loc["c", "current_run"] == 0
    assert out.loc["c", "last_day"] == np.datetime64("2023-09-04")
    later = persistence(cells, days, as_of=np.datetime64("2023-09-07")).set_index("cell")
    assert (later["current_run"] == 0).all()


def test_getis_ord_flags_planted_cluster_as_hot() -> None:
    rng = np.random.default_rng(7)
    background_lon = rng.uniform(114.5, 115.5, 300)
    background_lat = rng.uniform(-2.7, -1.2, 300)
    cluster_lon = rng.normal(114.85, 0.015, 600)
    cluster_lat = rng.normal(-1.73, 0.015, 600)
    lon, lat = np.r_[background_lon, cluster_lon], np.r_[background_lat, cluster_lat]
    cells = cells_from_lonlat(lon=lon, lat=lat, res=7)
    agg = aggregate_cells(cells=cells)
    g = getis_ord(cells=agg["cell"].to_numpy(), values=agg["count"].to_numpy().astype(float))
    centre = h3.str_to_int(h3.latlng_to_cell(-1.73, 114.85, 7))
    row = g.set_index("cell").loc[np.uint64(centre)]
    assert row["cls"] == "hot99" and row["z"] > 2.576 and row["p"] < 0.01
    hot = g[g["cls"].isin(["hot95", "hot99"])]
    # Every significant hot cell lies within a few cells of the planted cluster; the background is not hot.
    dist = [h3.grid_distance(h3.int_to_str(int(c)), h3.int_to_str(centre)) for c in hot["cell"]]
    assert len(hot) >= 5 and max(dist) <= 4
    lonely = agg["cell"].to_numpy()[agg["count"].to_numpy() == 1]
    far = [c for c in lonely if h3.grid_distance(h3.int_to_str(int(c)), h3.int_to_str(centre)) > 10]
    assert (g.set_index("cell").loc[far, "cls"] == "ns").all()


def test_getis_ord_permutation_agrees_on_the_cluster() -> None:
    rng = np.random.default_rng(3)
    lon = np.r_[rng.uniform(114.5, 115.5, 200), rng.normal(115.2, 0.01, 300)]
    lat = np.r_[rng.uniform(-2.7, -1.2, 200), rng.normal(-1.52, 0.01, 300)]
    agg = aggregate_cells(cells=cells_from_lonlat(lon=lon, lat=lat, res=7))
    g = getis_ord(cells=agg["cell"].to_numpy(), values=agg["count"].to_numpy(), method="permutation",
                  permutations=199, seed=1)
    centre = np.uint64(h3.str_to_int(h3.latlng_to_cell(-1.52, 115.2, 7)))
    assert g.set_index("cell").loc[centre, "cls"] in ("hot95", "hot99")


def test_getis_ord_tiny_and_flat_inputs_are_not_significant() -> None:
    one = cells_from_lonlat(lon=np.array([114.85]), lat=np.array([-1.73]), res=7)
    g = getis_ord(cells=one, values=np.array([5.0]), pad_ring=0)
    assert g["cls"].tolist() == ["ns"] and g["z"].isna().all()
    two = cells_from_lonlat(lon=np.array([114.85, 115.2]), lat=np.array([-1.73, -1.52]), res=7)
    assert getis_ord(cells=two, values=np.array([1.0, 9.0]), pad_ring=0)["cls"].tolist() == ["ns", "ns"]
    empty = getis_ord(cells=np.empty(0, dtype=np.uint64), values=np.empty(0))
    assert len(empty) == 0
    flat = disk_cells(one, k=2)
    assert (getis_ord(cells=flat, values=np.ones(len(flat)), pad_ring=0)["cls"] == "ns").all()
    with pytest.raises(ValueError, match="unique"):
        getis_ord(cells=np.r_[one, one], values=np.array([1.0, 2.0]))


@pytest.mark.parametrize("res", [7, 8, 9])
def test_cells_around_hold_every_point_within_the_radius(res: int) -> None:
    rng = np.random.default_rng(res)
    # Points over Barito Selatan; partners at up to 500 m in every direction, many right at the edge.
    lon = rng.uniform(114.4, 115.3, 400)
    lat = rng.uniform(-2.4, -1.2, 400)
    x, y = to_utm(lon, lat)
    bearing = rng.uniform(0, 2 * np.pi, 400)
    reach = np.where(rng.random(400) < 0.5, 500.0, rng.uniform(0, 500, 400)) * 0.999
    plon, plat = to_wgs84(x + reach * np.sin(bearing), y + reach * np.cos(bearing))
    for i in range(400):
        near = cells_around(lon=float(lon[i]), lat=float(lat[i]), radius_m=500, res=res)
        assert cell_of(lon=float(plon[i]), lat=float(plat[i]), res=res) in near
    assert len(cells_around(lon=114.85, lat=-1.71, radius_m=0, res=res)) == 1


def test_cells_around_leave_out_the_cells_out_of_reach() -> None:
    rng = np.random.default_rng(8)
    for lon, lat in zip(rng.uniform(114.4, 115.3, 50), rng.uniform(-2.4, -1.2, 50), strict=True):
        near = cells_around(lon=float(lon), lat=float(lat), radius_m=500, res=8)
        disk = h3.grid_disk(cell_of(lon=float(lon), lat=float(lat), res=8), 2)
        # The 2-ring is what 500 m needs at res 8 (edges about 460 m); the far side of it is out of reach.
        assert set(near) < set(disk)
        assert len(near) <= 8
