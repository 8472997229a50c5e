"""The gate's progress callback and its detector: what the command line builds on."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.pipeline import BYTES_PER_TOKEN_ESTIMATE, QualityGate
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


def small_budget() -> Settings:
    """A forward pass of 128 tokens: a few of these items each, so slices are many."""
    defaults = load_settings().model.model_dump()
    budget = {"max_length": 128, "max_prompt_tokens": 32, "batch_tokens": 128}
    return load_settings(model=defaults | budget)


def test_progress_moves_per_forward_pass_and_adds_up_to_the_items() -> None:
    scorer = LengthScorer()
    gate = QualityGate(small_budget(), scorer)
    batch = [*items(50), {"id": "bad"}, {"id": "also bad", "text": ""}]
    counts: list[int] = []
    results = gate.grade(batch, progress=counts.append)
    assert sum(counts) == len(batch)
    assert counts[0] == 2  # the two bad items, at once
    assert len(counts) > 5 and counts[1:] == [n for n in scorer.calls]  # one per scorer call
    # the same results, in the same order, as one call without progress
    plain = QualityGate(small_budget(), LengthScorer()).grade(batch)
    assert [(r.id, r.status, r.raw_reward) for r in results] == [
        (r.id, r.status, r.raw_reward) for r in plain
    ]


def test_slices_fill_the_token_budget_and_hold_similar_lengths() -> None:
    settings = small_budget()
    seen: list[list[int]] = []

    class Recorder(LengthScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            seen.append([len(f"{p}{c}".encode()) // BYTES_PER_TOKEN_ESTIMATE for p, c in pairs])
            return super().score(pairs)

    QualityGate(settings, Recorder()).grade(items(64), progress=lambda n: None)
    budget = settings.model.batch_tokens
    for rows in seen:
        assert len(rows) == 1 or len(rows) * min(max(rows), 128) <= budget
    for earlier, later in pairwise(seen):
        assert max(earlier) <= min(later)
        assert (len(earlier) + 1) * min(later[0], 128) > budget  # no room was left


def test_short_items_cost_no_extra_forward_passes() -> None:
    """With the default budget, 256 short items are one slice: one scorer call, as without."""
    scorer = LengthScorer()
    counts: list[int] = []
    QualityGate(load_settings(), scorer).grade(items(256), progress=counts.append)
    assert scorer.calls == [256] and counts == [256]


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
    results = QualityGate(small_budget(), Failing()).grade(items(50), progress=counts.append)
    assert sum(counts) == 50 and all(r.status == "error" for r in results)
