"""``ResultPublisher.publish``: which result becomes an item's latest when results finish
out of order, and that a superseded one still reaches the stream, marked as such."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qualitygate.client import QualityGateClient
from qualitygate.schemas import GradeResult
from tests.support.api import api_settings
from workers.publish import Outgoing, ResultPublisher


@pytest.fixture
def client(api_run: str) -> Iterator[QualityGateClient]:
    with QualityGateClient(settings=api_settings(api_run)) as client:
        yield client


def publish(client: QualityGateClient, item_id: str, task_id: str) -> bool:
    result = GradeResult(
        id=item_id, status="graded", task_id=task_id, config_version=client.settings.version
    )
    (new,) = ResultPublisher(client.redis, client.settings).publish([Outgoing(result, task_id)])
    return new


def stream_fields(client: QualityGateClient) -> list[dict[str, str]]:
    return [fields for _id, fields in client.redis.xrange(client.stream)]


def test_only_the_latest_submission_sets_the_result(client: QualityGateClient) -> None:
    (v1,) = client.submit_once([{"id": "a", "text": "one"}])
    (v2,) = client.submit_once([{"id": "a", "text": "two"}])
    assert publish(client, "a", v2.task_id) and publish(client, "a", v1.task_id)
    latest = client.get("a")
    assert latest is not None and latest.task_id == v2.task_id
    fields = stream_fields(client)
    assert [f["task_id"] for f in fields] == [v2.task_id, v1.task_id]
    assert [f.get("superseded") for f in fields] == [None, "1"]
    assert client.redis.hlen(client.keys.in_flight_payloads) == 0  # both cleared


def test_without_a_latest_task_any_result_is_the_latest(client: QualityGateClient) -> None:
    assert publish(client, "b", "task-from-elsewhere")
    latest = client.get("b")
    assert latest is not None and latest.task_id == "task-from-elsewhere"


def test_plain_submit_makes_its_task_the_latest(client: QualityGateClient) -> None:
    """An id sent with ``submit_once`` and then with ``submit``: the second is the latest,
    and a repeat of the first content is a new submission again."""
    item = {"id": "c", "text": "first"}
    (first,) = client.submit_once([item])
    (second,) = client.submit([{"id": "c", "text": "second"}])
    publish(client, "c", second)
    publish(client, "c", first.task_id)
    latest = client.get("c")
    assert latest is not None and latest.task_id == second
    (again,) = client.submit_once([item])
    assert again.sent and again.task_id != first.task_id
