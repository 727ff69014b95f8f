"""Locate batches in lower-priority child processes: the same answers as in the worker, at lower priority."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from api.batch_pool import BatchPool, locate_encoded
from geo.errors import InvalidInput, PayloadTooLarge
from geo.locate import Locator
from tests.waiting import wait_until


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


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited (nobody reaped it yet)


def test_a_helper_process_leaves_when_its_worker_is_killed() -> None:
    """A worker killed outright never shuts its pools down: their children (batches, repairs, reports) must not
    linger holding memory and the old data; each leaves once its parent is gone."""
    script = (
        "import multiprocessing, os, signal\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from api.batch_pool import child_process_init\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "                               initializer=child_process_init, initargs=(3,))\n"
        "    print(pool.submit(os.getpid).result(), pool.submit(os.nice, 0).result(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=os.environ | {"PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid, nice = (int(v) for v in done.stdout.split())
    assert nice == os.nice(0) + 3
    wait_until(lambda: not _running(pid), timeout=60, message=f"helper process {pid} outlived its parent")
