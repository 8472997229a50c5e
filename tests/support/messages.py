"""Messages a broken or hostile producer might put on the queue, sent with kombu."""

from __future__ import annotations

import base64
import json
import pickle
import uuid

import redis
from kombu import Connection

from qualitygate.protocol import TASK_NAME


def send_raw(url: str, queue: str, body: bytes, content_type: str, content_encoding: str) -> str:
    """A message with a Celery task's headers and whatever body and content type a broken
    or hostile producer chose, published with kombu. Returns its task id."""
    task_id = str(uuid.uuid4())
    with Connection(url) as connection:
        connection.Producer().publish(
            body,
            routing_key=queue,
            content_type=content_type,
            content_encoding=content_encoding,
            headers={"task": TASK_NAME, "id": task_id, "lang": "py"},
            declare=[],
        )
    return task_id


def send_not_json(settings_url: str, queue: str, body: bytes) -> str:
    """A message a broken producer might send: a Celery task header, a body that is not
    JSON. Returns its task id."""
    return send_raw(settings_url, queue, body, "application/json", "utf-8")


def send_pickle(url: str, queue: str, body: object) -> str:
    """A pickled task message, the way a producer with pickle enabled sends one."""
    return send_raw(url, queue, pickle.dumps(body), "application/x-python-serialize", "binary")


def push_envelope(
    url: str,
    queue: str,
    body: bytes,
    headers: dict[str, object],
    content_type: str | None,
    content_encoding: str | None,
) -> str:
    """LPUSH a kombu envelope as kombu's Redis transport stores it, with content type and
    encoding as given (None leaves the key out), which kombu's own Producer would not allow.
    Returns the envelope's delivery tag."""
    tag = str(uuid.uuid4())
    envelope: dict[str, object] = {
        "body": base64.b64encode(body).decode("ascii"),
        "headers": headers,
        "properties": {
            "body_encoding": "base64",
            "delivery_tag": tag,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
        },
    }
    if content_type is not None:
        envelope["content-type"] = content_type
    if content_encoding is not None:
        envelope["content-encoding"] = content_encoding
    client = redis.Redis.from_url(url)
    try:
        client.lpush(queue, json.dumps(envelope))
    finally:
        client.close()
    return tag
