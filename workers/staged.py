"""A flushed batch graded in stages, so the CPU work overlaps the forward pass.

The batch is cut into chunks of ``worker.stage_items`` messages, and each chunk goes
through three stages joined by queues of ``worker.stage_depth`` chunks
(``workers.stages``): prepare (decode, extract, detect, preprocess, rules, the batch's
Redis record, then tokenizing, on the task's own thread), forward pass (with the usual
retries and dead letters, ``workers.retries``) and finish (publishing, in one commit per
chunk). While chunk N is in the forward pass, which releases the GIL on a GPU as on a
CPU, chunk N+1 is being prepared and chunk N-1 published; at most ``stage_depth`` chunks
wait prepared, so memory stays bounded however slow the model is.

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

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from workers.batch import DeliveryGrader
from workers.delivery import Delivery, Pending
from workers.outbox import Outbox
from workers.stages import StagePipeline


@dataclass
class Chunk:
    """Some of a batch's messages on their way through the stages."""

    deliveries: Sequence[Delivery]
    outbox: Outbox
    to_score: list[Pending]


class StagedGrader:
    """Grades a flushed batch like ``DeliveryGrader.run``, its stages overlapping."""

    def __init__(self, grader: DeliveryGrader, stage_items: int, stage_depth: int) -> None:
        self.grader = grader
        self.stage_items = stage_items
        self.stage_depth = stage_depth
        self.stage_s: dict[str, float] = {}

    def run(self, deliveries: Sequence[Delivery]) -> int:
        """Grade and publish; returns how many messages are done (all of them, or raises)."""
        started = time.perf_counter()
        self.stage_s = {"prepare": 0.0, "forward": 0.0, "finish": 0.0}
        chunks: list[Chunk] = []
        pipeline = StagePipeline([self._forward, self._finish], self.stage_depth)
        pipeline.run(self._prepared(deliveries, chunks))
        stage_ms = {name: round(s * 1000, 3) for name, s in self.stage_s.items()}
        self.grader.record(
            deliveries, [c.outbox for c in chunks], time.perf_counter() - started, stage_ms
        )
        return len(deliveries)

    def _prepared(self, deliveries: Sequence[Delivery], chunks: list[Chunk]) -> Iterator[Chunk]:
        """The first stage, on the caller's thread: each chunk admitted and tokenized."""
        from qualitygate.scoring import encoder_of  # here: the main process never loads torch

        grader = self.grader
        encoder = encoder_of(grader.gate.scorer)
        for offset in range(0, len(deliveries), self.stage_items):
            started = time.perf_counter()
            part = deliveries[offset : offset + self.stage_items]
            outbox = Outbox(grader.state)
            to_score = grader.admit(part, outbox)
            if encoder is not None and to_score:
                pairs = [(p.prepared.prompt, p.prepared.text) for p in to_score]
                for pending, ids in zip(to_score, encoder.encode_pairs(pairs), strict=True):
                    pending.token_ids = ids
            chunk = Chunk(part, outbox, to_score)
            chunks.append(chunk)
            self.stage_s["prepare"] += time.perf_counter() - started
            yield chunk

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
