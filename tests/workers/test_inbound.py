"""workers/inbound.py without Redis: which messages are buffered, which are refused and
why, and compressed bodies inflated no further than the largest legal message."""

from __future__ import annotations

import bz2
import json
import lzma
import zlib
from typing import Any

import pytest
from kombu import compression

from qualitygate.config import Settings
from qualitygate.schemas import max_message_bytes
from workers.inbound import (
    RefusedMessageError,
    cap_decompression,
    capped_inflater,
    message_problem,
)


class MessageDouble:
    """What the checks read of a kombu message: body, headers, the decoded payload."""

    def __init__(self, payload: Any, task_id: Any = "task-1") -> None:
        self.payload = payload
        self.body = json.dumps(payload, default=repr).encode()
        self.headers = {"task": "qualitygate.grade", "id": task_id}


def nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_a_task_message_passes(settings: Settings) -> None:
    item = {"id": "a", "text": "hi", "metadata": nested(32)}
    assert message_problem(MessageDouble([[item], {}, {}]), None, settings.limits) is None
    assert message_problem(MessageDouble([[], {"item": item}, {}]), None, settings.limits) is None


@pytest.mark.parametrize(
    ("payload", "task_id", "expected"),
    [
        ("[[{}], {}, {}]", "t", "not a Celery task message ([args, kwargs, embed])"),
        (b"raw", "t", "not a Celery task message"),
        (None, "t", "not a Celery task message"),
        ([[{}], [], {}], "t", "not a Celery task message"),
        ([[{}], {}, {}], 5, "its task id (headers.id) is not a string"),
        ([[{}], {}, {}], "x" * 257, "its task id (headers.id) is not a string"),
        ([[{"metadata": nested(33)}], {}, {}], "t", "metadata: nested deeper than 32 levels"),
        ([[], {"item": {"text": [nested(40)]}}, {}], "t", "text: nested deeper than 32"),
        ([[{}], {}, {"chain": nested(60)}], "t", "message: nested deeper than 32"),
    ],
)
def test_what_is_refused_and_why(
    settings: Settings, payload: Any, task_id: Any, expected: str
) -> None:
    message = MessageDouble(payload, task_id)
    refusal = message_problem(message, None, settings.limits)
    assert refusal is not None and expected in refusal.problem


class UndecodableMessage(MessageDouble):
    @property  # type: ignore[override]
    def payload(self) -> Any:
        pytest.fail("a body over the bound was decoded")

    @payload.setter
    def payload(self, value: Any) -> None:
        pass


def test_a_body_too_large_is_refused_before_decoding(settings: Settings) -> None:
    message = UndecodableMessage([[{}], {}, {}])
    message.body = b" " * (max_message_bytes(settings.limits) + 1)
    refusal = message_problem(message, None, settings.limits)
    assert refusal is not None and refusal.problem.startswith("message: ")
    assert "limits.max_text_chars" in refusal.problem


@pytest.mark.parametrize(
    ("make", "pack"),
    [
        (zlib.decompressobj, zlib.compress),
        (bz2.BZ2Decompressor, bz2.compress),
        (lzma.LZMADecompressor, lzma.compress),
    ],
)
def test_inflation_stops_at_the_cap(make: Any, pack: Any) -> None:
    inflate = capped_inflater(make, cap=1000)
    assert inflate(pack(b"a" * 1000)) == b"a" * 1000
    with pytest.raises(RefusedMessageError, match="inflates past 1000 bytes"):
        inflate(pack(b"\0" * 50_000_000))
    with pytest.raises(RefusedMessageError, match="truncated"):
        inflate(pack(b"a" * 500)[:-8])


def test_kombu_inflates_through_the_cap(settings: Settings) -> None:
    cap = cap_decompression(settings.limits)
    assert cap == max_message_bytes(settings.limits)
    with pytest.raises(RefusedMessageError):
        compression.decompress(zlib.compress(b"\0" * (cap + 1)), "application/x-gzip")
    assert compression.decompress(zlib.compress(b"ok"), "zlib") == b"ok"
