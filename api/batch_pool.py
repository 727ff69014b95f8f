"""Heavy locate batches (and flood polygon repairs) in small pools of lower-priority processes, so their CPU
never starves call intake.

Four 100,000-point batches on two cores took the CPU from the workers' event loops: call creation p95 went
from ~15 ms to 636 ms (issue 14). A batch now runs in a child process of the worker that got it, started at
nice +10 (the kernel gives the workers' own threads ~10x its share of a busy core) and with its own GIL. The
child does all of a batch's CPU work: it parses and checks the raw body (its errors come back as the same 4xx),
locates, encodes and, for a client that accepts it, gzips the answer. The worker only moves bytes: parsing
100,000 points and compressing their answer in the worker took that CPU at the workers' own priority.

The child needs the locator: it is pickled to a child the first time that child sees it (and again whenever
the spatial snapshot is replaced, e.g. an imported road network), never kept pickled in the worker.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import pickle
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import anyio
import numpy as np
import orjson
import shapely

from api.compression import gzip_bytes
from api.params import parse_point_batch
from geo.floods import FloodGeometryError, repair_polygon
from geo.locate import Locator

log = logging.getLogger("sigap.batches")

COLUMNS = (
    "lon",
    "lat",
    "inside_regency",
    "match",
    "desa_code",
    "desa_name",
    "kecamatan_code",
    "kecamatan_name",
    "kabupaten_code",
    "kabupaten_name",
    "boundary_disagreement",
    "nearest_desa_code",
    "nearest_desa_name",
    "nearest_desa_m",
    "river_m",
    "road_m",
    "h3",
    "utm_x",
    "utm_y",
)


def locate_encoded(locator: Locator, lon: np.ndarray, lat: np.ndarray) -> bytes:
    """Locate a batch and encode the columnar answer (one list per field) as JSON bytes."""
    batch = locator.locate_many(lon=lon, lat=lat)
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        values = getattr(batch, name)
        if values.dtype.kind == "f":
            # orjson writes numpy floats natively, NaN as null.
            columns[name] = np.round(values, 1 if name.endswith("_m") or name.startswith("utm") else 7)
        elif values.dtype.kind == "b":
            columns[name] = values
        else:
            columns[name] = values.tolist()
    doc = {"count": len(batch), "crs": "EPSG:4326", "h3_resolution": 9, "columns": columns}
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


# A polygon this small is repaired where it arrives: milliseconds even when it crosses itself everywhere.
IN_PROCESS_REPAIR_VERTICES = 2_000
# How long a repair child may take to start (imports) before the repair is given up as unavailable.
CHILD_START_S = 120.0

# -- the child process -------------------------------------------------------------------------------------
_child_locator: tuple[int, Locator] | None = None


class NeedLocator(Exception):
    """The child has not got this snapshot's locator yet (the worker sends it and asks again)."""


def child_process_init(nice: int) -> None:
    """The start of a helper process of a worker (batches, repairs, reports): lower priority, and gone with
    its parent."""
    os.nice(nice)
    # A worker killed outright (SIGKILL, OOM) never shuts its pool down: the child leaves when its parent is gone.
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(2.0)
        os._exit(0)

    threading.Thread(target=watch, name="sigap-batch-parent-watch", daemon=True).start()


def locate_body(locator: Locator, raw: bytes, *, limit: int, gzip_level: int | None) -> bytes:
    """A raw batch body checked, located and encoded (gzipped at `gzip_level` unless None)."""
    lon, lat = parse_point_batch(raw, limit=limit)
    encoded = locate_encoded(locator, lon, lat)
    return encoded if gzip_level is None else gzip_bytes(encoded, gzip_level)


def _child_locate(key: int, blob: bytes | None, raw: bytes, limit: int, gzip_level: int | None) -> bytes:
    global _child_locator
    if blob is not None:
        _child_locator = (key, pickle.loads(blob))
    if _child_locator is None or _child_locator[0] != key:
        raise NeedLocator(key)
    return locate_body(_child_locator[1], raw, limit=limit, gzip_level=gzip_level)


