"""callbacks/schedule.py: exponential backoff with full jitter stays within its bounds."""

from __future__ import annotations

import random

import pytest

from callbacks.schedule import backoff_s


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20, 100, 10_000])
def test_backoff_lies_between_zero_and_the_capped_exponential(attempt: int) -> None:
    ceiling = min(600.0, 2.0 * 2 ** min(attempt - 1, 62))
    rng = random.Random(attempt)
    waits = [backoff_s(attempt, 2.0, 600.0, rng.random) for _ in range(500)]
    assert all(0.0 <= wait <= ceiling for wait in waits)
    # Full jitter: the waits spread over the whole range, not around one value.
    assert max(waits) > 0.9 * ceiling and min(waits) < 0.1 * ceiling


def test_backoff_extremes_are_the_bounds() -> None:
    assert backoff_s(1, 2.0, 600.0, lambda: 1.0) == 2.0
    assert backoff_s(4, 2.0, 600.0, lambda: 1.0) == 16.0
    assert backoff_s(30, 2.0, 600.0, lambda: 1.0) == 600.0
    assert backoff_s(30, 2.0, 600.0, lambda: 0.0) == 0.0
