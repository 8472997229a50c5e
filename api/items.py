"""``POST /v1/items``: content in, task ids out, through the client's idempotent submit.

Owns the request's shape (one ContentItem, or ``{"items": [...]}``), its per-item
validation with errors naming the index, the field and the reason (``422``), and the
answer (``202`` with ``task_ids`` and ``ids`` in input order). Sending, idempotency and the
in-flight record are ``QualityGateClient.submit_once``'s, so every guarantee of the queue
holds for HTTP too. It must not build task messages or name Redis keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import require
from api.body import parse_json, read_body
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError
from qualitygate.schemas import ContentItem, validate_item

_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": 'One ContentItem, or {"items": [ContentItem, ...]}.',
                "oneOf": [
                    {"type": "object", "properties": {"items": {"type": "array"}}},
                    {"type": "object", "required": ["id", "text"]},
                ],
            }
        }
    },
}


def problem(index: int | None, field: str, reason: str) -> dict[str, Any]:
    return {"index": index, "field": field, "reason": reason}


def items_of(data: Any, max_items: int) -> list[Any]:
    """The list of items a body carries, or 422 saying why it carries none."""
    if isinstance(data, dict) and "items" in data:
        extra = sorted(set(data) - {"items"})
        if extra:
            raise HTTPException(422, detail=[problem(None, extra[0], "unknown key")])
        items = data["items"]
        if not isinstance(items, list):
            raise HTTPException(422, detail=[problem(None, "items", "expected a JSON array")])
    elif isinstance(data, dict):
        items = [data]
    else:
        reason = 'expected a ContentItem object or {"items": [...]}'
        raise HTTPException(422, detail=[problem(None, "body", reason)])
    if not items:
        raise HTTPException(422, detail=[problem(None, "items", "empty; send at least one")])
    if len(items) > max_items:
        reason = f"{len(items)} items; at most {max_items} (limits.max_items_per_request)"
        raise HTTPException(422, detail=[problem(None, "items", reason)])
    return items


def validated(items: list[Any], settings: Settings) -> list[ContentItem]:
    """Every item checked; 422 listing each bad one's index, field and reason."""
    good: list[ContentItem] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            good.append(validate_item(item, settings.limits))
        except InvalidItemError as exc:
            for part in exc.message.split("; "):
                field, _, reason = part.partition(": ")
                problems.append(
                    problem(index, field, reason) if reason else problem(index, "item", field)
                )
    if problems:
        raise HTTPException(422, detail=problems)
    return good


def build_router(settings: Settings, client: QualityGateClient) -> APIRouter:
    router = APIRouter(tags=["items"])
    max_items = settings.limits.max_items_per_request

    @router.post(
        "/v1/items",
        status_code=202,
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={413: {"description": "Body over api.max_body_bytes"}},
    )
    async def submit_items(request: Request, caller: str = Depends(require("submit"))) -> Any:
        """Queue items for grading; a retry of the same id and content gets the same task."""
        data = parse_json(await read_body(request, settings.api.max_body_bytes))
        items = validated(items_of(data, max_items), settings)
        done = await run_in_threadpool(client.submit_once, items, f"key:{caller}")
        request.app.state.metrics.submitted(caller, sum(s.sent for s in done), len(done))
        return JSONResponse(
            {"task_ids": [s.task_id for s in done], "ids": [s.item_id for s in done]},
            status_code=202,
        )

    return router
