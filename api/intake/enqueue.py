"""Enqueue one mapped item the way ``POST /v1/items`` does: idempotent, with its origin.

The one function the lead repoints to the client's idempotent submit when the HTTP API's
own lands (the core branch). Until then it does the same thing here: the origin record
``Keys.origin(id) = "source:NAME"`` is written first (so the callback deliverer can route
a result that comes back fast), then the item goes through ``QualityGateClient.submit`` (the
in-flight record and every queue guarantee with it), and ``Keys.submission(id, hash)``
remembers the task id for ``worker.cache_ttl_s``: a CMS that sends the same content again
inside that window gets the same task back, not a second grade. Two identical deliveries
racing each other may both be sent; each still gets exactly one result.

Requests are handled in the server's thread pool, and the client's kombu connection is not
thread-safe: sending is serialised by a lock (one publish is well under a millisecond of
the request's time).
"""

from __future__ import annotations

import hashlib
import json
import threading

from qualitygate.client import QualityGateClient
from qualitygate.schemas import ContentItem

_SENDING = threading.Lock()


def submission_sha256(item: ContentItem) -> str:
    """A hash of everything submitted for the item: a changed title or metadata is a new
    revision, worth a new grade."""
    canonical = json.dumps(item.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def enqueue(client: QualityGateClient, item: ContentItem, origin: str) -> tuple[str, bool]:
    """``(task_id, new)``: the task grading ``item``, and False when it was already sent
    inside the idempotency window. Raises redis errors when Redis is unreachable."""
    settings, keys, connection = client.settings, client.keys, client.redis
    connection.set(keys.origin(item.id), origin, ex=settings.streams.result_ttl_s)
    window = settings.worker.cache_ttl_s
    submission = keys.submission(item.id, submission_sha256(item))
    if window:
        existing = connection.get(submission)
        if existing:
            return str(existing), False
    with _SENDING:
        [task_id] = client.submit([item])
    if window:
        connection.set(submission, task_id, ex=window, nx=True)
    return task_id, True
