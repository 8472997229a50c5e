"""workers/staged.py on the in-memory state: the staged path publishes what the sequential
one does, prepares at most ``stage_depth`` chunks ahead of a slow forward pass, and keeps
the retries and dead letters of a failing one."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import GradeResult, ModelInfo
from qualitygate.scoring import RewardScorer
from tests.support.scorers import FlakyScorer
from tests.support.worker_state import MemoryWorkerState
from workers.batch import DeliveryGrader
from workers.delivery import Delivery
from workers.staged import StagedGrader

TEXTS = [
    "A short note.",
    "Ein kurzer deutscher Satz über das Wetter in Berlin.",
    "x" * 300,
    "Questo è un commento lungo " * 20,
    "한국어 문장입니다. 날씨가 좋네요.",
    "Poison pill \x00never here",
    "日本語の文章です。",
    "Another plain English paragraph with a few more words in it than the first one.",
    "Un texte en français, assez court.",
    "Last one.",
]


def batch(texts: Sequence[str] = TEXTS, prefix: str = "t") -> list[Delivery]:
    found = [Delivery(f"{prefix}{i}", {"id": f"i{i}", "text": t}) for i, t in enumerate(texts)]
    return [*found, Delivery(f"{prefix}-bad", {"id": "bad", "txt": "no text field"})]


def grader(settings: Settings, scorer: Any, state: MemoryWorkerState) -> DeliveryGrader:
    return DeliveryGrader(QualityGate(settings, scorer), state, settings, sleep=lambda s: None)


def comparable(result: GradeResult) -> dict[str, Any]:
    """A result without its timings, which differ from run to run."""
    return result.model_dump(exclude={"timings_ms"})


@pytest.fixture(scope="module")
def scorer(settings: Settings) -> RewardScorer:
    return RewardScorer.load(settings.model)


def test_staged_results_equal_sequential_ones(settings: Settings, scorer: RewardScorer) -> None:
    deliveries = batch([t.replace("\x00never", "") for t in TEXTS])
    staged = MemoryWorkerState(cache=False)
    StagedGrader(grader(settings, scorer, staged), stage_items=3, stage_depth=1).run(deliveries)
    # Exactly what sequential grading of the same chunks publishes: same results (scores
    # to the bit: the same forward passes), same order, same ids.
    chunked = MemoryWorkerState(cache=False)
    plain = grader(settings, scorer, chunked)
    for offset in range(0, len(deliveries), 3):
        plain.run(deliveries[offset : offset + 3])
    assert [comparable(r) for r in staged.results] == [comparable(r) for r in chunked.results]
    # And what the whole batch graded in sequence publishes, but for float rounding: a
    # forward pass over other neighbours pads to another width.
    whole = MemoryWorkerState(cache=False)
    grader(settings, scorer, whole).run(deliveries)
    expected = {r.task_id: r for r in whole.results}
    assert len(staged.results) == len(expected) == len(deliveries)
    for result in staged.results:
        other = expected[result.task_id]
        assert comparable(result) | NUMBERS == comparable(other) | NUMBERS
        if result.status == "graded":
            assert result.raw_reward == pytest.approx(other.raw_reward, abs=1e-5)
            assert result.score == pytest.approx(other.score, abs=1e-5)


NUMBERS = {"raw_reward": None, "score": None}


def test_staged_path_tokenizes_ahead_with_the_scorers_own_ids(
    settings: Settings, scorer: RewardScorer
) -> None:
    deliveries = batch()[:4]
    gate = QualityGate(settings, scorer)
    pairs = [(gate.prepare(d.payload).prompt, gate.prepare(d.payload).text) for d in deliveries]
    assert scorer.score_encoded(scorer.encode_pairs(pairs)) == scorer.score(pairs)


class SlowEncodingScorer:
    """Tokenizes apart and holds each forward pass a while; counts how many chunks are
    tokenized (the last step of preparing one) and not yet in a forward pass."""

    def __init__(self, forward_s: float) -> None:
        self.forward_s = forward_s
        self.encoded = 0
        self.forwarded = 0
        self.most_ahead = 0
        self.lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="slow double", revision="1", test_model=True)

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        with self.lock:
            self.encoded += 1
            self.most_ahead = max(self.most_ahead, self.encoded - self.forwarded)
        return [[len(text)] for _, text in pairs]

    def score_encoded(self, encoded: Sequence[Sequence[int]]) -> list[float]:
        with self.lock:
            self.forwarded += 1
        time.sleep(self.forward_s)
        return [float(ids[0] % 5) for ids in encoded]

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self.score_encoded(self.encode_pairs(pairs))


@pytest.mark.parametrize("depth", [1, 3])
def test_a_slow_forward_pass_bounds_the_chunks_prepared_ahead(
    settings: Settings, depth: int
) -> None:
    scorer, state = SlowEncodingScorer(forward_s=0.05), MemoryWorkerState(cache=False)
    texts = [f"item number {i} with some words" for i in range(24)]
    staged = StagedGrader(grader(settings, scorer, state), stage_items=2, stage_depth=depth)
    assert staged.run(batch(texts)) == 25
    assert scorer.forwarded == scorer.encoded == 12
    # One chunk in the forward pass, ``depth`` queued and one waiting to be queued: never
    # more, however slow the model, and preparing did run ahead (the overlap).
    assert 1 <= scorer.most_ahead <= depth + 1
    assert scorer.most_ahead == depth + 1
    assert len(state.results) == 25


def test_a_failing_forward_pass_retries_and_dead_letters_as_sequential(
    settings: Settings,
) -> None:
    deliveries = batch()
    sequential, staged = MemoryWorkerState(), MemoryWorkerState()
    grader(settings, FlakyScorer(poison="Poison"), sequential).run(deliveries)
    StagedGrader(grader(settings, FlakyScorer(poison="Poison"), staged), 4, 2).run(deliveries)
    # The same results, but for attempts: a poison item costs its chunk's neighbours a
    # try alone each, not the whole batch's.
    by_task = {r.task_id: comparable(r) | {"attempts": 0} for r in sequential.results}
    assert {r.task_id: comparable(r) | {"attempts": 0} for r in staged.results} == by_task
    graded = {r.task_id: r.attempts for r in staged.results if r.status == "graded"}
    assert {t for t, n in graded.items() if n == 2} == {"t4", "t6", "t7"}
    dead = [r for r in staged.results if r.task_id == "t5"]
    assert dead[0].status == "error" and dead[0].attempts == settings.worker.max_retries + 1
    assert [result.task_id for result, _ in staged.dead] == ["t5"]
    assert sum(r.status == "graded" for r in staged.results) == len(TEXTS) - 1


def test_a_chunk_whose_forward_pass_fails_is_retried_item_by_item(settings: Settings) -> None:
    state, flaky = MemoryWorkerState(), FlakyScorer(fail_first=1)
    texts = [f"plain words {i}" for i in range(8)]
    StagedGrader(grader(settings, flaky, state), stage_items=4, stage_depth=2).run(batch(texts))
    attempts = {r.task_id: r.attempts for r in state.results if r.status == "graded"}
    # The first chunk's pass failed: its items were tried alone (a second attempt each);
    # the next chunk scored together at its first.
    assert attempts == {f"t{i}": 2 if i < 4 else 1 for i in range(8)}
    assert flaky.calls == [4, 1, 1, 1, 1, 4]


class FailingCommitState(MemoryWorkerState):
    """Redis gone at publishing time: every commit raises."""

    def commit(self, outgoing: Any, remember: Any = ()) -> list[bool]:
        raise ConnectionError("Redis is away (simulated)")


def test_a_stage_that_raises_fails_the_batch_and_leaves_no_thread(settings: Settings) -> None:
    before = threading.active_count()
    staged = StagedGrader(
        grader(settings, FlakyScorer(), FailingCommitState()), stage_items=2, stage_depth=1
    )
    with pytest.raises(ConnectionError, match="Redis is away"):
        staged.run(batch())
    assert threading.active_count() == before


def test_the_runtime_grades_staged_unless_told_sequential(settings: Settings) -> None:
    from workers.runtime import WorkerRuntime

    sequential = settings.worker.model_copy(update={"pipeline": "sequential"})
    kinds = []
    for config in (settings, settings.model_copy(update={"worker": sequential})):
        runtime = WorkerRuntime(config)
        runtime.__dict__["gate"] = QualityGate(config, FlakyScorer())  # no model to load
        kinds.append(type(runtime.delivery_grader()))
    assert settings.worker.pipeline == "staged"
    assert kinds == [StagedGrader, DeliveryGrader]
