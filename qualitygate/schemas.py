"""The messages that cross the CMS boundary: ``ContentItem`` in, ``GradeResult`` out.

Both reject unknown fields, so a typo in the CMS shows up as an error, not as a silently
ignored option. Size limits come from config through the validation context, because the
same schema serves operators with different limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from qualitygate.config import Limits, format_validation_error
from qualitygate.errors import InvalidItemError, QualityGateError
from qualitygate.verdicts import Decision, Level, RuleAction, Severity

ContentFormat = Literal["plain", "html", "markdown"]

_BCP47 = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(value: Any) -> Any:
    """Replace lone surrogates (valid in a Python str, invalid in UTF-8) with U+FFFD.

    JSON escapes such as ``"\\ud800"`` decode to them; left in, they crash the tokenizer
    and make a result impossible to serialise. Walks dicts and lists with a stack of its
    own, not recursion, so hostile nesting reaches the depth check instead of crashing.
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if not isinstance(value, dict | list):
        return value
    holder: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(holder, 0, value)]
    while stack:
        parent, key, node = stack.pop()
        copy: Any = {} if isinstance(node, dict) else [None] * len(node)
        parent[key] = copy
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for inner_key, inner in pairs:
            if isinstance(inner_key, str):
                inner_key = _LONE_SURROGATE.sub("\ufffd", inner_key)
            if isinstance(inner, str):
                copy[inner_key] = _LONE_SURROGATE.sub("\ufffd", inner)
            elif isinstance(inner, dict | list):
                copy[inner_key] = None
                stack.append((copy, inner_key, inner))
            else:
                copy[inner_key] = inner
    return holder[0]


def nesting_depth(value: Any, stop_after: int) -> int:
    """How many lists and objects deep ``value`` goes (a string is 0, ``{}`` is 1),
    counted without recursion and no further than ``stop_after + 1``: hostile JSON may be
    nested deeper than Python's recursion limit, and only "too deep" matters then."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list | tuple):
            continue
        deepest = max(deepest, depth)
        if deepest > stop_after:
            return deepest
        inner = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in inner if isinstance(child, dict | list))
    return deepest


def check_nesting(data: Any, limits: Limits) -> None:
    """Raise ValueError naming the first field nested past ``limits.max_nesting_depth``.

    Runs before anything walks the item recursively (pydantic, json.dumps, pickling it
    for a pool process), which a few hundred levels would crash.
    """
    limit = limits.max_nesting_depth
    fields = data.items() if isinstance(data, Mapping) else [("item", data)]
    for name, value in fields:
        if nesting_depth(value, limit) > limit:
            field = name if name in ContentItem.model_fields else "item"
            raise ValueError(
                f"{field}: nested deeper than {limit} levels (limits.max_nesting_depth)"
            )


def max_message_bytes(limits: Limits) -> int:
    """The largest body a task message for an item within ``limits`` can have, as JSON
    with every character escaped (``\\ud83d\\ude00`` is 12 bytes for one emoji), plus room
    for the ids, options and envelope. A larger one is refused before it is decoded."""
    # Plain text counts characters (an emoji: 12 escaped bytes); markup counts UTF-8 bytes
    # (a control byte: 6 escaped bytes).
    text = max(12 * limits.max_text_chars, 6 * limits.max_markup_bytes)
    others = limits.max_title_chars + limits.max_prompt_chars
    return text + 12 * others + 6 * limits.max_metadata_bytes + 65536


class ContentItem(BaseModel):
    """One piece of CMS content to grade."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str = Field(min_length=1, max_length=256)
    text: str
    format: ContentFormat = "plain"
    content_type: str = Field(default="post", min_length=1, max_length=64)
    title: str | None = None
    prompt: str | None = None
    language: str | None = Field(default=None, pattern=_BCP47, max_length=35)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return scrub_surrogates(data)

    @model_validator(mode="after")
    def _within_limits(self, info: ValidationInfo) -> ContentItem:
        limits = (info.context or {}).get("limits")
        if isinstance(limits, Limits):
            check_limits(self, limits)
        return self


