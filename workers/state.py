"""The worker's state in Redis as one batch sees it: one load before grading, attempt
counts before each risky try, and one commit of the results.

Owns the ``WorkerState`` interface the grading pieces use (retries, cache, dead letters,
publishing) and its Redis implementation over ``ResultPublisher``; tests hand in a plain
in-memory double of the same interface. It must not grade anything, decide a retry or know
about Celery; key names and the publish-once script belong to the publisher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qualitygate.schemas import GradeResult
from workers.publish import Outgoing, ResultPublisher


@dataclass(frozen=True)
class BatchRecord:
    """What Redis knows of a batch before grading, each list in its request's order."""

    published: list[bool]  # per task id: its result is already on the stream
    attempts: list[int]  # per task id: scoring attempts counted so far
    cached: list[GradeResult | None]  # per cache key: a grade of identical content


class WorkerState(Protocol):
    """What batch grading reads and writes besides the broker."""

    def cache_key(self, parts: Sequence[str | None]) -> str: ...

    def load(self, task_ids: Sequence[str], cache_keys: Sequence[str]) -> BatchRecord:
        """Published markers and attempt counts of the task ids, and the cached grades."""
        ...

    def count_attempts(self, task_ids: Sequence[str]) -> list[int]:
        """Count one more scoring attempt per task id, before the try; the new totals."""
        ...

    def commit(
        self, outgoing: Sequence[Outgoing], remember: Sequence[tuple[str, GradeResult]] = ()
    ) -> list[bool]:
        """Publish results once per task id (dead ones to the dead stream too) and cache
        grades; returns, per result, whether it was new."""
        ...


class RedisWorkerState:
    """``WorkerState`` on Redis, through the publisher's keys and scripts."""

    def __init__(self, publisher: ResultPublisher) -> None:
        self.publisher = publisher

    def cache_key(self, parts: Sequence[str | None]) -> str:
        return self.publisher.cache_key(parts)

    def load(self, task_ids: Sequence[str], cache_keys: Sequence[str]) -> BatchRecord:
        """One pipeline: the published markers, the attempt counters and the cache."""
        publisher = self.publisher
        use_cache = bool(cache_keys) and bool(publisher.cache_ttl_s)
        pipe = publisher.redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.exists(publisher.keys.published(task_id))
        if task_ids:
            pipe.mget([publisher.keys.attempts(task_id) for task_id in task_ids])
        if use_cache:
            pipe.mget(list(cache_keys))
        replies = pipe.execute() if task_ids or use_cache else []
        published = [bool(found) for found in replies[: len(task_ids)]]
        counts = replies[len(task_ids)] if task_ids else []
        hits = replies[-1] if use_cache else [None] * len(cache_keys)
        return BatchRecord(
            published=published,
            attempts=[int(count) if count else 0 for count in counts],
            cached=[GradeResult.model_validate_json(raw) if raw else None for raw in hits],
        )

    def count_attempts(self, task_ids: Sequence[str]) -> list[int]:
        return self.publisher.count_attempts(task_ids) if task_ids else []

    def commit(
        self, outgoing: Sequence[Outgoing], remember: Sequence[tuple[str, GradeResult]] = ()
    ) -> list[bool]:
        return self.publisher.publish(outgoing, remember)
