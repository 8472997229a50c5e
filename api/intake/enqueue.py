"""Enqueue one mapped item the way ``POST /v1/items`` does: idempotent, with its origin.

One call to the client's idempotent submit (``QualityGateClient.submit_once``): in one Lua
script it records ``Keys.origin(id) = "source:NAME"`` (for the callback deliverer), looks up
``Keys.submission(id, hash)`` (a CMS that sends the same content again within
``worker.cache_ttl_s`` gets the same task back, not a second grade) and writes the
in-flight record before the message is sent. The client serialises its kombu producer, so
requests in the server's thread pool may call it at once.
"""

from __future__ import annotations

from qualitygate.client import QualityGateClient
from qualitygate.schemas import ContentItem


def enqueue(client: QualityGateClient, item: ContentItem, origin: str) -> tuple[str, bool]:
    """``(task_id, new)``: the task grading ``item``, and False when it was already sent
    inside the idempotency window. Raises redis errors when Redis is unreachable."""
    [done] = client.submit_once([item], origin=origin)
    return done.task_id, done.sent
