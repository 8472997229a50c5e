"""The guard in the worker's batch grading (workers/batch.py on the in-memory state): guard
flags reach published results, and a guard failure is retried like a scoring failure, with
its flags set once."""

from __future__ import annotations

from collections.abc import Sequence

from qualitygate.config import Settings, load_settings
from qualitygate.errors import ScoringError
from qualitygate.guard.flags import Finding
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ModelInfo
from tests.support.scorers import FlakyScorer
from tests.support.worker_state import MemoryWorkerState
from workers.batch import DeliveryGrader
from workers.delivery import Delivery


class ThreatGuard:
    """Finds a threat in texts containing "threat"; fails its first ``fail_first`` calls."""

    info = ModelInfo(name="threat-double", revision="7")

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls: list[int] = []

    def check(self, texts: Sequence[str]) -> list[list[Finding]]:
        self.calls.append(len(texts))
        if len(self.calls) <= self.fail_first:
            raise ScoringError("the guard model failed on a batch (simulated)")
        return [[Finding("threat", "unsafe", 0.8)] if "threat" in t else [] for t in texts]


def _guarded(settings: Settings) -> Settings:
    section = settings.guard.model_dump() | {"enabled": True, "kind": "classifier"}
    return load_settings(model=settings.model.model_dump(), guard=section)


def _run(settings: Settings, guard: ThreatGuard) -> MemoryWorkerState:
    state = MemoryWorkerState(cache=False)
    gate = QualityGate(settings, FlakyScorer(), guard=guard)  # type: ignore[arg-type]
    grader = DeliveryGrader(gate, state, settings, sleep=lambda s: None)
    batch = [
        Delivery("t0", {"id": "a", "text": "a threat against the moderators"}),
        Delivery("t1", {"id": "b", "text": "a kind word for the moderators"}),
    ]
    assert grader.run(batch) == 2
    return state


def test_guard_flags_reach_the_published_results(settings: Settings) -> None:
    guard = ThreatGuard()
    results = _run(_guarded(settings), guard).by_id()
    assert guard.calls == [2]
    [flag] = [f for f in results["a"].flags if f.category == "guard"]
    assert (flag.rule_id, flag.action, flag.confidence) == ("guard.threat", "review", 0.8)
    assert results["a"].decision in ("review", "reject")
    assert results["a"].guard == ThreatGuard.info
    assert not [f for f in results["b"].flags if f.category == "guard"]
    assert results["b"].guard == ThreatGuard.info


def test_a_guard_failure_is_retried_and_its_flags_set_once(settings: Settings) -> None:
    guard = ThreatGuard(fail_first=1)
    results = _run(_guarded(settings), guard).by_id()
    assert len(guard.calls) > 1
    assert [f.rule_id for f in results["a"].flags if f.category == "guard"] == ["guard.threat"]
    assert results["a"].status == results["b"].status == "graded"
    assert results["a"].attempts >= 1


def test_scoring_an_item_again_replaces_its_guard_flags(settings: Settings) -> None:
    gate = QualityGate(_guarded(settings), FlakyScorer(), guard=ThreatGuard())  # type: ignore[arg-type]
    prepared = [gate.prepare({"id": "a", "text": "a threat against the moderators"})]
    gate.score(prepared)
    [result] = gate.score(prepared)
    assert [f.rule_id for f in result.flags if f.category == "guard"] == ["guard.threat"]
