"""api/intake/signature.py: HMAC signatures (body, timestamped, Standard Webhooks,
Contentful's canonical request) and bearer tokens, verified against requests signed the
way each CMS signs them (tests/support/webhooks.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from api.intake.errors import AuthenticationError
from api.intake.signature import SignedRequest, Verified, contentful_path, verify
from qualitygate.config_intake import BearerAuth, HmacAuth
from tests.support.webhooks import (
    contentful_headers,
    sample_body,
    standard_webhooks_signature,
    wp_webhooks_signature,
)

NOW = 1_764_583_200.0  # 2025-12-01T10:00:00Z
SECRET = "s3cret-for-this-test"
WP = HmacAuth(
    kind="hmac",
    secret=SECRET,
    header="X-WP-Webhook-Signature",
    encoding="base64",
    signed_payload="body",
)
STAMPED = HmacAuth(
    kind="hmac",
    secret=SECRET,
    header="X-Signature",
    encoding="hex",
    prefix="sha256=",
    signed_payload="timestamp.body",
    timestamp_header="X-Timestamp",
)
CONTENTFUL = HmacAuth(
    kind="hmac",
    secret=SECRET,
    header="x-contentful-signature",
    encoding="hex",
    signed_payload="contentful",
    timestamp_header="x-contentful-timestamp",
)
STANDARD = HmacAuth(
    kind="hmac",
    secret=SECRET,
    header="webhook-signature",
    encoding="base64",
    prefix="v1,",
    signed_payload="id.timestamp.body",
    timestamp_header="webhook-timestamp",
    id_header="webhook-id",
)
BODY = sample_body("wordpress")
PATH = "/v1/intake/contentful"


def request(
    headers: dict[str, str], body: bytes = BODY, path: str = "/v1/intake/wp"
) -> SignedRequest:
    return SignedRequest("POST", path, {k.lower(): v for k, v in headers.items()}, body)


def check(auth: Any, req: SignedRequest, now: float = NOW, tolerance: int = 300) -> Verified:
    return verify(auth, SECRET.encode(), req, tolerance, now)


def refused(auth: Any, req: SignedRequest, now: float = NOW) -> str:
    with pytest.raises(AuthenticationError) as caught:
        check(auth, req, now)
    message = caught.value.message
    assert SECRET not in message
    for value in req.headers.values():  # no signature or token quoted back
        assert len(value) < 20 or value not in message
    return message


def stamped(timestamp: int, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"X-Signature": "sha256=" + digest.hexdigest(), "X-Timestamp": str(timestamp)}


# -- body signatures (WP Webhooks) -------------------------------------------------------


def test_a_wp_webhooks_signature_over_the_raw_body_passes() -> None:
    verified = check(WP, request({"X-WP-Webhook-Signature": wp_webhooks_signature(SECRET, BODY)}))
    assert verified.replay_token and verified.replay_token.startswith("sig:")
    assert verified.signed_at is None


def test_another_secret_a_changed_body_or_a_missing_header_is_refused() -> None:
    wrong = wp_webhooks_signature("another secret", BODY)
    assert "does not match" in refused(WP, request({"X-WP-Webhook-Signature": wrong}))
    good = wp_webhooks_signature(SECRET, BODY)
    tampered = request({"X-WP-Webhook-Signature": good}, body=BODY.replace(b"Saturday", b"Sunday"))
    assert "does not match" in refused(WP, tampered)
    message = refused(WP, request({}))
    assert message.startswith("x-wp-webhook-signature: missing")


def test_a_signature_in_the_wrong_encoding_is_named_as_such() -> None:
    # Hex where base64 is expected: 64 characters that decode, but to 48 bytes, not 32.
    as_hex = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    message = refused(WP, request({"X-WP-Webhook-Signature": as_hex}))
    assert "not a base64 HMAC-SHA256 signature" in message
    as_base64 = wp_webhooks_signature(SECRET, BODY)
    headers = {"X-Signature": "sha256=" + as_base64, "X-Timestamp": str(int(NOW))}
    assert "not a hex HMAC-SHA256 signature after 'sha256='" in refused(STAMPED, request(headers))


# -- timestamped signatures ---------------------------------------------------------------


def test_a_timestamped_signature_inside_the_window_passes() -> None:
    verified = check(STAMPED, request(stamped(int(NOW) - 299)))
    assert verified.signed_at == int(NOW) - 299


def test_a_stale_or_future_timestamp_is_refused_with_the_reason() -> None:
    message = refused(STAMPED, request(stamped(int(NOW) - 301)))
    assert message.startswith("x-timestamp: stale, signed 301 s ago, outside the 300 s window")
    assert "in the future" in refused(STAMPED, request(stamped(int(NOW) + 400)))


def test_a_timestamp_changed_after_signing_or_missing_is_refused() -> None:
    headers = stamped(int(NOW) - 10) | {"X-Timestamp": str(int(NOW) - 5)}
    assert "does not match" in refused(STAMPED, request(headers))
    headers = stamped(int(NOW)) | {"X-Timestamp": "yesterday"}
    assert "not a Unix time" in refused(STAMPED, request(headers))
    headers = stamped(int(NOW))
    del headers["X-Timestamp"]
    assert refused(STAMPED, request(headers)).startswith("x-timestamp: missing")


def test_standard_webhooks_delivery_ids_and_several_signatures_during_a_rotation() -> None:
    timestamp = int(NOW)
    old = standard_webhooks_signature(b"old secret", "msg_2b7f", timestamp, BODY)
    new = standard_webhooks_signature(SECRET.encode(), "msg_2b7f", timestamp, BODY)
    headers = {"webhook-id": "msg_2b7f", "webhook-timestamp": str(timestamp)}
    verified = check(STANDARD, request(headers | {"webhook-signature": f"{old} {new}"}))
    assert verified.replay_token == "id:msg_2b7f"
    other_id = headers | {"webhook-id": "msg_9999", "webhook-signature": new}
    assert "does not match" in refused(STANDARD, request(other_id))


# -- Contentful ----------------------------------------------------------------------------


def test_a_contentful_signed_request_passes_with_a_millisecond_timestamp() -> None:
    body = sample_body("contentful")
    headers = contentful_headers(SECRET, PATH, body, int(NOW * 1000) - 5000)
    verified = check(CONTENTFUL, request(headers, body, PATH))
    assert verified.signed_at == pytest.approx(NOW - 5)


def test_contentful_signs_the_path_method_and_listed_headers_too() -> None:
    body = sample_body("contentful")
    headers = contentful_headers(SECRET, PATH, body, int(NOW * 1000))
    assert "does not match" in refused(CONTENTFUL, request(headers, body, "/v1/intake/other"))
    changed = headers | {"x-contentful-topic": "ContentManagement.Entry.delete"}
    assert "does not match" in refused(CONTENTFUL, request(changed, body, PATH))
    missing = {k: v for k, v in headers.items() if k != "x-contentful-crn"}
    message = refused(CONTENTFUL, request(missing, body, PATH))
    assert message == "x-contentful-crn: signed by the sender but missing here"


def test_a_stale_contentful_request_is_refused() -> None:
    body = sample_body("contentful")
    headers = contentful_headers(SECRET, PATH, body, int(NOW * 1000) - 600_000)
    assert "stale, signed 600 s ago" in refused(CONTENTFUL, request(headers, body, PATH))


def test_contentful_paths_are_normalised_like_encode_uri() -> None:
    assert contentful_path("/v1/intake/contentful") == "/v1/intake/contentful"
    assert contentful_path("/hook?a=b c") == "/hook?a%253Db%2520c"


# -- bearer tokens ---------------------------------------------------------------------------


def test_bearer_tokens() -> None:
    auth = BearerAuth(kind="bearer", token=SECRET)
    assert check(auth, request({"Authorization": f"Bearer {SECRET}"})).replay_token is None
    assert "not this source's" in refused(auth, request({"Authorization": "Bearer guess"}))
    assert "not a bearer token" in refused(auth, request({"Authorization": f"Basic {SECRET}"}))
    assert refused(auth, request({})).startswith("authorization: missing")


def test_nothing_secret_is_in_a_refusal() -> None:
    token = base64.b64encode(b"x" * 32).decode()
    message = refused(WP, request({"X-WP-Webhook-Signature": token}))
    assert token not in message
    assert hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest() not in message
