"""Giving up on an item whose scoring keeps failing: an error result, and a copy of its
payload for the dead stream.

Owns the error a given-up item is published with and the log line that says so. Redis has
no dead-letter queue: the state's commit copies results marked ``dead`` to the dead
stream. It must not decide when to give up (``workers.retries`` does) or write anything.
"""

from __future__ import annotations

import logging

from qualitygate.config import Settings
from qualitygate.errors import ScoringError
from workers.delivery import Pending, failure_for
from workers.logs import content_field
from workers.publish import Outgoing

logger = logging.getLogger("qualitygate.worker")

#: The last error of an item no try in this process saw fail: an earlier one died.
DIED = "the worker process died while scoring it"


def dead_letter(
    pending: Pending, max_attempts: int, last_error: str | None, settings: Settings
) -> Outgoing:
    """The error result of an item given up after ``max_attempts``, bound for the dead
    stream with its payload, so an operator can inspect what kept failing."""
    attempts = min(pending.attempts, max_attempts)
    error = ScoringError(
        f"scoring failed {attempts} times "
        f"(worker.max_retries={max_attempts - 1}); last: {last_error or DIED}"
    )
    outgoing = failure_for(pending.delivery, error, settings)
    outgoing.result.attempts = attempts
    logger.error(
        "task %s given up after %d attempts; copied to the dead stream",
        pending.task_id,
        attempts,
        extra={"task_id": pending.task_id, "item_id": outgoing.result.id}
        | content_field(pending.prepared.text, settings.worker),
    )
    return Outgoing(outgoing.result, pending.task_id, payload=pending.delivery.payload, dead=True)
