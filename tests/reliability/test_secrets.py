"""Secrets: a Redis with a password, and Redis over TLS (``rediss://``), work end to end;
the password appears in no log line, no ``config show`` and no result."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from qualitygate.client import QualityGateClient
from qualitygate.config import load_settings
from tests.support.redis_server import RedisServer, make_tls_files, redis_server_available
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess, forget_namespace, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not redis_server_available(), reason="redis-server is not installed"),
]

QUALITYGATE = str(Path(sys.executable).with_name("qualitygate"))
ITEMS = [
    {"id": "fine", "text": "A short note about the tomatoes in our garden."},
    {"id": "no-text"},  # an error result
    {"id": "too-long", "text": "x" * 5000},  # over max_text_chars: an error result
]


def grade_through(
    server: RedisServer,
    model_dir: Path,
    start: Callable[..., WorkerProcess],
    url: str | None = None,
):
    space = QueueNamespace(model_dir, redis_url=url or server.url)
    worker = start(space)
    settings = space.settings()
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        task_ids = client.submit(ITEMS, validate=False)
        entries = read_all(client, len(ITEMS), timeout_s=60, worker=worker)
    with server.client() as raw:
        everything = [str(raw.xrange(settings.streams.results))]
        forget_namespace(raw, space)
    assert {e.result.task_id for e in entries} == set(task_ids)
    by_id = {e.result.id: e.result for e in entries}
    assert by_id["fine"].status == "graded"
    assert by_id["no-text"].status == by_id["too-long"].status == "error"
    return worker, everything


def config_show(url: str) -> str:
    env = {"QG_REDIS__URL": url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [QUALITYGATE, "config", "show"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_a_password_protected_redis_works_and_the_password_never_shows(
    tmp_path: Path, test_model_dir: Path, start_worker_on: Callable[..., WorkerProcess]
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    server = RedisServer(tmp_path, password=password).start()
    try:
        worker, stream = grade_through(server, test_model_dir, start_worker_on)
        assert password not in worker.log()
        assert all(password not in entry for entry in stream)
        shown = config_show(server.url)
        assert password not in shown and "***@127.0.0.1" in shown
        assert password not in str(load_settings(redis={"url": server.url}).public_dump())
    finally:
        server.kill()


def test_a_password_in_the_query_works_and_never_shows(
    tmp_path: Path, test_model_dir: Path, start_worker_on: Callable[..., WorkerProcess]
) -> None:
    # redis-py reads ?password=, kombu used to fail on it with a TypeError (the worker and
    # the client's submit): it is moved into the userinfo when the config is loaded.
    password = f"pw-{uuid.uuid4().hex}"
    server = RedisServer(tmp_path, password=password).start()
    url = f"redis://127.0.0.1:{server.port}/0?password={password}"
    try:
        worker, stream = grade_through(server, test_model_dir, start_worker_on, url=url)
        assert password not in worker.log()
        assert all(password not in entry for entry in stream)
        shown = config_show(url)
        assert password not in shown and "***@127.0.0.1" in shown
    finally:
        server.kill()


def test_a_wrong_password_is_not_logged_either(tmp_path: Path, test_model_dir: Path) -> None:
    server = RedisServer(tmp_path, password="the-right-one").start()
    wrong = f"wrong-{uuid.uuid4().hex}"
    url = f"redis://:{wrong}@127.0.0.1:{server.port}/0"
    space = QueueNamespace(test_model_dir, redis_url=url)
    worker = WorkerProcess(space.env, tmp_path / "worker.log")
    try:
        with pytest.raises(AssertionError):  # it never becomes ready, and says why
            worker.start(timeout_s=8)

        def says_why() -> bool:  # a loaded machine may take longer than 8 s to say it
            log = worker.log().lower()
            return "127.0.0.1" in log and ("auth" in log or "password" in log)

        wait_for(says_why, 60, "the worker to log why it cannot connect")
        assert wrong not in worker.log()
    finally:
        worker.stop()
        server.kill()


def test_redis_over_tls_works_end_to_end(
    tmp_path: Path, test_model_dir: Path, start_worker_on: Callable[..., WorkerProcess]
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    tls = make_tls_files(tmp_path)
    server = RedisServer(tmp_path, password=password, tls=tls)
    try:
        server.start()
    except AssertionError:
        pytest.skip("this redis-server was built without TLS")
    try:
        assert server.url.startswith("rediss://")
        worker, stream = grade_through(server, test_model_dir, start_worker_on)
        assert password not in worker.log() and all(password not in e for e in stream)
        assert password not in config_show(server.url)
        # The server takes TLS only: a plain connection to the same port is refused.
        plain = QueueNamespace(
            test_model_dir, redis_url=f"redis://:{password}@127.0.0.1:{server.port}/0"
        )
        with pytest.raises(redis.RedisError):
            QualityGateClient(settings=plain.settings()).redis.ping()
    finally:
        server.kill()
