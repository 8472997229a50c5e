"""One flushed batch of messages, from deliveries to published results: the orchestration.

Prepares every item, loads what Redis knows of the batch in one read (published markers,
attempt counts, cached grades), answers duplicates, bad items and cache hits, hands the
rest to ``workers.retries`` and commits the results in one write, then records metrics.
Runs in the pool process that holds the model. It must not acknowledge messages (the task
does, after this returns), must not import Celery, and keeps each concern in its own
module: ``delivery``, ``cache``, ``retries``, ``deadletter``, ``outbox``, ``state``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qualitygate.config import Settings
from workers import metrics
from workers.cache import answer_from_cache, cache_key_for
from workers.delivery import (
    Delivery,
    PassThrough,
    Pending,
    Ready,
    Unprepared,
    failure_for,
    prepare_delivery,
)
from workers.outbox import Outbox
from workers.publish import Outgoing
from workers.retries import RetryPolicy, ScoringRetries
from workers.state import WorkerState

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.pipeline import QualityGate

logger = logging.getLogger("qualitygate.worker")


class DeliveryGrader:
    """Grades a flushed batch of deliveries and publishes one result per message,
    scoring each item once."""

    def __init__(
        self,
        gate: QualityGate,
        state: WorkerState,
        settings: Settings,
        pass_through: PassThrough = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gate = gate
        self.state = state
        self.settings = settings
        self.pass_through = pass_through
        policy = RetryPolicy.from_settings(settings, sleep)
        self.retries = ScoringRetries(gate, state, settings, policy, pass_through)

    def run(self, deliveries: Sequence[Delivery]) -> int:
        """Grade and publish; returns how many messages are done (all of them, or raises)."""
        started = time.perf_counter()
        outbox = Outbox(self.state)
        to_score = self.admit(deliveries, outbox)
        self.score(to_score, outbox)
        outbox.commit()
        self.record(deliveries, [outbox], time.perf_counter() - started)
        return len(deliveries)

    def admit(self, deliveries: Sequence[Delivery], outbox: Outbox) -> list[Pending]:
        """Prepare the deliveries and load their record: errors, duplicates and cache hits
        are answered into ``outbox``; returns the items left to score."""
        prepared = self._prepare_all(deliveries)
        return self._answer_known(deliveries, prepared, outbox)

    def admit_ready(
        self,
        deliveries: Sequence[Delivery],
        outcomes: Sequence[Ready | Unprepared],
        outbox: Outbox,
    ) -> list[Pending]:
        """``admit`` for deliveries a prepare process made ready (``workers.prepare_pool``):
        the same record, answers and items left to score, their token ids kept when the
        scorer takes token ids (a test double may not: it then tokenizes itself)."""
        from qualitygate.scoring import encoder_of  # here: the main process never loads torch

        keep_ids = encoder_of(self.gate.scorer) is not None
        prepared = [
            self._from_ready(delivery, outcome, keep_ids)
            for delivery, outcome in zip(deliveries, outcomes, strict=True)
        ]
        return self._answer_known(deliveries, prepared, outbox)

    def score(self, to_score: Sequence[Pending], outbox: Outbox) -> None:
        """Score (with retries) into ``outbox``; publishes what is done if time runs out."""
        try:
            self.retries.score(to_score, outbox)
        except self.pass_through:
            # Out of time: publish what is done; the task hands the batch back, and the
            # messages already answered are skipped when they come again.
            outbox.flush()
            raise

    def _prepare_all(self, deliveries: Sequence[Delivery]) -> list[Pending | Outgoing]:
        """Each delivery prepared for the model, or its error result; a bug costs one item."""
        outcomes: list[Pending | Outgoing] = []
        for delivery in deliveries:
            try:
                ready = prepare_delivery(self.gate.preparer, delivery, self.pass_through)
            except self.pass_through:
                self.state.commit([o for o in outcomes if isinstance(o, Outgoing)])
                raise
            outcomes.append(self._from_ready(delivery, ready, keep_ids=False))
        return outcomes

    def _from_ready(
        self, delivery: Delivery, outcome: Ready | Unprepared, keep_ids: bool
    ) -> Pending | Outgoing:
        if isinstance(outcome, Unprepared):
            if outcome.bug is not None:
                logger.error("preparing task %s failed\n%s", delivery.task_id, outcome.bug)
            return failure_for(delivery, outcome.error, self.settings)
        prepared = outcome.prepared
        # This process's adapter for the language: the same config version's, and the one
        # every other item of the language is calibrated with (a prepare process's stays
        # there).
        prepared.adapter = self.gate.adapter_for(prepared.language.code)
        key = cache_key_for(prepared, self.gate.scorer.info, self.settings, self.state)
        return Pending(delivery, prepared, key, token_ids=outcome.token_ids if keep_ids else None)

    def _answer_known(
        self,
        deliveries: Sequence[Delivery],
        outcomes: Sequence[Pending | Outgoing],
        outbox: Outbox,
    ) -> list[Pending]:
        """Load the batch's record once; skip what is published, answer errors and cache
        hits, and return the items left to score with their attempts so far."""
        pending = [o for o in outcomes if isinstance(o, Pending)]
        record = self.state.load([d.task_id for d in deliveries], [p.cache_key for p in pending])
        hits = dict(zip((id(p) for p in pending), record.cached, strict=True))
        to_score: list[Pending] = []
        duplicates = 0
        for outcome, published, attempts in zip(
            outcomes, record.published, record.attempts, strict=True
        ):
            if published:
                duplicates += 1
            elif isinstance(outcome, Outgoing):
                outbox.add(outcome)
            elif (hit := hits[id(outcome)]) is not None:
                outbox.add(answer_from_cache(outcome, hit))
            else:
                outcome.attempts = attempts
                to_score.append(outcome)
        if duplicates:
            metrics.DUPLICATE_DELIVERIES.inc(duplicates)
            logger.info(
                "skipped %d messages whose results were already published",
                duplicates,
                extra={"duplicates": duplicates},
            )
        return to_score

    def record(
        self,
        deliveries: Sequence[Delivery],
        outboxes: Sequence[Outbox],
        elapsed: float,
        stage_ms: dict[str, float] | None = None,
    ) -> None:
        """Metrics and the batch's log line (``stage_ms``: time per stage, when staged)."""
        items = [out for outbox in outboxes for out in outbox.items]
        new_results = [result for outbox in outboxes for result in outbox.new_results]
        metrics.observe_results(new_results)
        metrics.BATCH_SIZE.observe(len(deliveries))
        metrics.BATCH_SECONDS.observe(elapsed)
        errors = sum(1 for out in items if out.result.status == "error")
        logger.info(
            "batch of %d graded in %.1f ms (%d errors, %d dead)",
            len(deliveries),
            elapsed * 1000,
            errors,
            sum(1 for out in items if out.dead),
            extra={
                "batch_size": len(deliveries),
                "batch_ms": round(elapsed * 1000, 3),
                "published": len(new_results),
                "errors": errors,
                "task_ids": [d.task_id for d in deliveries],
            }
            | ({"stage_ms": stage_ms} if stage_ms is not None else {}),
        )
