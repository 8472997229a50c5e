"""callbacks/targets.py: secrets come from config or from the named environment variable."""

from __future__ import annotations

import pytest

from callbacks.targets import load_callbacks
from qualitygate.config import load_settings
from qualitygate.errors import ConfigError


def settings_with(callback: dict[str, str]):
    delivery = load_settings().delivery.model_dump() | {
        "callbacks": {"cms": callback},
        "allow_hosts": ["cms.example.com"],
    }
    return load_settings(delivery=delivery).delivery


def test_a_secret_from_the_environment() -> None:
    delivery = settings_with({"url": "https://cms.example.com/h", "secret_env": "CMS_SECRET"})
    [callback] = load_callbacks(delivery, {"CMS_SECRET": "from-the-environment"}).values()
    assert callback.secret == "from-the-environment"
    assert "from-the-environment" not in repr(callback)


def test_an_unset_secret_variable_fails_naming_the_field() -> None:
    delivery = settings_with({"url": "https://cms.example.com/h", "secret_env": "CMS_SECRET"})
    with pytest.raises(ConfigError, match=r"delivery\.callbacks\.cms\.secret_env.*CMS_SECRET"):
        load_callbacks(delivery, {})
