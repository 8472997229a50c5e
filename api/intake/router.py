"""``POST /v1/intake/{source}``: one router the app includes, one request's way through it.

Order matters and is fixed here: the source is looked up (404), the raw body read within
the limit (413), the request authenticated before anything parses it (401: signature,
timestamp window, replay cache; or bearer token), the body parsed (422), the event
accepted or ignored (200), the payload mapped (422) and the item enqueued (202; 503 when
Redis is down, with the replay claim released so the CMS's retry goes through). Nothing is
enqueued unless every step passed. Redis work runs in the thread pool, off the event loop.

It builds everything at start: expressions compiled, secrets read (a secret variable that
is not set fails ``build_router`` with a ConfigError naming the source's field).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.intake.body import body_limit, read_limited
from api.intake.enqueue import enqueue
from api.intake.errors import (
    AuthenticationError,
    IntakeError,
    MalformedBodyError,
    MappingError,
    QueueUnavailableError,
    UnknownSourceError,
)
from api.intake.mapping import CompiledSource, ignored_because, map_payload
from api.intake.replay import ReplayCache, claim_ttl_s
from api.intake.signature import SignedRequest, Verified, verify
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.config_intake import BearerAuth, IntakeSource, MissingSecretError
from qualitygate.errors import ConfigError, RedisUnavailableError

logger = logging.getLogger(__name__)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "An event the source's accept_if ignores: {ignored, reason}."},
    401: {"description": "Missing or wrong signature or token; stale or replayed request."},
    404: {"description": "No intake source of that name is configured."},
    413: {"description": "The body is over the limit (checked while it is read)."},
    422: {"description": "Not JSON, or a mapped field missing or invalid (names it)."},
    503: {"description": "Redis unreachable; retry the same request (not taken for a replay)."},
}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}}


def build_router(
    settings: Settings, client: QualityGateClient, clock: Callable[[], float] = time.time
) -> APIRouter:
    """The intake routes for ``settings.intake.sources``, enqueuing through ``client``."""
    intake = Intake(settings, client, clock)
    router = APIRouter(tags=["intake"])

    @router.post(
        "/v1/intake/{source}",
        status_code=202,
        responses=_RESPONSES,
        openapi_extra=_BODY,
        summary="Accept a CMS's own webhook and enqueue the item it describes",
    )
    async def receive_webhook(source: str, request: Request) -> JSONResponse:
        return await intake.handle(source, request)

    return router


class Intake:
    """The configured sources, their secrets, and the client they enqueue through."""

    def __init__(
        self, settings: Settings, client: QualityGateClient, clock: Callable[[], float]
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._limit = body_limit(settings.limits)
        self._replays = ReplayCache(client.redis, client.keys)
        sources = settings.intake.sources
        self._sources = {name: CompiledSource.compile(name, src) for name, src in sources.items()}
        self._secrets = {name: _secret_of(name, src) for name, src in sources.items()}

    async def handle(self, name: str, request: Request) -> JSONResponse:
        try:
            compiled = self._sources.get(name)
            if compiled is None:
                raise UnknownSourceError(f"intake source {name!r}: not configured")
            declared = request.headers.get("content-length")
            body = await read_limited(request.stream(), declared, self._limit)
            signed = SignedRequest(
                request.method,
                _raw_path(request),
                {key.lower(): value for key, value in request.headers.items()},
                body,
            )
            return await run_in_threadpool(self._accept, compiled, signed)
        except IntakeError as exc:
            logger.warning("intake %r: refused (%d): %s", name, exc.status, exc.message)
            return _refusal(exc)

    def _accept(self, compiled: CompiledSource, signed: SignedRequest) -> JSONResponse:
        """Authenticate, parse, map and enqueue (in a worker thread: it talks to Redis)."""
        tolerance = self._settings.intake.tolerance_for(compiled.source)
        now = self._clock()
        verified = verify(
            compiled.source.auth, self._secrets[compiled.name], signed, tolerance, now
        )
        self._claim(compiled.name, verified, tolerance, now)
        try:
            return self._enqueue(compiled, parse_json(signed.body))
        except QueueUnavailableError:
            if verified.replay_token is not None:
                self._release(compiled.name, verified.replay_token)
            raise

    def _claim(self, name: str, verified: Verified, tolerance: int, now: float) -> None:
        if verified.replay_token is None:
            return
        timestamped = verified.signed_at is not None
        ttl_s = claim_ttl_s(tolerance, timestamped, self._settings.streams.result_ttl_s)
        try:
            fresh = self._replays.claim(name, verified.replay_token, ttl_s, now)
        except redis.RedisError as exc:
            raise QueueUnavailableError(
                f"redis: cannot check for replays ({type(exc).__name__}); nothing was enqueued"
            ) from None
        if not fresh:
            raise AuthenticationError(
                f"replayed: this signed request was already accepted within the last {ttl_s} s"
            )

    def _release(self, name: str, token: str) -> None:
        with contextlib.suppress(redis.RedisError):  # it expires with the window anyway
            self._replays.release(name, token)

    def _enqueue(self, compiled: CompiledSource, payload: Any) -> JSONResponse:
        reason = ignored_because(compiled, payload)
        if reason is not None:
            logger.info("intake %r: event ignored: %s", compiled.name, reason)
            return JSONResponse({"ignored": True, "reason": reason}, status_code=200)
        item = map_payload(compiled, payload, self._settings.limits)
        try:
            with self._client.reporting_unreachable():
                task_id, new = enqueue(self._client, item, f"source:{compiled.name}")
        except RedisUnavailableError as exc:
            raise QueueUnavailableError(f"{exc.message}; retry the request") from None
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"redis: {type(exc).__name__}; retry the request") from None
        logger.info(
            "intake %r: item %r %s task %s",
            compiled.name,
            item.id,
            "sent as" if new else "already sent as",
            task_id,
        )
        return JSONResponse({"task_ids": [task_id], "ids": [item.id]}, status_code=202)


def parse_json(body: bytes) -> Any:
    """The parsed body, or MalformedBodyError (parsed only after authentication)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise MalformedBodyError("body: nested too deep to read") from None
    except UnicodeDecodeError:
        raise MalformedBodyError("body: not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedBodyError(f"body: not JSON ({str(exc).splitlines()[0]})") from None


def _secret_of(name: str, source: IntakeSource) -> bytes:
    try:
        if isinstance(source.auth, BearerAuth):
            return source.auth.token_bytes()
        return source.auth.secret_bytes()
    except MissingSecretError as exc:
        raise ConfigError(f"config.intake.sources.{name}.auth.{exc}") from None


def _raw_path(request: Request) -> str:
    """The path as the sender wrote it (a signature may cover it), with its query."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    query = request.scope.get("query_string") or b""
    path = raw.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path


def _refusal(exc: IntakeError) -> JSONResponse:
    content: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, MappingError):
        content |= {
            "source": exc.source,
            "field": exc.field,
            "expression": exc.expression,
            "reason": exc.reason,
        }
    return JSONResponse(content, status_code=exc.status)
