"""workers/retries.py and workers/deadletter.py on the in-memory state: crashes are
retried alone, attempts are counted before each try, and a poison item ends dead."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from tests.support.scorers import FlakyScorer
from tests.support.worker_state import MemoryWorkerState
from workers.batch import DeliveryGrader
from workers.delivery import Delivery
from workers.retries import RetryPolicy


def grader_for(
    settings: Settings, scorer: FlakyScorer, state: MemoryWorkerState, retries: int
) -> DeliveryGrader:
    settings = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"max_retries": retries})}
    )
    return DeliveryGrader(QualityGate(settings, scorer), state, settings, sleep=lambda s: None)


def deliveries(texts: list[str]) -> list[Delivery]:
    return [Delivery(f"t{i}", {"id": f"i{i}", "text": t}) for i, t in enumerate(texts)]


def test_a_poison_item_is_retried_alone_then_dead_and_its_neighbours_graded(
    settings: Settings,
) -> None:
    state, scorer = MemoryWorkerState(), FlakyScorer(poison="POISON")
    grader_for(settings, scorer, state, retries=2).run(
        deliveries(["good one", "POISON here", "good two"])
    )
    results = state.by_id()
    assert results["i0"].status == results["i2"].status == "graded"
    assert results["i0"].attempts == 2
    poison = results["i1"]
    assert poison.error is not None and poison.error.code == "scoring_failed"
    assert poison.attempts == 3 and "3 times" in poison.error.message
    [(dead, payload)] = state.dead
    assert dead.task_id == "t1" and payload["text"] == "POISON here"
    assert scorer.calls == [3, 1, 1, 1, 1]


def test_a_message_that_already_crashed_too_often_goes_dead_unscored(settings: Settings) -> None:
    state, scorer = MemoryWorkerState(), FlakyScorer()
    state.attempts["t0"] = 2  # two deliveries killed the process while scoring it
    grader_for(settings, scorer, state, retries=1).run(deliveries(["kills the worker"]))
    [result] = state.results
    assert result.error is not None and "died" in result.error.message
    assert scorer.calls == [] and len(state.dead) == 1


def test_finished_neighbours_are_published_before_a_risky_try_alone(
    settings: Settings,
) -> None:
    class Killer(FlakyScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            if any("POISON" in text for _, text in pairs) and len(pairs) == 1:
                raise SystemExit  # stands in for the process dying
            return super().score(pairs)

    state = MemoryWorkerState()
    grader = grader_for(settings, Killer(poison="POISON"), state, retries=2)
    with pytest.raises(SystemExit):
        grader.run(deliveries(["fine", "POISON"]))
    # The batch failed; "fine" scored alone and was published before the poison's try.
    assert [r.id for r in state.results] == ["i0"]
    assert state.attempts == {"t1": 2}


def test_with_no_retries_each_item_of_a_failed_batch_is_still_tried_alone(
    settings: Settings,
) -> None:
    state, scorer = MemoryWorkerState(), FlakyScorer(poison="POISON")
    grader_for(settings, scorer, state, retries=0).run(deliveries(["fine text", "POISON"]))
    results = state.by_id()
    assert results["i0"].status == "graded"
    error = results["i1"].error
    assert error is not None and "CUDA out of memory" in error.message
    assert scorer.calls == [2, 1, 1]


def test_backoff_doubles_from_the_configured_pause() -> None:
    pauses: list[float] = []
    policy = RetryPolicy(max_attempts=4, backoff_s=0.5, sleep=pauses.append)
    for attempts in (1, 2, 3):
        policy.pause_after(attempts)
    assert pauses == [0.5, 1.0, 2.0]
