"""workers/stages.py: order kept, bounded queues, and errors raised only once every
thread has ended (from a stage, or from the feeding thread as a soft time limit would)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from workers.stages import StagePipeline


def test_items_pass_every_stage_in_order() -> None:
    seen: list[int] = []
    StagePipeline([lambda x: x * 10, lambda x: x + 1, seen.append], depth=1).run(range(20))
    assert seen == [i * 10 + 1 for i in range(20)]


class TimeUp(BaseException):
    """Stands in for Celery's SoftTimeLimitExceeded, raised on the feeding thread."""


def test_an_error_while_feeding_lets_held_work_finish_then_raises() -> None:
    done: list[int] = []

    def feed() -> Iterator[int]:
        yield from range(3)
        raise TimeUp

    before = threading.active_count()
    with pytest.raises(TimeUp):
        StagePipeline([lambda x: x, done.append], depth=2).run(feed())
    assert done == [0, 1, 2]
    assert threading.active_count() == before


def test_a_failing_stage_drops_what_follows_and_stops_the_feed() -> None:
    fed: list[int] = []
    done: list[int] = []

    def feed() -> Iterator[int]:
        for i in range(1000):
            fed.append(i)
            yield i

    def forward(x: int) -> int:
        if x == 3:
            raise RuntimeError("the model failed")
        return x

    with pytest.raises(RuntimeError, match="the model failed"):
        StagePipeline([forward, done.append], depth=1).run(feed())
    assert done == [0, 1, 2]
    assert len(fed) < 10  # the feed stopped soon after, it did not prepare everything


def test_a_pipeline_needs_a_stage_and_a_depth() -> None:
    with pytest.raises(ValueError, match="depth"):
        StagePipeline([], depth=1)
    with pytest.raises(ValueError, match="depth"):
        StagePipeline([print], depth=0)
