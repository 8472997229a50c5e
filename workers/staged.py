"""A flushed batch graded in stages, so the CPU work overlaps the forward pass.

The batch is cut into chunks of ``worker.stage_items`` messages, and each chunk goes
through three stages joined by queues of ``worker.stage_depth`` chunks
(``workers.stages``): prepare (decode, extract, detect, preprocess, rules, tokenizing, then
the batch's Redis record, on the task's own thread), forward pass (with the usual retries
and dead letters, ``workers.retries``) and finish (publishing, in one commit per chunk).
While chunk N is in the forward pass, which releases the GIL on a GPU as on a CPU, chunk
N+1 is being prepared and chunk N-1 published; at most ``stage_depth`` chunks wait
prepared, so memory stays bounded however slow the model is. With a prepare pool
(``worker.prepare_processes``, ``workers.prepare_pool``) the preparing and tokenizing run
in other processes, on other cores, a window of chunks ahead; the task's thread keeps only
the Redis record, and prepares a chunk itself when a prepare process died with it.

Why inside one task call rather than across calls: celery-batches acknowledges a batch
in the main process when the pool call *returns* (``workers.tasks``), and a prefork child
takes its next call only after the last one returned. A task that returned before its
batch was published would need acknowledgements from a place that cannot make them (the
child holds no broker channel), and one that waits lets nothing overlap across calls. So
the overlap lives within a flush: a GPU worker flushes batches of many chunks
(``worker.batch_size`` well above ``stage_items``), and only the first chunk's
preparation and the last one's publishing are not overlapped. Acknowledgement still
comes only after every result of the batch is published.

It must not acknowledge messages, import Celery, or decide a result itself: admitting
and scoring are ``workers.batch.DeliveryGrader``'s, publishing is the outbox's.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, TimeoutError
from contextlib import closing
from dataclasses import dataclass

from qualitygate.errors import first_line
from workers.batch import DeliveryGrader
from workers.delivery import Delivery, Pending, Ready, Unprepared
from workers.outbox import Outbox
from workers.prepare_pool import CHUNK_TIMEOUT_S, BrokenProcessPool, PreparePool
from workers.stages import StagePipeline

logger = logging.getLogger("qualitygate.worker")


@dataclass
class Chunk:
    """Some of a batch's messages on their way through the stages."""

    deliveries: Sequence[Delivery]
    outbox: Outbox
    to_score: list[Pending]


