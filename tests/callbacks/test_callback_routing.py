"""callbacks/routing.py: an origin finds its callback through routes, then the default."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from callbacks.routing import callback_for
from qualitygate.config import load_settings
from qualitygate.errors import ConfigError

DELIVERY = {
    "callbacks": {
        "cms-a": {"url": "https://a.example.com/hook", "secret": "a-secret-of-16-chars"},
        "wp": {"url": "https://wp.example.com/hook", "secret": "w-secret-of-16-chars"},
    },
    "routes": {"key:cms-a": "cms-a", "source:wordpress": "wp"},
    "allow_hosts": ["*.example.com"],
}


def test_routes_then_default_then_nothing() -> None:
    settings = load_settings(delivery=load_settings().delivery.model_dump() | DELIVERY)
    assert callback_for(settings, "key:cms-a") == "cms-a"
    assert callback_for(settings, "source:wordpress") == "wp"
    assert callback_for(settings, "key:unknown") is None
    assert callback_for(settings, None) is None
    with_default = load_settings(
        delivery=load_settings().delivery.model_dump() | DELIVERY | {"default_callback": "wp"}
    )
    assert callback_for(with_default, "key:unknown") == "wp"
    assert callback_for(with_default, None) == "wp"


def test_a_source_or_key_that_names_its_own_callback_wins_over_routes() -> None:
    # Settings from the branches that add intake sources and API keys with a `callback`.
    delivery = load_settings(delivery=load_settings().delivery.model_dump() | DELIVERY).delivery
    settings = SimpleNamespace(
        delivery=delivery,
        intake=SimpleNamespace(sources={"wordpress": SimpleNamespace(callback="cms-a")}),
        api=SimpleNamespace(keys=[SimpleNamespace(name="cms-a", callback="wp")]),
    )
    assert callback_for(settings, "source:wordpress") == "cms-a"  # type: ignore[arg-type]
    assert callback_for(settings, "key:cms-a") == "wp"  # type: ignore[arg-type]


def test_an_api_key_with_its_own_callback_routes_its_results_there() -> None:
    """ApiKey has a ``callback`` field (it was refused as an unknown key): a ``key:NAME``
    origin goes to it, ahead of ``delivery.routes``."""
    defaults = load_settings()
    key = {"name": "cms-a", "key_sha256": "0" * 64, "scopes": ["submit"], "callback": "wp"}
    settings = load_settings(
        delivery=defaults.delivery.model_dump() | DELIVERY,
        api=defaults.api.model_dump() | {"keys": [key]},
    )
    assert settings.api.keys[0].callback == "wp"
    assert callback_for(settings, "key:cms-a") == "wp"


@pytest.mark.parametrize(
    "api_key, sources, field",
    [
        ({"callback": "nope"}, {}, "api.keys.0.callback: 'nope' is not an entry of delivery"),
        ({}, {"wordpress": "nope"}, "intake.sources.wordpress.callback: 'nope' is not an entry"),
    ],
)
def test_a_callback_that_names_no_delivery_callback_is_a_config_error(
    tmp_path: Path, api_key: dict, sources: dict, field: str
) -> None:
    key = {"name": "cms-a", "key_sha256": "0" * 64, "scopes": ["submit"]} | api_key
    source = {
        "auth": {"kind": "bearer", "token": "a-bearer-token-of-16"},
        "mapping": {"id": "id", "text": "body"},
    }
    layer = {
        "api": {"keys": [key]},
        "delivery": DELIVERY,
        "intake": {"sources": {name: source | {"callback": cb} for name, cb in sources.items()}},
    }
    path = tmp_path / "layer.yaml"
    path.write_text(yaml.safe_dump(layer), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert field in caught.value.message
