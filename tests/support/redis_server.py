"""A private ``redis-server`` on a free port, for tests that stop, restart or lock down
Redis: the shared Redis on 6379 must never be stopped by a test.

No persistence (``--save "" --appendonly no``): a restart starts empty, as a production
Redis without AOF would. The fixture kills the server even when the test fails.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.workers import free_port, wait_for


def make_tls_files(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with openssl."""
    ca_key, ca, key, csr, cert = (
        directory / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = directory / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=qg-test-ca",
         "-keyout", ca_key, "-out", ca],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
         "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days",
         "1", "-extfile", ext, "-out", cert],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return {"ca": ca, "cert": cert, "key": key}


class RedisServer:
    """One redis-server subprocess that a test can kill and start again on the same port."""

    def __init__(
        self,
        workdir: Path,
        password: str | None = None,
        tls: dict[str, Path] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.password = password
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls is None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        query = f"ssl_cert_reqs=required&ssl_ca_certs={self.tls['ca']}"
        return f"rediss://{auth}127.0.0.1:{self.port}/0?{query}"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def start(self, timeout_s: float = 10) -> RedisServer:
        args = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.workdir)]
        if self.tls is None:
            args += ["--port", str(self.port)]
        else:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", str(self.tls["cert"]), "--tls-key-file"]
            args += [str(self.tls["key"]), "--tls-ca-cert-file", str(self.tls["ca"])]
        if self.password:
            args += ["--requirepass", self.password]
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        self.starts += 1
        wait_for(self._answers, timeout_s, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server on port {self.port} exited")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: no save, no goodbye to clients, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def redis_server_available() -> bool:
    return shutil.which("redis-server") is not None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if not redis_server_available():
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()
