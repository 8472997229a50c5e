"""Results over HTTP: one item's latest result, and the results stream with a consumer group.

Owns ``GET /v1/results/{id}`` (``200`` the GradeResult, ``202`` pending while its task is
in flight, ``404`` unknown), ``GET /v1/results`` (the client's consumer-group read,
reclaiming entries idle past ``streams.reclaim_idle_ms``; ``count`` and ``block_ms``
bounded by ``api.max_count`` and ``api.max_block_ms``) and ``POST /v1/results/ack``. The
reading is ``QualityGateClient``'s; it must not name Redis keys.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
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


def build_router(settings: Settings, client: QualityGateClient) -> APIRouter:
    router = APIRouter(tags=["results"])
    api = settings.api

    @router.get("/v1/results")
    def read_stream(
        group: Annotated[str, Query(**_NAME)],
        consumer: Annotated[str, Query(**_NAME)],
        count: Annotated[int, Query(ge=1, le=api.max_count)] = api.max_count,
        block_ms: Annotated[int, Query(ge=0, le=api.max_block_ms)] = 0,
        _caller: str = Depends(require("read")),
    ) -> dict[str, Any]:
        """New results for this consumer (or ones a dead consumer left); ack each."""
        entries = client.results(group, consumer, count=count, block_ms=block_ms)
        return {
            "entries": [
                {"entry_id": e.entry_id, "result": e.result.model_dump(mode="json")}
                for e in entries
            ]
        }

    @router.post("/v1/results/ack")
    def ack(body: AckRequest, _caller: str = Depends(require("read"))) -> dict[str, int]:
        """Acknowledge handled entries; returns how many were pending."""
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
