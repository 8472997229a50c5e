"""The HTTP API as a CMS meets it: a real ``qualitygate serve`` and a real worker on the
real Redis, driven with curl (a client with nothing of Python in it).

Submit, poll a result from 202 to 200, read the stream and acknowledge, retry a POST and get
the same task and one grade; and each refusal (bad key, missing scope, rate limit,
oversized and malformed bodies) gets its status while every accepted item still gets
its result.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api import TEST_KEYS, ServeProcess, key_entries
from tests.support.workers import QUALITYGATE, QueueNamespace, WorkerProcess, wait_for

pytestmark = pytest.mark.integration


class Reply:
    def __init__(self, raw: bytes) -> None:
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        self.text = body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.text)


def curl(method: str, url: str, key: str | None = "cms", body: Any = None, *extra: str) -> Reply:
    """One request with curl; ``key`` names a TEST_KEYS entry (None: no header)."""
    args = ["curl", "-sS", "-D", "-", "-X", method, "-H", "Expect:", url, *extra]
    if key is not None:
        secret = TEST_KEYS[key][0] if key in TEST_KEYS else key
        args += ["-H", f"Authorization: Bearer {secret}"]
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    done = subprocess.run(args, input=data, capture_output=True, timeout=60, check=True)
    return Reply(done.stdout)


def item(n: int) -> dict[str, Any]:
    return {"id": f"http-{n}", "text": f"Post {n}: a short, friendly note about the garden."}


def test_submit_poll_read_ack_and_retry(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    start_serve: Callable[..., ServeProcess],
) -> None:
    server = start_serve(namespace)
    assert curl("GET", f"{server.url}/readyz", None).status == 503  # no worker yet
    worker = start_worker()
    wait_for(lambda: curl("GET", f"{server.url}/readyz", None).status == 200, 30, "readiness")

    first = curl("POST", f"{server.url}/v1/items", "cms", {"items": [item(n) for n in range(20)]})
    assert first.status == 202
    task_ids = first.json()["task_ids"]
    assert first.json()["ids"] == [f"http-{n}" for n in range(20)] and len(set(task_ids)) == 20
    retried = curl("POST", f"{server.url}/v1/items", "cms", {"items": [item(0), item(1)]})
    assert retried.json()["task_ids"] == task_ids[:2]  # the same tasks, nothing sent

    polled = curl("GET", f"{server.url}/v1/results/http-19", "reader")
    assert polled.status in (200, 202)
    graded = wait_for(
        lambda: (
            (r := curl("GET", f"{server.url}/v1/results/http-19", "reader")).status == 200 and r
        ),
        120,
        "http-19's result",
        every_s=0.2,
    )
    assert graded.json()["status"] == "graded" and graded.json()["task_id"] == task_ids[19]

    seen: dict[str, int] = {}
    deadline = time.monotonic() + 120
    while len(seen) < 20 and time.monotonic() < deadline:
        query = "group=cms&consumer=php-1&count=7&block_ms=500"
        entries = curl("GET", f"{server.url}/v1/results?{query}", "reader").json()["entries"]
        for entry in entries:
            seen[entry["result"]["task_id"]] = seen.get(entry["result"]["task_id"], 0) + 1
        if entries:
            ack = {"group": "cms", "entry_ids": [e["entry_id"] for e in entries]}
            acked = curl("POST", f"{server.url}/v1/results/ack", "reader", ack)
            assert acked.json() == {"acked": len(entries)}
    assert seen == dict.fromkeys(task_ids, 1)  # every item once; the retry graded nothing
    after = curl("GET", f"{server.url}/v1/results?group=cms&consumer=php-1&block_ms=300", "reader")
    assert after.json() == {"entries": []}
    assert TEST_KEYS["cms"][0] not in server.log()  # the access log has no headers

    worker.stop()  # a clean stop removes its heartbeat: not ready, at once
    unready = curl("GET", f"{server.url}/readyz", None)
    assert unready.status == 503 and "no worker heartbeat" in unready.json()["reason"]


def test_refusals_get_their_status_and_lose_nothing(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    start_serve: Callable[..., ServeProcess],
) -> None:
    keys = json.dumps(key_entries(rate_limit={"requests": 6, "window_s": 60}))
    server = start_serve(namespace, QG_API__KEYS=keys, QG_API__MAX_BODY_BYTES="65536")
    url = f"{server.url}/v1/items"

    no_key = curl("POST", url, None, item(1))
    assert no_key.status == 401 and no_key.headers["www-authenticate"] == "Bearer"
    assert curl("POST", url, "qg_not-a-key", item(1)).status == 401
    assert curl("POST", url, "reader", item(1)).status == 403

    malformed = curl("POST", url, "cms", b'{"id": "x", "text": ')
    assert malformed.status == 400 and "not valid JSON" in malformed.json()["detail"]
    invalid = curl("POST", url, "cms", {"items": [item(1), {"id": "x", "format": "pdf"}]})
    assert invalid.status == 422
    assert {(d["index"], d["field"]) for d in invalid.json()["detail"]} == {
        (1, "text"),
        (1, "format"),
    }
    declared = curl("POST", url, "cms", {"items": [item(n) for n in range(2000)]})
    assert declared.status == 413

    refused_before = server.log().count('"POST /v1/items HTTP/1.1" 413')
    status, written = chunked_upload(url, TEST_KEYS["cms"][0], total=256 << 20)
    # The server answers 413 and closes while curl is still sending; curl either reads the
    # answer or, when the close reaches it mid-write, fails the send before reading it
    # (status 0). Either way the server refused it, as its access log says.
    assert status in (413, 0)
    wait_for(
        lambda: server.log().count('"POST /v1/items HTTP/1.1" 413') == refused_before + 1,
        10,
        "the access log's 413",
    )
    assert written < 64 << 20  # refused while curl was still sending: not buffered whole

    # The limit is 6 a minute, and the authorised requests above counted (a declared
    # length over the limit is refused before authentication and does not).
    accepted, limited = [], None
    for n in range(7):
        reply = curl("POST", url, "cms", item(n))
        if reply.status != 202:
            limited = reply
            break
        accepted.append(reply)
    assert 1 <= len(accepted) <= 6
    assert limited is not None and limited.status == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60

    start_worker()
    for n, reply in enumerate(accepted):
        task_id = reply.json()["task_ids"][0]
        got = wait_for(
            lambda n=n: (
                (r := curl("GET", f"{server.url}/v1/results/http-{n}", "reader")).status == 200
                and r
            ),
            120,
            f"http-{n}'s result",
            every_s=0.2,
        )
        assert got.json()["task_id"] == task_id
    assert server.process is not None and server.process.poll() is None  # still serving


def chunked_upload(url: str, secret: str, total: int) -> tuple[int, int]:
    """Stream ``total`` bytes to curl's stdin (chunked upload) until curl stops taking them;
    returns the status curl saw and the bytes written before it stopped."""
    process = subprocess.Popen(
        [
            *["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-T", "-"],
            *["-H", "Expect:", "-H", f"Authorization: Bearer {secret}", url],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    written, chunk = 0, b"[" + b" " * (1 << 20)
    try:
        while written < total:
            process.stdin.write(chunk)
            process.stdin.flush()
            written += len(chunk)
    except BrokenPipeError:
        pass
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
    status = process.stdout.read().decode()
    process.wait(timeout=60)
    return int(status or 0), written


def test_serve_refuses_a_public_host_without_keys(namespace: QueueNamespace) -> None:
    from tests.support.workers import worker_environment

    done = subprocess.run(
        [QUALITYGATE, "serve", "--host", "0.0.0.0", "--insecure-no-auth"],
        env=worker_environment(namespace.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "refusing to serve on 0.0.0.0 without API keys" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
