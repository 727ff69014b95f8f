"""Locate batches in lower-priority child processes: the same answers as in the worker, at lower priority."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import orjson

from api.batch_pool import BatchPool, locate_encoded
from geo.locate import Locator


def test_a_batch_in_the_pool_answers_as_the_worker_would_at_lower_priority(locator: Locator, bundled_layers) -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(114.6, 115.45, 5_000), rng.uniform(-2.6, -1.26, 5_000)
    pool = BatchPool(processes=1, nice=7)

    async def run() -> tuple[bytes, bytes, int]:
        first = await pool.run(locator, lon, lat)
        # A replaced snapshot (an imported road network builds a new locator) is sent to the child again.
        other = Locator(bundled_layers)
        second = await pool.run(other, lon[:10], lat[:10])
        return first, second, await pool.niceness()

    try:
        first, second, nice = asyncio.run(run())
    finally:
        pool.close()
    assert first == locate_encoded(locator, lon, lat)
    assert orjson.loads(second)["count"] == 10
    assert nice == os.nice(0) + 7
