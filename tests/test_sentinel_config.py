"""Sentinel URLs in config: kombu's ``sentinel://`` form is parsed, validated naming the
field, masked everywhere, and turned into the same master for kombu and redis-py."""

from __future__ import annotations

import pytest
from redis.sentinel import SentinelConnectionPool

from qualitygate.config import load_settings
from qualitygate.errors import ConfigError
from qualitygate.protocol import broker_options, broker_ssl, celery_settings
from qualitygate.redis_connect import connect
from qualitygate.redis_url import mask_url, parse_sentinel_url

URL = "sentinel://:s3cret@10.0.0.1:26379/2;sentinel://10.0.0.2:26380/2;sentinel://10.0.0.3"


def sentinel_settings(monkeypatch: pytest.MonkeyPatch, url: str = URL, **env: str):
    monkeypatch.setenv("QG_REDIS__URL", url)
    for name, value in env.items():
        monkeypatch.setenv(f"QG_REDIS__SENTINEL__{name.upper()}", value)
    return load_settings()


def test_a_sentinel_url_names_every_sentinel_and_the_masters_login() -> None:
    parsed = parse_sentinel_url(URL)
    assert parsed.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26379))
    assert (parsed.username, parsed.password, parsed.db) == (None, "s3cret", 2)


def test_every_part_of_a_sentinel_url_is_masked() -> None:
    url = "sentinel://:pw@h1:26379;sentinel://u:pw2@h2:26379"
    assert mask_url(url) == "sentinel://:***@h1:26379;sentinel://u:***@h2:26379"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sentinel://h1:26379;redis://h2:6379", "part 2 (redis://h2:6379): every part must"),
        ("sentinel://h1:26379;sentinel://:pw@h2", "give the password in the first part only"),
        ("sentinel://h1:notaport", "the port is not a number"),
        ("sentinel://h1/0;sentinel://h2/1", "different databases"),
        ("sentinel://h1:26379?ssl=true", "takes no query; use redis.sentinel"),
        ("sentinel://h1/zero", "the database must be a number"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_naming_redis_url(
    monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        sentinel_settings(monkeypatch, url, master_name="mymaster")
    assert "config.redis.url" in str(caught.value)
    assert reason in str(caught.value)


def test_a_sentinel_url_needs_the_masters_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"redis.*sentinel\.master_name") as caught:
        sentinel_settings(monkeypatch)
    assert "s3cret" not in str(caught.value)


def test_sentinel_passwords_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sentinel_settings(monkeypatch, master_name="mymaster", password="sentinel-pw")
    shown = str(settings.public_dump())
    assert "s3cret" not in shown and "sentinel-pw" not in shown
    assert "10.0.0.2:26380" in shown


def test_kombu_and_redis_py_get_the_same_master_and_sentinels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = sentinel_settings(
        monkeypatch, master_name="mymaster", password="sentinel-pw", tls="true",
        tls_ca_certs="/etc/ca.pem",
    )  # fmt: skip
    options = broker_options(settings)
    assert options["master_name"] == "mymaster"
    assert options["sentinel_kwargs"]["password"] == "sentinel-pw"
    assert options["sentinel_kwargs"]["ssl_ca_certs"] == "/etc/ca.pem"
    assert broker_ssl(settings) == {"ssl_cert_reqs": "required", "ssl_ca_certs": "/etc/ca.pem"}
    assert celery_settings(settings)["broker_use_ssl"] == broker_ssl(settings)

    client = connect(settings.redis)  # connects lazily: nothing is reached here
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["password"] == "s3cret"
    assert pool.connection_kwargs["db"] == 2
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [26379, 26380, 26379]
    assert sentinels[0].connection_pool.connection_kwargs["password"] == "sentinel-pw"


def test_plain_urls_keep_their_plain_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_REDIS__URL", "redis://127.0.0.1:6379/3")
    settings = load_settings()
    assert set(broker_options(settings)) == {"visibility_timeout"}
    assert broker_ssl(settings) is None
    assert "broker_use_ssl" not in celery_settings(settings)
    assert connect(settings.redis).connection_pool.connection_kwargs["db"] == 3
