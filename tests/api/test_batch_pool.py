"""Locate batches in lower-priority child processes: the same answers as in the worker, at lower priority."""

from __future__ import annotations

import asyncio
import gzip
import os

import numpy as np
import orjson
import pytest

from api.batch_pool import BatchPool, locate_encoded
from geo.errors import InvalidInput, PayloadTooLarge
from geo.locate import Locator


def test_a_batch_in_the_pool_answers_as_the_worker_would_at_lower_priority(locator: Locator, bundled_layers) -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(114.6, 115.45, 5_000), rng.uniform(-2.6, -1.26, 5_000)
    pool = BatchPool(processes=1, nice=7)

    raw = orjson.dumps({"lon": lon.tolist(), "lat": lat.tolist()})

    async def run() -> tuple[bytes, bytes, bytes, int]:
        first = await pool.run(locator, raw, limit=100_000, gzip_level=None)
        zipped = await pool.run(locator, raw, limit=100_000, gzip_level=1)
        # A replaced snapshot (an imported road network builds a new locator) is sent to the child again.
        other = Locator(bundled_layers)
        second = await pool.run(other, orjson.dumps({"points": [[114.845, -1.71]] * 10}), limit=100_000,
                                gzip_level=None)
        return first, zipped, second, await pool.niceness()

    try:
        first, zipped, second, nice = asyncio.run(run())
    finally:
        pool.close()
    assert first == locate_encoded(locator, lon, lat)
    assert gzip.decompress(zipped) == first
    assert orjson.loads(second)["count"] == 10
    assert nice == os.nice(0) + 7


@pytest.mark.parametrize(
    ("body", "error", "field", "extra"),
    [
        (b"{not json", InvalidInput, "body", {}),
        (b'{"points": [[114.8, -1.7], [200, 0]]}', InvalidInput, "points[1]", {"bad_count": 1}),
        (orjson.dumps({"points": [[114.8, -1.7]] * 11}), PayloadTooLarge, "points", {"limit": 10}),
    ],
    ids=["not JSON", "longitude out of range", "over the limit"],
)
def test_a_bad_body_checked_in_the_child_raises_the_workers_own_error(
        locator: Locator, body: bytes, error: type, field: str, extra: dict) -> None:
    """The child parses the body: its refusal arrives in the worker as the same error, field and details."""
    pool = BatchPool(processes=1, nice=0)
    try:
        with pytest.raises(error) as caught:
            asyncio.run(pool.run(locator, body, limit=10, gzip_level=None))
    finally:
        pool.close()
    assert caught.value.field == field
    assert caught.value.extra == extra
    assert caught.value.message_id and caught.value.message_en
