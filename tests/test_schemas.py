"""ContentItem validation: unknown fields, types and configured limits, each error named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.errors import InvalidItemError
from qualitygate.protocol import item_id_of
from qualitygate.schemas import (
    ContentItem,
    GradeResult,
    max_message_bytes,
    nesting_depth,
    scrub_surrogates,
    validate_item,
)


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


def nested(depth: int) -> Any:
    """``depth`` objects one inside the other: {"a": {"a": ... {} }}."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [33, 900, 5000])
def test_deep_metadata_is_a_field_error_not_a_crash(limits: Any, depth: int) -> None:
    assert limits.max_nesting_depth == 32
    with pytest.raises(InvalidItemError) as caught:
        validate_item({"id": "deep", "text": "hi", "metadata": nested(depth)}, limits)
    assert caught.value.message == (
        "metadata: nested deeper than 32 levels (limits.max_nesting_depth)"
    )


def test_deep_metadata_in_a_built_item_is_refused_too(limits: Any) -> None:
    item = ContentItem(id="deep", text="hi", metadata=nested(900))  # builds, no RecursionError
    with pytest.raises(InvalidItemError, match=r"metadata: nested deeper than 32 levels"):
        validate_item(item, limits)
    validate_item(ContentItem(id="ok", text="hi", metadata=nested(32)), limits)


def test_any_field_nested_too_deep_is_named(limits: Any) -> None:
    with pytest.raises(InvalidItemError, match=r"^text: nested deeper than 32 levels"):
        validate_item({"id": "x", "text": [[[]]] * 2 + [nested(40)]}, limits)


def test_surrogates_are_scrubbed_at_any_depth() -> None:
    deep: Any = ["\ud800"]
    for _ in range(5000):
        deep = [deep, {"k\udfff": "v\ud801"}]
    cleaned = scrub_surrogates(deep)
    for _ in range(5000):
        assert cleaned[1] == {"k\ufffd": "v\ufffd"}
        cleaned = cleaned[0]
    assert cleaned == ["\ufffd"]


def test_nesting_depth_stops_early_on_hostile_depth() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep, stop_after=10) == 11
    assert nesting_depth("text", 10) == 0 and nesting_depth({"a": [1, {}]}, 10) == 3


@pytest.mark.parametrize(
    ("data", "fallback", "expected"),
    [
        ({"id": "x" * 256}, "task-1", "x" * 256),
        ({"id": "x" * 257}, "task-1", "task-1"),  # never truncated: it could be another's id
        ({"id": "x" * 257}, "", ""),
        ({"id": ""}, "task-1", "task-1"),
        ({"id": ["a"]}, "task-1", "task-1"),
        ({"id": 7}, "task-1", "7"),
    ],
)
def test_one_rule_for_result_ids(data: Any, fallback: str, expected: str) -> None:
    assert item_id_of(data, fallback) == expected


def test_the_message_bound_fits_the_largest_legal_item(limits: Any) -> None:
    emoji = "\U0001f600"
    item = {
        "id": "i" * 256,
        "text": emoji * limits.max_text_chars,
        "title": emoji * limits.max_title_chars,
        "prompt": emoji * limits.max_prompt_chars,
        "content_type": "c" * 64,
        "language": "zh-Hant-TW",
        "metadata": {"k": emoji * ((limits.max_metadata_bytes - 10) // 4)},
    }
    validate_item(item, limits)
    body = json.dumps([[item], {}, {"callbacks": None, "errbacks": None, "chain": None}])
    assert len(body.encode()) <= max_message_bytes(limits)
    markup = {"id": "m", "format": "html", "text": "\x01" * limits.max_markup_bytes}
    validate_item(markup, limits)
    body = json.dumps([[markup], {}, {"callbacks": None, "errbacks": None, "chain": None}])
    assert len(body.encode()) <= max_message_bytes(limits)


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
