"""One callback POST: the signed request, and what came of it.

Owns the HTTP side: the body is the result's JSON exactly as it is on the stream; the
headers are the signature (``callbacks.signing``), ``X-Qualitygate-Delivery`` (the stream
entry id, the same on every attempt, so a receiver can drop a repeat) and
``X-Qualitygate-Attempt``. Only a 2xx is a delivery: a redirect is never followed (a 3xx is
a failure, so an allow-listed host cannot bounce a callback elsewhere), and environment
proxies are ignored (a proxy would resolve the name again, undoing the pinning of
``callbacks.targets``). Each callback gets its own HTTP client, so a connection verified
for one host name is never reused for another. An outcome's error text is a status code,
or an exception's class and a short message with the URL and the secret scrubbed. It must
not read or write Redis.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from callbacks import signing
from callbacks.targets import Callback, Resolver, TargetRefused, pin, system_resolver
from qualitygate.callback_policy import IPNetwork

DELIVERY_HEADER = "X-Qualitygate-Delivery"
ATTEMPT_HEADER = "X-Qualitygate-Attempt"
_MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: delivered (a 2xx), or why not."""

    delivered: bool
    status: int | None
    error: str
    seconds: float


class Sender:
    """POSTs signed results to callbacks; safe to use from several threads."""

    def __init__(
        self,
        timeout_s: float,
        allow_private: Sequence[IPNetwork],
        resolve: Resolver = system_resolver,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.timeout_s = timeout_s
        self.allow_private = list(allow_private)
        self.resolve = resolve
        self._transport = transport
        self._verify = verify  # certificate checks; a test's own CA, never False in use
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, name: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = httpx.Client(
                    timeout=self.timeout_s,
                    follow_redirects=False,
                    trust_env=False,
                    transport=self._transport,
                    verify=self._verify,
                )
                self._clients[name] = client
            return client

    def send(self, callback: Callback, body: bytes, entry_id: str, attempt: int) -> Outcome:
        """POST ``body`` to ``callback``, signed now; never raises for the network."""
        started = time.perf_counter()
        try:
            target = pin(callback.url, self.allow_private, self.resolve)
            headers = {
                "Content-Type": "application/json",
                "Host": target.host_header,
                signing.HEADER: signing.sign(callback.secret, body),
                DELIVERY_HEADER: entry_id,
                ATTEMPT_HEADER: str(attempt),
            }
            extensions = {"sni_hostname": target.server_name} if target.server_name else {}
            status = self._post(callback.name, target.url, body, headers, extensions)
        except (httpx.HTTPError, TargetRefused, OSError) as exc:
            return Outcome(False, None, _scrubbed(exc, callback), time.perf_counter() - started)
        seconds = time.perf_counter() - started
        if 200 <= status < 300:
            return Outcome(True, status, "", seconds)
        if 300 <= status < 400:
            return Outcome(False, status, f"HTTP {status} (redirects are not followed)", seconds)
        return Outcome(False, status, f"HTTP {status}", seconds)

    def _post(
        self, name: str, url: str, body: bytes, headers: dict[str, str], extensions: dict
    ) -> int:
        """The answer's status code. The answer's body is never read: only the status
        counts, and a receiver must not be able to fill this process's memory."""
        request = self._client(name).build_request(
            "POST", url, content=body, headers=headers, extensions=extensions
        )
        response = self._client(name).send(request, stream=True)
        response.close()
        return response.status_code

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _scrubbed(exc: BaseException, callback: Callback) -> str:
    """``Class: message`` of a failure, short, without the secret or the callback URL
    (whose path or query may hold a token of the CMS's)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    for secret in (callback.secret, callback.url, urlsplit(callback.url).query):
        if secret:
            text = text.replace(secret, "[redacted]")
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message[:_MAX_ERROR_CHARS]
