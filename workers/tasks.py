"""The batch task: celery-batches buffering, with acknowledgement only after publishing.

celery-batches buffers messages in the worker's main process and flushes them to a pool
process as one call, at ``flush_every`` messages or ``flush_interval`` seconds. Its own
``flush`` acknowledges late messages when the pool call *returns*, even if the task raised
(its tracer swallows the exception) and not at all when the pool process dies. This
subclass acknowledges only when every result of the batch is published, and hands the
messages back to the queue when the batch fails (after ``worker.retry_backoff_s``) or its
process dies (at once), so the attempt counters in Redis, not the visibility timeout,
decide what happens next. Left unacknowledged instead, they would also keep counting
against this worker's prefetch limit until it restarts.

Names: ``AckAfterPublishBatches`` is that task class (main process: buffering, handing
over, acks); ``grade_flushed_requests`` is the task body (pool process: requests to
deliveries, then the runtime's grader: ``workers.staged.StagedGrader`` over
``workers.batch.DeliveryGrader``, or the latter alone). It must not grade or publish results
itself, except the error results of messages that never reach the pool.

Two places here run in the main process outside any task, where an exception stops the
worker or, from the flush timer, strands the batch: the message strategy, which is
guarded by ``workers.inbound`` (a message it cannot buffer is answered and acknowledged),
and ``flush``, which never raises (a batch it cannot hand to the pool is answered or
handed back, message by message).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Collection
from typing import Any

from celery import Celery
from celery.exceptions import InvalidTaskError, SoftTimeLimitExceeded
from celery.worker.request import Request
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from kombu.exceptions import ContentDisallowed, DecodeError

from qualitygate.config import Limits, Settings
from qualitygate.protocol import TASK_NAME
from workers.delivery import Delivery, delivery_from
from workers.inbound import Refusal, message_problem
from workers.runtime import runtime
from workers.unreadable import answer

logger = logging.getLogger("qualitygate.worker")

# What Celery's consumer catches around a strategy and reports itself (with an error
# result, through workers.consumer): let these through.
CONSUMER_REPORTS = (InvalidTaskError, ContentDisallowed, DecodeError)


class AckAfterPublishBatches(Batches):
    """celery-batches' task class, acknowledging a batch only once its results are
    published; see the module docstring."""

    acks_late = True
    ignore_result = True
    typing = False
    #: Seconds before a batch whose task failed goes back to the queue (set from config).
    requeue_delay_s = 1.0

    def Strategy(self, task: Any, app: Celery, consumer: Any) -> Any:
        self._timer = consumer.timer
        return guard_strategy(super().Strategy(task, app, consumer), runtime().settings.limits)

    def flush(self, requests: Collection[Request]) -> Any:
        """Hand the batch to the pool. Never raises: it runs from the flush timer, whose
        errors are swallowed (the batch would be held forever), and from the strategy on a
        full batch, where an error is unrecoverable (the worker would exit)."""
        try:
            ready = self._readable(requests)
            if not ready:
                return None
            return self._hand_over(ready)
        except Exception:
            logger.exception("handing a batch of %d to the pool failed", len(requests))
            held = [r for r in requests if not r.acknowledged]
            self._timer.call_after(self.requeue_delay_s, _requeue, (held, "hand-over failed"))
            return None

    def _readable(self, requests: Collection[Request]) -> list[tuple[Request, SimpleRequest]]:
        """The requests that make a batch; the others are answered (or handed back)."""
        ready: list[tuple[Request, SimpleRequest]] = []
        unreadable: list[tuple[Request, Delivery]] = []
        for request in requests:
            try:
                ready.append((request, SimpleRequest.from_request(request)))
            except Exception as exc:  # a body that is JSON but not a task message
                problem = f"message: not a Celery task message ({type(exc).__name__}: {exc})"
                unreadable.append((request, Delivery(request.id, None, problem=problem)))
        _answer_requests(unreadable)
        return ready

    def _hand_over(self, ready: list[tuple[Request, SimpleRequest]]) -> Any:
        try:
            return self._apply(ready)
        except Exception as exc:
            # Pickling a request for the pool process failed (or the pool refused it):
            # answer the requests that cannot be pickled, and try once more without them.
            logger.error("handing a batch of %d to the pool failed: %r", len(ready), exc)
            problem = f"message: cannot be handed to a pool process ({type(exc).__name__})"
            unpicklable = [(r, s) for r, s in ready if not _picklable(s)]
            _answer_requests([(r, Delivery(r.id, None, problem=problem)) for r, _ in unpicklable])
            rest = [(r, s) for r, s in ready if _picklable(s)]
            return self._apply(rest) if rest else None

    def _apply(self, ready: list[tuple[Request, SimpleRequest]]) -> Any:
        held = [request for request, _ in ready]

        def on_return(done: Any) -> None:
            if done == len(held):
                for request in held:
                    request.acknowledge()
                    request.send_event("task-succeeded", result=None, runtime=0)
            else:
                # Redis unreachable, the model not loading, the soft time limit: hand the
                # batch back after a pause, so a persistent failure is not a hot loop.
                logger.error(
                    "a batch of %d failed; handing it back to the queue in %.1f s",
                    len(held),
                    self.requeue_delay_s,
                )
                self._timer.call_after(self.requeue_delay_s, _requeue, (held, "the batch failed"))

        def on_error(exc: Any) -> None:
            logger.error("the process grading a batch of %d was lost: %r", len(held), exc)
            _requeue(held, repr(exc))

        result = self._pool.apply_async(
            apply_batches_task,
            (self, ([simple for _, simple in ready],), 0, None),
            callback=on_return,
            error_callback=on_error,
        )
        for request in held:
            request.send_event("task-started")
        return result


def guard_strategy(handler: Callable[..., None], limits: Limits) -> Callable[..., None]:
    """celery-batches' message handler, behind the checks of ``workers.inbound``.

    Its handler assumes a decoded task body: a message kombu passed through raw (empty,
    absent, ``application/data`` or ``application/text`` content type; ``binary``
    encoding), an empty body or JSON of another shape makes it raise outside any task,
    which Celery treats as unrecoverable (the worker exits, and the message, restored,
    kills the next one). Such a message, or one too large or nested too deep for a pool
    process, is answered with an error result and acknowledged instead.
    """

    def guarded(message: Any, body: Any, ack: Any, reject: Any, callbacks: Any, **kw: Any):
        refusal = message_problem(message, body, limits)
        if refusal is None:
            try:
                return handler(message, body, ack, reject, callbacks, **kw)
            except CONSUMER_REPORTS:
                raise
            except Exception as exc:
                refusal = Refusal(f"message: not a Celery task message ({type(exc).__name__})")
        answer(message, refusal.problem, refusal.item)
        message.ack()
        return None

    return guarded


def _answer_requests(unreadable: list[tuple[Request, Delivery]]) -> None:
    if not unreadable:
        return
    for _, delivery in unreadable:
        logger.error("unreadable message %s: %s", delivery.task_id, delivery.problem)
    try:
        runtime().publish_undeliverable([d for _, d in unreadable])
    except Exception:
        # Redis is away: hand them back for later, and still grade the rest.
        logger.exception("could not publish %d error results", len(unreadable))
        _requeue([request for request, _ in unreadable], "publishing failed")
    else:
        for request, _ in unreadable:
            request.acknowledge()


def _picklable(simple: SimpleRequest) -> bool:
    try:
        pickle.dumps(simple, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def _requeue(requests: list[Request], reason: str) -> None:
    for request in requests:
        request.send_event("task-failed", exception=reason, traceback="")
        request.reject(requeue=True)


def register_tasks(app: Celery, settings: Settings) -> None:
    """The batch task, sized from config: full batch or flush interval, whichever first."""
    app.task(
        base=AckAfterPublishBatches,
        name=TASK_NAME,
        bind=False,
        flush_every=settings.worker.batch_size,
        flush_interval=settings.worker.flush_ms / 1000,
        requeue_delay_s=settings.worker.retry_backoff_s,
    )(grade_flushed_requests)


def grade_flushed_requests(requests: list[SimpleRequest]) -> int:
    """The task body, in the pool process: grade and publish; returns the messages done."""
    deliveries = [delivery_from(r.id, r.args, r.kwargs) for r in requests]
    grader = runtime().delivery_grader(pass_through=(SoftTimeLimitExceeded,))
    return grader.run(deliveries)
