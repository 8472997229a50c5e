"""The API's Prometheus metrics, in a registry of its own, and the ``/metrics`` route.

Owns the counters and the latency histogram, the ASGI middleware that observes every
request by route template (never the raw path, which carries item ids), method and status,
and the exposition. Labels carry key names (config identifiers), never keys or content.
It must not decide anything about a request.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from qualitygate.client import QualityGateClient
from qualitygate.config import Settings


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qualitygate_api_requests_total",
            "HTTP requests, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qualitygate_api_request_seconds",
            "Seconds from a request's start to its response's end, by route template.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30),
            registry=self.registry,
        )
        self.items = Counter(
            "qualitygate_api_items_submitted_total",
            "Items accepted by POST /v1/items, by key; sent=false is a retry answered from "
            "the earlier submission.",
            ["key", "sent"],
            registry=self.registry,
        )
        self.limited = Counter(
            "qualitygate_api_rate_limited_total",
            "Requests refused with 429, by key.",
            ["key"],
            registry=self.registry,
        )

    def submitted(self, key: str, sent: int, total: int) -> None:
        if sent:
            self.items.labels(key, "true").inc(sent)
        if total - sent:
            self.items.labels(key, "false").inc(total - sent)

    def rate_limited(self, key: str) -> None:
        self.limited.labels(key).inc()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)


class MetricsMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware): it wraps ``send`` to see the status."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(route, scope["method"], status, time.perf_counter() - start)


def build_router(settings: Settings, client: QualityGateClient) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        registry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
