"""Error results for messages that never reach the pool: not JSON, refused, not a task
message, too large, nested too deep. Runs in the worker's main process.

Owns which id such a result goes under (the task id from the headers; without one, the
correlation id; without either, kombu's delivery tag, and then the message is also
copied to the dead stream so an operator can see what arrived) and the log line, which
never carries the body unless ``worker.log_content`` asks for it.
"""

from __future__ import annotations

import logging
from typing import Any

from qualitygate.protocol import usable_id
from workers.delivery import Delivery
from workers.runtime import runtime

logger = logging.getLogger("qualitygate.worker")

_KEPT_BODY_BYTES = 65536


def message_ids(message: Any) -> tuple[str | None, bool]:
    """The id to answer under, and whether it is the message's own task id."""
    headers = message.headers if isinstance(message.headers, dict) else {}
    properties = message.properties if isinstance(message.properties, dict) else {}
    task_id = usable_id(headers.get("id"))
    if task_id is not None:
        return task_id, True
    return usable_id(properties.get("correlation_id") or properties.get("delivery_tag")), False


def dead_copy(message: Any) -> dict[str, Any]:
    """What the dead stream keeps of a message that has no task id: enough to find its
    producer, and the start of its body."""
    body = message.body or b""
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8", "replace")
    headers = message.headers if isinstance(message.headers, dict) else {}
    return {
        "content_type": str(message.content_type),
        "content_encoding": str(message.content_encoding),
        "headers": {str(k)[:100]: str(v)[:200] for k, v in list(headers.items())[:50]},
        "body_bytes": len(raw),
        "body": raw[:_KEPT_BODY_BYTES].decode("utf-8", "replace"),
    }


def answer(message: Any, problem: str, item: Any = None) -> None:
    """Publish an error result for ``message`` (echoing the id and sane metadata of the
    ``item`` it carries, when known); the caller acknowledges it."""
    task_id, own = message_ids(message)
    settings = runtime().settings.worker
    body = {"body": repr((message.body or b"")[:2000])} if settings.log_content else {}
    logger.error(
        "unreadable message %s (%s bytes): %s",
        task_id,
        len(message.body or b""),
        problem,
        extra={"task_id": task_id} | body,
    )
    if task_id is None:
        logger.error("it has no task id or delivery tag, so no error result can be published")
        return
    kept = item if own else dead_copy(message)
    try:
        runtime().publish_undeliverable([Delivery(task_id, kept, problem=problem)], dead=not own)
    except Exception:
        logger.exception("could not publish the error result for message %s", task_id)
