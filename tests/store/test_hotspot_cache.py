"""The planner's hotspot views from the per-process cache, on both backends: never stale, same answers."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import func, select, text

from geo.times import utcnow
from store.hotspot_stats import HotspotCache, HotspotFilter, hexagons, load_frame
from store.hotspots import Hotspot, ingest_detections
from tests.conftest import bearer
from tests.waiting import wait_until

HEADER = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
          "bright_ti5,frp,daynight\n")
BUNTOK = (114.8450, -1.7150)
PAGE = {"window": "30d", "limit": 50000,
        "properties": "acq_time,acq_time_wib,confidence,satellite,desa_name,date_only,static_source_id"}


def _recent(rows: list[tuple[float, float, str]], *, hours_ago: int = 2) -> io.StringIO:
    at = utcnow() - timedelta(hours=hours_ago)
    return io.StringIO(HEADER + "".join(f"{y},{x},330,0.4,0.4,{at:%Y-%m-%d},{at:%H%M},N20,VIIRS,{c},2.0NRT,297,4.2,D\n"
                                        for x, y, c in rows))


def test_cached_views_follow_every_write(client, tokens, db, locator) -> None:
    """Ingest, a static source drawn, a hand-made SQL fix: each shows at once, though the window was cached."""
    cache = client.app.state.ctx.hotspot_cache
    x, y = BUNTOK
    ingest_detections(db.sessions, _recent([(x, y, "h"), (x + 0.02, y, "n")]), locator=locator)
    first = client.get("/api/hotspots", params=PAGE).json()
    assert first["count"] == 2
    hits = cache.hits
    again = client.get("/api/hotspots", params=PAGE).json()
    assert cache.hits == hits + 1 and again["features"] == first["features"]  # served from the cache
    assert client.get("/api/hotspots/by-kecamatan", params={"window": "30d"}).json()["total"] == 2

    ingest_detections(db.sessions, _recent([(x + 0.04, y, "l")], hours_ago=1), locator=locator)
    assert client.get("/api/hotspots", params=PAGE).json()["count"] == 3
    assert client.get("/api/hotspots/by-kecamatan", params={"window": "30d"}).json()["total"] == 3
    assert sum(f["properties"]["count"] for f in
               client.get("/api/hotspots/h3", params={"window": "30d", "res": 8}).json()["features"]) == 3

    roof = {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(x - 0.002, y - 0.002, x + 0.002,
                                                                                y + 0.002)),
            "properties": {"name": "Atap seng", "kind": "atap_seng"}}
    assert client.post("/api/heat-sources", json=roof, headers=bearer(tokens["planner"])).status_code == 201
    marked = [f for f in client.get("/api/hotspots", params=PAGE).json()["features"]
              if f["properties"]["static_source_id"] is not None]
    assert len(marked) == 1

    with db.engine.begin() as conn:  # someone corrects a row by hand
        conn.execute(text("UPDATE hotspot SET confidence = 'low' WHERE confidence = 'high'"))
    shown = client.get("/api/hotspots", params=PAGE).json()["features"]
    assert sorted(f["properties"]["confidence"] for f in shown) == ["low", "low", "nominal"]
    assert client.get("/api/hotspots", params={**PAGE, "confidence": "high"}).json()["count"] == 0
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot"))
    assert client.get("/api/hotspots", params=PAGE).json()["count"] == 0


def test_frame_cells_are_the_stored_cells(db, locator) -> None:
    """The hexagons come from cells computed from the stored points: the same as the stored h3_<res> columns."""
    x, y = BUNTOK
    rows = [(x + 0.013 * i, y - 0.011 * (i % 5), "n") for i in range(40)]
    ingest_detections(db.sessions, _recent(rows), locator=locator)
    flt = HotspotFilter.for_window("7d", since=None, until=None, now=utcnow())
    with db.sessions() as s:
        for res in (5, 6, 7, 8, 9):
            agg, n = hexagons(s, flt, res=res)
            col = getattr(Hotspot, f"h3_{res}")
            stored = dict(s.execute(select(col, func.count()).group_by(col)).all())
            assert n == sum(stored.values()) > 30
            assert {format(int(c), "x"): int(k) for c, k in zip(agg["cell"], agg["count"], strict=True)} == stored
        frame = load_frame(s, flt, limit=10)
        assert len(frame) == 10 and frame.truncated


@pytest.mark.parametrize("value", ["frp,secret", "geom", "id,acq_time;DROP", "x" * 300])
def test_unknown_point_properties_are_422_naming_the_field(client, value) -> None:
    r = client.get("/api/hotspots", params={"window": "24h", "properties": value})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "properties"


@pytest.mark.parametrize("window", ["30d", "all"])
def test_limit_counts_points_inside_the_bbox(client, db, locator, window) -> None:
    """The newest `limit` points inside the bbox, cached window or not: a newer one outside does not crowd it out."""
    x, y = BUNTOK
    ingest_detections(db.sessions, _recent([(x, y, "h")], hours_ago=5), locator=locator)
    ingest_detections(db.sessions, _recent([(x + 0.2, y, "n"), (x + 0.21, y, "n")], hours_ago=1), locator=locator)
    box = f"{x - 0.01},{y - 0.01},{x + 0.01},{y + 0.01}"
    r = client.get("/api/hotspots", params={"window": window, "bbox": box, "limit": 1}).json()
    assert r["count"] == 1 and r["features"][0]["properties"]["confidence"] == "high" and not r["truncated"]
    r = client.get("/api/hotspots", params={"window": window, "limit": 2}).json()
    assert r["count"] == 2 and r["truncated"]
    assert {f["properties"]["confidence"] for f in r["features"]} == {"nominal"}


def test_a_change_is_read_ahead_for_the_windows_planners_asked_for(db, locator) -> None:
    """After an ingest the refresh reads the recently asked windows anew: the next page finds them ready."""
    x, y = BUNTOK
    cache = HotspotCache()
    ingest_detections(db.sessions, _recent([(x, y, "h")]), locator=locator)
    with db.sessions() as s:
        assert len(cache.frame(s, HotspotFilter.for_window("30d", since=None, until=None, now=utcnow()))) == 1
        assert cache.refresh(s, now=utcnow()) == 1  # the first refresh reads what it has not seen
        assert cache.refresh(s, now=utcnow()) == 0  # nothing changed since: nothing read
    ingest_detections(db.sessions, _recent([(x + 0.02, y, "n"), (x + 0.04, y, "l")]), locator=locator)
    with db.sessions() as s:
        assert cache.refresh(s, now=utcnow()) == 1
        misses, hits = cache.misses, cache.hits
        frame = cache.frame(s, HotspotFilter.for_window("30d", since=None, until=None, now=utcnow()))
        assert (cache.misses, cache.hits) == (misses, hits + 1)  # read ahead: no read of its own
        assert len(frame) == 3  # and not stale
        # A window nobody asked for is not read ahead.
        cache.frame(s, HotspotFilter.for_window("7d", since=None, until=None, now=utcnow(), confidence=("high",)))
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot WHERE confidence = 'low'"))
    with db.sessions() as s:
        assert cache.refresh(s, now=utcnow()) == 2  # both windows asked for lately
        misses = cache.misses
        assert len(cache.frame(s, HotspotFilter.for_window("30d", since=None, until=None, now=utcnow()))) == 2
        assert cache.misses == misses


def test_a_window_being_read_is_read_once(db) -> None:
    """Requests for a window another request is reading wait for that read instead of reading it again."""
    cache = HotspotCache()
    started, go = threading.Event(), threading.Event()
    flt = HotspotFilter.for_window("30d", since=None, until=None, now=utcnow())
    with db.sessions() as s:
        frame = load_frame(s, flt)
    second_reads: list[int] = []
    got: dict[str, object] = {}

    def slow_read() -> object:
        started.set()
        assert go.wait(30)
        return frame

    def first() -> None:
        got["first"] = cache._get(("window",), slow_read, counted=True)

    def second() -> None:
        got["second"] = cache._get(("window",), lambda: second_reads.append(1) or frame, counted=True)

    a = threading.Thread(target=first)
    a.start()
    assert started.wait(30)
    b = threading.Thread(target=second)
    b.start()
    assert wait_until(lambda: cache.shared == 1, timeout=30)  # the second request waits for the first read
    go.set()
    a.join(30)
    b.join(30)
    assert got == {"first": frame, "second": frame} and second_reads == []
    assert (cache.misses, cache.hits, cache.shared) == (1, 0, 1)
