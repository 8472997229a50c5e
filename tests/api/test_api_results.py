"""Results over HTTP: one item's latest result (202 pending, 200, 404), and the results
stream read and acknowledged with a consumer group, reclaiming a dead consumer's entries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.results import BlockingReads
from qualitygate.client import QualityGateClient
from qualitygate.schemas import GradeResult
from tests.support.api import api_settings, bearer
from tests.support.workers import wait_for
from workers.publish import Outgoing, ResultPublisher

READ = bearer("reader")
CMS = bearer("cms")


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


def test_the_deliverer_group_is_refused_on_both_routes(
    http: TestClient, client: QualityGateClient
) -> None:
    """Regression: any read key could read and ack the deliverer's group, so those results'
    callbacks were never sent."""
    group = client.settings.delivery.group
    client.ensure_group(group)
    (done,) = client.submit_once([{"id": "p9", "text": "Text."}], origin="key:cms")
    publish(client, "p9", done.task_id)
    read = http.get(f"/v1/results?group={group}&consumer=other", headers=READ)
    assert read.status_code == 422
    assert read.json()["detail"].startswith(f"group: {group!r} is the callback deliverer's")
    assert "delivery.group" in read.json()["detail"]
    ack = http.post("/v1/results/ack", json={"group": group, "entry_ids": ["1-0"]}, headers=READ)
    assert ack.status_code == 422 and "delivery.group" in ack.json()["detail"]
    [(_, entries)] = client.redis.xreadgroup(group, "deliverer", {client.stream: ">"}, count=10)
    assert [json.loads(fields["result"])["id"] for _, fields in entries] == ["p9"]


def test_blocking_reads_over_the_cap_do_not_wait() -> None:
    reads = BlockingReads(2)
    with reads.wait(500) as first, reads.wait(500) as second, reads.wait(500) as third:
        assert (first, second, third) == (500, 500, 0)
    with reads.wait(0) as none, reads.wait(500) as again:
        assert (none, again) == (0, 500)  # block_ms=0 takes no slot; released slots return


def test_with_the_cap_reached_reads_submit_and_healthz_still_answer(api_run: str) -> None:
    """Regression: long polls held every worker thread, stalling submit and /healthz. With
    the cap of blocking reads taken (both long polls hold their slots), a third read, a
    submit and /healthz answer while the long polls still wait."""
    settings = api_settings(api_run, max_blocking_reads=2, max_block_ms=600000)
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        app = create_app(settings, client)
        with TestClient(app) as http:
            url = "/v1/results?group=cms&consumer={}&block_ms=600000"
            got: list[list[str]] = []

            def poll(name: str) -> None:
                entries = http.get(url.format(name), headers=READ).json()["entries"]
                got.append([entry["result"]["id"] for entry in entries])

            polls = [threading.Thread(target=poll, args=(f"long-{n}",)) for n in range(2)]
            for thread in polls:
                thread.start()
            wait_for(lambda: app.state.blocking_reads.in_use == 2, 30, "two waiting long polls")
            over = http.get(url.format("third"), headers=READ)
            submitted = http.post("/v1/items", json={"id": "q1", "text": "Hi."}, headers=CMS)
            health = http.get("/healthz")
            still_waiting = [thread.is_alive() for thread in polls]
            publish(client, "r1", "t1")
            wait_for(lambda: got, 30, "one long poll answered")
            publish(client, "r2", "t2")
            for thread in polls:
                thread.join(timeout=60)
    assert (over.status_code, over.json()) == (200, {"entries": []})
    assert submitted.status_code == 202 and health.json() == {"status": "ok"}
    assert still_waiting == [True, True]
    assert sorted(got) == [["r1"], ["r2"]]


def test_a_read_may_wait_longer_than_the_socket_timeout(api_run: str) -> None:
    """Regression: redis-py 8 gives connections a 5 s socket timeout, so one XREADGROUP
    BLOCK of api.max_block_ms (10 s) ended in TimeoutError: 503 for an empty long poll.
    The client now waits in slices."""
    settings = api_settings(api_run)
    with (
        QualityGateClient(settings=settings) as client,
        TestClient(create_app(settings, client)) as http,
    ):
        empty = http.get("/v1/results?group=cms&consumer=c&block_ms=6000", headers=READ)
    assert (empty.status_code, empty.json()) == (200, {"entries": []})
