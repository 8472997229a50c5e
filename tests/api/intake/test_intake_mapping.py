"""api/intake/mapping.py: every example source maps its sample payload to the expected
ContentItem; a missing or invalid field names the source, the field and its expression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.intake.errors import MappingError
from api.intake.mapping import CompiledSource, ignored_because, map_payload
from qualitygate.config import Settings, load_settings
from qualitygate.schemas import ContentItem
from tests.support.webhooks import examples_config, payload


@pytest.fixture(scope="module")
def example_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(examples_config(tmp_path_factory.mktemp("intake")))


def compiled(settings: Settings, name: str) -> CompiledSource:
    return CompiledSource.compile(name, settings.intake.sources[name])


def mapped(settings: Settings, name: str, data: Any) -> ContentItem:
    source = compiled(settings, name)
    assert ignored_because(source, data) is None
    return map_payload(source, data, settings.limits)


def test_wordpress_post_update(example_settings: Settings) -> None:
    item = mapped(example_settings, "wordpress", payload("wordpress"))
    assert item.id == "wp:1284"
    assert item.format == "html" and item.content_type == "post"
    assert item.title == "The community garden opens on Saturday"
    assert item.text.startswith("<!-- wp:paragraph -->\n<p>Our community garden")
    assert item.metadata == {
        "post_id": 1284,
        "permalink": "https://news.example.org/2026/11/30/community-garden-opens-saturday/",
        "modified_gmt": "2026-12-01 09:02:45",
    }
    assert item.language is None


def test_strapi_entry_create(example_settings: Settings) -> None:
    item = mapped(example_settings, "strapi", payload("strapi"))
    assert item.id == "strapi:article:kq9xz3m2b7c1d5e8f0g4h6j1:ja"
    assert (item.format, item.language, item.content_type) == ("markdown", "ja", "article")
    assert item.title == "週末の地域清掃ボランティアのお知らせ"
    assert item.text.startswith("## 日時")
    assert item.metadata["entry_id"] == 42 and item.metadata["event"] == "entry.create"


def test_strapi_v4_entries_without_document_id_or_locale(example_settings: Settings) -> None:
    data = payload("strapi")
    del data["entry"]["documentId"], data["entry"]["locale"]
    data["event"] = "entry.update"
    item = mapped(example_settings, "strapi", data)
    assert item.id == "strapi:article:42:default"
    assert item.language is None


def test_contentful_entry_publish(example_settings: Settings) -> None:
    item = mapped(example_settings, "contentful", payload("contentful"))
    assert item.id == "contentful:yadj1kx9rmg0:master:5KsDBWseXY6QegucYAoacS:en-US"
    assert item.title == "How we cut our build times in half"  # the en-US value, not de-DE
    assert item.text.startswith("Our CI used to take **24 minutes**")
    assert (item.format, item.language, item.content_type) == ("markdown", "en", "article")
    assert item.metadata["content_type"] == "blogPost" and item.metadata["version"] == 8


def test_directus_items_create_and_update(example_settings: Settings) -> None:
    item = mapped(example_settings, "directus", payload("directus"))
    assert item.id == "directus:articles:315"
    assert (item.format, item.language) == ("html", "ko")
    assert item.title == "동네 도서관 겨울방학 독서 프로그램 안내"
    update = payload("directus")
    del update["key"]
    update |= {"event": "articles.items.update", "keys": ["315"]}
    del update["payload"]["title"]
    item = mapped(example_settings, "directus", update)
    assert item.id == "directus:articles:315" and item.title is None


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("strapi", {"event": "entry.delete"}, "contains(['entry.create'"),
        ("strapi", {"model": "category"}, "model == 'article'"),
        ("contentful", {"sys": {"type": "DeletedEntry"}}, "sys.type == 'Entry'"),
        ("directus", {"event": "items.delete"}, "ends_with(event"),
    ],
)
def test_events_accept_if_ignores(
    example_settings: Settings, name: str, change: dict[str, Any], reason: str
) -> None:
    data = payload(name) | change
    why = ignored_because(compiled(example_settings, name), data)
    assert why is not None and why.startswith("accept_if ") and reason in why


def test_a_wordpress_draft_is_ignored(example_settings: Settings) -> None:
    data = payload("wordpress")
    data["post"]["post_status"] = "draft"
    why = ignored_because(compiled(example_settings, "wordpress"), data)
    assert why == "accept_if \"post.post_status == 'publish'\" is false for this event"


def mapping_error(settings: Settings, name: str, data: Any) -> MappingError:
    with pytest.raises(MappingError) as caught:
        map_payload(compiled(settings, name), data, settings.limits)
    return caught.value


def test_a_missing_field_names_source_field_expression_and_reason(
    example_settings: Settings,
) -> None:
    data = payload("wordpress")
    del data["post"]["post_content"]
    error = mapping_error(example_settings, "wordpress", data)
    assert (error.source, error.field, error.expression) == (
        "wordpress",
        "text",
        "post.post_content",
    )
    assert error.message == (
        "intake source 'wordpress': text (mapping 'post.post_content'): "
        "found nothing in the payload"
    )


def test_a_field_of_the_wrong_type_is_named_without_its_value(example_settings: Settings) -> None:
    data = payload("strapi")
    data["entry"]["body"] = ["секрет", "of the user"]
    error = mapping_error(example_settings, "strapi", data)
    assert (error.field, error.reason) == ("text", "expected a string, got an array")
    assert "секрет" not in error.message
    data = payload("strapi")
    data["entry"]["locale"] = 31337  # join() takes strings only
    error = mapping_error(example_settings, "strapi", data)
    assert error.field == "id"
    assert error.reason == (
        "the expression failed on this payload: join() got int, expected array-string"
    )
    assert "31337" not in error.message


def test_a_value_the_item_rejects_names_the_field_and_expression(tmp_path: Path) -> None:
    settings = load_settings(examples_config(tmp_path, "directus"))
    data = payload("directus")
    data["payload"]["language"] = "not a language tag!"
    error = mapping_error(settings, "directus", data)
    assert (error.field, error.expression) == ("language", "payload.language")
    assert "should match pattern" in error.reason


def test_text_over_the_limit_is_named(tmp_path: Path) -> None:
    settings = load_settings(
        examples_config(tmp_path, "strapi"), limits=_limits(max_markup_bytes=100)
    )
    error = mapping_error(settings, "strapi", payload("strapi"))
    assert error.field == "text" and "limits.max_markup_bytes" in error.reason


def _limits(**changes: int) -> dict[str, int]:
    return load_settings().limits.model_dump() | changes
