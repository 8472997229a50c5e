"""An in-memory ``WorkerState`` (workers/state.py): the worker's Redis state as plain
Python, so retry, dedupe, cache and dead-letter logic has fast unit tests. The Redis
implementation is covered by tests/integration/test_delivery_grader.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from qualitygate.schemas import GradeResult
from workers.publish import Outgoing
from workers.state import BatchRecord


class MemoryWorkerState:
    """Published markers, attempt counters, the results and dead streams and the cache, in
    dicts and lists; ``calls`` names each round trip the Redis one would make."""

    def __init__(self, cache: bool = True) -> None:
        self.cache_on = cache
        self.published: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.cache: dict[str, GradeResult] = {}
        self.results: list[GradeResult] = []
        self.dead: list[tuple[GradeResult, Any]] = []
        self.calls: list[str] = []

    def cache_key(self, parts: Sequence[str | None]) -> str:
        return json.dumps(list(parts))

    def load(self, task_ids: Sequence[str], cache_keys: Sequence[str]) -> BatchRecord:
        self.calls.append("load")
        return BatchRecord(
            published=[t in self.published for t in task_ids],
            attempts=[self.attempts.get(t, 0) for t in task_ids],
            cached=[self.cache.get(k) if self.cache_on else None for k in cache_keys],
        )

    def count_attempts(self, task_ids: Sequence[str]) -> list[int]:
        self.calls.append("count_attempts")
        for task_id in task_ids:
            self.attempts[task_id] = self.attempts.get(task_id, 0) + 1
        return [self.attempts[t] for t in task_ids]

    def commit(
        self, outgoing: Sequence[Outgoing], remember: Sequence[tuple[str, GradeResult]] = ()
    ) -> list[bool]:
        self.calls.append("commit")
        new = []
        for out in outgoing:
            fresh = out.task_id not in self.published
            if fresh:
                self.published.add(out.task_id)
                self.attempts.pop(out.task_id, None)
                self.results.append(out.result)
                if out.dead:
                    self.dead.append((out.result, out.payload))
            new.append(fresh)
        if self.cache_on:
            self.cache.update(remember)
        return new

    def by_id(self) -> dict[str, GradeResult]:
        return {result.id: result for result in self.results}
