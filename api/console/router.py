"""The console's route: ``GET /console`` (scope ``admin``; the auth dependency is handed in).

A ``whatif`` query parameter holds a pasted fragment, replayed on the results shown; it is
a GET because it changes nothing. It must not apply config (``config apply`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api.console.data import add_whatif, gather
from api.console.page import render
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings

MAX_FRAGMENT_CHARS = 100_000


def build_router(
    settings: Settings,
    client: QualityGateClient,
    auth: Callable[..., Any] | None = None,
    last: int = 2000,
) -> APIRouter:
    """The console router over the last ``last`` results; ``auth`` checks scope ``admin``."""
    router = APIRouter(dependencies=[Depends(auth)] if auth is not None else [])

    @router.get("/console", response_class=HTMLResponse)
    def console(whatif: str = Query("", max_length=MAX_FRAGMENT_CHARS)) -> HTMLResponse:
        """The operator's page: distributions, decisions, agreement, versions, what-if."""
        data = gather(settings, client, last)
        if whatif.strip():
            add_whatif(data, settings, client, whatif)
        return HTMLResponse(render(data, whatif))

    return router
