"""A Redis Sentinel deployment on loopback for tests and ``bench/failover.py``: one master,
one replica and three sentinels (``redis-server --sentinel`` with a config file each, as
``redis-sentinel`` may not be installed), tuned to fail over in a few seconds.

The killed master comes back as a replica of the new one (``restart_as_replica``), so a
run can fail over again and again. Every process is killed at the end, even on failure.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.redis_server import redis_server_available
from tests.support.workers import free_port, wait_for

MASTER_NAME = "qgmaster"


class SentinelCluster:
    def __init__(self, workdir: Path, down_after_ms: int = 1000) -> None:
        self.workdir = workdir
        self.down_after_ms = down_after_ms
        self.data_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.sentinel_ports)

    @property
    def env(self) -> dict[str, str]:
        return {"QG_REDIS__URL": self.url, "QG_REDIS__SENTINEL__MASTER_NAME": MASTER_NAME}

    def _spawn(self, port: int, args: list[str]) -> None:
        log = open(self.workdir / f"redis-{port}.log", "ab")  # noqa: SIM115
        self.processes[port] = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()

    def _data_node(self, port: int, replica_of: int | None) -> None:
        folder = self.workdir / f"data-{port}"
        folder.mkdir(exist_ok=True)
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        self._spawn(port, args)
        wait_for(lambda: self._answers(port), 10, f"redis-server on port {port}")

    def start(self) -> SentinelCluster:
        master, replica = self.data_ports
        self._data_node(master, None)
        self._data_node(replica, master)
        wait_for(lambda: self.client(replica).info("replication").get("master_link_status")
                 == "up", 20, "the replica to sync")  # fmt: skip
        for port in self.sentinel_ports:
            conf = self.workdir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER_NAME} 3000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n",
                encoding="utf-8",
            )
            self._spawn(port, ["redis-server", str(conf), "--sentinel"])
        wait_for(self._sentinels_agree, 20, "three sentinels that know the master and replica")
        return self

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2, decode_responses=True)

    def _answers(self, port: int) -> bool:
        try:
            with self.client(port) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def _sentinels_agree(self) -> bool:
        try:
            states = [self.client(p).sentinel_master(MASTER_NAME) for p in self.sentinel_ports]
        except redis.RedisError:
            return False
        return all(s["num-other-sentinels"] == 2 and s["num-slaves"] >= 1 for s in states)

    def master_port(self) -> int | None:
        """The master's port as the sentinels' majority reports it."""
        seen = []
        for port in self.sentinel_ports:
            try:
                seen.append(int(self.client(port).sentinel_get_master_addr_by_name(MASTER_NAME)[1]))
            except (redis.RedisError, TypeError):
                continue
        best = max(set(seen), key=seen.count) if seen else None
        return best if best is not None and seen.count(best) >= 2 else None

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait(timeout=10)

    def fail_over(self, timeout_s: float = 30) -> tuple[int, int]:
        """SIGKILL the master; wait until the sentinels promote the replica and it takes
        writes. Returns (old, new) master ports."""
        old = self.master_port()
        assert old is not None
        self.kill(old)
        new = wait_for(lambda: (p := self.master_port()) != old and p, timeout_s, "a new master")
        wait_for(lambda: self.client(new).info("replication")["role"] == "master", 10, "role")
        return old, new

    def restart_as_replica(self, port: int, master: int) -> None:
        self._data_node(port, master)
        wait_for(lambda: self.client(port).info("replication").get("master_link_status")
                 == "up", 30, "the old master to sync as a replica")  # fmt: skip
        wait_for(self._sentinels_agree, 30, "the sentinels to see the replica again")

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    if not redis_server_available():
        pytest.skip("redis-server is not installed")
    cluster = SentinelCluster(tmp_path)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
