"""qualitygate/config_intake.py: the intake section fails at load naming the source and
field, compiles every expression, and never shows a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from qualitygate.config import load_settings
from qualitygate.errors import ConfigError
from tests.support.webhooks import EXAMPLES, SAMPLES

SOURCE: dict[str, Any] = {
    "auth": {
        "kind": "hmac",
        "secret": "inline-secret-value-42",
        "header": "X-Sig",
        "encoding": "hex",
        "signed_payload": "body",
    },
    "mapping": {"id": "id", "text": "body"},
}


def load_with(tmp_path: Path, sources: dict[str, Any]) -> Any:
    path = tmp_path / "layer.yaml"
    path.write_text(yaml.safe_dump({"intake": {"sources": sources}}), encoding="utf-8")
    return load_settings(path)


def config_error(tmp_path: Path, sources: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_with(tmp_path, sources)
    return caught.value.message


def test_no_source_by_default() -> None:
    assert load_settings().intake.sources == {}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_example_loads_without_its_secret_in_the_environment(name: str) -> None:
    # A worker sharing the config file needs no webhook secret: the API reads it.
    settings = load_settings(EXAMPLES / f"{name}.yaml")
    assert list(settings.intake.sources) == [name]


def test_a_bad_expression_fails_at_load_naming_source_and_field(tmp_path: Path) -> None:
    source = SOURCE | {"mapping": {"id": "id", "text": "body", "title": "fields.title.["}}
    message = config_error(tmp_path, {"blog": source})
    assert message.startswith("config.intake.sources.blog.mapping.title: ")
    assert "not a JMESPath expression" in message
    message = config_error(tmp_path, {"blog": SOURCE | {"accept_if": "event =="}})
    assert message.startswith("config.intake.sources.blog.accept_if: ")


def test_auth_needs_exactly_one_secret_and_what_its_payload_signs(tmp_path: Path) -> None:
    both = SOURCE | {"auth": SOURCE["auth"] | {"secret_env": "BLOG_SECRET"}}
    message = config_error(tmp_path, {"blog": both})
    assert message.startswith("config.intake.sources.blog.auth: ")
    assert "exactly one of secret or secret_env" in message
    stamped = SOURCE | {"auth": SOURCE["auth"] | {"signed_payload": "timestamp.body"}}
    assert "needs a timestamp_header" in config_error(tmp_path, {"blog": stamped})
    unknown = SOURCE | {"auth": SOURCE["auth"] | {"kind": "rsa"}}
    assert "config.intake.sources.blog.auth" in config_error(tmp_path, {"blog": unknown})
    typo = SOURCE | {"auth": {"kind": "bearer", "tokn": "x"}}
    assert "config.intake.sources.blog.auth.tokn: unknown key" in config_error(
        tmp_path, {"blog": typo}
    )


def test_a_source_name_is_a_url_path_segment(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"My Blog/../x": SOURCE})
    assert message.startswith("config.intake.sources: ")


def test_an_inline_secret_is_masked_in_the_effective_config(tmp_path: Path) -> None:
    settings = load_with(tmp_path, {"blog": SOURCE})
    shown = json.dumps(settings.public_dump())
    assert "inline-secret-value-42" not in shown
    assert "inline-secret-value-42" not in repr(settings)
    assert settings.intake.sources["blog"].auth.secret_bytes() == b"inline-secret-value-42"
    bad = SOURCE | {"mapping": {"id": "id"}}
    assert "inline-secret-value-42" not in config_error(tmp_path, {"blog": bad})


def test_the_intake_section_does_not_change_the_config_version(tmp_path: Path) -> None:
    # Grades do not depend on where an item came from.
    assert load_with(tmp_path, {"blog": SOURCE}).version == load_settings().version
