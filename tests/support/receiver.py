"""A real HTTP receiver for callback tests: an ``http.server`` thread on a loopback port.

It records every request (path, headers, raw body) and answers with whatever its
``respond`` function says, so a test can make it fail, redirect, or hang, and can stop it
and start it again on the same port to play a CMS that is down for a while.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.workers import free_port


class _Server(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: more simultaneous connects are dropped and
    # retried by the client's TCP a second later.
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0


Respond = Callable[["Received"], Answer]


class Receiver:
    """Records requests; ``respond`` decides each answer (200 by default)."""

    def __init__(
        self,
        respond: Respond | None = None,
        port: int | None = None,
        tls: dict[str, Path] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.tls = tls  # {"cert": ..., "key": ...} to serve https
        self.respond: Respond = respond or (lambda _request: Answer())
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(self.path, dict(self.headers.items()), body, 0)
                answer = receiver.respond(request)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                with receiver._lock:
                    receiver.requests.append(
                        Received(request.path, request.headers, body, answer.status)
                    )
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                if not any(name.lower() == "content-length" for name, _ in answer.headers):
                    self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls["cert"], self.tls["key"])
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx."""
        return [r for r in self.received() if 200 <= r.status < 300]
