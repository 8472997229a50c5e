"""model.compile: the compiled forward pass gives the eager scores (within float tolerance)
on the tiny model, across batch sizes and lengths, without compiling again per batch."""

from __future__ import annotations

import pytest

from qualitygate.config import Settings
from qualitygate.scoring import RewardScorer

PAIRS = [
    ("Rate this.", "A short answer."),
    ("Rate this.", "A somewhat longer answer with more words in it, to change the length."),
    ("Another prompt", "Mittellanger deutscher Text über das Wetter."),
    ("Rate this.", "x " * 200),
]


@pytest.mark.integration  # compiling with inductor takes a minute on a small CPU
def test_compiled_scores_equal_eager_ones(settings: Settings) -> None:
    eager = RewardScorer.load(settings.model)
    compiled = RewardScorer.load(settings.model.model_copy(update={"compile": True}))
    assert compiled.stats.compile_s > 0
    for size in (1, 2, 4):
        expected = eager.score(PAIRS[:size])
        assert compiled.score(PAIRS[:size]) == pytest.approx(expected, abs=1e-4)
    assert compiled.score(PAIRS[::-1]) == pytest.approx(eager.score(PAIRS[::-1]), abs=1e-4)
