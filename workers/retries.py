"""Bounded retries of scoring crashes, counted in Redis so that crashes which kill the
process count too.

Owns the retry policy: items never tried before are scored together; items an earlier
delivery crashed on, and the items of a batch try that raised, are tried alone, with
exponential backoff, until they score or their attempts run out (then they are dead
letters). An attempt is counted just before the try that makes it, so items a crash never
reached are not charged for it, and finished results are published before each risky try
alone, so a crash cannot charge finished neighbours. It must not prepare items, consult
the cache or publish except through the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qualitygate.config import Settings
from qualitygate.schemas import GradeResult
from workers.deadletter import dead_letter
from workers.delivery import PassThrough, Pending, first_line
from workers.outbox import Outbox
from workers.publish import Outgoing
from workers.state import WorkerState

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.pipeline import QualityGate

logger = logging.getLogger("qualitygate.worker")


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries an item gets (``worker.max_retries`` + 1) and the pauses between."""

    max_attempts: int
    backoff_s: float
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_settings(
        cls, settings: Settings, sleep: Callable[[float], None] = time.sleep
    ) -> RetryPolicy:
        worker = settings.worker
        return cls(worker.max_retries + 1, worker.retry_backoff_s, sleep)

    def pause_after(self, attempts: int) -> None:
        """Back off exponentially: ``backoff_s`` after the first failed try, then doubling."""
        self.sleep(self.backoff_s * 2 ** max(attempts - 1, 0))


class ScoringRetries:
    """Scores a batch's uncached items into the outbox, retrying crashes alone."""

    def __init__(
        self,
        gate: QualityGate,
        state: WorkerState,
        settings: Settings,
        policy: RetryPolicy,
        pass_through: PassThrough = (),
    ) -> None:
        self.gate = gate
        self.state = state
        self.settings = settings
        self.policy = policy
        self.pass_through = pass_through

    def score(self, pending: Sequence[Pending], outbox: Outbox) -> None:
        """Each item ends in the outbox, graded or dead; ``attempts`` are those so far.

        After a batch try that raised, each of its items is tried alone at least once,
        even when that batch try used up its budget.
        """
        fresh = [p for p in pending if p.attempts == 0]
        alone = [p for p in pending if p.attempts > 0]
        charged: set[str] = set()
        batch_error: str | None = None
        if fresh:
            self._count(fresh)
            try:
                results = self._score_together(fresh)
            except self.pass_through:
                raise
            except Exception as exc:
                batch_error = first_line(exc)
                logger.warning(
                    "scoring a batch of %d failed, retrying items alone: %s",
                    len(fresh),
                    batch_error,
                )
                self.policy.pause_after(1)
                alone = fresh + alone
                charged = {p.task_id for p in fresh}
            else:
                for p, result in zip(fresh, results, strict=True):
                    outbox.add_scored(p, Outgoing(result, p.task_id))
        for p in alone:
            outbox.flush()
            # A batch try that used up an item's budget still leaves it one try alone.
            if p.task_id not in charged or p.attempts < self.policy.max_attempts:
                self._count([p])
            outbox.add_scored(p, self._score_alone(p, batch_error))
        if alone:
            outbox.flush()

    def _count(self, pending: Sequence[Pending]) -> None:
        counts = self.state.count_attempts([p.task_id for p in pending])
        for p, count in zip(pending, counts, strict=True):
            p.attempts = count

    def _score_together(self, pending: Sequence[Pending]) -> list[GradeResult]:
        encoded = [p.token_ids for p in pending]
        tokenized = all(ids is not None for ids in encoded)
        results = self.gate.score(
            [p.prepared for p in pending],
            encoded if tokenized else None,  # type: ignore[arg-type]
        )
        for p, result in zip(pending, results, strict=True):
            result.task_id = p.task_id
            result.attempts = p.attempts
        return results

    def _score_alone(self, p: Pending, last_error: str | None) -> Outgoing:
        """Retry one item until it scores or its attempts, counted across deliveries, run
        out; then it is a dead letter."""
        max_attempts = self.policy.max_attempts
        while p.attempts <= max_attempts:
            try:
                return Outgoing(self._score_together([p])[0], p.task_id)
            except self.pass_through:
                raise
            except Exception as exc:
                last_error = first_line(exc)
                logger.warning(
                    "scoring task %s failed (attempt %d of %d): %s",
                    p.task_id,
                    p.attempts,
                    max_attempts,
                    last_error,
                )
            if p.attempts >= max_attempts:
                break
            self.policy.pause_after(p.attempts)
            self._count([p])
        return dead_letter(p, max_attempts, last_error, self.settings)
