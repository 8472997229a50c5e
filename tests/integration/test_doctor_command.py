"""`qualitygate doctor` on a real Redis: a private redis-server with no AOF (as the local
default is), heartbeats written in the workers' format, a group that missed results."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.client import QualityGateClient
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult
from tests.support.redis_server import RedisServer
from tests.support.workers import QueueNamespace
from workers.publish import Outgoing, ResultPublisher

pytestmark = pytest.mark.integration


def heartbeat(version: str, seen_at: float, pid: int) -> str:
    return json.dumps({"seen_at": seen_at, "config_version": version, "pid": pid})


def doctor(space: QueueNamespace, **env: str):
    """The exit code, and the table as one line of words (wide enough not to wrap)."""
    result = CliRunner().invoke(app, ["doctor"], env={**space.env, **env, "COLUMNS": "400"})
    words = "".join(" " if 0x2500 <= ord(c) <= 0x257F else c for c in result.output)
    return result.exit_code, " ".join(words.split())


def test_doctor_reports_each_problem_with_its_fix(
    test_model_dir, private_redis: RedisServer
) -> None:
    space = QueueNamespace(test_model_dir, redis_url=private_redis.url)
    env = {"QG_STREAMS__MAXLEN": "20", "QG_STREAMS__PAUSE_HEADROOM": "5"}
    settings = space.settings(**env)
    conn = private_redis.client()
    keys = Keys.from_settings(settings)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    client.ensure_group("audit")
    publisher = ResultPublisher.from_settings(settings)
    results = [
        Outgoing(GradeResult(id=f"r{i}", status="graded", config_version="v"), f"t{i}")
        for i in range(30)
    ]
    publisher.publish(results[:19])
    # "audit" keeps up (reads and acknowledges before anything is trimmed); "cms" is away.
    client.ack([e.entry_id for e in client.results("audit", "a", count=100, block_ms=None)])
    publisher.publish(results[19:29])
    publisher.publish([Outgoing(results[29].result, "t29", payload={"id": "r29"}, dead=True)])
    client.ack([e.entry_id for e in client.results("audit", "a", count=100, block_ms=None)])
    now = time.time()
    conn.hset(keys.workers, "gpu0@host", heartbeat(settings.version, now - 2, 101))
    conn.hset(keys.workers, "gpu1@host", heartbeat("0123456789abcdef", now - 3, 102))
    conn.hset(keys.workers, "old@host", heartbeat(settings.version, now - 3600, 103))

    code, out = doctor(space, **env)
    assert code == 1
    assert "persistence FAIL appendonly no" in out and "CONFIG SET appendonly yes" in out
    assert "redis role OK" in out and "master" in out
    assert "20 of streams.maxlen 20 (100%)" in out
    assert "group 'cms' FAIL" in out and "10 result(s) trimmed before it read them" in out
    assert "client.missed('cms')" in out
    assert "group 'audit' OK 0 pending (read, not acknowledged), 0 unread" in out
    assert "dead letters WARN 1 in" in out
    assert f"worker gpu0@host OK seen 2 s ago, pid 101, config {settings.version}" in out
    mismatch = f"grades with config 0123456789abcdef, this config is {settings.version}"
    assert f"worker gpu1@host FAIL {mismatch}" in out
    assert "worker old@host WARN last seen 3600 s ago" in out

    # Fixed: AOF on, the group's missed results handled, the mismatched worker gone.
    conn.config_set("appendonly", "yes")
    client.forget_missed("cms", [m.record_id for m in client.missed("cms")])
    conn.hdel(keys.workers, "gpu1@host")
    code, out = doctor(space, **env)
    assert "persistence OK appendonly yes" in out
    assert code == 0, out


def test_doctor_without_workers_or_redis_says_so(test_model_dir, private_redis) -> None:
    space = QueueNamespace(test_model_dir, redis_url=private_redis.url)
    code, out = doctor(space)
    assert code == 1 and "workers FAIL no worker has reported a heartbeat" in out
    private_redis.kill()
    code, out = doctor(space)
    assert code == 2 and "cannot reach Redis" in out
