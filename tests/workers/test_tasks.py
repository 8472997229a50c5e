"""workers/tasks.py without Redis or a pool: a batch that cannot be handed to the pool
process is answered or handed back, message by message, and never raises (from the flush
timer, an error left the batch held forever; from a full batch, it stopped the worker)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from qualitygate.config import Settings
from workers.runtime import configure
from workers.tasks import AckAfterPublishBatches, _requeue


def too_deep_for_pickle() -> list[Any]:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    return deep


class RequestDouble:
    """What AckAfterPublishBatches.flush uses of a Celery Request."""

    def __init__(self, task_id: str, item: Any) -> None:
        self.id = task_id
        self.name = "qualitygate.grade"
        self._payload = ([item], {}, {})
        self.delivery_info: dict[str, Any] = {}
        self.hostname = "test"
        self.reply_to = self.correlation_id = None
        self.request_dict: dict[str, Any] = {}
        self.acknowledged = False
        self.requeued = False

    def acknowledge(self) -> None:
        self.acknowledged = True

    def reject(self, requeue: bool = False) -> None:
        self.requeued = requeue
        self.acknowledged = True

    def send_event(self, *args: Any, **kwargs: Any) -> None:
        pass


class PoolDouble:
    """Pickles what it is handed, as the prefork pool does before writing it to a child;
    ``broken`` refuses everything, as a pool that is not running does."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.handed: list[list[str]] = []

    def apply_async(self, func: Callable[..., Any], args: tuple[Any, ...], **_: Any) -> str:
        if self.broken:
            raise ValueError("Pool not running")
        pickle.dumps(args[1])
        self.handed.append([simple.id for simple in args[1][0]])
        return "applied"


class TimerDouble:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Any, tuple[Any, ...]]] = []

    def call_after(self, delay: float, func: Any, args: tuple[Any, ...]) -> None:
        self.calls.append((delay, func, args))


class PublisherDouble:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, outgoing: list[Any]) -> list[bool]:
        self.published.extend(outgoing)
        return [True] * len(outgoing)


@pytest.fixture
def task(settings: Settings) -> tuple[AckAfterPublishBatches, PublisherDouble]:
    runtime = configure(settings)
    publisher = PublisherDouble()
    runtime.__dict__["publisher"] = publisher  # the cached_property, without Redis
    batch = AckAfterPublishBatches()
    batch._timer = TimerDouble()
    return batch, publisher


def test_a_request_that_cannot_be_pickled_is_answered_and_the_rest_handed_over(
    task: tuple[AckAfterPublishBatches, PublisherDouble],
) -> None:
    batch, publisher = task
    batch._pool = PoolDouble()
    deep = RequestDouble("deep", {"id": "d", "text": "hi", "metadata": too_deep_for_pickle()})
    fine = [RequestDouble(f"fine-{i}", {"id": str(i), "text": "hi"}) for i in range(3)]
    assert batch.flush([fine[0], deep, *fine[1:]]) == "applied"
    assert batch._pool.handed == [["fine-0", "fine-1", "fine-2"]]
    (answered,) = publisher.published
    assert answered.task_id == "deep" and answered.result.error is not None
    assert "cannot be handed to a pool process (RecursionError)" in answered.result.error.message
    assert deep.acknowledged and not any(r.acknowledged for r in fine)  # acked when graded


def test_a_pool_that_refuses_the_batch_gets_it_back_later(
    task: tuple[AckAfterPublishBatches, PublisherDouble],
) -> None:
    batch, publisher = task
    batch._pool = PoolDouble(broken=True)
    held = [RequestDouble(f"t{i}", {"id": str(i), "text": "hi"}) for i in range(4)]
    assert batch.flush(held) is None  # no exception
    assert publisher.published == []
    ((delay, func, (requests, _reason)),) = batch._timer.calls
    assert func is _requeue and delay == batch.requeue_delay_s
    assert [r.id for r in requests] == ["t0", "t1", "t2", "t3"]
    func(requests, _reason)
    assert all(r.requeued for r in held)
