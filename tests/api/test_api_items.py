"""``POST /v1/items``: shapes accepted, errors naming index, field and reason, body limits
checked while reading, and idempotent retries (one task, one message)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qualitygate.client import QualityGateClient
from tests.support.api import api_settings, bearer

AUTH = bearer("cms")


def item(n: int, text: str = "A post about gardening, long enough to read.") -> dict:
    return {"id": f"item-{n}", "text": text}


@pytest.fixture
def client(api_run: str) -> Iterator[QualityGateClient]:
    with QualityGateClient(settings=api_settings(api_run, max_body_bytes=4096)) as client:
        yield client


@pytest.fixture
def http(client: QualityGateClient) -> Iterator[TestClient]:
    with TestClient(create_app(client.settings, client)) as http:
        yield http


def queued(client: QualityGateClient) -> int:
    return int(client.redis.llen(client.settings.worker.queue))


def test_one_item_or_a_list(http: TestClient, client: QualityGateClient) -> None:
    one = http.post("/v1/items", json=item(1), headers=AUTH)
    assert one.status_code == 202
    assert one.json()["ids"] == ["item-1"] and len(one.json()["task_ids"]) == 1
    many = http.post("/v1/items", json={"items": [item(2), item(3)]}, headers=AUTH)
    assert many.status_code == 202
    assert many.json()["ids"] == ["item-2", "item-3"]
    assert len(set(many.json()["task_ids"])) == 2
    assert queued(client) == 3


def test_http_submissions_are_recorded_in_flight_with_their_origin(
    http: TestClient, client: QualityGateClient
) -> None:
    task_id = http.post("/v1/items", json=item(1), headers=AUTH).json()["task_ids"][0]
    assert client.redis.hexists(client.keys.in_flight_payloads, task_id)
    assert client.redis.zscore(client.keys.in_flight_sent_at, task_id) is not None
    assert client.redis.get(client.keys.origin("item-1")) == "key:cms"
    assert client.redis.ttl(client.keys.origin("item-1")) > 0


def test_a_retried_post_gets_the_same_task_and_sends_nothing(
    http: TestClient, client: QualityGateClient
) -> None:
    first = http.post("/v1/items", json={"items": [item(1), item(2)]}, headers=AUTH).json()
    again = http.post("/v1/items", json={"items": [item(1), item(2)]}, headers=AUTH).json()
    assert again == first
    assert queued(client) == 2
    assert client.redis.hlen(client.keys.in_flight_payloads) == 2
    metrics = http.get("/metrics").text
    assert 'qualitygate_api_items_submitted_total{key="cms",sent="false"} 2.0' in metrics


def test_edited_content_is_a_new_submission(http: TestClient, client: QualityGateClient) -> None:
    first = http.post("/v1/items", json=item(1), headers=AUTH).json()["task_ids"]
    edited = http.post("/v1/items", json=item(1, "Rewritten."), headers=AUTH).json()["task_ids"]
    retitled = http.post("/v1/items", json=item(1) | {"title": "New"}, headers=AUTH).json()
    assert len({first[0], edited[0], retitled["task_ids"][0]}) == 3
    assert queued(client) == 3


def test_no_idempotency_window_when_the_cache_is_off(api_run: str) -> None:
    settings = api_settings(api_run)
    settings = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"cache_ttl_s": 0})}
    )
    with QualityGateClient(settings=settings) as client:
        first = client.submit_once([item(1)])
        again = client.submit_once([item(1)])
        assert first[0].task_id != again[0].task_id and again[0].sent
        assert queued(client) == 2


def test_invalid_items_name_index_field_and_reason(
    http: TestClient, client: QualityGateClient
) -> None:
    body = {"items": [item(0), {"id": "x"}, item(2) | {"format": "pdf"}, item(3) | {"z": 1}]}
    response = http.post("/v1/items", json=body, headers=AUTH)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {(d["index"], d["field"]) for d in detail} == {(1, "text"), (2, "format"), (3, "z")}
    assert all(d["reason"] for d in detail)
    assert queued(client) == 0  # nothing of a bad request is sent


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([item(1)], "body"),
        ({"items": []}, "items"),
        ({"items": {"id": "1"}}, "items"),
        ({"items": [item(1)], "extra": 1}, "extra"),
        ({"items": [item(n) for n in range(1001)]}, "items"),
    ],
)
def test_bodies_that_carry_no_items(http: TestClient, body: object, field: str) -> None:
    settings = api_settings("unused", max_body_bytes=10_000_000)
    with QualityGateClient(settings=settings) as big_client:
        big = TestClient(create_app(settings, big_client))
        response = big.post("/v1/items", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "not valid JSON (Expecting property name"),
        (b"", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 5000, "nested too deep"),
    ],
)
def test_malformed_json_is_400_naming_the_problem(http: TestClient, raw: bytes, says: str) -> None:
    settings = api_settings("unused", max_body_bytes=10_000_000)
    with QualityGateClient(settings=settings) as big_client:
        big = TestClient(create_app(settings, big_client))
        response = big.post("/v1/items", content=raw, headers=AUTH)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_declared_length_over_the_limit_is_refused_up_front(
    http: TestClient, client: QualityGateClient
) -> None:
    body = json.dumps(item(1, "x" * 5000)).encode()
    response = http.post("/v1/items", content=body, headers=AUTH | {"Content-Type": "text/json"})
    assert response.status_code == 413
    assert "api.max_body_bytes" in response.json()["detail"]
    assert queued(client) == 0


def test_a_chunked_body_is_cut_off_at_the_limit(client: QualityGateClient) -> None:
    """Driven as raw ASGI (TestClient buffers a request body before the app sees it): the
    app must stop pulling chunks once past the limit, not read the megabyte."""
    app = create_app(client.settings, client)
    pulled: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        pulled.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": len(pulled) < 1000}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"authorization", AUTH["Authorization"].encode()), (b"host", b"test")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/items",
        "raw_path": b"/v1/items",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert len(pulled) <= 5  # 4096 bytes allowed: the fifth 1 KiB chunk is the last read
    assert queued(client) == 0


def test_redis_down_is_503_without_the_url(api_run: str) -> None:
    from tests.support.workers import free_port

    settings = api_settings(api_run)
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    settings = settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": url})})
    with QualityGateClient(settings=settings) as down, TestClient(create_app(settings, down)) as h:
        response = h.post("/v1/items", json=item(1), headers=AUTH)
    assert response.status_code == 503
    assert "hunter2" not in response.text and "redis" in response.json()["detail"]


def test_every_route_has_the_body_limit(http: TestClient) -> None:
    """A route with a declared body (ack) is limited too, not buffered by FastAPI."""
    body = {"group": "cms", "entry_ids": ["1-0"] * 2000}
    declared = http.post("/v1/results/ack", json=body, headers=bearer("reader"))
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield json.dumps(body).encode()

    streamed = http.post("/v1/results/ack", content=chunks(), headers=bearer("reader"))
    assert streamed.status_code == 413
    assert "api.max_body_bytes" in streamed.json()["detail"]


def test_an_identical_post_by_another_key_keeps_the_callback(
    http: TestClient, client: QualityGateClient
) -> None:
    """Regression: a repeat that sends nothing used to rewrite the origin, so the first
    sender's result went to the other key's callback."""
    first = http.post("/v1/items", json=item(1), headers=AUTH).json()
    again = http.post("/v1/items", json=item(1), headers=bearer("admin")).json()
    assert again["task_ids"] == first["task_ids"]
    assert client.redis.get(client.keys.origin("item-1")) == "key:cms"
    edited = http.post("/v1/items", json=item(1, "Edited."), headers=bearer("admin")).json()
    assert edited["task_ids"] != first["task_ids"]  # sent: the new sender gets the callback
    assert client.redis.get(client.keys.origin("item-1")) == "key:admin"


def test_a_retry_after_a_failed_send_is_sent(
    http: TestClient, client: QualityGateClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the submission key outlived a failed send, so the retry was answered
    "same task" with nothing queued until the redelivery sweep, 70 minutes later."""
    from kombu.exceptions import OperationalError

    real, calls = client._publish, []

    def fails_once(producer: object, messages: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("broker blip")
        real(producer, messages)

    monkeypatch.setattr(client, "_publish", fails_once)
    assert http.post("/v1/items", json=item(1), headers=AUTH).status_code == 503
    assert queued(client) == 0
    retry = http.post("/v1/items", json=item(1), headers=AUTH)
    assert retry.status_code == 202
    assert queued(client) == 1
    (task_id,) = retry.json()["task_ids"]
    assert client.redis.get(client.keys.latest_task("item-1")) == task_id
    # The failed task's in-flight record stays: redelivery covers a send that did arrive.
    assert client.redis.hlen(client.keys.in_flight_payloads) == 2
