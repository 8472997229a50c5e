"""Reading every result a worker published, with a bounded wait."""

from __future__ import annotations

from qualitygate.client import QualityGateClient, ResultEntry
from tests.support.workers import WorkerProcess, wait_for


def read_all(
    client: QualityGateClient,
    expected: int,
    timeout_s: float,
    worker: WorkerProcess | None = None,
    group: str = "cms",
    into: list[ResultEntry] | None = None,
) -> list[ResultEntry]:
    """At least ``expected`` entries from the results stream (acknowledged as read),
    collected in ``into`` when given, so a caller still has them after a timeout."""
    entries: list[ResultEntry] = [] if into is None else into

    def more() -> bool:
        batch = client.results(group, "test", count=500, block_ms=200)
        client.ack([entry.entry_id for entry in batch])
        entries.extend(batch)
        return len(entries) >= expected

    try:
        wait_for(more, timeout_s, f"{expected} results", every_s=0)
    except AssertionError as exc:
        log = worker.log()[-4000:] if worker is not None else ""
        raise AssertionError(f"{exc}; got {len(entries)}. Worker log:\n{log}") from None
    return entries
