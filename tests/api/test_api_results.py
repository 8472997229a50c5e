"""Results over HTTP: one item's latest result (202 pending, 200, 404), and the results
stream read and acknowledged with a consumer group, reclaiming a dead consumer's entries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qualitygate.client import QualityGateClient
from qualitygate.schemas import GradeResult
from tests.support.api import api_settings, bearer
from workers.publish import Outgoing, ResultPublisher

READ = bearer("reader")


@pytest.fixture
def client(api_run: str) -> Iterator[QualityGateClient]:
    settings = api_settings(api_run, max_count=50, max_block_ms=500)
    streams = settings.streams.model_copy(update={"reclaim_idle_ms": 200})
    with QualityGateClient(settings=settings.model_copy(update={"streams": streams})) as client:
        yield client


@pytest.fixture
def http(client: QualityGateClient) -> Iterator[TestClient]:
    with TestClient(create_app(client.settings, client)) as http:
        yield http


def publish(client: QualityGateClient, item_id: str, task_id: str) -> None:
    result = GradeResult(
        id=item_id, status="graded", task_id=task_id, config_version=client.settings.version
    )
    ResultPublisher(client.redis, client.settings).publish([Outgoing(result, task_id)])


def test_pending_then_graded_then_unknown(http: TestClient, client: QualityGateClient) -> None:
    (done,) = client.submit_once([{"id": "p1", "text": "Some text to grade."}])
    pending = http.get("/v1/results/p1", headers=READ)
    assert pending.status_code == 202
    assert pending.json() == {"status": "pending", "task_id": done.task_id}
    publish(client, "p1", done.task_id)
    graded = http.get("/v1/results/p1", headers=READ)
    assert graded.status_code == 200
    assert graded.json()["id"] == "p1" and graded.json()["status"] == "graded"
    assert http.get("/v1/results/never-sent", headers=READ).status_code == 404
    metrics = http.get("/metrics").text  # by route template: no item id in a label
    assert 'route="/v1/results/{item_id:path}",status="404"' in metrics
    assert "never-sent" not in metrics and "p1" not in metrics


def test_ids_with_slashes_and_spaces_are_reachable(
    http: TestClient, client: QualityGateClient
) -> None:
    (done,) = client.submit_once([{"id": "post/7 draft", "text": "Text."}])
    assert http.get("/v1/results/post%2F7%20draft", headers=READ).status_code == 202
    assert http.get("/v1/results/post/7 draft", headers=READ).json()["task_id"] == done.task_id


def test_a_resubmitted_item_is_pending_again_even_with_an_older_result(
    http: TestClient, client: QualityGateClient
) -> None:
    (first,) = client.submit_once([{"id": "e1", "text": "First version."}])
    publish(client, "e1", first.task_id)
    assert http.get("/v1/results/e1", headers=READ).status_code == 200
    client.submit_once([{"id": "e1", "text": "Edited version."}])
    assert http.get("/v1/results/e1", headers=READ).status_code == 202


def test_stream_read_ack_and_reclaim(http: TestClient, client: QualityGateClient) -> None:
    for n in range(5):
        publish(client, f"s{n}", f"task-s{n}")
    query = {"group": "cms", "consumer": "web-1", "count": 3}
    first = http.get("/v1/results", params=query, headers=READ).json()["entries"]
    assert [e["result"]["id"] for e in first] == ["s0", "s1", "s2"]
    rest = http.get("/v1/results", params=query, headers=READ).json()["entries"]
    assert [e["result"]["id"] for e in rest] == ["s3", "s4"]
    ack = {"group": "cms", "entry_ids": [e["entry_id"] for e in rest]}
    assert http.post("/v1/results/ack", json=ack, headers=READ).json() == {"acked": 2}
    assert http.post("/v1/results/ack", json=ack, headers=READ).json() == {"acked": 0}

    time.sleep(0.3)  # web-1 stops: its three unacknowledged entries pass reclaim_idle_ms
    other = {"group": "cms", "consumer": "web-2", "count": 10}
    reclaimed = http.get("/v1/results", params=other, headers=READ).json()["entries"]
    assert sorted(e["result"]["id"] for e in reclaimed) == ["s0", "s1", "s2"]


def test_count_and_block_ms_are_bounded(http: TestClient) -> None:
    base = {"group": "cms", "consumer": "c"}
    for bad in ({"count": 51}, {"count": 0}, {"block_ms": 501}, {"block_ms": -1}):
        response = http.get("/v1/results", params=base | bad, headers=READ)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", next(iter(bad))]
    waited = http.get("/v1/results", params=base | {"block_ms": 100}, headers=READ)
    assert waited.status_code == 200 and waited.json() == {"entries": []}


@pytest.mark.parametrize(
    "body",
    [
        {"group": "cms", "entry_ids": ["not-an-id"]},
        {"group": "cms", "entry_ids": []},
        {"group": "", "entry_ids": ["1-0"]},
        {"group": "cms", "entry_ids": ["1-0"], "extra": True},
    ],
)
def test_bad_acks_are_422(http: TestClient, body: dict) -> None:
    assert http.post("/v1/results/ack", json=body, headers=READ).status_code == 422


def test_reading_needs_the_read_scope(http: TestClient) -> None:
    query = {"group": "cms", "consumer": "c"}
    assert http.get("/v1/results", params=query).status_code == 401
    assert http.get("/v1/results/x", headers={"Authorization": "Bearer no"}).status_code == 401


def test_too_many_acks_at_once_are_422(http: TestClient) -> None:
    body = {"group": "cms", "entry_ids": [f"{n}-0" for n in range(51)]}
    response = http.post("/v1/results/ack", json=body, headers=READ)
    assert response.status_code == 422 and "api.max_count" in response.json()["detail"]


def test_reverting_an_edit_is_graded_again(http: TestClient, client: QualityGateClient) -> None:
    """Regression: A, then B, then A again within worker.cache_ttl_s answered A's old task
    and sent nothing, so GET showed B's grade for A's content."""
    spam, clean = {"id": "r1", "text": "BUY CHEAP PILLS NOW"}, {"id": "r1", "text": "Fine."}
    (a,) = client.submit_once([spam])
    publish(client, "r1", a.task_id)
    (b,) = client.submit_once([clean])
    publish(client, "r1", b.task_id)
    (again,) = client.submit_once([spam])
    assert again.sent and again.task_id not in (a.task_id, b.task_id)
    pending = http.get("/v1/results/r1", headers=READ)
    assert pending.status_code == 202 and pending.json()["task_id"] == again.task_id


def test_a_result_published_late_does_not_replace_the_latest(
    http: TestClient, client: QualityGateClient
) -> None:
    """Regression: v2's result published before v1's; v1's used to become the latest."""
    (v1,) = client.submit_once([{"id": "o1", "text": "Version one."}])
    (v2,) = client.submit_once([{"id": "o1", "text": "Version two."}])
    publish(client, "o1", v2.task_id)
    publish(client, "o1", v1.task_id)
    assert http.get("/v1/results/o1", headers=READ).json()["task_id"] == v2.task_id
    entries = http.get("/v1/results?group=cms&consumer=c1", headers=READ).json()["entries"]
    assert [e["result"]["task_id"] for e in entries] == [v2.task_id, v1.task_id]
