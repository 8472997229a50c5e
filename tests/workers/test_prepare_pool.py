"""workers/prepare_pool.py and prepare_child.py: prepare processes give the very results the
task's own thread gives, take the config version the grader grades with, lose nothing when
one of them is killed, start under a daemonic parent (a Celery pool process) and die with
their parent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from qualitygate.config import Settings
from qualitygate.errors import QualityGateError
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import GradeResult, ModelInfo
from qualitygate.scoring import RewardScorer
from tests.support.worker_state import MemoryWorkerState
from tests.support.workers import child_pids, wait_for
from workers import prepare_child, prepare_pool
from workers.batch import DeliveryGrader
from workers.delivery import Delivery, Unprepared
from workers.prepare_pool import PreparePool
from workers.staged import StagedGrader

TEXTS = [
    "A short note.",
    "<p>Ein kurzer <b>deutscher</b> Satz über das Wetter in Berlin.</p>",
    "한국어 문장입니다. 날씨가 좋네요.",
    "日本語の文章です。今日はいい天気ですね。",
    "今天天气很好，我们去公园散步吧。",
    "Questo è un commento lungo " * 20,
    "Buy cheap pills now!!! http://spam.example http://spam.example http://spam.example",
    "Another plain English paragraph with a few more words in it than the first one.",
]


def batch(texts: Sequence[str] = TEXTS) -> list[Delivery]:
    found = [Delivery(f"t{i}", {"id": f"i{i}", "text": t}) for i, t in enumerate(texts)]
    return [
        *found,
        Delivery("t-bad", {"id": "bad", "txt": "no text field"}),
        Delivery("t-problem", None, problem="message: not a Celery task message (test)"),
    ]


class CountingScorer:
    """The real scorer, counting how often this process tokenizes."""

    def __init__(self, real: RewardScorer) -> None:
        self.real = real
        self.encoded = 0

    @property
    def info(self) -> ModelInfo:
        return self.real.info

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        self.encoded += len(pairs)
        return self.real.encode_pairs(pairs)

    def score_encoded(self, encoded: Sequence[Sequence[int]]) -> list[float]:
        return self.real.score_encoded(encoded)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self.real.score(pairs)


def grade(
    settings: Settings, scorer: Any, deliveries: Sequence[Delivery], pool: PreparePool | None
) -> list[GradeResult]:
    state = MemoryWorkerState(cache=False)
    grader = DeliveryGrader(QualityGate(settings, scorer), state, settings, sleep=lambda s: None)
    assert StagedGrader(grader, 3, 1, pool).run(deliveries) == len(deliveries)
    return state.results


def comparable(result: GradeResult) -> dict[str, Any]:
    return result.model_dump(exclude={"timings_ms"})


@pytest.fixture(scope="module")
def scorer(settings: Settings) -> RewardScorer:
    return RewardScorer.load(settings.model)


@pytest.fixture
def pool(settings: Settings) -> Iterator[PreparePool]:
    pool = PreparePool(2, settings)
    pool.start()
    yield pool
    pool.close()


def prepare_processes() -> list[int]:
    """This process's children (the prepare processes: they are forked from it)."""
    return child_pids(os.getpid())


def test_pooled_results_equal_the_ones_prepared_on_the_thread(
    settings: Settings, scorer: RewardScorer, pool: PreparePool
) -> None:
    here = grade(settings, CountingScorer(scorer), batch(), None)
    counting = CountingScorer(scorer)
    pooled = grade(settings, counting, batch(), pool)
    # The same results to the bit (same chunks, same forward passes, same order), the
    # bad item and the unreadable message answered alike...
    assert [comparable(r) for r in pooled] == [comparable(r) for r in here]
    assert {r.task_id for r in pooled if r.status == "error"} == {"t-bad", "t-problem"}
    assert sum(r.status == "graded" for r in pooled) == len(TEXTS)
    # ...and the preparing and tokenizing were done by the prepare processes, not here.
    assert counting.encoded == 0


def test_the_pool_prepares_under_the_graders_config_version(
    settings: Settings, scorer: RewardScorer, pool: PreparePool
) -> None:
    from qualitygate.live import overlay_settings

    deliveries = [Delivery("t-zebra", {"id": "zebra", "text": "A zebra crossed the road."})]
    before = grade(settings, scorer, deliveries, pool)[0]
    assert before.status == "graded" and not [f for f in before.flags if f.category == "zoo"]
    # A live version with a new pattern: the prepare processes apply it with the next chunk.
    rule = {"enabled": True, "severity": "medium", "action": "review", "languages": []}
    pattern = rule | {"id": "zebra", "category": "zoo", "pattern": "(?i)zebra"}
    live = overlay_settings(settings, {"rules": {"patterns": [pattern]}})
    assert live.version != settings.version
    after = grade(live, scorer, deliveries, pool)[0]
    assert [f.rule_id for f in after.flags if f.category == "zoo"] == ["pattern.zebra"]
    assert after.config_version == live.version
    # And the old version still prepares as it did (a worker keeps the one before).
    again = grade(settings, scorer, deliveries, pool)[0]
    assert comparable(again) == comparable(before)


