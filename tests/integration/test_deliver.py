"""``qualitygate deliver`` end to end: real Redis, a real ``deliver`` subprocess, a real HTTP
receiver on a loopback port; results written by the real publisher (``workers.publish``).

Signed and verifiable deliveries; a receiver that is down or answers 500 for a while gets
everything once it is back, each entry acknowledged once; the dead-deliveries stream after
``max_attempts``; a 3xx not followed; SIGKILL mid-way loses nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from callbacks.signing import verify
from qualitygate.config import Settings
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult
from tests.support.receiver import Answer, Received, Receiver
from tests.support.redis_server import RedisServer
from tests.support.workers import (
    QUALITYGATE,
    QueueNamespace,
    free_port,
    stop_process_group,
    wait_for,
    worker_environment,
)
from workers.publish import Outgoing, ResultPublisher

pytestmark = pytest.mark.integration

SECRET = "integration-callback-secret-0123"
SECRET_ENV = "QG_TEST_CALLBACK_SECRET"
GROUP = "deliver-test"
# Content-like text carried in the results: it must never reach the deliverer's log.
MARKER = "private-draft-text-7f3a"


class DeliverProcess:
    """A ``qualitygate deliver`` subprocess with its log file."""

    def __init__(self, env: dict[str, str], config: Path, log_path: Path) -> None:
        self.env, self.config, self.log_path = env, config, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DeliverProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [QUALITYGATE, "deliver", "--config", str(self.config)],
                env=worker_environment(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: "deliver ready" in self.log() or self.process.poll() is not None,
            30,
            "deliver to start",
        )
        assert self.process.poll() is None, f"deliver exited:\n{self.log()[-3000:]}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        stop_process_group(self.process)
        return int(self.process.returncode)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def start_deliver(
    namespace: QueueNamespace, receiver: Receiver, tmp_path: Path
) -> Iterator[Callable[..., DeliverProcess]]:
    """Start ``deliver`` on the test's namespace, its callback ``cms`` the receiver."""
    started: list[DeliverProcess] = []

    def start(env: dict[str, str] | None = None, **delivery: Any) -> DeliverProcess:
        section = {
            "group": GROUP,
            "callbacks": {"cms": {"url": receiver.url, "secret_env": SECRET_ENV}},
            "routes": {"key:cms-a": "cms"},
            "allow_hosts": ["127.0.0.1"],
            "allow_private": ["127.0.0.1/32"],
            "backoff_base_s": 0.05,
            "backoff_max_s": 0.3,
            "max_attempts": 100,
            "timeout_s": 2.0,
            "block_ms": 200,
        } | delivery
        config = tmp_path / f"deliver-{len(started)}.yaml"
        config.write_text(yaml.safe_dump({"delivery": section}), encoding="utf-8")
        full_env = namespace.env | {SECRET_ENV: SECRET} | (env or {})
        process = DeliverProcess(full_env, config, tmp_path / f"deliver-{len(started)}.log")
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def publish(settings: Settings, client: redis.Redis, count: int, origin: str | None) -> dict:
    """``count`` results through the real publisher, their origin recorded as the API
    would; returns stream entry id -> the result's JSON as it is on the stream."""
    keys = Keys.from_settings(settings)
    publisher = ResultPublisher.from_settings(settings)
    prefix = origin or "none"
    outgoing = []
    for i in range(count):
        item_id = f"{prefix}-item-{i}"
        if origin:
            client.set(keys.origin(item_id), origin)
        result = GradeResult(
            id=item_id,
            status="graded",
            config_version="v",
            score=0.5,
            metadata={"note": MARKER},
        )
        outgoing.append(Outgoing(result, f"task-{prefix}-{i}"))
    publisher.publish(outgoing)
    entries = client.xrange(keys.results)
    return {
        entry_id: fields["result"]
        for entry_id, fields in entries
        if json.loads(fields["result"])["id"].startswith(prefix)
    }


def settled(client: redis.Redis, settings: Settings) -> bool:
    """Every entry of the stream read by the deliverer group and none pending."""
    stream = settings.streams.results
    groups = {g["name"]: g for g in client.xinfo_groups(stream)}
    group = groups.get(GROUP)
    return bool(group) and group["pending"] == 0 and group["lag"] == 0


