"""callbacks/signing.py: the signature format, a known vector, and what verify refuses."""

from __future__ import annotations

import hashlib
import hmac

from callbacks.signing import parse, sign, signature, verify

SECRET = "whsec-0123456789abcdef"
BODY = b'{"id":"post-1","status":"graded","score":0.91}'
T = 1_764_700_000


def test_known_vector() -> None:
    # Computed independently of the module: HMAC-SHA256 over b"1764700000." + body.
    expected = hmac.new(SECRET.encode(), b"1764700000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, T, BODY) == expected
    assert sign(SECRET, BODY, timestamp=T) == f"t={T},v1={expected}"


def test_fixed_vector_literal() -> None:
    # The README's vector, also what `openssl dgst -sha256 -hmac` gives: a PHP or Node
    # receiver can check its own code against it.
    assert signature("secret-of-16-chars", 1700000000, b'{"id":"1"}') == (
        "1d5444e4c5f27734b7264fe5591aabcca3073b74ef215746681577007437e516"
    )


def test_verify_accepts_its_own_signature() -> None:
    header = sign(SECRET, BODY, timestamp=T)
    assert verify(SECRET, BODY, header, now=T + 10)


def test_verify_rejects_a_tampered_body() -> None:
    header = sign(SECRET, BODY, timestamp=T)
    assert not verify(SECRET, BODY.replace(b"0.91", b"0.99"), header, now=T)


def test_verify_rejects_a_tampered_timestamp() -> None:
    header = sign(SECRET, BODY, timestamp=T)
    forged = header.replace(f"t={T}", f"t={T + 60}")
    assert not verify(SECRET, BODY, forged, now=T + 60)


def test_verify_rejects_an_old_timestamp_replayed() -> None:
    header = sign(SECRET, BODY, timestamp=T)
    assert verify(SECRET, BODY, header, now=T + 299)
    assert not verify(SECRET, BODY, header, now=T + 301)
    assert not verify(SECRET, BODY, header, now=T - 301)  # from the future too


def test_verify_rejects_another_secret_and_malformed_headers() -> None:
    header = sign(SECRET, BODY, timestamp=T)
    assert not verify("another-secret-of-16", BODY, header, now=T)
    for bad in ("", "t=,v1=", "v1=abc", f"t={T}", f"t=abc,v1={'0' * 64}", "garbage"):
        assert not verify(SECRET, BODY, bad, now=T), bad


def test_several_v1_values_allow_rotating_secrets() -> None:
    old = signature("old-secret-16-chars", T, BODY)
    header = f"{sign(SECRET, BODY, timestamp=T)},v1={old}"
    assert parse(header) == (T, [signature(SECRET, T, BODY), old])
    assert verify("old-secret-16-chars", BODY, header, now=T)
