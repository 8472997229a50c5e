"""The ``streams`` settings that keep results from being trimmed unread."""

from __future__ import annotations

import pytest

from qualitygate.config import load_settings
from qualitygate.errors import ConfigError


def test_the_pause_must_come_before_the_stream_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_STREAMS__MAXLEN", "500")
    monkeypatch.setenv("QG_STREAMS__PAUSE_HEADROOM", "500")
    with pytest.raises(ConfigError, match=r"config\.streams.*pause_headroom must be smaller"):
        load_settings()


def test_on_full_is_pause_or_continue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_STREAMS__ON_FULL", "drop")
    with pytest.raises(ConfigError, match=r"config\.streams\.on_full"):
        load_settings()
    monkeypatch.setenv("QG_STREAMS__ON_FULL", "continue")
    assert load_settings().streams.on_full == "continue"
