"""Waiting in tests: on a condition, polled until a deadline, never a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition that did not come true before its deadline (an assertion failure, so pytest shows it as one)."""


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition not met",
) -> T:
    """Call `predicate` until it returns something truthy and return that; raise WaitTimeout after `timeout` s.

    The deadline is a bound on how long a broken system may hang the test, never a measurement: a condition
    that comes true sooner returns sooner, on a fast machine or a slow one.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: its wait() is an interruptible pause between polls
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text} (waited {timeout:.0f} s)")
        pause.wait(min(interval, left))
