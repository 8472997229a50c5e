"""Messages a broken or hostile producer might put on the queue, sent with kombu."""

from __future__ import annotations

import uuid

from kombu import Connection

from qualitygate.client import TASK_NAME


def send_not_json(settings_url: str, queue: str, body: bytes) -> str:
    """A message a broken producer might send: a Celery task header, a body that is not
    JSON. Returns its task id."""
    task_id = str(uuid.uuid4())
    with Connection(settings_url) as connection:
        connection.Producer().publish(
            body,
            routing_key=queue,
            content_type="application/json",
            content_encoding="utf-8",
            headers={"task": TASK_NAME, "id": task_id, "lang": "py"},
            declare=[],
        )
    return task_id
