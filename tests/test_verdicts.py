"""The verdict vocabulary (qualitygate/verdicts.py): one declaration, one order, used by
config, results and grading alike."""

from __future__ import annotations

from typing import get_args

from qualitygate import config, grading, schemas
from qualitygate.verdicts import DECISION_RANK, DECISIONS, LEVELS, Decision, Level


def test_decisions_rank_mildest_first() -> None:
    assert DECISION_RANK["approve"] < DECISION_RANK["review"] < DECISION_RANK["reject"]
    assert sorted(DECISIONS, key=DECISION_RANK.__getitem__) == list(get_args(Decision))


def test_levels_run_best_first_and_match_the_type() -> None:
    assert LEVELS == get_args(Level) == ("excellent", "good", "fair", "poor")


def test_config_results_and_grading_share_one_declaration() -> None:
    assert config.Decision is schemas.Decision is grading.Decision is Decision
    assert config.Level is schemas.Level is Level
