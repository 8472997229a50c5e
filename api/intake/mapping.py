"""From a CMS's webhook payload to a ContentItem, by the source's JMESPath expressions.

Owns evaluating ``intake.sources.NAME.mapping`` and ``accept_if`` over the parsed JSON
body and the type rules of each field: ``id`` a string or an integer (written in decimal,
since CMSs number their entries), ``metadata`` an object, the rest strings; an optional
field whose expression finds nothing (or "") is left out. A missing or invalid field is a
MappingError naming the source, the field, its expression and the reason; the values
themselves are never quoted (they are the CMS user's content). It must not authenticate,
enqueue or touch Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jmespath.exceptions import JMESPathError, JMESPathTypeError
from jmespath.parser import ParsedResult

from api.intake.errors import MalformedBodyError, MappingError
from qualitygate.config import Limits
from qualitygate.config_intake import IntakeSource, compile_expression
from qualitygate.errors import InvalidItemError
from qualitygate.schemas import ContentItem, validate_item

_REQUIRED = ("id", "text")
_STRINGS = ("text", "title", "format", "language", "content_type")


@dataclass(frozen=True)
class CompiledSource:
    """A configured source with its expressions compiled once, at start."""

    name: str
    source: IntakeSource
    expressions: dict[str, tuple[str, ParsedResult]]
    accept_if: ParsedResult | None

    @classmethod
    def compile(cls, name: str, source: IntakeSource) -> CompiledSource:
        expressions = {
            field: (text, compile_expression(text))
            for field, text in source.mapping.model_dump().items()
            if text is not None
        }
        condition = source.accept_if
        return cls(name, source, expressions, compile_expression(condition) if condition else None)


def ignored_because(compiled: CompiledSource, payload: Any) -> str | None:
    """Why this event is not graded (``accept_if`` is falsy for it), or None to grade it."""
    if compiled.accept_if is None:
        return None
    try:
        verdict = compiled.accept_if.search(payload)
    except JMESPathError as exc:
        raise MappingError(
            compiled.name, "accept_if", compiled.source.accept_if, _reason(exc)
        ) from None
    except RecursionError:
        raise MalformedBodyError("body: nested too deep to read") from None
    if verdict in (None, False, "", [], {}):
        return f"accept_if {compiled.source.accept_if!r} is false for this event"
    return None


def map_payload(compiled: CompiledSource, payload: Any, limits: Limits) -> ContentItem:
    """The ContentItem the payload describes, within ``limits``, or MappingError."""
    fields: dict[str, Any] = {}
    for field, (text, expression) in compiled.expressions.items():
        value = _evaluate(compiled.name, field, text, expression, payload)
        value = _typed(compiled.name, field, text, value)
        if value is not None:
            fields[field] = value
    for field in _REQUIRED:
        if field not in fields:
            text = compiled.expressions[field][0]
            raise MappingError(compiled.name, field, text, "found nothing in the payload")
    if "content_type" not in fields and compiled.source.content_type:
        fields["content_type"] = compiled.source.content_type
    try:
        return validate_item(fields, limits)
    except InvalidItemError as exc:
        field, _, reason = exc.message.partition(": ")
        text = compiled.expressions.get(field, (None,))[0]
        if not reason:
            field, reason = "item", exc.message
        raise MappingError(compiled.name, field, text, reason) from None


def _evaluate(source: str, field: str, text: str, expression: ParsedResult, payload: Any) -> Any:
    try:
        return expression.search(payload)
    except JMESPathError as exc:
        raise MappingError(source, field, text, _reason(exc)) from None
    except RecursionError:
        raise MalformedBodyError("body: nested too deep to read") from None


def _typed(source: str, field: str, text: str, value: Any) -> Any:
    """The value as the field takes it, None for "left out", or MappingError."""
    if value is None or value == "":
        return None
    if field == "id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if field == "metadata":
        if isinstance(value, dict):
            return value
        raise MappingError(source, field, text, f"expected an object, got {_json_type(value)}")
    if (field in _STRINGS or field == "id") and not isinstance(value, str):
        wanted = "a string or an integer" if field == "id" else "a string"
        raise MappingError(source, field, text, f"expected {wanted}, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _reason(exc: JMESPathError) -> str:
    """Why evaluating failed, without the value it failed on (the CMS user's content)."""
    if isinstance(exc, JMESPathTypeError):
        expected = ", ".join(exc.expected_types)
        return (
            f"the expression failed on this payload: {exc.function_name}() got "
            f"{exc.actual_type}, expected {expected}"
        )
    return f"the expression failed on this payload ({type(exc).__name__})"
