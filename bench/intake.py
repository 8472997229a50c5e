"""What the webhook intake costs per request, for each example CMS source.

Two rows per source (config/examples/, payloads from tests/data/webhooks/):
- ``check+map``: authenticating the raw body (HMAC or bearer), parsing it and mapping it to
  a ContentItem, in-process, no Redis: the intake's own work;
- ``http+enqueue``: the whole ``POST /v1/intake/NAME`` through the ASGI app (httpx's
  TestClient) to the real Redis (db ``QG_TEST_REDIS_DB``, a key prefix and queue of its
  own, deleted afterwards), each request a new item, so every one is sent to the queue.
Prints p50/p99 per request and requests per second; writes bench/results/intake.json.

    .venv/bin/python -m bench.intake            # about half a minute
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import load_average, machine_info, print_table, write_results
from tests.support.webhooks import (
    SAMPLES,
    SECRETS,
    bearer,
    contentful_headers,
    examples_config,
    payload,
    wp_webhooks_signature,
)

REDIS_DB = int(os.environ.get("QG_TEST_REDIS_DB", "15"))
TEXT_FIELD = {
    "wordpress": ("post", "post_content"),
    "strapi": ("entry", "body"),
    "contentful": ("fields", "body", "en-US"),
    "directus": ("payload", "content"),
}


def signed(name: str, body: bytes, path: str) -> dict[str, str]:
    """The headers the CMS would send with ``body``."""
    if name == "wordpress":
        return {
            "X-WP-Webhook-Signature": wp_webhooks_signature(
                SECRETS["WORDPRESS_WEBHOOK_SECRET"], body
            )
        }
    if name == "contentful":
        now_ms = int(time.time() * 1000)
        return contentful_headers(SECRETS["CONTENTFUL_WEBHOOK_SECRET"], path, body, now_ms)
    return bearer(SECRETS[f"{name.upper()}_WEBHOOK_TOKEN"])


def variant(name: str, serial: int) -> bytes:
    """The sample payload with its text changed: a new revision, a new item to enqueue."""
    data = payload(name)
    *parents, last = TEXT_FIELD[name]
    node: Any = data
    for key in parents:
        node = node[key]
    node[last] = f"{node[last]} ({serial})"
    return json.dumps(data, ensure_ascii=False).encode()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "per_s": len(ordered) / sum(ordered),
    }


def timed(action: Callable[[int], None], count: int) -> list[float]:
    samples = []
    for serial in range(count):
        started = time.perf_counter()
        action(serial)
        samples.append(time.perf_counter() - started)
    return samples


def check_and_map(settings: Any, name: str, count: int) -> dict[str, float]:
    from api.intake.mapping import CompiledSource, map_payload
    from api.intake.router import parse_json
    from api.intake.signature import SignedRequest, verify

    source = settings.intake.sources[name]
    compiled = CompiledSource.compile(name, source)
    secret = (
        source.auth.token_bytes if source.auth.kind == "bearer" else source.auth.secret_bytes
    )()
    path = f"/v1/intake/{name}"
    bodies = [variant(name, serial) for serial in range(count)]
    requests = [
        SignedRequest("POST", path, {k.lower(): v for k, v in signed(name, b, path).items()}, b)
        for b in bodies
    ]

    def one(serial: int) -> None:
        request = requests[serial]
        verify(source.auth, secret, request, 300, time.time())
        map_payload(compiled, parse_json(request.body), settings.limits)

    return percentiles(timed(one, count))


def http_and_enqueue(settings: Any, name: str, count: int) -> dict[str, float]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.intake import build_router
    from qualitygate.client import QualityGateClient

    client = QualityGateClient(settings=settings)
    app = FastAPI()
    app.include_router(build_router(settings, client))
    path = f"/v1/intake/{name}"
    bodies = [variant(name, 10_000 + serial) for serial in range(count)]
    with TestClient(app) as http:

        def one(serial: int) -> None:
            body = bodies[serial]
            response = http.post(path, content=body, headers=signed(name, body, path))
            assert response.status_code == 202, response.text

        samples = timed(one, count)
    client.close()
    return percentiles(samples)


def namespaced_settings(config: Path, run: str) -> Any:
    """The example sources, on the bench's own Redis database, queue and key prefix."""
    from qualitygate.config import load_settings

    os.environ.update(SECRETS)
    defaults = load_settings()
    return load_settings(
        config,
        redis={"url": f"redis://127.0.0.1:6379/{REDIS_DB}"},
        streams=defaults.streams.model_dump()
        | {"state_key_prefix": f"{run}:state:", "result_key_prefix": f"{run}:result:"},
        worker=defaults.worker.model_dump() | {"queue": f"{run}:queue"},
    )


def forget(run: str) -> None:
    import redis

    connection = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    for pattern in (f"{run}*", f"_kombu.binding*.{run}*"):
        for key in connection.scan_iter(match=pattern, count=1000):
            connection.delete(key)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per source and row")
    args = parser.parse_args()
    run = f"qgbench-{uuid.uuid4().hex[:10]}"
    info = machine_info("bench.intake")
    rows, results = [], []
    with tempfile.TemporaryDirectory() as directory:
        settings = namespaced_settings(examples_config(Path(directory)), run)
        try:
            for name in SAMPLES:
                for label, measure in (
                    ("check+map", check_and_map),
                    ("http+enqueue", http_and_enqueue),
                ):
                    numbers = measure(settings, name, args.requests)
                    rows.append(
                        [name, label, numbers["p50_ms"], numbers["p99_ms"], numbers["per_s"]]
                    )
                    results.append({"source": name, "path": label, **numbers})
        finally:
            forget(run)
    print_table(
        f"Webhook intake, {args.requests} requests per row",
        ["source", "path", "p50 ms", "p99 ms", "requests/s"],
        rows,
    )
    info["load_average_at_end"] = load_average()
    path = write_results("intake", {"machine": info, "requests": args.requests, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
