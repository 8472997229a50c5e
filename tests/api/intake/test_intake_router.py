"""api/intake/router.py on the real Redis (db 15, a namespace of the test's own): accepted
webhooks reach the queue with their in-flight record and origin, every refusal has its
status and reason, and a refused request enqueues nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.intake import build_router
from api.intake import router as router_module
from api.intake.body import body_limit
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.errors import ConfigError, RedisUnavailableError
from qualitygate.protocol import Keys
from tests.support.webhooks import (
    SECRETS,
    bearer,
    contentful_headers,
    examples_config,
    payload,
    sample_body,
    wp_webhooks_signature,
)
from tests.support.workers import QueueNamespace, free_port

NOW = 1_764_583_200.0
WP_SECRET = SECRETS["WORDPRESS_WEBHOOK_SECRET"]


@pytest.fixture
def intake_settings(
    namespace: QueueNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = examples_config(tmp_path)
    return namespace.settings(QUALITYGATE_CONFIG=str(config), QG_LIMITS__MAX_MARKUP_BYTES="1000")


@pytest.fixture
def gate(intake_settings: Settings) -> Iterator[TestClient]:
    client = QualityGateClient(settings=intake_settings)
    app = FastAPI()
    app.include_router(build_router(intake_settings, client, clock=lambda: NOW))
    with TestClient(app) as http:
        yield http
    client.close()


def queued(settings: Settings, redis_client: redis.Redis) -> int:
    return int(redis_client.llen(settings.worker.queue))


def in_flight(settings: Settings, redis_client: redis.Redis) -> dict[str, Any]:
    raw = redis_client.hgetall(Keys.from_settings(settings).in_flight_payloads)
    return {task_id: json.loads(value) for task_id, value in raw.items()}


def post_wordpress(gate: TestClient, body: bytes, secret: str = WP_SECRET) -> Any:
    headers = {"X-WP-Webhook-Signature": wp_webhooks_signature(secret, body)}
    return gate.post("/v1/intake/wordpress", content=body, headers=headers)


def test_a_signed_wordpress_post_reaches_the_queue_with_its_origin(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    response = post_wordpress(gate, sample_body("wordpress"))
    assert response.status_code == 202, response.text
    [task_id] = response.json()["task_ids"]
    assert response.json()["ids"] == ["wp:1284"]
    assert queued(intake_settings, redis_client) == 1
    record = in_flight(intake_settings, redis_client)[task_id]
    assert record["id"] == "wp:1284" and record["format"] == "html"
    assert record["title"] == "The community garden opens on Saturday"
    origin = redis_client.get(Keys.from_settings(intake_settings).origin("wp:1284"))
    assert origin == "source:wordpress"


def test_the_same_signed_request_again_is_a_replay(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    body = sample_body("wordpress")
    assert post_wordpress(gate, body).status_code == 202
    again = post_wordpress(gate, body)
    assert again.status_code == 401
    assert again.json()["detail"].startswith("replayed: this signed request was already")
    assert queued(intake_settings, redis_client) == 1


def test_the_same_content_newly_signed_gets_the_same_task(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    first = post_wordpress(gate, sample_body("wordpress")).json()["task_ids"]
    # Same post, serialised differently: a new signature, the same item.
    body = json.dumps(payload("wordpress")).encode()
    second = post_wordpress(gate, body)
    assert second.status_code == 202 and second.json()["task_ids"] == first
    assert queued(intake_settings, redis_client) == 1
    changed = payload("wordpress")
    changed["post"]["post_content"] += "<p>Update: bring a hat.</p>"
    third = post_wordpress(gate, json.dumps(changed).encode())
    assert third.status_code == 202 and third.json()["task_ids"] != first
    assert queued(intake_settings, redis_client) == 2


def test_concurrent_webhooks_each_reach_the_queue_once(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    def send(serial: int) -> int:
        data = payload("wordpress")
        data["post_id"] = serial
        return post_wordpress(gate, json.dumps(data).encode()).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(40)))
    assert statuses == [202] * 40
    assert queued(intake_settings, redis_client) == 40
    records = in_flight(intake_settings, redis_client).values()
    assert sorted(record["id"] for record in records) == sorted(f"wp:{n}" for n in range(40))


def test_bearer_sources_strapi_and_directus(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    strapi = gate.post(
        "/v1/intake/strapi",
        content=sample_body("strapi"),
        headers=bearer(SECRETS["STRAPI_WEBHOOK_TOKEN"]),
    )
    assert strapi.status_code == 202, strapi.text
    directus = gate.post(
        "/v1/intake/directus",
        content=sample_body("directus"),
        headers=bearer(SECRETS["DIRECTUS_WEBHOOK_TOKEN"]),
    )
    assert directus.json()["ids"] == ["directus:articles:315"]
    assert queued(intake_settings, redis_client) == 2
    origins = Keys.from_settings(intake_settings)
    assert redis_client.get(origins.origin("directus:articles:315")) == "source:directus"


def test_a_contentful_signed_request_is_accepted_and_a_stale_one_refused(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    body, path = sample_body("contentful"), "/v1/intake/contentful"
    secret = SECRETS["CONTENTFUL_WEBHOOK_SECRET"]
    fresh = gate.post(
        path, content=body, headers=contentful_headers(secret, path, body, int(NOW * 1000))
    )
    assert fresh.status_code == 202, fresh.text
    old = contentful_headers(secret, path, body, int(NOW * 1000) - 3_600_000)
    stale = gate.post(path, content=body, headers=old)
    assert stale.status_code == 401
    assert stale.json()["detail"].startswith("x-contentful-timestamp: stale, signed 3600 s ago")
    assert queued(intake_settings, redis_client) == 1


def refused(gate: TestClient, status: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
    response = gate.post(*args, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def test_refusals_enqueue_nothing_and_quote_no_secret(
    gate: TestClient,
    intake_settings: Settings,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    body = sample_body("wordpress")
    wrong = {"X-WP-Webhook-Signature": wp_webhooks_signature("guess", body)}
    assert (
        "does not match"
        in refused(gate, 401, "/v1/intake/wordpress", content=body, headers=wrong)["detail"]
    )
    assert "missing" in refused(gate, 401, "/v1/intake/wordpress", content=body)["detail"]
    token = bearer(SECRETS["DIRECTUS_WEBHOOK_TOKEN"])  # another source's token
    refused(gate, 401, "/v1/intake/strapi", content=sample_body("strapi"), headers=token)
    unknown = refused(gate, 404, "/v1/intake/drupal", content=body)
    assert unknown["detail"] == "intake source 'drupal': not configured"
    not_json = b"post_id=1284&post_title=x"
    detail = refused(gate, 422, "/v1/intake/wordpress", content=not_json, headers=_wp(not_json))
    assert detail["detail"].startswith("body: not JSON")
    assert queued(intake_settings, redis_client) == 0
    assert in_flight(intake_settings, redis_client) == {}
    logged = caplog.text
    for secret in SECRETS.values():
        assert secret not in logged


def _wp(body: bytes) -> dict[str, str]:
    return {"X-WP-Webhook-Signature": wp_webhooks_signature(WP_SECRET, body)}


def test_an_ignored_event_is_200_and_enqueues_nothing(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    deleted = json.dumps(payload("strapi") | {"event": "entry.delete"}).encode()
    token = bearer(SECRETS["STRAPI_WEBHOOK_TOKEN"])
    response = gate.post("/v1/intake/strapi", content=deleted, headers=token)
    assert response.status_code == 200
    assert response.json()["ignored"] is True
    assert "accept_if" in response.json()["reason"]
    draft = payload("wordpress")
    draft["post"]["post_status"] = "draft"
    body = json.dumps(draft).encode()
    assert post_wordpress(gate, body).json()["ignored"] is True
    assert queued(intake_settings, redis_client) == 0


def test_a_mapping_error_is_422_naming_source_field_and_expression(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    data = payload("strapi")
    data["entry"]["body"] = None
    response = gate.post(
        "/v1/intake/strapi",
        content=json.dumps(data).encode(),
        headers=bearer(SECRETS["STRAPI_WEBHOOK_TOKEN"]),
    )
    assert response.status_code == 422
    assert response.json() | {"detail": ""} == {
        "detail": "",
        "source": "strapi",
        "field": "text",
        "expression": "entry.body",
        "reason": "found nothing in the payload",
    }
    assert queued(intake_settings, redis_client) == 0


def test_an_oversized_body_is_413_declared_or_streamed(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    limit = body_limit(intake_settings.limits)
    big = b'{"post_id": 1, "pad": "' + b"x" * limit + b'"}'
    declared = refused(gate, 413, "/v1/intake/wordpress", content=big, headers=_wp(big))
    assert "Content-Length" in declared["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = refused(gate, 413, "/v1/intake/wordpress", content=chunks(), headers=_wp(big))
    assert streamed["detail"] == f"body: over the limit of {limit} bytes"
    assert queued(intake_settings, redis_client) == 0


def test_redis_down_is_503_and_the_retry_then_goes_through(
    intake_settings: Settings, redis_client: redis.Redis
) -> None:
    down = QualityGateClient(f"redis://127.0.0.1:{free_port()}/15", settings=intake_settings)
    app = FastAPI()
    app.include_router(build_router(intake_settings, down, clock=lambda: NOW))
    body = sample_body("wordpress")
    with TestClient(app) as http:
        response = post_wordpress(http, body)
    assert response.status_code == 503
    assert "nothing was enqueued" in response.json()["detail"]
    up = QualityGateClient(settings=intake_settings)
    app = FastAPI()
    app.include_router(build_router(intake_settings, up, clock=lambda: NOW))
    with TestClient(app) as http:
        assert post_wordpress(http, body).status_code == 202
    up.close()


def test_a_failed_enqueue_releases_the_replay_claim(
    gate: TestClient,
    intake_settings: Settings,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(*args: Any) -> Any:
        raise RedisUnavailableError("redis.url redis://127.0.0.1:1/15: cannot reach Redis")

    body = sample_body("wordpress")
    with monkeypatch.context() as patch:
        patch.setattr(router_module, "enqueue", unreachable)
        response = post_wordpress(gate, body)
    assert response.status_code == 503
    assert response.json()["detail"].endswith("cannot reach Redis; retry the request")
    # The CMS's retry of the very same signed request is not a replay.
    assert post_wordpress(gate, body).status_code == 202
    assert queued(intake_settings, redis_client) == 1


def test_a_secret_variable_that_is_not_set_fails_at_start(
    intake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTENTFUL_WEBHOOK_SECRET")
    with pytest.raises(ConfigError) as caught:
        build_router(intake_settings, QualityGateClient(settings=intake_settings))
    assert caught.value.message == (
        "config.intake.sources.contentful.auth.secret_env: "
        "the environment variable CONTENTFUL_WEBHOOK_SECRET is not set"
    )


def test_the_route_is_in_the_openapi_schema(gate: TestClient) -> None:
    schema = gate.get("/openapi.json").json()
    operation = schema["paths"]["/v1/intake/{source}"]["post"]
    assert {"202", "401", "404", "413", "422", "503"} <= set(operation["responses"])


def seen_ttls(settings: Settings, redis_client: redis.Redis, source: str) -> list[int]:
    """The remaining lifetimes of ``source``'s replay claims."""
    prefix = Keys.from_settings(settings).intake_seen(source, "")[:-64]
    return [int(redis_client.ttl(key)) for key in redis_client.scan_iter(match=f"{prefix}*")]