def test_a_killed_prepare_process_loses_nothing(
    settings: Settings, scorer: RewardScorer, pool: PreparePool
) -> None:
    expected = [comparable(r) for r in grade(settings, scorer, batch(), None)]
    victims = prepare_processes()
    assert len(victims) == 2
    os.kill(victims[0], signal.SIGKILL)
    # The pool sees it broken and ends its other process too.
    wait_for(lambda: not prepare_processes(), 10, "the broken pool to end its processes")
    assert [comparable(r) for r in grade(settings, scorer, batch(), pool)] == expected
    assert pool.restarts == 1 and pool.usable
    # New processes serve the next batch: nothing is tokenized here.
    counting = CountingScorer(scorer)
    assert [comparable(r) for r in grade(settings, counting, batch(), pool)] == expected
    assert counting.encoded == 0
    assert len(prepare_processes()) == 2


def test_a_pool_that_keeps_dying_is_given_up_and_the_thread_prepares(
    settings: Settings,
    scorer: RewardScorer,
    pool: PreparePool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare_pool, "MAX_RESTARTS", 0)
    expected = [comparable(r) for r in grade(settings, scorer, batch(), None)]
    for victim in prepare_processes():
        os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not prepare_processes(), 10, "the killed processes to go")
    counting = CountingScorer(scorer)
    assert [comparable(r) for r in grade(settings, counting, batch(), pool)] == expected
    assert not pool.usable
    assert counting.encoded == len(TEXTS)  # this thread tokenized every item
    assert prepare_processes() == []  # and no pool was forked again


def test_a_pool_that_cannot_start_is_given_up(settings: Settings, tmp_path: Path) -> None:
    missing = settings.model.model_copy(update={"name": str(tmp_path / "no-such-model")})
    pool = PreparePool(1, settings.model_copy(update={"model": missing}))
    assert pool.start() is False
    assert not pool.usable
    with pytest.raises(prepare_pool.BrokenProcessPool):
        pool.submit(settings, batch()[:1])


def test_chinese_items_with_a_converter_come_back_from_the_pool(
    settings: Settings, scorer: RewardScorer, pool: PreparePool
) -> None:
    """The zh adapter's OpenCC converter cannot be pickled: it must not need to cross."""
    from qualitygate.live import overlay_settings

    converting = overlay_settings(
        settings, {"languages": {"zh": {"traditional_to_simplified": True}}}
    )
    deliveries = [
        Delivery("t-zh", {"id": "zh", "text": "這是一個關於天氣的簡短評論。", "language": "zh"})
    ]
    here = grade(converting, scorer, deliveries, None)
    counting = CountingScorer(scorer)
    pooled = grade(converting, counting, deliveries, pool)
    assert [comparable(r) for r in pooled] == [comparable(r) for r in here]
    assert pooled[0].status == "graded" and pooled[0].language == "zh"
    assert counting.encoded == 0


def test_prepare_processes_start_under_a_daemonic_parent(settings: Settings) -> None:
    """A Celery prefork child is daemonic; multiprocessing refuses children to those."""
    me = multiprocessing.current_process()
    was = me.daemon
    me.daemon = True
    try:
        pool = PreparePool(1, settings)
        pool.start()
        assert pool.submit(settings, batch()[:1]).result(timeout=60)[0].prepared is not None
        pool.close()
    finally:
        me.daemon = was


def test_prepare_processes_die_with_their_parent(settings: Settings, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys, time
        from qualitygate.config import load_settings
        from workers.prepare_pool import PreparePool
        pool = PreparePool(2, load_settings())
        pool.start()
        print(os.getpid(), flush=True)
        time.sleep(600)
        """
    )
    env = os.environ | {"QG_MODEL__NAME": settings.model.name, "QG_MODEL__DEVICE": "cpu"}
    parent = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    parent_pid = int(parent.stdout.readline())
    children = child_pids(parent_pid)
    assert len(children) == 2
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Boom:
    """A preparer whose preparing hits a bug."""

    def prepare(self, raw: Any) -> Any:
        raise KeyError("boom")


def test_a_bug_in_preparing_costs_one_item_and_brings_its_traceback(
    settings: Settings, scorer: RewardScorer, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = prepare_child._prepare_one(Boom(), Delivery("t1", {"id": "i1", "text": "x"}))  # type: ignore[arg-type]
    assert isinstance(outcome, Unprepared)
    assert outcome.error.message == "KeyError: 'boom'"
    assert outcome.bug is not None and "raise KeyError" in outcome.bug
    state = MemoryWorkerState(cache=False)
    grader = DeliveryGrader(QualityGate(settings, scorer), state, settings)
    from workers.outbox import Outbox

    outbox = Outbox(state)
    with caplog.at_level("ERROR", logger="qualitygate.worker"):
        assert grader.admit_ready([Delivery("t1", {"id": "i1"})], [outcome], outbox) == []
    outbox.commit()
    assert state.results[0].status == "error" and state.results[0].id == "i1"
    assert "raise KeyError" in caplog.text


def test_an_item_error_is_the_items_own_result(settings: Settings) -> None:
    from qualitygate.preparing import Preparer

    outcome = prepare_child._prepare_one(Preparer(settings), Delivery("t1", {"id": "i1"}))
    assert isinstance(outcome, Unprepared) and outcome.bug is None
    assert isinstance(outcome.error, QualityGateError) and "text" in outcome.error.message
