"""Results over HTTP: one item's latest result, and the results stream with a consumer group.

Owns ``GET /v1/results/{id}`` (``200`` the GradeResult, ``202`` pending while its task is
in flight, ``404`` unknown), ``GET /v1/results`` (the client's consumer-group read,
reclaiming entries idle past ``streams.reclaim_idle_ms``; ``count`` and ``block_ms``
bounded by ``api.max_count`` and ``api.max_block_ms``) and ``POST /v1/results/ack``. The
reading is ``QualityGateClient``'s; it must not name Redis keys.

Sync routes run on anyio's worker threads (40 by default): at most
``api.max_blocking_reads`` reads wait for new entries at once, a read over that answers at
once with what is there, so long polls never leave submit or ``/readyz`` without a thread.
The callback deliverer's group (``delivery.group``) is refused: a ``read`` key reading or
acknowledging it would take results away from their callbacks.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings

_NAME = {"min_length": 1, "max_length": 200}
_ENTRY_ID = r"^\d{1,20}-\d{1,20}$"


class AckRequest(BaseModel):
    """Entries handled by a consumer group, to acknowledge."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(**_NAME)
    entry_ids: list[Annotated[str, Field(pattern=_ENTRY_ID)]] = Field(min_length=1)


class BlockingReads:
    """A cap on reads that wait, one per app (``app.state.blocking_reads``):
    ``wait(block_ms)`` yields the block_ms a read may use, 0 over the cap."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.in_use = 0  # reads waiting now: what /metrics or a test can look at

    @contextmanager
    def wait(self, block_ms: int) -> Iterator[int]:
        if block_ms <= 0 or not self._slots.acquire(blocking=False):
            yield 0  # over the cap: answer now with what is there
            return
        with self._lock:
            self.in_use += 1
        try:
            yield block_ms
        finally:
            with self._lock:
                self.in_use -= 1
            self._slots.release()


def refuse_deliverer_group(group: str, settings: Settings) -> None:
    """422 when ``group`` is the callback deliverer's own consumer group."""
    if group == settings.delivery.group:
        raise HTTPException(
            422,
            detail=f"group: {group!r} is the callback deliverer's consumer group "
            "(delivery.group); reading or acknowledging it would lose callbacks. "
            "Use a group name of your own",
        )


def build_router(settings: Settings, client: QualityGateClient) -> APIRouter:
    router = APIRouter(tags=["results"])
    api = settings.api

    @router.get("/v1/results")
    def read_stream(
        request: Request,
        group: Annotated[str, Query(**_NAME)],
        consumer: Annotated[str, Query(**_NAME)],
        count: Annotated[int, Query(ge=1, le=api.max_count)] = api.max_count,
        block_ms: Annotated[int, Query(ge=0, le=api.max_block_ms)] = 0,
        _caller: str = Depends(require("read")),
    ) -> dict[str, Any]:
        """New results for this consumer (or ones a dead consumer left); ack each."""
        refuse_deliverer_group(group, settings)
        with request.app.state.blocking_reads.wait(block_ms) as wait_ms:
            entries = client.results(group, consumer, count=count, block_ms=wait_ms)
        return {
            "entries": [
                {"entry_id": e.entry_id, "result": e.result.model_dump(mode="json")}
                for e in entries
            ]
        }

    @router.post("/v1/results/ack")
    def ack(body: AckRequest, _caller: str = Depends(require("read"))) -> dict[str, int]:
        """Acknowledge handled entries; returns how many were pending."""
        refuse_deliverer_group(body.group, settings)
        if len(body.entry_ids) > api.max_count:
            raise HTTPException(422, detail=f"entry_ids: at most {api.max_count} (api.max_count)")
        return {"acked": client.ack(body.entry_ids, group=body.group)}

    @router.get(
        "/v1/results/{item_id:path}",
        responses={202: {"description": "Still queued or being graded"}, 404: {}},
    )
    def one_result(item_id: str, _caller: str = Depends(require("read"))) -> Any:
        """The item's latest result; 202 while its latest submission is in flight."""
        task_id = client.pending_task(item_id)
        if task_id is not None:
            return JSONResponse({"status": "pending", "task_id": task_id}, status_code=202)
        result = client.get(item_id)
        if result is None:
            return JSONResponse(
                {"detail": "id: no result and nothing pending under this id"}, status_code=404
            )
        return result.model_dump(mode="json")

    return router
