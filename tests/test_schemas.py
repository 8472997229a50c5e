"""ContentItem validation: unknown fields, types and configured limits, each error named."""

from __future__ import annotations

from typing import Any

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.errors import InvalidItemError
from qualitygate.schemas import ContentItem, GradeResult, item_id_of, validate_item


@pytest.fixture(scope="module")
def limits() -> Any:
    return load_settings().limits


def test_minimal_item_gets_design_defaults(limits: Any) -> None:
    item = validate_item({"id": "a", "text": "hello"}, limits)
    assert (item.format, item.content_type, item.metadata) == ("plain", "post", {})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"text": "x"}, "id: Field required"),
        ({"id": "a"}, "text: Field required"),
        ({"id": "", "text": "x"}, "id: String should have at least 1 character"),
        ({"id": "a" * 257, "text": "x"}, "id: String should have at most 256 characters"),
        ({"id": "a", "text": 42}, "text: Input should be a valid string"),
        ({"id": 7, "text": "x"}, "id: Input should be a valid string"),
        ({"id": "a", "text": "x", "format": "pdf"}, "format: Input should be 'plain'"),
        ({"id": "a", "text": "x", "colour": "red"}, "colour: unknown key"),
        ({"id": "a", "text": "x", "language": "not a tag"}, "language: String should match"),
        ({"id": "a", "text": "x", "metadata": []}, "metadata: Input should be a valid dictionary"),
    ],
)
def test_errors_name_the_field(limits: Any, data: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidItemError) as caught:
        validate_item(data, limits)
    assert expected in caught.value.message


def test_non_object_is_rejected(limits: Any) -> None:
    with pytest.raises(InvalidItemError, match="expected a JSON object, got list"):
        validate_item(["id", "text"], limits)


def test_text_over_limit_names_the_setting() -> None:
    settings = load_settings(limits=load_settings().limits.model_dump() | {"max_text_chars": 10})
    with pytest.raises(InvalidItemError) as caught:
        validate_item({"id": "a", "text": "x" * 11}, settings.limits)
    assert caught.value.message == (
        "text: 11 characters, over the limit of 10 (limits.max_text_chars)"
    )
    # The same limit holds for an item that was built without the context.
    with pytest.raises(InvalidItemError, match=r"limits\.max_text_chars"):
        validate_item(ContentItem(id="a", text="x" * 11), settings.limits)


def test_metadata_size_limit(limits: Any) -> None:
    settings: Settings = load_settings(limits=limits.model_dump() | {"max_metadata_bytes": 20})
    with pytest.raises(InvalidItemError, match=r"metadata: \d+ bytes as JSON"):
        validate_item({"id": "a", "text": "x", "metadata": {"k": "v" * 30}}, settings.limits)


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"id": "abc"}, "abc"), ({"id": 12}, "12"), ({"id": True}, ""), ("raw", ""), (None, "")],
)
def test_item_id_of_recovers_what_it_can(data: Any, expected: str) -> None:
    assert item_id_of(data) == expected


def test_result_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        GradeResult.model_validate({"id": "a", "status": "graded", "config_version": "v", "x": 1})


def test_lone_surrogates_become_replacement_characters(limits: Any) -> None:
    item = validate_item(
        {"id": "s\ud800", "text": "a\udfffb", "metadata": {"k\ud801": ["\udc00"]}}, limits
    )
    assert (item.id, item.text) == ("s\ufffd", "a\ufffdb")
    assert item.metadata == {"k\ufffd": ["\ufffd"]}
    item.model_dump_json()  # serialisable: would raise on a lone surrogate
    assert item_id_of({"id": "x\ud800"}) == "x\ufffd"


def test_markup_is_bounded_by_bytes_not_by_the_text_limit() -> None:
    base = load_settings().limits.model_dump()
    settings = load_settings(limits=base | {"max_text_chars": 10, "max_markup_bytes": 40})
    # 30 characters of markup: over max_text_chars, which counts extracted text for markup.
    validate_item({"id": "a", "text": "<p>" + "x" * 23 + "</p>", "format": "html"}, settings.limits)
    with pytest.raises(InvalidItemError) as caught:
        validate_item({"id": "a", "text": "가" * 14, "format": "markdown"}, settings.limits)
    assert caught.value.message == (
        "text: 42 bytes of markup, over the limit of 40 (limits.max_markup_bytes)"
    )
    with pytest.raises(InvalidItemError, match=r"limits\.max_text_chars"):
        validate_item({"id": "a", "text": "x" * 11}, settings.limits)
