"""Real worker processes for tests: a Redis database of the tests' own, queue namespaces,
``qualitygate worker`` subprocesses, and the fixtures that hand them out.

Every run uses its own queue, streams and key prefix (so parallel runs do not collide) and
deletes what it wrote. Workers are started as ``qualitygate worker`` subprocesses in their
own session, so a test can SIGKILL one with all its pool processes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from qualitygate.config import Settings, load_settings

# Tests never touch the database a developer's or CMS's Redis uses by default.
TEST_REDIS_DB = int(os.environ.get("QG_TEST_REDIS_DB", "15"))
TEST_REDIS_URL = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"

QUALITYGATE = str(Path(sys.executable).with_name("qualitygate"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.05):
    """Poll until ``predicate`` gives something truthy; fail naming ``what`` after timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(every_s)


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    yield client
    client.close()


class QueueNamespace:
    """The queue, streams and keys of one test, as QG_ variables and as settings."""

    def __init__(self, test_model_dir: Path, redis_url: str = TEST_REDIS_URL) -> None:
        self.run = f"qgtest-{uuid.uuid4().hex[:10]}"
        self.redis_url = redis_url
        self.env = {
            "QG_REDIS__URL": redis_url,
            "QG_MODEL__NAME": str(test_model_dir),
            "QG_WORKER__QUEUE": f"{self.run}:queue",
            "QG_WORKER__BATCH_SIZE": "16",
            "QG_WORKER__FLUSH_MS": "100",
            "QG_WORKER__SOFT_TIME_LIMIT_S": "20",
            "QG_WORKER__TIME_LIMIT_S": "25",
            "QG_WORKER__VISIBILITY_TIMEOUT_S": "30",
            "QG_WORKER__UNACKED_RESTORE_INTERVAL_S": "1",
            "QG_WORKER__REDELIVER_AFTER_S": "40",
            "QG_WORKER__REDELIVER_SCAN_S": "1",
            "QG_WORKER__RETRY_BACKOFF_S": "0.05",
            "QG_WORKER__METRICS_PORT": str(free_port()),
            "QG_WORKER__LOG_FORMAT": "json",
            "QG_LIMITS__MAX_TEXT_CHARS": "2000",
            "QG_STREAMS__RESULTS": f"{self.run}:results",
            "QG_STREAMS__DEAD": f"{self.run}:dead",
            "QG_STREAMS__DEAD_DELIVERIES": f"{self.run}:dead-deliveries",
            "QG_STREAMS__RESULT_KEY_PREFIX": f"{self.run}:result:",
            "QG_STREAMS__STATE_KEY_PREFIX": f"{self.run}:state:",
            "QG_STREAMS__RECLAIM_IDLE_MS": "60000",
            "QG_STREAMS__LABELS": f"{self.run}:labels",
        }

    def settings(self, **env: str) -> Settings:
        """Settings as the worker sees them, for the client in the test process."""
        saved = {key: os.environ.get(key) for key in {**self.env, **env}}
        os.environ.update({**self.env, **env})
        try:
            return load_settings()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture
def namespace(test_model_dir: Path, redis_client: redis.Redis) -> Iterator[QueueNamespace]:
    space = QueueNamespace(test_model_dir)
    yield space
    forget_namespace(redis_client, space)


def forget_namespace(client: redis.Redis, space: QueueNamespace) -> None:
    """Delete every key a test's namespace wrote, and kombu's records of its queue."""
    for pattern in (f"{space.run}*", f"_kombu.binding*.{space.run}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    _forget_unacked(client, space.env["QG_WORKER__QUEUE"])


def _forget_unacked(client: redis.Redis, queue: str) -> None:
    """Drop kombu's unacked records of this test's queue (left by a killed worker)."""
    for tag, raw in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def worker_environment(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its metrics directory (each worker gets its own)
    and without QG_ settings, plus the test's."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("QG_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    return inherited | env


class WorkerProcess:
    """A ``qualitygate worker`` subprocess with its log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> WorkerProcess:
        hostname = f"w{uuid.uuid4().hex[:8]}@%h"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [QUALITYGATE, "worker", "--loglevel", "INFO", "--hostname", hostname],
                env=worker_environment(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: ("model " in self.log() and "worker ready" in self.log()) or self._died(),
            timeout_s,
            "the worker to load its model and become ready",
        )
        if self._died():
            raise AssertionError(f"the worker exited early:\n{self.log()[-3000:]}")
        return self

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: no shutdown, no acks."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 20) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout_s)


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGTERM a test's subprocess and its children (started with ``start_new_session``),
    SIGKILL them after ``timeout_s``; nothing when it has already exited."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def start_worker_on(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on any namespace (a private Redis's too); all stopped at the end."""
    workers: list[WorkerProcess] = []

    def start(space: QueueNamespace, **env: str) -> WorkerProcess:
        worker = WorkerProcess({**space.env, **env}, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def start_worker(
    namespace: QueueNamespace, start_worker_on: Callable[..., WorkerProcess]
) -> Callable[..., WorkerProcess]:
    """Start workers on the test's own namespace; stopped at the end."""

    def start(**env: str) -> WorkerProcess:
        return start_worker_on(namespace, **env)

    return start


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent``, from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(parent) and fields[0] != "Z":
            found.append(int(entry.name))
    return found
