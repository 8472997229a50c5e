"""workers/batch.py on the in-memory state: duplicates, the cache, bad items, and one load
and one commit for a batch that scores cleanly."""

from __future__ import annotations

from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from tests.support.scorers import FlakyScorer
from tests.support.worker_state import MemoryWorkerState
from workers.batch import DeliveryGrader
from workers.delivery import Delivery


def grader_for(settings: Settings, scorer: FlakyScorer, state: MemoryWorkerState) -> DeliveryGrader:
    return DeliveryGrader(QualityGate(settings, scorer), state, settings, sleep=lambda s: None)


def deliveries(texts: list[str], prefix: str = "t") -> list[Delivery]:
    return [Delivery(f"{prefix}{i}", {"id": f"i{i}", "text": t}) for i, t in enumerate(texts)]


def test_a_clean_batch_is_one_load_one_count_and_one_commit(settings: Settings) -> None:
    state, scorer = MemoryWorkerState(), FlakyScorer()
    assert grader_for(settings, scorer, state).run(deliveries(["one", "two", "three"])) == 3
    assert state.calls == ["load", "count_attempts", "commit"]
    assert scorer.calls == [3]
    assert all(r.status == "graded" and r.attempts == 1 for r in state.results)


def test_a_redelivered_batch_is_not_scored_or_published_again(settings: Settings) -> None:
    state, scorer = MemoryWorkerState(cache=False), FlakyScorer()
    grader = grader_for(settings, scorer, state)
    batch = deliveries(["one", "two"])
    grader.run(batch)
    grader.run(batch)
    assert len(state.results) == 2 and scorer.calls == [2]


def test_identical_content_is_answered_from_the_cache(settings: Settings) -> None:
    state, scorer = MemoryWorkerState(), FlakyScorer()
    grader = grader_for(settings, scorer, state)
    grader.run(deliveries(["same words"], prefix="a"))
    grader.run([Delivery("b0", {"id": "again", "text": "same words", "metadata": {"r": 2}})])
    results = state.by_id()
    assert scorer.calls == [1]
    assert results["again"].cached and results["again"].task_id == "b0"
    assert results["again"].metadata == {"r": 2}
    assert results["again"].raw_reward == results["i0"].raw_reward


def test_bad_items_are_answered_and_their_neighbours_graded(settings: Settings) -> None:
    state = MemoryWorkerState()
    batch = [
        Delivery("t0", {"id": "good", "text": "fine"}),
        Delivery("t1", {"id": "bad", "txt": "a typo'd field"}),
        Delivery("t2", None, problem="message: not a task"),
    ]
    grader_for(settings, FlakyScorer(), state).run(batch)
    by_task = {r.task_id: r for r in state.results}
    assert by_task["t0"].status == "graded"
    assert by_task["t1"].status == by_task["t2"].status == "error"
    assert by_task["t2"].error is not None and "not a task" in by_task["t2"].error.message