class StagedGrader:
    """Grades a flushed batch like ``DeliveryGrader.run``, its stages overlapping."""

    def __init__(
        self,
        grader: DeliveryGrader,
        stage_items: int,
        stage_depth: int,
        pool: PreparePool | None = None,
    ) -> None:
        self.grader = grader
        self.stage_items = stage_items
        self.stage_depth = stage_depth
        self.pool = pool
        self.stage_s: dict[str, float] = {}

    def run(self, deliveries: Sequence[Delivery]) -> int:
        """Grade and publish; returns how many messages are done (all of them, or raises)."""
        started = time.perf_counter()
        self.stage_s = {"prepare": 0.0, "forward": 0.0, "finish": 0.0}
        chunks: list[Chunk] = []
        pipeline = StagePipeline([self._forward, self._finish], self.stage_depth)
        # Closed however the pipeline ends, so chunks submitted ahead are cancelled at once.
        with closing(self._prepared(deliveries, chunks)) as prepared:
            pipeline.run(prepared)
        stage_ms = {name: round(s * 1000, 3) for name, s in self.stage_s.items()}
        self.grader.record(
            deliveries, [c.outbox for c in chunks], time.perf_counter() - started, stage_ms
        )
        return len(deliveries)

    def _prepared(self, deliveries: Sequence[Delivery], chunks: list[Chunk]) -> Iterator[Chunk]:
        """The first stage, on the caller's thread: each chunk admitted and tokenized, here
        or (with a pool) in the prepare processes, a window of chunks ahead."""
        parts = [
            deliveries[offset : offset + self.stage_items]
            for offset in range(0, len(deliveries), self.stage_items)
        ]
        pooled = self.pool is not None and self.pool.usable
        made = self._made_in_pool(parts) if pooled else map(self._made_here, parts)
        started = time.perf_counter()
        for chunk in made:
            chunks.append(chunk)
            self.stage_s["prepare"] += time.perf_counter() - started
            yield chunk
            started = time.perf_counter()

    def _made_here(self, part: Sequence[Delivery]) -> Chunk:
        """A chunk prepared and tokenized on this thread."""
        from qualitygate.scoring import encoder_of  # here: the main process never loads torch

        grader = self.grader
        outbox = Outbox(grader.state)
        to_score = grader.admit(part, outbox)
        encoder = encoder_of(grader.gate.scorer)
        if encoder is not None and to_score:
            pairs = [(p.prepared.prompt, p.prepared.text) for p in to_score]
            for pending, ids in zip(to_score, encoder.encode_pairs(pairs), strict=True):
                pending.token_ids = ids
        return Chunk(part, outbox, to_score)

    def _made_in_pool(self, parts: Sequence[Sequence[Delivery]]) -> Iterator[Chunk]:
        """Chunks prepared by the pool, in order, at most ``pool.window`` submitted ahead;
        a chunk the pool cannot prepare (a process died, the pool was given up or hung, or
        what it made could not come back) is prepared here instead."""
        assert self.pool is not None
        pool, grader = self.pool, self.grader
        upcoming = iter(parts)
        waiting: deque[tuple[Sequence[Delivery], Future | None]] = deque()
        try:
            while True:
                while len(waiting) < pool.window and (part := next(upcoming, None)) is not None:
                    waiting.append((part, self._submit(part)))
                if not waiting:
                    return
                part, future = waiting.popleft()
                outcomes = self._outcomes(part, future)
                if outcomes is None:
                    yield self._made_here(part)
                    continue
                outbox = Outbox(grader.state)
                yield Chunk(part, outbox, grader.admit_ready(part, outcomes, outbox))
        finally:
            for _, future in waiting:  # stopped early: what no process has begun is dropped
                if future is not None:
                    future.cancel()

    def _submit(self, part: Sequence[Delivery]) -> Future | None:
        """The part's future, or None when the pool takes no work (given up, or broken)."""
        assert self.pool is not None
        if not self.pool.usable:
            return None
        try:
            return self.pool.submit(self.grader.settings, part)
        except Exception as exc:  # BrokenProcessPool, or a fork that failed (OSError)
            logger.error("the prepare pool took no chunk (%s); preparing here", first_line(exc))
            return None

    def _outcomes(
        self, part: Sequence[Delivery], future: Future | None
    ) -> list[Ready | Unprepared] | None:
        """What the pool made of ``part``; None when this thread must prepare it."""
        assert self.pool is not None
        if future is None:
            return None
        try:
            return future.result(timeout=CHUNK_TIMEOUT_S)
        except TimeoutError:
            self.pool.give_up(f"no prepare process answered in {CHUNK_TIMEOUT_S:.0f} s")
        except BrokenProcessPool:
            logger.error("a prepare process died; preparing %d messages here", len(part))
        except Exception as exc:  # what a process made could not come back (unpicklable)
            logger.exception("the prepare pool failed a chunk (%s); preparing here", exc)
        return None

    def _forward(self, chunk: Chunk) -> Chunk:
        started = time.perf_counter()
        self.grader.score(chunk.to_score, chunk.outbox)
        self.stage_s["forward"] += time.perf_counter() - started
        return chunk

    def _finish(self, chunk: Chunk) -> Chunk:
        started = time.perf_counter()
        chunk.outbox.commit()
        self.stage_s["finish"] += time.perf_counter() - started
        return chunk
