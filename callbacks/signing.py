"""The callback signature: ``X-Qualitygate-Signature: t=TIMESTAMP,v1=HEX``.

``HEX`` is ``hex(HMAC_SHA256(secret, f"{TIMESTAMP}.{BODY}"))`` over the exact bytes of the
request body, ``TIMESTAMP`` the sender's unix time in whole seconds. A receiver recomputes
it over the raw body it got (before any JSON parsing), compares in constant time, and
refuses a timestamp further than its tolerance from its own clock, so a captured request
cannot be replayed later. ``verify`` is that check, for Python receivers and the tests; the
README shows it in PHP and Node. Owns signing and verifying only: it must not send or log.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Qualitygate-Signature"
SCHEME = "v1"
#: How far a receiver lets a signature's timestamp stray from its clock, by default.
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``, signed now (or at ``timestamp``)."""
    when = int(time.time()) if timestamp is None else timestamp
    return f"t={when},{SCHEME}={signature(secret, when, body)}"


def parse(header: str) -> tuple[int, list[str]] | None:
    """``(timestamp, [v1 signatures])`` of a header value, or None when it is malformed.
    Several ``v1`` values are allowed, so a sender may sign with an old and a new secret
    while a receiver rotates."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(
    secret: str,
    body: bytes,
    header: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` with a timestamp within
    ``tolerance_s`` of ``now``: the check a receiver makes before trusting a callback."""
    parsed = parse(header)
    if parsed is None:
        return False
    timestamp, candidates = parsed
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
