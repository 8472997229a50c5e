"""One flushed batch of queue messages, from payloads to published results.

Owns what a message's payload may be, which id its result gets, the cache of identical
content, bounded retries of scoring crashes (counted in Redis, so crashes that kill the
process count too) and the dead-letter decision. Runs in the pool process that holds the
model. It must not acknowledge messages (the task does, after this returns) and must not
import Celery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError, QualityGateError, ScoringError
from qualitygate.protocol import item_id_of
from qualitygate.schemas import GradeResult, echoable_metadata
from workers import metrics
from workers.logs import content_field
from workers.publish import Outgoing, ResultPublisher

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.pipeline import PreparedItem, QualityGate

logger = logging.getLogger("qualitygate.worker")

# Exceptions that must reach the task instead of counting as a scoring crash, such as
# Celery's SoftTimeLimitExceeded: the batch then goes back to the queue.
PassThrough = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class Delivery:
    """One message: its task id and payload, or why the payload is not an item at all."""

    task_id: str
    payload: Any = None
    problem: str | None = None


def delivery_from(task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Delivery:
    """The item a task message carries: its one positional argument (or ``item=``)."""
    if len(args) == 1 and not kwargs:
        return Delivery(task_id, args[0])
    if not args and set(kwargs) == {"item"}:
        return Delivery(task_id, kwargs["item"])
    return Delivery(
        task_id,
        {"args": list(args), "kwargs": dict(kwargs)},
        problem=(
            "message: expected the item as the task's only argument, got "
            f"{len(args)} positional and {len(kwargs)} keyword arguments"
        ),
    )


def result_id_for(payload: Any, task_id: str) -> str:
    """The item's own id when it is a usable one, else the task id submit returned."""
    return item_id_of(payload, fallback=task_id)


@dataclass
class _Pending:
    delivery: Delivery
    prepared: PreparedItem
    cache_key: str
    attempts: int = 0