def _child_repair(wkb: bytes) -> bytes:
    return shapely.to_wkb(repair_polygon(shapely.from_wkb(wkb)))


def child_niceness() -> int:
    """The niceness of a pool process (for tests)."""
    return os.nice(0)


# -- the worker side ---------------------------------------------------------------------------------------
class BatchPool:
    """Runs locate batches in `processes` child processes at `nice`; 0 processes: in a thread of this process."""

    def __init__(self, *, processes: int, nice: int) -> None:
        self.processes = processes
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._keys: weakref.WeakKeyDictionary[Locator, int] = weakref.WeakKeyDictionary()
        self._counter = itertools.count(1)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the worker has threads (listener, writers, anyio) whose locks fork would copy.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=child_process_init,
                    initargs=(self.nice,),
                )
            return self._pool

    def _key(self, locator: Locator) -> int:
        with self._lock:
            key = self._keys.get(locator)
            if key is None:
                key = self._keys[locator] = next(self._counter)
            return key

    async def run(self, locator: Locator, raw: bytes, *, limit: int, gzip_level: int | None) -> bytes:
        """The encoded answer for a raw batch body (gzipped at `gzip_level` unless None), computed at lower
        priority; a bad body raises its InvalidInput or PayloadTooLarge here."""
        if self.processes <= 0:
            return await anyio.to_thread.run_sync(
                lambda: locate_body(locator, raw, limit=limit, gzip_level=gzip_level))
        key = self._key(locator)
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            pool = self._executor()
            try:
                try:
                    return await asyncio.wrap_future(
                        pool.submit(_child_locate, key, None, raw, limit, gzip_level), loop=loop)
                except NeedLocator:
                    blob = await anyio.to_thread.run_sync(pickle.dumps, locator, pickle.HIGHEST_PROTOCOL)
                    return await asyncio.wrap_future(
                        pool.submit(_child_locate, key, blob, raw, limit, gzip_level), loop=loop)
            except BrokenProcessPool:
                # A child died (killed, out of memory): a new pool, and the batch once more.
                log.warning("locate batch pool broke; starting a new one")
                self._discard(pool)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def repair(self, geom: shapely.Geometry, *, timeout_s: float) -> shapely.Geometry:
        """`geom` repaired in a child (blocking: call from a worker thread); a repair that takes longer than
        `timeout_s` is stopped (its child killed) and the polygon refused as too complex (422, `geometry`)."""
        if self.processes <= 0 or shapely.get_num_coordinates(geom) <= IN_PROCESS_REPAIR_VERTICES:
            return repair_polygon(geom)
        pool = self._executor()
        # The deadline is the repair's, not the child's start-up (a spawned child imports for seconds on a busy
        # machine): the child is up before the clock starts.
        pool.submit(child_niceness).result(timeout=CHILD_START_S)
        future = pool.submit(_child_repair, shapely.to_wkb(geom))
        try:
            return shapely.from_wkb(future.result(timeout=timeout_s))
        except (FutureTimeout, BrokenProcessPool) as exc:
            # A process pool cannot cancel a running task: the child is killed, the next repair gets a new one.
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            self._discard(pool)
            raise FloodGeometryError(
                f"Poligon tidak valid dan terlalu rumit untuk diperbaiki dalam {timeout_s:g} detik; perbaiki "
                "garis yang saling memotong lalu kirim lagi",
                f"The polygon is invalid and too complex to repair within {timeout_s:g} s; fix the crossing lines "
                "and send it again",
            ) from exc

    async def niceness(self) -> int:
        """The niceness of a pool process (starts one if none runs)."""
        return await asyncio.wrap_future(self._executor().submit(child_niceness))

    def close(self) -> None:
        """Stop the child processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
