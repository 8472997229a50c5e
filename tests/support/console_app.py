"""The tuning routers on a FastAPI app of their own, for ``uvicorn --factory`` in tests until
the HTTP app (``api.app.create_app``) wires them behind ``api.auth.require``. Settings come
from the QG_ environment, like a worker's. The labels router checks a test header through
the auth parameter, so a test sees the dependency applied."""

from __future__ import annotations

from fastapi import FastAPI, Header, HTTPException

from api.console.router import build_router as console_router
from api.labels import build_router as labels_router
from qualitygate.client import QualityGateClient
from qualitygate.config import load_settings

TEST_KEY = "label-key"


def require_test_key(x_test_key: str | None = Header(default=None)) -> None:
    if x_test_key != TEST_KEY:
        raise HTTPException(status_code=401, detail="missing or wrong X-Test-Key")


def create() -> FastAPI:
    settings = load_settings()
    client = QualityGateClient(settings=settings)
    app = FastAPI()
    app.include_router(labels_router(settings, client, require_test_key))
    app.include_router(console_router(settings, client))
    return app
