"""Stages joined by bounded queues: the calling thread feeds, one thread per later stage.

Owns the mechanics of overlapping work: each stage after the first runs in a thread of
its own, taking items from a queue of at most ``depth`` entries, so a slow stage (the
forward pass) holds back the ones before it instead of letting work pile up in memory.
The first stage is the caller's iterator, run on the calling thread, so a signal such as
Celery's soft time limit lands where the caller can see it. Work a stage has started is
finished; when a stage raises, it drops what reaches it afterwards, the caller stops
feeding, and the first error is raised once every thread has ended. It must not know what
the items are.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

_END = object()


class _Stage:
    """One stage's thread, its inbox and whether it has failed."""

    def __init__(self, work: Callable[[Any], Any], depth: int, errors: list[BaseException]):
        self.work = work
        self.inbox: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.errors = errors
        self.failed = threading.Event()
        self.next: _Stage | None = None
        self.thread = threading.Thread(target=self._serve, name="qualitygate-stage", daemon=True)

    def _serve(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _END:
                break
            if self.failed.is_set():
                continue  # after an error, drop the rest: its messages go back to the queue
            try:
                out = self.work(item)
            except BaseException as exc:
                self.errors.append(exc)
                self.failed.set()
                continue
            if self.next is not None:
                self.next.inbox.put(out)
        if self.next is not None:
            self.next.inbox.put(_END)


class StagePipeline:
    """Runs items through ``stages`` in order, each stage overlapping the others."""

    def __init__(self, stages: Sequence[Callable[[Any], Any]], depth: int) -> None:
        if not stages or depth < 1:
            raise ValueError("a stage pipeline needs at least one stage and a depth of 1 or more")
        self.stages = stages
        self.depth = depth

    def run(self, items: Iterable[Any]) -> None:
        """Feed ``items`` (produced on this thread) through the stages; wait for the end."""
        errors: list[BaseException] = []
        stages = [_Stage(work, self.depth, errors) for work in self.stages]
        for stage, after in pairwise(stages):
            stage.next = after
        for stage in stages:
            stage.thread.start()
        try:
            for item in items:
                stages[0].inbox.put(item)
                if any(stage.failed.is_set() for stage in stages):
                    break
        finally:
            # Whatever happened here (a soft time limit too), the threads finish the work
            # they hold and end, so nothing still runs when the caller moves on.
            stages[0].inbox.put(_END)
            for stage in stages:
                stage.thread.join()
        if errors:
            raise errors[0]
