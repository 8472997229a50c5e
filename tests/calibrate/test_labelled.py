"""``calibrate --from-labels``: label records as samples, --since, the one-reviewer warning."""

from __future__ import annotations

import pytest

from qualitygate.calibrate.labelled import parse_since, reviewer_warnings, samples_from_labels
from qualitygate.errors import InvalidItemError
from qualitygate.labels import LabelRecord
from qualitygate.schemas import ModelInfo


def record(
    item_id: str, label: str, reviewer: str | None = "kim", language: str = "ko", model: str = "m"
) -> LabelRecord:
    return LabelRecord(
        id=item_id,
        label=label,
        reviewer=reviewer,
        labelled_at=0.0,
        raw_reward=float(len(item_id)),
        language=language,
        model=ModelInfo(name=model, revision="r"),
        config_version="v",
    )


@pytest.mark.parametrize("text, seconds", [("30d", 2592000), ("12h", 43200), ("1.5m", 90)])
def test_since(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


def test_a_bad_since_is_named() -> None:
    with pytest.raises(InvalidItemError, match=r"^--since: 'soon'"):
        parse_since("soon")


def test_the_latest_label_per_id_is_the_sample() -> None:
    found = samples_from_labels(
        [record("a", "accept"), record("bb", "poor"), record("a", "reject")]
    )
    assert [(s.language, s.raw_reward, s.label) for s in found.samples] == [
        ("ko", 2.0, 0),
        ("ko", 1.0, 0),
    ]
    assert found.model == ModelInfo(name="m", revision="r")


def test_labels_on_another_models_results_are_skipped() -> None:
    found = samples_from_labels([record("a", "accept", model="old"), record("b", "accept")])
    assert len(found.samples) == 1
    assert found.skipped == ["label 1 (id 'a'): graded by old, not m"]


def test_one_reviewer_giving_most_labels_is_warned_about() -> None:
    records = [record("a", "accept"), record("b", "reject"), record("c", "accept", "lee")]
    records += [record("d", "accept", "kim", "ja"), record("e", "reject", "lee", "ja")]
    [warning] = reviewer_warnings(records, 0.5)
    assert warning.startswith("ko: 2 of 3 labels (67%) come from one reviewer (kim)")
    assert reviewer_warnings(records, 0.7) == []
