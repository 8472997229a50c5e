"""Verifying that a webhook comes from its CMS: HMAC-SHA256 signatures and bearer tokens.

Pure functions over a ``SignedRequest`` (method, path, lower-cased headers, raw body) and
the current time: no Redis, no clock of their own, so every case is a unit test. The
signature is computed over the raw bytes received, compared with ``hmac.compare_digest``,
and a signed timestamp must lie within the source's window either way. What this returns
as ``replay_token`` is what the replay cache (``api/intake/replay.py``) keys on.

A refusal names the header and the reason; it never quotes the signature, the computed
one or the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from api.intake.errors import AuthenticationError
from qualitygate.config_intake import BearerAuth, HmacAuth

#: Contentful lists the headers it signed here (its request verification).
CONTENTFUL_SIGNED_HEADERS = "x-contentful-signed-headers"
# A signed timestamp above this is in milliseconds (Contentful), below in seconds: 1e11 s
# is the year 5138, 1e11 ms is 1973.
_MILLISECONDS_ABOVE = 1e11
# What JavaScript's encodeURIComponent and encodeURI leave as they are.
_URI_COMPONENT_SAFE = "-_.!~*'()"
_URI_SAFE = "-_.!~*'();/?:@&=+$,#"


@dataclass(frozen=True)
class SignedRequest:
    """What a signature may cover: ``headers`` with lower-cased names, ``path`` raw (with
    its query string, if any) as the sender addressed it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Verified:
    """A request that passed: what makes it unique inside the window (None for a bearer
    token, which signs nothing) and when it was signed (None without a timestamp)."""

    replay_token: str | None
    signed_at: float | None


def verify(
    auth: HmacAuth | BearerAuth, secret: bytes, request: SignedRequest, tolerance_s: int, now: float
) -> Verified:
    """``Verified``, or AuthenticationError naming what is wrong."""
    if isinstance(auth, BearerAuth):
        verify_bearer(secret, request.headers)
        return Verified(replay_token=None, signed_at=None)
    return verify_hmac(auth, secret, request, tolerance_s, now)


def verify_bearer(token: bytes, headers: Mapping[str, str]) -> None:
    value = headers.get("authorization")
    if value is None:
        raise AuthenticationError("authorization: missing (expected 'Bearer TOKEN')")
    scheme, _, given = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise AuthenticationError("authorization: not a bearer token (expected 'Bearer TOKEN')")
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), token):
        raise AuthenticationError("authorization: the bearer token is not this source's")


def verify_hmac(
    auth: HmacAuth, secret: bytes, request: SignedRequest, tolerance_s: int, now: float
) -> Verified:
    header = auth.header.lower()
    provided = request.headers.get(header)
    if provided is None or not provided.strip():
        raise AuthenticationError(f"{header}: missing (this source's requests are signed)")
    candidates = _decoded_signatures(auth, header, provided)
    timestamp, signed_at = _timestamp(auth, request.headers, tolerance_s, now)
    delivery_id = _delivery_id(auth, request.headers)
    message = signed_message(auth, request, timestamp, delivery_id)
    expected = hmac.new(secret, message, hashlib.sha256).digest()
    for candidate in candidates:
        if hmac.compare_digest(candidate, expected):
            token = f"id:{delivery_id}" if delivery_id is not None else f"sig:{expected.hex()}"
            return Verified(replay_token=token, signed_at=signed_at)
    raise AuthenticationError(f"{header}: the signature does not match this request")


def _decoded_signatures(auth: HmacAuth, header: str, provided: str) -> list[bytes]:
    """Every well-formed SHA-256 signature in the header (several, space separated, as
    Standard Webhooks sends during a secret rotation), or AuthenticationError."""
    decoded: list[bytes] = []
    for part in provided.split():
        if auth.prefix:
            if not part.startswith(auth.prefix):
                continue
            part = part[len(auth.prefix) :]
        raw = _decode(part, auth.encoding)
        if raw is not None and len(raw) == hashlib.sha256().digest_size:
            decoded.append(raw)
    if not decoded:
        prefix = f" after {auth.prefix!r}" if auth.prefix else ""
        raise AuthenticationError(f"{header}: not a {auth.encoding} HMAC-SHA256 signature{prefix}")
    return decoded


