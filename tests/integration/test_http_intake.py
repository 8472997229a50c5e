"""CMS webhooks over real HTTP to a real worker: a WordPress post and a Strapi entry, each
POSTed by curl (nothing of Python in the sender) to the intake router under a real uvicorn
server on a free loopback port, come back from a ``qualitygate worker`` process as graded
results under the ids their mappings give, with their origin recorded for callbacks."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import uvicorn
from fastapi import FastAPI

from api.intake import build_router
from qualitygate.client import QualityGateClient
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult
from tests.support.webhooks import (
    SECRETS,
    examples_config,
    sample_body,
    wp_webhooks_signature,
)
from tests.support.workers import QueueNamespace, WorkerProcess, free_port, wait_for

pytestmark = pytest.mark.integration


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn in a thread of this process, on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 20, "uvicorn to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def curl(url: str, body: Path, headers: dict[str, str]) -> tuple[int, dict]:
    command = ["curl", "-sS", "-X", "POST", "--data-binary", f"@{body}", "-w", "\n%{http_code}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=30, check=True)
    text, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(text)


def test_wordpress_and_strapi_webhooks_sent_with_curl_come_back_graded(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: redis.Redis,
) -> None:
    config = examples_config(tmp_path, "wordpress", "strapi")
    # The worker shares the config file and has no webhook secret in its environment.
    start_worker(QUALITYGATE_CONFIG=str(config))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = namespace.settings(QUALITYGATE_CONFIG=str(config))
    client = QualityGateClient(settings=settings)
    app = FastAPI()
    app.include_router(build_router(settings, client))
    wordpress, strapi = tmp_path / "wordpress.json", tmp_path / "strapi.json"
    wordpress.write_bytes(sample_body("wordpress"))
    strapi.write_bytes(sample_body("strapi"))
    signature = wp_webhooks_signature(SECRETS["WORDPRESS_WEBHOOK_SECRET"], wordpress.read_bytes())
    json_type = {"Content-Type": "application/json"}
    with serving(app) as base:
        wp_status, wp_answer = curl(
            f"{base}/v1/intake/wordpress",
            wordpress,
            json_type | {"X-WP-Webhook-Signature": signature},
        )
        token = {"Authorization": f"Bearer {SECRETS['STRAPI_WEBHOOK_TOKEN']}"}
        strapi_status, strapi_answer = curl(f"{base}/v1/intake/strapi", strapi, json_type | token)
    assert (wp_status, strapi_status) == (202, 202), (wp_answer, strapi_answer)
    ids = [wp_answer["ids"][0], strapi_answer["ids"][0]]
    assert ids == ["wp:1284", "strapi:article:kq9xz3m2b7c1d5e8f0g4h6j1:ja"]

    def graded() -> list[GradeResult] | None:
        results = [client.get(item_id) for item_id in ids]
        return results if all(results) else None

    wp_result, strapi_result = wait_for(graded, 120, "both webhook items to be graded")
    client.close()
    assert wp_result.status == strapi_result.status == "graded"
    assert wp_result.task_id == wp_answer["task_ids"][0]
    assert strapi_result.task_id == strapi_answer["task_ids"][0]
    assert wp_result.metadata["post_id"] == 1284
    assert strapi_result.language == "ja"
    assert strapi_result.metadata["document_id"] == "kq9xz3m2b7c1d5e8f0g4h6j1"
    keys = Keys.from_settings(settings)
    assert redis_client.get(keys.origin(ids[0])) == "source:wordpress"
    assert redis_client.get(keys.origin(ids[1])) == "source:strapi"