def test_a_timestampless_signature_is_remembered_for_the_result_ttl(
    gate: TestClient, intake_settings: Settings, redis_client: redis.Redis
) -> None:
    """Regression: a WordPress signature signs no timestamp, so a claim kept only twice the
    window let a captured webhook be replayed minutes later; it is kept result_ttl_s."""
    assert post_wordpress(gate, sample_body("wordpress")).status_code == 202
    body, path = sample_body("contentful"), "/v1/intake/contentful"
    headers = contentful_headers(SECRETS["CONTENTFUL_WEBHOOK_SECRET"], path, body, int(NOW * 1000))
    assert gate.post(path, content=body, headers=headers).status_code == 202
    sources = intake_settings.intake.sources
    window = intake_settings.intake.tolerance_for(sources["wordpress"])
    [wordpress] = seen_ttls(intake_settings, redis_client, "wordpress")
    assert 2 * window < wordpress <= intake_settings.streams.result_ttl_s
    assert wordpress > intake_settings.streams.result_ttl_s - 60
    [contentful] = seen_ttls(intake_settings, redis_client, "contentful")
    assert contentful <= 2 * intake_settings.intake.tolerance_for(sources["contentful"])
    again = post_wordpress(gate, sample_body("wordpress"))
    assert again.status_code == 401 and again.json()["detail"].startswith("replayed: ")
