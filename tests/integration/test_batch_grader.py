"""BatchGrader on the real Redis with a scorer double: retries, dead letters, the cache,
redelivered messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
import redis

from qualitygate.errors import ScoringError
from qualitygate.language import UNDETERMINED
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import GradeResult, ModelInfo
from tests.support.workers import QueueNamespace
from workers.batch import BatchGrader, Delivery
from workers.publish import ResultPublisher

pytestmark = pytest.mark.integration


class FlakyScorer:
    """Fails on any batch holding a text that contains ``poison``; fails the first
    ``fail_first`` calls whatever they hold."""

    def __init__(self, fail_first: int = 0, poison: str = "\x00never") -> None:
        self.fail_first = fail_first
        self.poison = poison
        self.calls: list[int] = []

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="double", revision="1")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.append(len(pairs))
        if len(self.calls) <= self.fail_first or any(self.poison in t for _, t in pairs):
            raise ScoringError("CUDA out of memory (simulated)")
        return [float(len(text) % 7) - 3 for _, text in pairs]


def make_grader(namespace: QueueNamespace, scorer: FlakyScorer, **env: str) -> BatchGrader:
    settings = namespace.settings(**env)
    gate = QualityGate(settings, scorer)
    publisher = ResultPublisher.from_settings(settings)
    return BatchGrader(gate, publisher, settings, sleep=lambda seconds: None)


def stream(redis_client: redis.Redis, name: str) -> list[GradeResult]:
    return [GradeResult.model_validate_json(f["result"]) for _, f in redis_client.xrange(name)]


def deliveries(texts: list[str], prefix: str = "t") -> list[Delivery]:
    return [Delivery(f"{prefix}{i}", {"id": f"i{i}", "text": t}) for i, t in enumerate(texts)]


def test_a_crash_is_retried_alone_and_a_poison_item_ends_in_the_dead_stream(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = FlakyScorer(poison="POISON")
    grader = make_grader(namespace, scorer, QG_WORKER__MAX_RETRIES="2")
    batch = deliveries(["good one", "POISON here", "good two"])
    assert grader.run(batch) == 3

    results = {r.id: r for r in stream(redis_client, grader.publisher.streams.results)}
    assert results["i0"].status == "graded" and results["i2"].status == "graded"
    assert results["i0"].attempts == 2  # the batch crashed once, then it scored alone
    poison = results["i1"]
    assert poison.status == "error" and poison.error.code == "scoring_failed"
    assert poison.attempts == 3 and "3 times" in poison.error.message
    [(_, dead)] = redis_client.xrange(grader.publisher.streams.dead)
    assert dead["task_id"] == "t1" and json.loads(dead["payload"])["text"] == "POISON here"
    # The batch (attempt 1 for all), then each alone: the poison twice more, 3 in all.
    assert scorer.calls == [3, 1, 1, 1, 1]


def test_a_message_that_already_crashed_too_often_goes_dead_without_scoring(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = FlakyScorer()
    grader = make_grader(namespace, scorer, QG_WORKER__MAX_RETRIES="1")
    # Two earlier deliveries killed the process while scoring (counted before scoring).
    grader.publisher.count_attempts(["t0"])
    grader.publisher.count_attempts(["t0"])
    grader.run(deliveries(["kills the worker"]))
    [result] = stream(redis_client, grader.publisher.streams.results)
    assert result.status == "error" and "died" in result.error.message
    assert scorer.calls == [] and redis_client.xlen(grader.publisher.streams.dead) == 1


def test_identical_content_is_answered_from_the_cache(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = FlakyScorer()
    grader = make_grader(namespace, scorer)
    grader.run(deliveries(["same words", "other words"], prefix="a"))
    second = [
        Delivery("b0", {"id": "again", "text": "same words", "metadata": {"rev": 2}}),
        Delivery("b1", {"id": "new", "text": "same words", "prompt": "A different prompt."}),
    ]
    grader.run(second)
    results = {r.id: r for r in stream(redis_client, grader.publisher.streams.results)}
    assert scorer.calls == [2, 1]  # the different prompt is scored; the repeat is not
    assert results["again"].cached and not results["new"].cached and not results["i0"].cached
    assert results["again"].raw_reward == results["i0"].raw_reward
    assert results["again"].metadata == {"rev": 2} and results["again"].task_id == "b0"


def test_a_redelivered_message_is_not_published_twice(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = FlakyScorer()
    grader = make_grader(namespace, scorer, QG_WORKER__CACHE_TTL_S="0")
    batch = deliveries(["one", "two"])
    grader.run(batch)
    grader.run(batch)  # Redis delivered them again: published, but never acknowledged
    assert redis_client.xlen(grader.publisher.streams.results) == 2
    assert scorer.calls == [2]


class OutOfTime(Exception):
    """Stands in for Celery's SoftTimeLimitExceeded."""


