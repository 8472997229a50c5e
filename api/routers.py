"""The routers ``create_app`` includes, as a list of builders ``(settings, client) ->
APIRouter``: the seam where another part (the CMS webhook intake, labels, a console) adds
its routes with one line. It must not define routes itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from fastapi import APIRouter

from api import console, health, intake, items, labels, metrics, results
from api.auth import require
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings

RouterBuilder = Callable[[Settings, QualityGateClient], APIRouter]

ROUTERS: list[RouterBuilder] = [
    items.build_router,
    results.build_router,
    health.build_router,
    metrics.build_router,
    intake.build_router,
    partial(labels.build_router, auth=require("label")),
    partial(console.build_router, auth=require("admin", browser=True)),
]