def test_results_reach_the_receiver_signed_and_verifiable(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    receiver.start()
    routed = publish(settings, redis_client, 6, "key:cms-a")
    unrouted = publish(settings, redis_client, 2, None)
    metrics_port = free_port()
    deliver = start_deliver(metrics_port=metrics_port)
    wait_for(
        lambda: len(receiver.delivered()) >= 6 and settled(redis_client, settings),
        30,
        "six deliveries, all acknowledged",
    )

    by_entry = {r.headers["X-Qualitygate-Delivery"]: r for r in receiver.received()}
    assert set(by_entry) == set(routed)  # the unrouted two were skipped, not sent
    for entry_id, request in by_entry.items():
        assert request.body == routed[entry_id].encode()  # the stream's JSON, byte for byte
        assert verify(SECRET, request.body, request.headers["X-Qualitygate-Signature"])
        assert not verify(SECRET, request.body + b" ", request.headers["X-Qualitygate-Signature"])
        assert request.headers["X-Qualitygate-Attempt"] == "1"
    assert set(unrouted).isdisjoint(by_entry)

    scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read().decode()
    assert 'qualitygate_callbacks_delivered_total{callback="cms"} 6.0' in scraped
    assert "qualitygate_callbacks_skipped_total 2.0" in scraped

    assert deliver.stop() == 0
    log = deliver.log()
    assert "deliver stopped" in log
    assert SECRET not in log and MARKER not in log


def test_a_receiver_down_then_failing_gets_everything_once_back(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    entries = publish(settings, redis_client, 10, "key:cms-a")
    deliver = start_deliver()  # the receiver is down: nothing listens on its port
    wait_for(lambda: deliver.log().count("ConnectError") >= 10, 30, "refused attempts")
    failures = {"left": 15}

    def flaky(request: Received) -> Answer:
        if failures["left"] > 0:
            failures["left"] -= 1
            return Answer(500)
        return Answer(200)

    receiver.respond = flaky
    receiver.start()
    wait_for(
        lambda: len(receiver.delivered()) >= 10 and settled(redis_client, settings),
        60,
        "every entry delivered once the receiver is back",
    )

    answered_ok = Counter(r.headers["X-Qualitygate-Delivery"] for r in receiver.delivered())
    # Each entry got exactly one 2xx, so it was acknowledged exactly once: the receiver
    # never timed out here, which is the one way a delivered entry is sent again.
    assert set(answered_ok) == set(entries) and set(answered_ok.values()) == {1}
    assert any(int(r.headers["X-Qualitygate-Attempt"]) > 2 for r in receiver.delivered())
    assert redis_client.xlen(settings.streams.dead_deliveries) == 0
    keys = Keys.from_settings(settings)
    assert not redis_client.exists(keys.delivery_attempts(GROUP), keys.delivery_due(GROUP))


def test_after_max_attempts_the_entry_moves_to_dead_deliveries_with_its_reason(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    receiver.respond = lambda request: Answer(500)
    receiver.start()
    entries = publish(settings, redis_client, 2, "key:cms-a")
    start_deliver(max_attempts=3)
    dead_stream = settings.streams.dead_deliveries
    wait_for(
        lambda: redis_client.xlen(dead_stream) == 2 and settled(redis_client, settings),
        30,
        "two dead deliveries",
    )

    for _, record in redis_client.xrange(dead_stream):
        assert record["error"] == "HTTP 500" and record["attempts"] == "3"
        assert record["callback"] == "cms" and record["group"] == GROUP
        assert record["result"] == entries[record["entry_id"]]
        assert SECRET not in json.dumps(record)
    attempts = Counter(
        (r.headers["X-Qualitygate-Delivery"], r.headers["X-Qualitygate-Attempt"])
        for r in receiver.received()
    )
    assert attempts == Counter({(e, str(n)): 1 for e in entries for n in (1, 2, 3)})


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
    receiver.respond = lambda request: (
        Answer(302, (("Location", elsewhere),)) if request.path == "/hook" else Answer(200)
    )
    receiver.start()
    publish(settings, redis_client, 1, "key:cms-a")
    start_deliver(max_attempts=2)
    dead_stream = settings.streams.dead_deliveries
    wait_for(lambda: redis_client.xlen(dead_stream) == 1, 30, "the redirected entry dead")
    [(_, record)] = redis_client.xrange(dead_stream)
    assert record["error"] == "HTTP 302 (redirects are not followed)"
    assert [r.path for r in receiver.received()] == ["/hook", "/hook"]


def test_sigkill_mid_way_and_a_restart_lose_nothing(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    receiver.respond = lambda request: Answer(200, delay_s=0.1)
    receiver.start()
    entries = publish(settings, redis_client, 40, "key:cms-a")
    fast_reclaim = {"QG_STREAMS__RECLAIM_IDLE_MS": "1500"}
    first = start_deliver(env=fast_reclaim, concurrency=2, batch_size=50)
    wait_for(lambda: len(receiver.delivered()) >= 6, 30, "some deliveries before the kill")
    first.kill()
    assert len({r.headers["X-Qualitygate-Delivery"] for r in receiver.delivered()}) < 40

    start_deliver(env=fast_reclaim, concurrency=2, batch_size=50)
    wait_for(lambda: settled(redis_client, settings), 60, "every entry acknowledged")
    answered_ok = Counter(r.headers["X-Qualitygate-Delivery"] for r in receiver.delivered())
    assert set(answered_ok) == set(entries)
    # At least once: only the POSTs in flight when the process died (at most
    # `concurrency` of them) may have reached the receiver twice.
    assert sum(answered_ok.values()) - len(entries) <= 2
    assert redis_client.xlen(settings.streams.dead_deliveries) == 0


def test_a_receiver_slower_than_the_timeout_gets_the_entry_again(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    # The one way a delivered entry is sent twice while deliver keeps running: the first
    # answer came after delivery.timeout_s. Same X-Qualitygate-Delivery id both times.
    settings = namespace.settings()
    calls = {"n": 0}

    def slow_first(request: Received) -> Answer:
        calls["n"] += 1
        return Answer(200, delay_s=1.5) if calls["n"] == 1 else Answer(200)

    receiver.respond = slow_first
    receiver.start()
    [entry_id] = publish(settings, redis_client, 1, "key:cms-a")
    start_deliver(timeout_s=0.5)
    wait_for(
        lambda: len(receiver.delivered()) >= 2 and settled(redis_client, settings),
        30,
        "the entry answered twice and acknowledged",
    )
    seen = sorted(
        (r.headers["X-Qualitygate-Delivery"], r.headers["X-Qualitygate-Attempt"])
        for r in receiver.delivered()
    )
    assert seen == [(entry_id, "1"), (entry_id, "2")]
    assert redis_client.xlen(settings.streams.dead_deliveries) == 0


def test_deliver_outlives_a_redis_crash_and_carries_on(
    namespace: QueueNamespace, private_redis: RedisServer, receiver: Receiver, start_deliver
) -> None:
    # A private redis-server without persistence: killed, it comes back empty (no stream,
    # no group). deliver keeps running through the outage, creates the group again, and
    # delivers what is published afterwards.
    env = {"QG_REDIS__URL": private_redis.url}
    settings = namespace.settings(**env)
    client = private_redis.client()
    receiver.start()
    publish(settings, client, 2, "key:cms-a")
    deliver = start_deliver(env=env)
    wait_for(lambda: len(receiver.delivered()) == 2, 30, "the first two deliveries")
    private_redis.kill()
    wait_for(lambda: "redis error" in deliver.log(), 30, "deliver to notice the outage")
    assert deliver.process.poll() is None
    private_redis.start()
    wait_for(lambda: _has_group(client, settings), 30, "the group created again")
    after = publish(settings, client, 3, "key:cms-a")
    wait_for(
        lambda: len(receiver.delivered()) == 5 and settled(client, settings),
        30,
        "the three published after the crash",
    )
    assert {r.headers["X-Qualitygate-Delivery"] for r in receiver.delivered()[2:]} == set(after)
    assert deliver.process.poll() is None


def _has_group(client: redis.Redis, settings: Settings) -> bool:
    try:
        return any(g["name"] == GROUP for g in client.xinfo_groups(settings.streams.results))
    except redis.ResponseError:
        return False


def test_entries_waiting_for_a_retry_do_not_hold_up_the_others(
    namespace: QueueNamespace, redis_client: redis.Redis, receiver: Receiver, start_deliver
) -> None:
    settings = namespace.settings()
    failing = f"http://127.0.0.1:{receiver.port}/failing"
    receiver.respond = lambda request: Answer(500 if request.path == "/failing" else 200)
    receiver.start()
    stuck = publish(settings, redis_client, 3, "key:broken-cms")  # published first
    good = publish(settings, redis_client, 5, "key:cms-a")
    start_deliver(
        callbacks={
            "cms": {"url": receiver.url, "secret_env": SECRET_ENV},
            "broken": {"url": failing, "secret_env": SECRET_ENV},
        },
        routes={"key:cms-a": "cms", "key:broken-cms": "broken"},
        backoff_base_s=1.0,
        backoff_max_s=5.0,
    )

    def pending() -> set[str]:
        found = redis_client.xpending_range(settings.streams.results, GROUP, "-", "+", 100)
        return {p["message_id"] for p in found}

    # The good five delivered and acknowledged while the three before them, which keep
    # failing, stay pending (not lost) waiting for their next attempt.
    wait_for(
        lambda: len(receiver.delivered()) == 5 and pending() == set(stuck),
        30,
        "the five good deliveries acknowledged",
    )
    delivered = {r.headers["X-Qualitygate-Delivery"] for r in receiver.delivered()}
    assert delivered == set(good)
    assert any(r.path == "/failing" for r in receiver.received())
