"""Prometheus metrics of ``qualitygate deliver``, on ``delivery.metrics_port`` (0 = off).

Owns the metric definitions, in a registry of their own (one deliverer process, no
multiprocess mode), labelled by callback name, never by URL or item. It must not send or
read anything.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server


class DeliveryMetrics:
    """Delivered, failed attempts, dead, skipped, and how long a delivered POST took."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.delivered = Counter(
            "qualitygate_callbacks_delivered_total",
            "Results delivered (a 2xx answer), by callback.",
            ["callback"],
            registry=self.registry,
        )
        self.failed_attempts = Counter(
            "qualitygate_callback_failed_attempts_total",
            "Callback attempts that did not get a 2xx, by callback.",
            ["callback"],
            registry=self.registry,
        )
        self.dead = Counter(
            "qualitygate_callbacks_dead_total",
            "Results moved to the dead-deliveries stream, by callback.",
            ["callback"],
            registry=self.registry,
        )
        self.skipped = Counter(
            "qualitygate_callbacks_skipped_total",
            "Results acknowledged without a callback (no origin, no route).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "qualitygate_callback_seconds",
            "Seconds from a POST's start to its answer, by callback.",
            ["callback"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def serve(self, port: int) -> None:
        """Expose the metrics on ``port`` (all interfaces, as the worker's do)."""
        if port:
            start_http_server(port, registry=self.registry)
