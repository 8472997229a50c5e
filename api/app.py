"""The FastAPI application: ``create_app(settings, client=None)``.

Owns the assembly: the shared client (one per process; its Redis pool and its per-thread
kombu producers are safe under the threadpool that runs sync routes), the authenticator,
the rate limiter, the metrics and the cap on blocking reads on ``app.state``, the routers
``api.routers`` lists, and the answers to Redis being down (``503``, naming no URL).
OpenAPI is at ``/docs`` and ``/openapi.json``. It must not define routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version

import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError

from api.auth import Authenticator
from api.body import BodyLimit
from api.metrics import ApiMetrics, MetricsMiddleware
from api.ratelimit import RateLimiter
from api.results import BlockingReads
from api.routers import ROUTERS
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.errors import RedisUnavailableError


def create_app(
    settings: Settings, client: QualityGateClient | None = None, allow_anonymous: bool = False
) -> FastAPI:
    """The API over ``client`` (a new one on ``settings.redis.url`` when None, closed with
    the app). ``allow_anonymous`` lets every request in when no key is configured: only
    for ``serve --insecure-no-auth`` on loopback."""
    owned = client is None
    client = client if client is not None else QualityGateClient(settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            client.close()

    app = FastAPI(
        title="qualitygate",
        version=package_version("qualitygate"),
        description="Multilingual content quality gate: items in, graded results out.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.auth = Authenticator(settings.api, allow_anonymous)
    app.state.limiter = RateLimiter(client.redis, client.keys)
    app.state.metrics = ApiMetrics()
    app.state.blocking_reads = BlockingReads(settings.api.max_blocking_reads)
    for build in ROUTERS:
        app.include_router(build(settings, client))
    app.add_middleware(BodyLimit, limit=settings.api.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_exception_handler(redis.RedisError, _redis_down)
    app.add_exception_handler(OperationalError, _redis_down)
    app.add_exception_handler(RedisUnavailableError, _redis_down)
    return app


async def _redis_down(_request: Request, exc: Exception) -> JSONResponse:
    # The exception text can hold the URL (with its password): say only what kind it was.
    return JSONResponse(
        {"detail": f"redis: unavailable ({type(exc).__name__}); try again"},
        status_code=503,
        headers={"Retry-After": "1"},
    )
