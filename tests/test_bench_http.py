"""bench/http.py's thread-strategy table measures what it claims: both strategies send every
message (no timings asserted)."""

from __future__ import annotations

from bench.http import thread_strategies
from qualitygate.client import QualityGateClient
from tests.support.api import api_settings


def test_both_strategies_send_every_message(api_run: str) -> None:
    settings = api_settings(api_run)
    table = thread_strategies(settings, 80, threads=4)
    assert set(table) == {"per_thread_producer", "one_producer_lock"}
    assert all(len(row["items_s"]) == 2 and row["items"] == 80 for row in table.values())
    with QualityGateClient(settings=settings) as client:
        assert client.redis.llen(settings.worker.queue) == 4 * 80