def check_limits(item: ContentItem, limits: Limits) -> None:
    """Raise ValueError naming the first field over its configured limit.

    HTML and Markdown are bounded by their raw size in bytes here, and by the length of
    the text extracted from them later, in the pipeline: a page's markup is often most
    of it, so its character count says little about the text a reader gets.
    """
    check_nesting({"metadata": item.metadata}, limits)
    sized = [
        ("title", item.title, limits.max_title_chars, "max_title_chars"),
        ("prompt", item.prompt, limits.max_prompt_chars, "max_prompt_chars"),
    ]
    if item.format == "plain":
        sized.insert(0, ("text", item.text, limits.max_text_chars, "max_text_chars"))
    else:
        check_markup_size(item.text, limits.max_markup_bytes)
    for field, value, limit, setting in sized:
        if value is not None and len(value) > limit:
            raise ValueError(
                f"{field}: {len(value)} characters, over the limit of {limit} (limits.{setting})"
            )
    metadata_bytes = len(json.dumps(item.metadata, ensure_ascii=False).encode("utf-8"))
    if metadata_bytes > limits.max_metadata_bytes:
        raise ValueError(
            f"metadata: {metadata_bytes} bytes as JSON, over the limit of "
            f"{limits.max_metadata_bytes} (limits.max_metadata_bytes)"
        )


def check_markup_size(markup: str, limit: int) -> None:
    """Raise ValueError when an html or markdown body is over ``limits.max_markup_bytes``."""
    # Cheap first: a str never takes more than 4 UTF-8 bytes per character.
    if len(markup) * 4 <= limit:
        return
    size = len(markup.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ValueError(
            f"text: {size} bytes of markup, over the limit of {limit} (limits.max_markup_bytes)"
        )


def check_extracted_size(text: str, limits: Limits) -> None:
    """Raise InvalidItemError when text extracted from markup is over ``max_text_chars``."""
    if len(text) > limits.max_text_chars:
        raise InvalidItemError(
            f"text: {len(text)} characters extracted, over the limit of "
            f"{limits.max_text_chars} (limits.max_text_chars)"
        )


def validate_item(data: Any, limits: Limits) -> ContentItem:
    """A ContentItem from a mapping or an item, within limits, or InvalidItemError."""
    if isinstance(data, ContentItem):
        try:
            check_limits(data, limits)
        except ValueError as exc:
            raise InvalidItemError(str(exc)) from None
        return data
    if not isinstance(data, Mapping):
        raise InvalidItemError(f"item: expected a JSON object, got {type(data).__name__}")
    try:
        check_nesting(data, limits)
    except ValueError as exc:
        raise InvalidItemError(str(exc)) from None
    try:
        return ContentItem.model_validate(data, context={"limits": limits})
    except ValidationError as exc:
        raise InvalidItemError(_item_error_message(exc)) from None


def _item_error_message(exc: ValidationError) -> str:
    # A limit breach already names its field; drop pydantic's "Value error, " wrapper.
    return format_validation_error(exc).replace("Value error, ", "")


def echoable_metadata(data: Any, limits: Limits) -> dict[str, Any]:
    """The metadata to echo in an error result: only a JSON object within the size limit."""
    raw = data.metadata if isinstance(data, ContentItem) else None
    if isinstance(data, Mapping):
        raw = data.get("metadata")
    if not isinstance(raw, dict) or nesting_depth(raw, limits.max_nesting_depth) > (
        limits.max_nesting_depth
    ):
        return {}
    try:
        cleaned = scrub_surrogates(raw)
        size = len(json.dumps(cleaned, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return {}
    return cleaned if size <= limits.max_metadata_bytes else {}


class Flag(BaseModel):
    """One rule hit: which rule, how bad, what it asks for, and where in the normalised text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    category: str
    severity: Severity
    action: RuleAction
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    detail: str | None = None
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        exclude_if=lambda value: value is None,
        description="The guard model's probability for a guard flag; absent for rule hits.",
    )


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    revision: str
    test_model: bool = Field(
        default=False, description="True for a random test model: its scores mean nothing."
    )


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    message: str


class GradeResult(BaseModel):
    """What the CMS gets back for one item: a grade, or an error that says why not."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: Literal["graded", "error"]
    language: str | None = None
    language_confidence: float | None = None
    language_method: str | None = None
    raw_reward: float | None = None
    score: float | None = None
    level: Level | None = None
    decision: Decision | None = None
    recommendations: list[str] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    content_sha256: str | None = None
    model: ModelInfo | None = None
    config_version: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: ErrorInfo | None = None
    cached: bool = Field(
        default=False, description="True when answered from the cache of identical content."
    )
    task_id: str | None = Field(
        default=None,
        description="The queue message's id (what submit returned); the id of last resort.",
    )
    attempts: int = Field(
        default=1, ge=1, description="Scoring attempts it took; above 1 after a crash."
    )
    guard: ModelInfo | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The guard model that checked the item (absent when no guard ran).",
    )

    @classmethod
    def failure(
        cls,
        item_id: str,
        error: QualityGateError,
        config_version: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> GradeResult:
        return cls(
            id=item_id,
            status="error",
            config_version=config_version,
            metadata=dict(metadata or {}),
            error=ErrorInfo(code=error.code, message=error.message),
        )
