"""``qualitygate serve`` refuses to run open, and ``qualitygate api-key create`` prints a
key once with the config entry that holds only its SHA-256."""

from __future__ import annotations

import hashlib

import pytest
import yaml
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.cli_serve import is_loopback, new_key, refusal
from qualitygate.config import load_settings
from tests.support.api import key_entries


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.com"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_without_keys_only_insecure_loopback_may_serve() -> None:
    bare = load_settings()
    assert "--insecure-no-auth" in (refusal(bare, "127.0.0.1", False) or "")
    assert refusal(bare, "127.0.0.1", True) is None
    assert "0.0.0.0 without API keys" in (refusal(bare, "0.0.0.0", True) or "")
    keyed = load_settings(api=bare.api.model_dump() | {"keys": key_entries()})
    assert refusal(keyed, "0.0.0.0", False) is None


def test_serve_says_why_it_refuses_in_one_line() -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "refusing to serve on 0.0.0.0 without API keys" in result.output
    assert "Traceback" not in result.output


def test_new_key_and_its_entry() -> None:
    key, entry = new_key("wordpress", ["submit", "read"])
    assert key.startswith("qg_") and len(key) > 40
    parsed = yaml.safe_load(entry)["api"]["keys"][0]
    assert parsed == {
        "name": "wordpress",
        "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
        "scopes": ["submit", "read"],
    }
    assert key not in entry
    assert new_key("wordpress", ["submit"])[0] != key


@pytest.mark.parametrize(
    ("name", "scopes", "says"),
    [("cms", ["write"], "scopes.0"), ("a b", ["read"], "name"), ("cms", [], "scopes")],
)
def test_bad_key_requests_name_the_field(name: str, scopes: list[str], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        new_key(name, scopes)


def test_api_key_create_prints_the_key_once_and_a_pasteable_entry() -> None:
    result = CliRunner().invoke(app, ["api-key", "create", "strapi", "--scopes", "submit,read"])
    assert result.exit_code == 0, result.output
    key = next(line for line in result.stdout.splitlines() if line.startswith("qg_"))
    entry = yaml.safe_load(result.stdout.split(key, 1)[1])
    assert entry["api"]["keys"][0]["key_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert result.stdout.count(key) == 1
    # The entry loads as config: pasted into a file, the key authenticates.
    settings = load_settings(api=load_settings().api.model_dump() | entry["api"])
    assert settings.api.keys[0].name == "strapi"


def test_api_key_create_rejects_an_unknown_scope() -> None:
    result = CliRunner().invoke(app, ["api-key", "create", "x", "--scopes", "submit,root"])
    assert result.exit_code != 0
    assert "scopes.1" in result.output
