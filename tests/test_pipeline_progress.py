"""The gate's progress callback and its detector: what the command line builds on."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest

from qualitygate.config import load_settings
from qualitygate.pipeline import PROGRESS_SLICE, QualityGate
from qualitygate.schemas import ModelInfo


class LengthScorer:
    """Reward = content length; records how many pairs each call scored."""

    info = ModelInfo(name="length", revision="0")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.append(len(pairs))
        return [float(len(content)) for _, content in pairs]


def items(count: int) -> list[dict[str, str]]:
    return [{"id": str(i), "text": "word " * (1 + (i * 7) % 23)} for i in range(count)]


def test_progress_moves_per_slice_and_adds_up_to_the_items() -> None:
    scorer = LengthScorer()
    gate = QualityGate(load_settings(), scorer)
    batch = [*items(50), {"id": "bad"}, {"id": "also bad", "text": ""}]
    counts: list[int] = []
    results = gate.grade(batch, progress=counts.append)
    assert sum(counts) == len(batch)
    assert len(counts) >= 1 + -(-50 // PROGRESS_SLICE)  # the two errors, then each slice
    assert max(counts) <= PROGRESS_SLICE
    # the same results, in the same order, as one call without progress
    plain = QualityGate(load_settings(), LengthScorer()).grade(batch)
    assert [(r.id, r.status, r.raw_reward) for r in results] == [
        (r.id, r.status, r.raw_reward) for r in plain
    ]


def test_slices_hold_items_of_similar_length() -> None:
    """Sorted by length before slicing, so each slice packs as tightly as the window."""
    seen: list[list[float]] = []

    class Recorder(LengthScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            seen.append([float(len(content)) for _, content in pairs])
            return super().score(pairs)

    QualityGate(load_settings(), Recorder()).grade(items(64), progress=lambda n: None)
    for earlier, later in pairwise(seen):
        assert max(earlier) <= min(later)


def test_a_gate_detects_languages_as_its_own_settings_say(tmp_path: Path) -> None:
    config = tmp_path / "detection.yaml"
    config.write_text("detection:\n  min_letters: 1000\n", encoding="utf-8")
    text = "This is a perfectly ordinary English sentence about the weather today."
    default_gate = QualityGate(load_settings(), LengthScorer())
    strict_gate = QualityGate(load_settings(config), LengthScorer())
    assert default_gate.grade([{"id": "1", "text": text}])[0].language == "en"
    assert strict_gate.grade([{"id": "1", "text": text}])[0].language == "und"


@pytest.mark.parametrize("slice_fails_at", [0, 2])
def test_progress_still_adds_up_when_the_model_fails(slice_fails_at: int) -> None:
    from qualitygate.errors import ScoringError

    class Failing(LengthScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            if len(self.calls) == slice_fails_at:
                raise ScoringError("the model failed")
            return super().score(pairs)

    counts: list[int] = []
    results = QualityGate(load_settings(), Failing()).grade(items(50), progress=counts.append)
    assert sum(counts) == 50 and all(r.status == "error" for r in results)