def _decode(text: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def _timestamp(
    auth: HmacAuth, headers: Mapping[str, str], tolerance_s: int, now: float
) -> tuple[str | None, float | None]:
    """The timestamp as sent (it is signed as text) and in Unix seconds, checked against
    the window; (None, None) for a source that signs none."""
    if auth.timestamp_header is None:
        return None, None
    name = auth.timestamp_header.lower()
    raw = headers.get(name)
    if raw is None or not raw.strip():
        raise AuthenticationError(f"{name}: missing (this source signs a timestamp)")
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise AuthenticationError(f"{name}: not a Unix time in seconds or milliseconds")
    seconds = value / 1000 if value > _MILLISECONDS_ABOVE else value
    if seconds < now - tolerance_s:
        raise AuthenticationError(
            f"{name}: stale, signed {now - seconds:.0f} s ago, outside the {tolerance_s} s "
            "window (a replay, or a clock far off)"
        )
    if seconds > now + tolerance_s:
        raise AuthenticationError(
            f"{name}: signed {seconds - now:.0f} s in the future, outside the {tolerance_s} s "
            "window (a clock far off)"
        )
    return raw, seconds


def _delivery_id(auth: HmacAuth, headers: Mapping[str, str]) -> str | None:
    if auth.id_header is None:
        return None
    name = auth.id_header.lower()
    value = headers.get(name)
    if value is None or not value.strip():
        raise AuthenticationError(f"{name}: missing (this source signs a delivery id)")
    return value.strip()


def signed_message(
    auth: HmacAuth, request: SignedRequest, timestamp: str | None, delivery_id: str | None
) -> bytes:
    """The bytes the sender signed, per ``auth.signed_payload``."""
    if auth.signed_payload == "body":
        return request.body
    if auth.signed_payload == "timestamp.body":
        return f"{timestamp}.".encode() + request.body
    if auth.signed_payload == "id.timestamp.body":
        return f"{delivery_id}.{timestamp}.".encode() + request.body
    return contentful_canonical_request(auth, request)


def contentful_canonical_request(auth: HmacAuth, request: SignedRequest) -> bytes:
    """Contentful's canonical request, as its node-apps-toolkit verifies it:
    ``METHOD\\nPATH\\nHEADERS\\nBODY``, HEADERS being the headers named in
    x-contentful-signed-headers (plus that one and the timestamp's), lower-cased, values
    trimmed, sorted by name, written ``name:value`` and joined by ``;``."""
    headers = request.headers
    names = {
        name.strip().lower()
        for name in headers.get(CONTENTFUL_SIGNED_HEADERS, "").split(",")
        if name.strip()
    }
    names |= {CONTENTFUL_SIGNED_HEADERS, (auth.timestamp_header or "").lower()}
    missing = sorted(name for name in names if name not in headers)
    if missing:
        raise AuthenticationError(f"{missing[0]}: signed by the sender but missing here")
    signed = ";".join(f"{name}:{headers[name].strip()}" for name in sorted(names))
    head = f"{request.method.upper()}\n{contentful_path(request.path)}\n{signed}\n"
    return head.encode("latin-1", "replace") + request.body


def contentful_path(raw: str) -> str:
    """The path as the toolkit normalises it: the query escaped, then the whole encoded
    like JavaScript's ``encodeURI`` (a plain path is unchanged)."""
    path, _, query = raw.partition("?")
    joined = f"{path}?{quote(query, safe=_URI_COMPONENT_SAFE)}" if query else path
    return quote(joined, safe=_URI_SAFE)
