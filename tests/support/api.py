"""The HTTP API in tests: keys with known secrets, settings on the tests' own Redis
namespace, an in-process app (FastAPI's TestClient) and real ``qualitygate serve``
subprocesses on free loopback ports.

Keys are test constants; config holds only their SHA-256, as in production. Registered
as a plugin in ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from qualitygate.config import Settings, load_settings
from tests.support.workers import (
    QUALITYGATE,
    TEST_REDIS_URL,
    QueueNamespace,
    free_port,
    stop_process_group,
    wait_for,
    worker_environment,
)

#: name -> (the secret a CMS sends, its scopes)
TEST_KEYS: dict[str, tuple[str, list[str]]] = {
    "cms": ("qg_test-cms-key", ["submit", "read"]),
    "reader": ("qg_test-reader-key", ["read"]),
    "admin": ("qg_test-admin-key", ["submit", "read", "label", "admin"]),
}


def key_entries(rate_limit: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``api.keys`` for TEST_KEYS; ``rate_limit`` overrides the ``cms`` key's limit."""
    entries = []
    for name, (secret, scopes) in TEST_KEYS.items():
        entry: dict[str, Any] = {
            "name": name,
            "key_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "scopes": scopes,
        }
        if name == "cms" and rate_limit:
            entry["rate_limit"] = rate_limit
        entries.append(entry)
    return entries


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_KEYS[name][0]}"}


def api_settings(run: str, **api: Any) -> Settings:
    """Defaults on the tests' Redis, every key under ``run``, the test keys, ``api``
    fields overriding."""
    defaults = load_settings()
    return load_settings(
        redis={"url": TEST_REDIS_URL},
        worker=defaults.worker.model_dump() | {"queue": f"{run}:queue"},
        streams=defaults.streams.model_dump()
        | {
            "results": f"{run}:results",
            "dead": f"{run}:dead",
            "result_key_prefix": f"{run}:result:",
            "state_key_prefix": f"{run}:state:",
        },
        api=defaults.api.model_dump() | {"keys": key_entries()} | api,
    )


@contextmanager
def api_app(settings: Settings, **options: Any) -> Iterator[tuple[Any, Any]]:
    """A client on ``settings`` and a TestClient on the app over it, both closed after."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from qualitygate.client import QualityGateClient

    client = QualityGateClient(settings=settings)
    with client, TestClient(create_app(settings, client, **options)) as http:
        yield client, http


@pytest.fixture
def api_run(redis_client: redis.Redis) -> Iterator[str]:
    """A per-test key prefix on the tests' Redis, deleted afterwards."""
    run = f"qgtest-{uuid.uuid4().hex[:10]}"
    yield run
    for key in redis_client.scan_iter(match=f"{run}*", count=1000):
        redis_client.delete(key)


class ServeProcess:
    """A ``qualitygate serve`` subprocess on a free loopback port, with its log file."""

    def __init__(self, env: dict[str, str], log_path: Path, args: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log_path, self.args = env, log_path, args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> ServeProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [QUALITYGATE, "serve", "--port", str(self.port), *self.args],
                env=worker_environment(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self._answers() or self.process.poll() is not None, timeout_s, "serve")
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{self.log()[-3000:]}")
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)


@pytest.fixture
def start_serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``qualitygate serve`` on a namespace with the test keys (``QG_API__KEYS``);
    every one is stopped at the end."""
    servers: list[ServeProcess] = []

    def start(space: QueueNamespace, *args: str, **env: str) -> ServeProcess:
        full = {**space.env, "QG_API__KEYS": json.dumps(key_entries()), **env}
        server = ServeProcess(full, tmp_path / f"serve-{len(servers)}.log", list(args))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
