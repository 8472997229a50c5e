"""Who is calling: API keys as ``Authorization: Bearer KEY``, their scopes, their rate limit.

Owns the check of a presented key against ``api.keys`` (config holds only each key's
SHA-256; the digest of what was presented is compared with every configured one in
constant time) and ``require(scope)``, the FastAPI dependency every protected route uses
(this package's routers, and the intake and console routers of other branches): ``401``
with ``WWW-Authenticate: Bearer`` without a key or with a wrong one, ``403`` without the
scope, ``429`` with ``Retry-After`` over the key's rate limit; it returns the caller's key
name. A browser cannot add a Bearer header, so a page meant for one (``/console``) also
takes the key as HTTP Basic's password (any user name) and challenges with ``Basic``, which
makes the browser ask for it. A presented key is never logged, stored or echoed. It must
not talk to Redis itself (the rate limiter does).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from qualitygate.config import ApiKey, ApiSettings, RateLimit

ALL_SCOPES = ("submit", "read", "label", "admin")
ANONYMOUS = "anonymous"

_bearer = HTTPBearer(auto_error=False, description="An API key from `qualitygate api-key create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_basic = HTTPBasic(auto_error=False, description="A browser: the API key as the password.")
BasicCredentials = Annotated[HTTPBasicCredentials | None, Depends(_basic)]
BROWSER_REALM = 'Basic realm="qualitygate", charset="UTF-8"'


def key_digest(key: str) -> str:
    """The SHA-256 hex digest config stores for a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its key's name, scopes and rate limit."""

    name: str
    scopes: frozenset[str]
    rate_limit: RateLimit


class Authenticator:
    """Maps a presented key to its Caller. With no keys configured and ``allow_anonymous``
    (``serve --insecure-no-auth`` on loopback), every request is the anonymous caller with
    every scope; with no keys and no permission, every request is refused."""

    def __init__(self, api: ApiSettings, allow_anonymous: bool = False) -> None:
        self._keys: list[ApiKey] = list(api.keys)
        self._default_limit = api.rate_limit
        self.anonymous = (
            Caller(ANONYMOUS, frozenset(ALL_SCOPES), api.rate_limit)
            if allow_anonymous and not self._keys
            else None
        )

    def identify(self, presented: str | None) -> Caller | None:
        """The caller a key belongs to, or None. Every configured digest is compared,
        whether an earlier one matched or not, so timing says nothing about which."""
        if self.anonymous is not None:
            return self.anonymous
        if not presented:
            return None
        digest = key_digest(presented).encode("ascii")
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.key_sha256.encode("ascii")):
                found = key
        if found is None:
            return None
        return Caller(found.name, frozenset(found.scopes), found.rate_limit or self._default_limit)


def _unauthorized(reason: str, error: str | None) -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": challenge})


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """The caller of ``request``, or the 401 that says why there is none."""
    auth: Authenticator = request.app.state.auth
    caller = auth.identify(credentials.credentials if credentials else None)
    if caller is not None:
        return caller
    if credentials is None:
        raise _unauthorized("Authorization: expected 'Bearer KEY' with an API key", None)
    raise _unauthorized("Authorization: the API key is not valid", "invalid_token")


def require(scope: str, browser: bool = False) -> Callable[..., str]:
    """A dependency that lets through callers whose key has ``scope`` and is within its
    rate limit; the route receives the key's name (``Depends(require("submit"))``). With
    ``browser``, the key may also come as HTTP Basic's password, and a refusal challenges
    with ``Basic`` so a browser asks for it."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"scope {scope!r} is not one of {', '.join(ALL_SCOPES)}")

    def dependency(request: Request, credentials: Credentials, basic: BasicCredentials) -> str:
        if browser and credentials is None and basic is not None:
            credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=basic.password)
        try:
            caller = authenticate(request, credentials)
        except HTTPException as refused:
            if browser:
                refused.headers = {"WWW-Authenticate": BROWSER_REALM}
            raise
        if scope not in caller.scopes:
            raise HTTPException(403, detail=f"scope: this API key lacks the {scope!r} scope")
        _check_rate(request, caller)
        request.state.caller = caller.name
        return caller.name

    return dependency


def _check_rate(request: Request, caller: Caller) -> None:
    """429 with ``Retry-After`` when ``caller`` is over its key's rate limit."""
    retry_after = request.app.state.limiter.check(caller.name, caller.rate_limit)
    if retry_after is not None:
        request.app.state.metrics.rate_limited(caller.name)
        raise HTTPException(
            429,
            detail=f"rate limit: at most {caller.rate_limit.requests} requests per "
            f"{caller.rate_limit.window_s:g} s for this API key",
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
        )
