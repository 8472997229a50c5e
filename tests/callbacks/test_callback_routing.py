"""callbacks/routing.py: an origin finds its callback through routes, then the default."""

from __future__ import annotations

from types import SimpleNamespace

from callbacks.routing import callback_for
from qualitygate.config import load_settings

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
