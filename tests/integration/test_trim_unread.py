"""No silent loss past ``streams.maxlen``, on the real Redis: the issue's scenario of 3,100
results produced with 1,000 kept, while the CMS had read 100 without acknowledging them."""

from __future__ import annotations

import logging

import pytest
import redis
from prometheus_client import REGISTRY

from qualitygate.client import QualityGateClient
from qualitygate.schemas import GradeResult
from tests.support.workers import QueueNamespace
from workers.publish import Outgoing, ResultPublisher

pytestmark = pytest.mark.integration


def trimmed_metric(group: str) -> float:
    value = REGISTRY.get_sample_value("qualitygate_results_trimmed_unread_total", {"group": group})
    return value or 0.0


def outgoing(settings, start: int, count: int) -> list[Outgoing]:
    return [
        Outgoing(
            GradeResult(id=f"r{i}", status="graded", config_version=settings.version),
            task_id=f"task-{i}",
        )
        for i in range(start, start + count)
    ]


def test_results_trimmed_before_a_group_read_them_are_reported(
    namespace: QueueNamespace, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    settings = namespace.settings(
        QG_STREAMS__MAXLEN="1000", QG_STREAMS__PAUSE_HEADROOM="100", QG_STREAMS__ON_FULL="continue"
    )
    publisher = ResultPublisher.from_settings(settings)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    client.ensure_group("audit")  # reads everything in time: misses nothing
    before = trimmed_metric("cms")

    publisher.publish(outgoing(settings, 0, 100))
    read_unacked = client.results("cms", "web-1", count=100, block_ms=None)
    assert len(read_unacked) == 100  # read, never acknowledged: the CMS died
    audit_seen = client.results("audit", "a", count=100, block_ms=None)
    client.ack([e.entry_id for e in audit_seen], group="audit")
    with caplog.at_level(logging.WARNING, logger="qualitygate.worker"):
        for start in range(100, 3100, 500):
            publisher.publish(outgoing(settings, start, 500))
            seen = client.results("audit", "a", count=500, block_ms=None)
            client.ack([e.entry_id for e in seen], group="audit")

    assert redis_client.xlen(settings.streams.results) == 1000
    readable = client.results("cms", "web-2", count=5000, block_ms=None)
    missed = client.missed("cms", count=5000)
    # Before: 1,000 readable, 2,100 gone with no log, metric or error. Now every one of the
    # 3,100 is readable or reported missed, exactly once, and each missed one is fetchable.
    assert len(readable) == 1000
    assert len(missed) == 2100
    assert {e.result.id for e in readable} | {m.item_id for m in missed} == {
        f"r{i}" for i in range(3100)
    }
    assert {m.item_id for m in missed} >= {e.result.id for e in read_unacked}
    assert all(client.get(m.item_id) is not None for m in missed[:50])
    assert trimmed_metric("cms") - before == 2100
    assert client.missed("audit") == []
    assert trimmed_metric("audit") == 0
    assert any("trimmed" in r.getMessage() and "'cms'" in r.getMessage() for r in caplog.records)
    assert all("'audit'" not in r.getMessage() for r in caplog.records)

    # Paging and forgetting: the CMS works through the record and clears it.
    first = client.missed("cms", count=1000)
    rest = client.missed("cms", count=5000, after=first[-1].record_id)
    assert [m.item_id for m in first + rest] == [m.item_id for m in missed]
    assert client.forget_missed("cms", [m.record_id for m in missed]) == 2100
    assert client.missed("cms") == []
