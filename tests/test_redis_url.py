"""Redis URLs: credentials in the query move into the userinfo at config load, so the
queue (kombu) and the results (redis-py) read the same ones, and every form is masked."""

from __future__ import annotations

import pytest
import redis
from kombu.utils.url import parse_url

from qualitygate.config import load_settings, mask_url
from qualitygate.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://h:6379/0?password=s3cret", "redis://h:6379/0?password=***"),
        (
            "rediss://h/0?ssl_keyfile_password=s3cret&db=1",
            "rediss://h/0?ssl_keyfile_password=***&db=1",
        ),
        ("redis://u:pw@h/0?auth_token=t0k", "redis://u:***@h/0?auth_token=***"),
        ("unix:///run/redis.sock?db=0&password=s3cret", "unix:///run/redis.sock?db=0&password=***"),
    ],
)
def test_every_credential_form_is_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (
            "redis://127.0.0.1:6379/0?password=s%40c+ret&ssl_cert_reqs=required",
            "redis://:s%40c%20ret@127.0.0.1:6379/0?ssl_cert_reqs=required",
        ),
        ("redis://h/0?username=cms&password=pw", "redis://cms:pw@h/0"),
        ("redis://cms@h/0?password=pw", "redis://cms:pw@h/0"),
        ("redis://:pw@h/0?db=2", "redis://:pw@h/0?db=2"),
    ],
)
def test_query_credentials_move_into_the_userinfo(
    monkeypatch: pytest.MonkeyPatch, url: str, normalised: str
) -> None:
    monkeypatch.setenv("QG_REDIS__URL", url)
    settings = load_settings()
    assert settings.redis.url == normalised
    # kombu (the queue) and redis-py (results) now read the same credentials; kombu used
    # to raise a TypeError on the query form.
    kombu_parts = parse_url(settings.redis.url)
    redis_kwargs = redis.connection.parse_url(url)
    assert kombu_parts["password"] == redis_kwargs.get("password")
    assert kombu_parts["userid"] == redis_kwargs.get("username")
    assert "pw" not in str(settings.public_dump()) and "s@c" not in str(settings.public_dump())


def test_a_credential_given_twice_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_REDIS__URL", "redis://:one@h/0?password=two")
    with pytest.raises(ConfigError, match=r"config\.redis\.url: .*password is given twice"):
        load_settings()