def test_out_of_time_publishes_what_is_done_and_a_redelivery_finishes_the_rest(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    class SlowPoison(FlakyScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            if len(self.calls) == 3:  # the batch, two items alone, then time runs out
                self.calls.append(len(pairs))
                raise OutOfTime
            return super().score(pairs)

    settings = namespace.settings(QG_WORKER__CACHE_TTL_S="0")
    scorer = SlowPoison(poison="POISON")
    publisher = ResultPublisher.from_settings(settings)
    grader = BatchGrader(
        QualityGate(settings, scorer), publisher, settings, (OutOfTime,), lambda s: None
    )
    batch = deliveries(["a", "b", "c", "POISON"])
    with pytest.raises(OutOfTime):
        grader.run(batch)
    first = stream(redis_client, publisher.streams.results)
    assert sorted(r.id for r in first) == ["i0", "i1"]  # scored alone before time ran out

    grader.run(batch)  # the task handed the batch back; Redis delivers it again
    results = {r.id: r for r in stream(redis_client, publisher.streams.results)}
    assert sorted(results) == ["i0", "i1", "i2", "i3"]  # each once
    assert results["i2"].status == "graded" and results["i3"].status == "error"
    assert results["i0"].attempts == 2 and results["i2"].attempts == 3


class ProcessDied(BaseException):
    """Stands in for SIGKILL or a segfault: nothing after it runs in the process."""


class KillingScorer(FlakyScorer):
    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if any(self.poison in text for _, text in pairs):
            self.calls.append(len(pairs))
            raise ProcessDied
        return super().score(pairs)


def test_a_poison_that_kills_the_process_never_dead_letters_its_neighbours(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = KillingScorer(poison="POISON")
    grader = make_grader(namespace, scorer, QG_WORKER__MAX_RETRIES="2", QG_WORKER__CACHE_TTL_S="0")
    batch = deliveries(["a good comment", "POISON", "another good one"])
    for _ in range(6):  # each delivery after a "crash" is what Redis hands back
        try:
            grader.run(batch)
            break
        except ProcessDied:
            continue
    by_id = {r.id: r for r in stream(redis_client, grader.settings.streams.results)}
    assert by_id["i0"].status == by_id["i2"].status == "graded"
    assert by_id["i1"].error is not None and by_id["i1"].error.code == "scoring_failed"
    dead = [
        json.loads(f["payload"])["id"] for _, f in redis_client.xrange(grader.settings.streams.dead)
    ]
    assert dead == ["i1"]


def test_with_no_retries_a_failed_batch_still_tries_each_item_alone_once(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    scorer = FlakyScorer(poison="POISON")
    grader = make_grader(namespace, scorer, QG_WORKER__MAX_RETRIES="0", QG_WORKER__CACHE_TTL_S="0")
    grader.run(deliveries(["fine text", "POISON"]))
    by_id = {r.id: r for r in stream(redis_client, grader.settings.streams.results)}
    assert by_id["i0"].status == "graded"
    error = by_id["i1"].error
    assert error is not None and "CUDA out of memory" in error.message
    assert scorer.calls == [2, 1, 1]


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "a\ud800", "txt": "a typo'd field"},
        {"id": "m3", "metadata": {"k": "\udc00"}},
        {"id": "big", "metadata": {"blob": "x" * 100_000}},
    ],
)
def test_invalid_items_with_hostile_ids_or_metadata_are_still_answered(
    namespace: QueueNamespace, redis_client: redis.Redis, payload: dict[str, object]
) -> None:
    grader = make_grader(namespace, FlakyScorer())
    grader.run([Delivery("t-good", {"id": "good", "text": "fine"}), Delivery("t-bad", payload)])
    results = {r.task_id: r for r in stream(redis_client, grader.settings.streams.results)}
    assert results["t-good"].status == "graded"
    bad = results["t-bad"]
    assert bad.status == "error" and "\ud800" not in bad.id
    assert len(json.dumps(bad.metadata)) <= grader.settings.limits.max_metadata_bytes


def test_running_out_of_time_while_preparing_hands_the_batch_back(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    class OutOfTime(Exception):
        pass

    settings = namespace.settings()

    def detector(text: str, hint: str | None, declared: str | None = None) -> Any:
        if "slow" in text:
            raise OutOfTime
        return UNDETERMINED

    gate = QualityGate(settings, FlakyScorer(), detector=detector)
    grader = BatchGrader(
        gate, ResultPublisher.from_settings(settings), settings, pass_through=(OutOfTime,)
    )
    batch = [
        Delivery("t0", {"id": "a", "text": "a good but slow item"}),
        Delivery("t1", {"id": "b"}),
    ]
    with pytest.raises(OutOfTime):
        grader.run(batch)
    published = stream(redis_client, settings.streams.results)
    assert all(result.id != "a" for result in published)  # not turned into an error
