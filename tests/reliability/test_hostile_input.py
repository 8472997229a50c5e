"""Any input, a result: the pipeline in process, fed whatever hypothesis can build.

Every item yields exactly one result, graded or error; an error names what went wrong
without repeating content (the SENTINEL planted in every field but the id never shows).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from tests.reliability.strategies import NASTY, SENTINEL, hostile_text, items

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def gate(settings: Settings) -> QualityGate:
    return QualityGate.from_settings(settings)


def check_results(batch: list[Any], results: list[Any]) -> None:
    assert len(results) == len(batch)
    for raw, result in zip(batch, results, strict=True):
        assert result.status in ("graded", "error")
        if result.status == "graded":
            assert result.error is None and result.level is not None
            assert isinstance(raw, dict) and isinstance(raw.get("text"), str)
            continue
        assert result.error is not None and result.error.code and result.error.message
        assert SENTINEL not in json.dumps(result.error.model_dump(), ensure_ascii=False)


@FUZZ
@given(batch=st.lists(items, min_size=1, max_size=6))
def test_any_json_values_in_any_field_give_one_result_each(
    gate: QualityGate, batch: list[Any]
) -> None:
    check_results(batch, gate.grade(batch))


@FUZZ
@given(
    text=hostile_text,
    title=st.none() | hostile_text,
    fmt=st.sampled_from(["plain", "html", "markdown"]),
)
def test_hostile_strings_in_a_valid_item_are_graded(
    gate: QualityGate, text: str, title: str | None, fmt: str
) -> None:
    item = {"id": "hostile", "text": text, "format": fmt} | ({"title": title} if title else {})
    [result] = gate.grade([item])
    check_results([item], [result])
    if result.status == "error":  # nothing visible, or a title over its limit: fair refusals
        assert result.error is not None
        assert result.error.code == "empty_content" or "max_title_chars" in result.error.message


def test_the_named_nasties_and_a_megabyte_of_one_emoji(
    gate: QualityGate, settings: Settings
) -> None:
    limit = settings.limits.max_text_chars
    batch: list[Any] = [
        {"id": f"n{i}", "text": f"{text} {SENTINEL}"} for i, text in enumerate(NASTY)
    ]
    batch.append({"id": "emoji-at-limit", "text": "\U0001f600" * limit})
    batch.append({"id": "emoji-1mb", "text": "\U0001f600" * (1 << 18) + SENTINEL})  # 1 MiB UTF-8
    results = gate.grade(batch)
    check_results(batch, results)
    by_id = {r.id: r for r in results}
    assert all(by_id[f"n{i}"].status == "graded" for i in range(len(NASTY)))
    assert by_id["emoji-at-limit"].status == "graded"
    too_big = by_id["emoji-1mb"]
    assert too_big.status == "error" and too_big.error is not None
    assert "max_text_chars" in too_big.error.message
