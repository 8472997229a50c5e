"""Prometheus metrics for the worker, gathered from every pool process.

Owns the metric definitions and the endpoint. Grading happens in pool child processes and
the endpoint lives in the main one, so prometheus-client runs in multiprocess mode: each
process writes its counters to files under ``PROMETHEUS_MULTIPROC_DIR`` and the endpoint
adds them up. The directory must be known before prometheus-client is imported, hence the
environment set-up at the top of this module. Queue depth is read from Redis at scrape
time, by the main process. It must not grade or publish anything.
"""

from __future__ import annotations

import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qualitygate-metrics-")

from collections.abc import Iterator, Sequence
from pathlib import Path

import redis
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from qualitygate.config import Settings
from qualitygate.redis_connect import connect
from qualitygate.schemas import GradeResult

ITEMS_GRADED = Counter(
    "qualitygate_items_graded_total",
    "Items graded, by language, level and decision.",
    ["language", "level", "decision"],
)
ITEM_ERRORS = Counter(
    "qualitygate_item_errors_total", "Items answered with an error result, by code.", ["code"]
)
CACHE_HITS = Counter(
    "qualitygate_cache_hits_total", "Items answered from the cache of identical content."
)
DUPLICATE_DELIVERIES = Counter(
    "qualitygate_duplicate_deliveries_total",
    "Messages delivered again after their result was published (not published twice).",
)
TRIMMED_UNREAD = Counter(
    "qualitygate_results_trimmed_unread_total",
    "Results trimmed past streams.maxlen before a consumer group read or acknowledged them.",
    ["group"],
)
CONSUMING_PAUSED = Counter(
    "qualitygate_consuming_paused_total",
    "Times the worker stopped consuming because its results would trim unread ones.",
)
BATCH_SIZE = Histogram(
    "qualitygate_batch_size",
    "Messages per flushed batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_SECONDS = Histogram(
    "qualitygate_batch_seconds",
    "Seconds from a batch's start in the pool process to its results being published.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

# One series per pool process (the pid label is added in multiprocess mode), 1 on the config
# version it grades with: two values across a deployment show a half-rolled config.
CONFIG_INFO = Gauge(
    "qualitygate_worker_config_info",
    "1 for the config version this worker process grades with (0 for one it left).",
    ["version"],
    multiprocess_mode="liveall",
)


def set_config_version(version: str, previous: str | None = None) -> None:
    if previous is not None and previous != version:
        CONFIG_INFO.labels(previous).set(0)
    CONFIG_INFO.labels(version).set(1)


def observe_results(results: Sequence[GradeResult]) -> None:
    for result in results:
        if result.error is not None:
            ITEM_ERRORS.labels(result.error.code).inc()
        else:
            ITEMS_GRADED.labels(result.language or "und", result.level, result.decision).inc()
        if result.cached:
            CACHE_HITS.inc()


class QueueDepthCollector(Collector):
    """Reads queue and stream lengths from Redis when Prometheus scrapes."""

    def __init__(self, settings: Settings) -> None:
        self.queue = settings.worker.queue
        self.streams = settings.streams
        self.redis = connect(settings.redis, socket_timeout=2)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "qualitygate_queue_depth", "Messages waiting in the broker queue.", labels=["queue"]
        )
        lengths = GaugeMetricFamily(
            "qualitygate_stream_length", "Entries in a results stream.", labels=["stream"]
        )
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(self.queue)
            pipe.xlen(self.streams.results)
            pipe.xlen(self.streams.dead)
            queued, results, dead = pipe.execute()
        except redis.RedisError:
            return
        depth.add_metric([self.queue], queued)
        lengths.add_metric([self.streams.results], results)
        lengths.add_metric([self.streams.dead], dead)
        yield depth
        yield lengths


def serve(settings: Settings) -> int | None:
    """Start the endpoint in this (main) process; returns its port, None when turned off."""
    port = settings.worker.metrics_port
    if port == 0:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(QueueDepthCollector(settings))
    start_http_server(port, registry=registry)
    return port


def process_exited(pid: int) -> None:
    multiprocess.mark_process_dead(pid)


def forget_other_processes() -> None:
    """Delete metric files of earlier runs (prometheus-client asks for a wiped directory
    at start), keeping this process's own."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    mine = f"_{os.getpid()}.db"
    for path in directory.glob("*.db"):
        if not path.name.endswith(mine):
            path.unlink(missing_ok=True)
