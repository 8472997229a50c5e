"""``POST /v1/labels`` (scope ``label``): a moderator's verdict from the CMS, stored with the grade.

The body is one label (``id``, ``label``, optional ``reviewer`` and ``reason``); the client
stores it on the labels stream with what the gate had said. An id without a stored result
is 404, a bad label or field 422, each naming the field. The auth dependency is handed in
(``api.auth.require("label")`` once the app wires it), so this module owns no key checks.
It must not touch Redis but through the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError
from qualitygate.labels import MAX_REASON_CHARS, MAX_REVIEWER_CHARS


class LabelIn(BaseModel):
    """One label as the CMS sends it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    label: str = Field(min_length=1, max_length=32, description="accept, reject or a level")
    reviewer: str | None = Field(default=None, min_length=1, max_length=MAX_REVIEWER_CHARS)
    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)


def _error(status: int, error: InvalidItemError) -> JSONResponse:
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, status)


def build_router(
    settings: Settings, client: QualityGateClient, auth: Callable[..., Any] | None = None
) -> APIRouter:
    """The labels router; ``auth`` is the dependency that checks the ``label`` scope."""
    router = APIRouter(dependencies=[Depends(auth)] if auth is not None else [])

    @router.post("/v1/labels", status_code=201)
    def post_label(body: LabelIn) -> Any:
        """Record a moderator's accept/reject (or level) on a graded item; a newer label
        for the same id replaces it in every fit."""
        try:
            record = client.label(body.id, body.label, body.reviewer, body.reason)
        except InvalidItemError as exc:
            return _error(404 if exc.message.startswith("id: ") else 422, exc)
        return record.model_dump(mode="json")

    return router
