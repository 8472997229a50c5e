"""API keys: 401 without or with a wrong key, 403 without the scope, the caller's name
through ``require``, and no key in any answer."""

from __future__ import annotations

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Authenticator, key_digest, require
from qualitygate.client import QualityGateClient
from tests.support.api import TEST_KEYS, api_settings, bearer

ITEM = {"id": "a1", "text": "Hello there, this is a post."}


@pytest.fixture
def http(api_run: str):
    settings = api_settings(api_run)
    with (
        QualityGateClient(settings=settings) as client,
        TestClient(create_app(settings, client)) as http,
    ):
        yield http


def test_no_key_is_401_with_a_bearer_challenge(http: TestClient) -> None:
    response = http.post("/v1/items", json=ITEM)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization" in response.json()["detail"]


def test_a_wrong_key_is_401_and_not_echoed(http: TestClient) -> None:
    response = http.get("/v1/results/a1", headers={"Authorization": "Bearer qg_wrong-secret"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "qg_wrong-secret" not in response.text


def test_a_basic_scheme_is_not_a_key(http: TestClient) -> None:
    secret = TEST_KEYS["cms"][0]
    response = http.get("/v1/results/a1", headers={"Authorization": f"Basic {secret}"})
    assert response.status_code == 401


def test_a_key_without_the_scope_is_403(http: TestClient) -> None:
    response = http.post("/v1/items", json=ITEM, headers=bearer("reader"))
    assert response.status_code == 403
    assert "'submit'" in response.json()["detail"]


def test_a_key_with_the_scope_gets_through(http: TestClient) -> None:
    assert http.post("/v1/items", json=ITEM, headers=bearer("cms")).status_code == 202
    assert http.get("/v1/results/a1", headers=bearer("reader")).status_code == 202


def test_no_keys_configured_refuses_everyone_unless_anonymous_is_allowed(api_run: str) -> None:
    settings = api_settings(api_run, keys=[])
    with QualityGateClient(settings=settings) as client:
        with TestClient(create_app(settings, client)) as http:
            assert http.get("/v1/results/x", headers=bearer("cms")).status_code == 401
        with TestClient(create_app(settings, client, allow_anonymous=True)) as http:
            assert http.get("/v1/results/x").status_code == 404


def test_anonymous_is_never_allowed_when_keys_exist(api_run: str) -> None:
    settings = api_settings(api_run)
    auth = Authenticator(settings.api, allow_anonymous=True)
    assert auth.identify(None) is None
    assert auth.identify(TEST_KEYS["admin"][0]).name == "admin"


def test_require_hands_the_route_the_key_name(api_run: str) -> None:
    settings = api_settings(api_run)
    with QualityGateClient(settings=settings) as client:
        app = create_app(settings, client)

        @app.get("/whoami")
        def whoami(caller: str = Depends(require("label"))) -> dict[str, str]:
            return {"caller": caller}

        with TestClient(app) as http:
            assert http.get("/whoami", headers=bearer("admin")).json() == {"caller": "admin"}
            assert http.get("/whoami", headers=bearer("cms")).status_code == 403


def test_require_refuses_an_unknown_scope() -> None:
    with pytest.raises(ValueError, match="scope 'write'"):
        require("write")


def test_openapi_documents_the_routes_and_the_bearer_scheme(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    assert spec["info"]["title"] == "qualitygate"
    assert {"/v1/items", "/v1/results", "/v1/results/ack", "/healthz"} <= set(spec["paths"])
    assert "/v1/intake/{source}" in spec["paths"]  # the intake router is wired in
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert http.get("/docs").status_code == 200


def test_config_holds_only_the_digest() -> None:
    import hashlib

    assert key_digest("qg_abc") == hashlib.sha256(b"qg_abc").hexdigest()
