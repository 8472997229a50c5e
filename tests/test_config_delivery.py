"""The ``delivery`` section: a bad callback, route or allow-list fails at start, naming the
field; secrets are masked in ``config show``."""

from __future__ import annotations

from typing import Any

import pytest

from qualitygate.config import load_settings
from qualitygate.errors import ConfigError

SECRET = "a-secret-of-16-chars"


def delivery(**changes: Any) -> dict[str, Any]:
    base = load_settings().delivery.model_dump()
    base.update(
        callbacks={"cms": {"url": "https://cms.example.com/hook", "secret": SECRET}},
        allow_hosts=["cms.example.com"],
    )
    base.update(changes)
    return base


def test_a_valid_delivery_section_loads_and_masks_its_secret() -> None:
    settings = load_settings(delivery=delivery(routes={"key:cms": "cms"}))
    assert settings.delivery.callbacks["cms"].secret.get_secret_value() == SECRET
    assert SECRET not in str(settings.public_dump()) and SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"allow_hosts": []}, "callbacks.cms.url: host 'cms.example.com' is not on"),
        (
            {"callbacks": {"cms": {"url": "http://cms.example.com/h", "secret": SECRET}}},
            "callbacks.cms.url: must be https",
        ),
        (
            {
                "callbacks": {"cms": {"url": "http://10.0.0.5/h", "secret": SECRET}},
                "allow_hosts": ["10.0.0.0/8"],
            },
            "callbacks.cms.url: 10.0.0.5 is private",
        ),
        ({"routes": {"key:cms": "nope"}}, "routes.key:cms: no callback named 'nope'"),
        ({"routes": {"cms": "cms"}}, "is not key:NAME or source:NAME"),
        ({"default_callback": "nope"}, "default_callback: no callback named 'nope'"),
        ({"allow_private": ["10.0.0.0/33"]}, "allow_private[0]"),
        ({"allow_hosts": ["cms.example.com", "bad host!"]}, "allow_hosts[1]"),
        ({"backoff_base_s": 700.0}, "backoff_base_s must not exceed backoff_max_s"),
        ({"max_attempts": 0}, "delivery.max_attempts"),
        ({"callbacks": {"cms": {"url": "https://cms.example.com/h"}}}, "exactly one of"),
        ({"callbacks": {"cms": {"url": "https://cms.example.com/h", "secret": "x"}}}, "16"),
        ({"surprise": 1}, "delivery.surprise: unknown key"),
    ],
)
def test_bad_delivery_config_names_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(delivery=delivery(**changes))
    assert message in caught.value.message and "config.delivery" in caught.value.message
    assert SECRET not in caught.value.message


def test_plain_http_to_an_allow_listed_private_address() -> None:
    settings = load_settings(
        delivery=delivery(
            callbacks={"local": {"url": "http://127.0.0.1:9000/hook", "secret_env": "QG_T"}},
            allow_hosts=["127.0.0.1"],
            allow_private=["127.0.0.1/32"],
        )
    )
    assert settings.delivery.callbacks["local"].secret_env == "QG_T"
