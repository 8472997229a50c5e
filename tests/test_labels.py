"""Label records: what a label may say, what it keeps of the grade, and which one wins."""

from __future__ import annotations

import pytest

from qualitygate.errors import InvalidItemError
from qualitygate.labels import build_label, label_value, latest_per_id
from qualitygate.schemas import ErrorInfo, GradeResult, ModelInfo


def graded(item_id: str = "a", raw: float = 1.5, language: str = "ko") -> GradeResult:
    return GradeResult(
        id=item_id,
        status="graded",
        language=language,
        raw_reward=raw,
        score=0.7,
        level="good",
        decision="approve",
        model=ModelInfo(name="m", revision="r"),
        config_version="v1",
        content_sha256="00",
    )


def test_a_label_keeps_what_the_gate_said() -> None:
    record = build_label(graded(), "a", " Reject ", reviewer="kim", reason="spam", now=5.0)
    assert (record.label, record.accepted, record.reviewer, record.labelled_at) == (
        "reject",
        0,
        "kim",
        5.0,
    )
    assert (record.raw_reward, record.language, record.config_version) == (1.5, "ko", "v1")
    assert (record.decision, record.level, record.score) == ("approve", "good", 0.7)
    assert record.model == ModelInfo(name="m", revision="r")


@pytest.mark.parametrize("label, value", [("accept", 1), ("good", 1), ("fair", 0), ("POOR", 0)])
def test_levels_count_as_accept_or_reject(label: str, value: int) -> None:
    assert label_value(label) == value


@pytest.mark.parametrize("label", ["maybe", "", None, 1])
def test_a_bad_label_is_named(label: object) -> None:
    with pytest.raises(InvalidItemError, match=r"^label: "):
        build_label(graded(), "a", label)  # type: ignore[arg-type]


def test_an_unknown_id_or_an_error_result_cannot_be_labelled() -> None:
    with pytest.raises(InvalidItemError, match=r"^id: no result is stored for 'nope'"):
        build_label(None, "nope", "accept")
    failed = GradeResult(
        id="b", status="error", config_version="v", error=ErrorInfo(code="x", message="y")
    )
    with pytest.raises(InvalidItemError, match=r"^id: 'b' was not graded"):
        build_label(failed, "b", "accept")


def test_a_too_long_reviewer_is_named() -> None:
    with pytest.raises(InvalidItemError, match=r"^reviewer: "):
        build_label(graded(), "a", "accept", reviewer="r" * 300)


def test_the_newest_label_of_an_id_wins() -> None:
    older = build_label(graded("a"), "a", "accept", now=1)
    other = build_label(graded("b"), "b", "accept", now=2)
    newer = build_label(graded("a"), "a", "reject", now=3)
    assert latest_per_id([older, other, newer]) == [other, newer]