class BatchGrader:
    """Grades a batch and publishes one result per message, scoring each item once."""

    def __init__(
        self,
        gate: QualityGate,
        publisher: ResultPublisher,
        settings: Settings,
        pass_through: PassThrough = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gate = gate
        self.publisher = publisher
        self.settings = settings
        self.max_attempts = settings.worker.max_retries + 1
        self.backoff_s = settings.worker.retry_backoff_s
        self.pass_through = pass_through
        self.sleep = sleep

    def run(self, deliveries: Sequence[Delivery]) -> int:
        """Grade and publish; returns how many messages are done (all of them, or raises)."""
        started = time.perf_counter()
        published = self.publisher.already_published([d.task_id for d in deliveries])
        fresh = [d for d, done in zip(deliveries, published, strict=True) if not done]
        if len(fresh) < len(deliveries):
            metrics.DUPLICATE_DELIVERIES.inc(len(deliveries) - len(fresh))
            logger.info(
                "skipped %d messages whose results were already published",
                len(deliveries) - len(fresh),
                extra={"duplicates": len(deliveries) - len(fresh)},
            )

        outgoing: list[Outgoing] = []
        pending: list[_Pending] = []
        for delivery in fresh:
            try:
                pending.append(self._prepare(delivery))
            except self.pass_through:
                self.publisher.publish(outgoing)
                raise
            except QualityGateError as error:
                outgoing.append(self._failure(delivery, error))
            except Exception as exc:  # a bug must cost one item, not the batch
                logger.exception("preparing task %s failed", delivery.task_id)
                outgoing.append(self._failure(delivery, QualityGateError(_first_line(exc))))

        to_score = self._answer_from_cache(pending, outgoing)
        scored: list[tuple[_Pending, Outgoing]] = []
        published_early: list[GradeResult] = []

        def publish_now(extra: Sequence[Outgoing] = ()) -> None:
            # Before an item that may kill this process is retried alone, what is finished
            # is published, so a crash cannot charge (and dead-letter) finished neighbours.
            ready = outgoing + [out for _, out in scored] + list(extra)
            flags = self.publisher.publish(ready)
            published_early.extend(out.result for out, n in zip(ready, flags, strict=True) if n)

        try:
            self._score(to_score, scored, publish_now)
        except self.pass_through:
            # Out of time: publish what is done; the task hands the batch back, and the
            # messages already answered are skipped when they come again.
            publish_now()
            raise
        outgoing.extend(out for _, out in scored)

        new = self.publisher.publish(outgoing)
        self.publisher.remember(
            [(p.cache_key, out.result) for p, out in scored if out.result.status == "graded"]
        )
        fresh_results = published_early + [
            out.result for out, is_new in zip(outgoing, new, strict=True) if is_new
        ]
        metrics.observe_results(fresh_results)
        elapsed = time.perf_counter() - started
        metrics.BATCH_SIZE.observe(len(deliveries))
        metrics.BATCH_SECONDS.observe(elapsed)
        errors = sum(1 for out in outgoing if out.result.status == "error")
        logger.info(
            "batch of %d graded in %.1f ms (%d errors, %d dead)",
            len(deliveries),
            elapsed * 1000,
            errors,
            sum(1 for out in outgoing if out.dead),
            extra={
                "batch_size": len(deliveries),
                "batch_ms": round(elapsed * 1000, 3),
                "published": len(fresh_results),
                "errors": errors,
                "task_ids": [d.task_id for d in deliveries],
            },
        )
        return len(deliveries)

    # -- steps ------------------------------------------------------------------------

    def _prepare(self, delivery: Delivery) -> _Pending:
        if delivery.problem is not None:
            raise InvalidItemError(delivery.problem)
        prepared = self.gate.prepare(delivery.payload)
        model = self.gate.scorer.info
        key = self.publisher.cache_key(
            [
                prepared.content_sha256,
                prepared.prompt,
                model.name,
                model.revision,
                self.settings.version,
                prepared.item.format,
                prepared.item.language,
            ]
        )
        return _Pending(delivery, prepared, key)

    def _answer_from_cache(
        self, pending: list[_Pending], outgoing: list[Outgoing]
    ) -> list[_Pending]:
        hits = self.publisher.cached([p.cache_key for p in pending])
        to_score = []
        for item, hit in zip(pending, hits, strict=True):
            if hit is None:
                to_score.append(item)
                continue
            result = hit.model_copy(
                update={
                    "id": item.prepared.item.id,
                    "metadata": item.prepared.item.metadata,
                    "task_id": item.delivery.task_id,
                    "cached": True,
                    "attempts": 1,
                    "timings_ms": item.prepared.timings_ms,
                }
            )
            outgoing.append(Outgoing(result, item.delivery.task_id))
        return to_score

    def _score(
        self,
        pending: list[_Pending],
        done: list[tuple[_Pending, Outgoing]],
        publish_now: Callable[[], None],
    ) -> None:
        """Score items never tried before together; items an earlier delivery crashed on,
        and items of a batch that crashed, alone, so one poison item cannot take its
        neighbours down. Appends to ``done`` as results come, so they survive a time limit,
        and publishes them before each risky try alone, so they survive a process crash.

        An attempt is counted just before the try that makes it, so items a crash never
        reached are not charged for it. After a batch try that raised, each of its items
        is tried alone at least once, even when that batch try used up its budget.
        """
        tried = self.publisher.attempts_so_far([p.delivery.task_id for p in pending])
        fresh = [p for p, count in zip(pending, tried, strict=True) if count == 0]
        alone = [p for p, count in zip(pending, tried, strict=True) if count > 0]
        charged: set[str] = set()
        batch_error: str | None = None
        if fresh:
            counts = self.publisher.count_attempts([p.delivery.task_id for p in fresh])
            for p, count in zip(fresh, counts, strict=True):
                p.attempts = count
            try:
                results = self._score_together(fresh)
            except self.pass_through:
                raise
            except Exception as exc:
                batch_error = _first_line(exc)
                logger.warning(
                    "scoring a batch of %d failed, retrying items alone: %s",
                    len(fresh),
                    batch_error,
                )
                self.sleep(self.backoff_s)
                alone = fresh + alone
                charged = {p.delivery.task_id for p in fresh}
            else:
                done.extend(
                    (p, Outgoing(result, p.delivery.task_id))
                    for p, result in zip(fresh, results, strict=True)
                )
        for p in alone:
            publish_now()
            # A batch try that used up an item's budget still leaves it one try alone.
            if p.delivery.task_id not in charged or p.attempts < self.max_attempts:
                p.attempts = self.publisher.count_attempts([p.delivery.task_id])[0]
            done.append((p, self._score_alone(p, batch_error)))
        if alone:
            publish_now()

    def _score_together(self, pending: list[_Pending]) -> list[GradeResult]:
        if not pending:
            return []
        started = time.perf_counter()
        rewards = self.gate.scorer.score([(p.prepared.prompt, p.prepared.text) for p in pending])
        if len(rewards) != len(pending):
            raise ScoringError(f"the scorer returned {len(rewards)} scores for {len(pending)}")
        per_item_ms = round((time.perf_counter() - started) * 1000 / len(pending), 3)
        results = []
        for p, reward in zip(pending, rewards, strict=True):
            p.prepared.timings_ms["score"] = per_item_ms
            result = self.gate.finish(p.prepared, float(reward))
            result.task_id = p.delivery.task_id
            result.attempts = p.attempts
            results.append(result)
        return results

    def _score_alone(self, p: _Pending, last_error: str | None = None) -> Outgoing:
        """Retry one item with exponential backoff until it scores or its attempts, counted
        across deliveries, run out; then it is an error result and goes to the dead stream."""
        last_error = last_error or "the worker process died while scoring it"
        while p.attempts <= self.max_attempts:
            try:
                return Outgoing(self._score_together([p])[0], p.delivery.task_id)
            except self.pass_through:
                raise
            except Exception as exc:
                last_error = _first_line(exc)
                logger.warning(
                    "scoring task %s failed (attempt %d of %d): %s",
                    p.delivery.task_id,
                    p.attempts,
                    self.max_attempts,
                    last_error,
                )
            if p.attempts >= self.max_attempts:
                break
            self.sleep(self.backoff_s * 2 ** (p.attempts - 1))
            p.attempts = self.publisher.count_attempts([p.delivery.task_id])[0]
        error = ScoringError(
            f"scoring failed {min(p.attempts, self.max_attempts)} times "
            f"(worker.max_retries={self.max_attempts - 1}); last: {last_error}"
        )
        result = self._failure(p.delivery, error).result
        result.attempts = min(p.attempts, self.max_attempts)
        logger.error(
            "task %s given up after %d attempts; copied to the dead stream",
            p.delivery.task_id,
            result.attempts,
            extra={"task_id": p.delivery.task_id, "item_id": result.id}
            | content_field(p.prepared.text, self.settings.worker),
        )
        return Outgoing(result, p.delivery.task_id, payload=p.delivery.payload, dead=True)

    def _failure(self, delivery: Delivery, error: QualityGateError) -> Outgoing:
        return failure_for(delivery, error, self.settings)


def failure_for(delivery: Delivery, error: QualityGateError, settings: Settings) -> Outgoing:
    """An error result for a message, under the best id it has, echoing sane metadata."""
    payload = delivery.payload
    result = GradeResult.failure(
        result_id_for(payload, delivery.task_id),
        error,
        settings.version,
        echoable_metadata(payload, settings.limits),
    )
    result.task_id = delivery.task_id
    return Outgoing(result, delivery.task_id)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
