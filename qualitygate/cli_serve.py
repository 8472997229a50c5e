"""The bodies of ``qualitygate serve`` and ``qualitygate api-key create``.

Owns the refusal to serve without keys (allowed only with ``--insecure-no-auth`` on a
loopback address; never on another address), the uvicorn start (its access log writes
the method, path and status, never headers, so a key never reaches a log) and the making of
new keys: ``qg_`` plus 32 random bytes, printed once, with the config entry holding only
its SHA-256. It must not define routes (``api/`` does); it imports ``api`` lazily, as the
composition root's helper.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import sys

import yaml
from pydantic import ValidationError

from qualitygate.config import ApiKey, Settings, format_validation_error

KEY_PREFIX = "qg_"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(settings: Settings, host: str, insecure_no_auth: bool) -> str | None:
    """Why the server must not start with these keys on this host, or None."""
    if settings.api.keys:
        return None
    if not is_loopback(host):
        return (
            f"refusing to serve on {host} without API keys (api.keys is empty); create one "
            "with `qualitygate api-key create NAME --scopes submit,read`"
        )
    if not insecure_no_auth:
        return (
            "refusing to serve without API keys (api.keys is empty); create one with "
            "`qualitygate api-key create NAME --scopes submit,read`, or pass "
            "--insecure-no-auth to serve on loopback without keys"
        )
    return None


def serve(settings: Settings, host: str, port: int, insecure_no_auth: bool) -> None:
    """Run the API under uvicorn until interrupted."""
    import uvicorn

    from api.app import create_app

    anonymous = insecure_no_auth and not settings.api.keys
    if anonymous:
        print(
            "warning: serving without API keys (--insecure-no-auth): anyone who can reach "
            f"{host}:{port} can submit and read results",
            file=sys.stderr,
            flush=True,
        )
    app = create_app(settings, allow_anonymous=anonymous)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


def new_key(name: str, scopes: list[str]) -> tuple[str, str]:
    """A new key and the YAML ``api.keys`` entry for it; ValueError naming the field."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    entry = {
        "name": name,
        "key_sha256": hashlib.sha256(key.encode("utf-8")).hexdigest(),
        "scopes": scopes,
    }
    try:
        ApiKey.model_validate(entry)
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc)) from None
    return key, yaml.safe_dump({"api": {"keys": [entry]}}, sort_keys=False)
