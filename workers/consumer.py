"""The worker's message consumer: Celery's, plus an error result for unreadable messages.

Celery acknowledges a message it cannot decode (not JSON) and rejects one whose content
type is refused (pickle), whose task name is unknown or that has no task header: each
would vanish without a trace for the CMS. This consumer publishes an error result for them
first (``workers.unreadable``), and reports a compressed body refused while kombu inflated
it (``workers.inbound``) in its own words.
Celery's own log lines for these dump the message body, which may be content, so they
are replaced by lines that do not unless ``worker.log_content`` asks for it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from celery.worker.consumer import Consumer

from workers.inbound import RefusedMessageError
from workers.unreadable import answer

logger = logging.getLogger("qualitygate.worker")


class QualityGateConsumer(Consumer):
    def on_decode_error(self, message: Any, exc: Exception) -> None:
        if isinstance(exc, RefusedMessageError):
            answer(message, str(exc))
        else:
            answer(message, f"message: the body is not valid {message.content_type} ({exc})")
        message.ack()

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        answer(message, f"message: refused ({type(exc).__name__}: {exc})")
        message.reject_log_error(logger, self.connection_errors)
        signals.task_rejected.send(sender=self, message=message, exc=exc)

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        # The queue is qualitygate's alone: a task of another name is a misrouted producer.
        headers = message.headers if isinstance(message.headers, dict) else {}
        answer(message, f"message: unknown task {str(headers.get('task'))[:100]!r}")
        message.reject_log_error(logger, self.connection_errors)
        signals.task_rejected.send(sender=self, message=message, exc=exc)

    def on_unknown_message(self, body: Any, message: Any) -> None:
        answer(message, "message: not a Celery task message (no task header)")
        message.reject_log_error(logger, self.connection_errors)
        signals.task_rejected.send(sender=self, message=message, exc=None)
