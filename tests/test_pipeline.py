"""QualityGate.grade and rank with a plain scorer double, and once on the real test model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.errors import InvalidItemError, ScoringError
from qualitygate.language import UNDETERMINED
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, ModelInfo


class LengthScorer:
    """Rewards longer content: a deterministic double that makes order observable."""

    info = ModelInfo(name="length-double", revision="1")

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.append(list(pairs))
        return [len(content) / 10 - 3 for _, content in pairs]


class BrokenScorer:
    info = ModelInfo(name="broken", revision="1")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        raise ScoringError("the model failed on a batch: out of memory")


@pytest.fixture()
def gate() -> QualityGate:
    return QualityGate(load_settings(), LengthScorer())


def test_one_result_per_item_in_order_with_bad_items_in_place(gate: QualityGate) -> None:
    items = [
        {"id": "a", "text": "short"},
        {"id": "b"},
        ContentItem(id="c", text="a much longer piece of content than the first one"),
        "not an object",
        {"id": "e", "text": "<script>x()</script>", "format": "html"},
    ]
    results = gate.grade(items)
    assert [r.id for r in results] == ["a", "b", "c", "", "e"]
    assert [r.status for r in results] == ["graded", "error", "graded", "error", "error"]
    assert results[1].error is not None and results[1].error.message == "text: Field required"
    assert results[4].error is not None and results[4].error.code == "empty_content"
    assert results[2].score is not None and results[0].score is not None
    assert results[2].score > results[0].score


def test_graded_result_carries_its_provenance(gate: QualityGate) -> None:
    item = {
        "id": "x",
        "text": "안녕하세요, 좋은 글 감사합니다",
        "language": "ko-KR",
        "metadata": {"rev": 3},
    }
    (result,) = gate.grade([item])
    assert result.language == "ko" and result.language_method == "hint"
    assert result.metadata == {"rev": 3}
    assert result.model == LengthScorer.info
    assert result.config_version == gate.settings.version
    assert result.content_sha256 is not None and len(result.content_sha256) == 64
    assert set(result.timings_ms) >= {"prepare", "score", "finish"}
    assert result.recommendations == gate.settings.recommendations.levels[result.level]["ko"]


def test_prompt_comes_from_item_then_content_type(gate: QualityGate) -> None:
    scorer = gate.scorer
    assert isinstance(scorer, LengthScorer)
    gate.grade(
        [
            {"id": "1", "text": "t", "content_type": "comment"},
            {"id": "2", "text": "t", "content_type": "unheard-of"},
            {"id": "3", "text": "t", "prompt": "Answer the question."},
        ]
    )
    prompts = [prompt for prompt, _ in scorer.calls[-1]]
    settings = gate.settings
    assert prompts == [
        settings.prompts["comment"],
        settings.prompts["default"],
        "Answer the question.",
    ]


def test_html_is_extracted_before_scoring(gate: QualityGate) -> None:
    scorer = gate.scorer
    assert isinstance(scorer, LengthScorer)
    gate.grade(
        [{"id": "h", "text": "<p>Hello <b>there</b></p><script>evil()</script>", "format": "html"}]
    )
    ((_, content),) = scorer.calls[-1]
    assert content == "Hello there"


def test_scoring_failure_is_an_error_result_or_raised() -> None:
    gate = QualityGate(load_settings(), BrokenScorer())
    items = [{"id": "a", "text": "fine"}, {"id": "b", "text": 3}]
    results = gate.grade(items)
    assert [r.error.code for r in results if r.error] == ["scoring_failed", "invalid_item"]
    with pytest.raises(ScoringError):
        gate.grade(items, on_scoring_error="raise")


def test_score_grades_prepared_items_as_grade_does_and_lets_failures_through(
    gate: QualityGate,
) -> None:
    items = [ContentItem(id="a", text="Short note."), ContentItem(id="b", text="A longer one.")]
    scored = gate.score([gate.prepare(item) for item in items])
    graded = gate.grade(items)
    assert [r.raw_reward for r in scored] == [r.raw_reward for r in graded]
    assert [r.level for r in scored] == [r.level for r in graded]
    assert gate.score([]) == []

    class ShortScorer(LengthScorer):
        def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            return super().score(pairs)[:-1]

    for scorer in (BrokenScorer(), ShortScorer()):
        broken = QualityGate(load_settings(), scorer)
        with pytest.raises(ScoringError):
            broken.score([broken.prepare(item) for item in items])


def test_too_many_items_in_one_request() -> None:
    settings = load_settings(
        limits=load_settings().limits.model_dump() | {"max_items_per_request": 2}
    )
    gate = QualityGate(settings, LengthScorer())
    with pytest.raises(InvalidItemError, match=r"limits\.max_items_per_request"):
        gate.grade([{"id": str(i), "text": "x"} for i in range(3)])


def test_rank_is_best_first_like_cross_encoder(gate: QualityGate) -> None:
    candidates = ["ok", "a far more detailed and helpful answer", "", "medium answer"]
    ranked = gate.rank("How do I reset it?", candidates, return_documents=True)
    assert [entry["corpus_id"] for entry in ranked] == [1, 3, 0]  # the empty one has no score
    assert ranked[0]["text"] == candidates[1]
    assert ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
    assert gate.rank("q", candidates, top_k=1)[0]["corpus_id"] == 1


def test_grades_on_the_real_test_model(settings: Settings) -> None:
    gate = QualityGate.from_settings(settings)
    results = gate.grade(
        [{"id": "1", "text": "Thanks, this fixed it."}, {"id": "2", "text": "좋아요"}]
    )
    assert all(r.status == "graded" for r in results)
    assert all(r.model is not None and r.model.test_model for r in results)
    assert all(0.0 <= (r.score or -1) <= 1.0 for r in results)


def test_an_unexpected_bug_costs_one_item_not_the_batch() -> None:
    def detector(text: str, hint: str | None, declared: str | None = None) -> Any:
        if "boom" in text:
            raise ZeroDivisionError("secret content boom")
        return UNDETERMINED

    gate = QualityGate(load_settings(), LengthScorer(), detector=detector)
    results = gate.grade([{"id": "1", "text": "fine"}, {"id": "2", "text": "boom"}])
    assert [r.status for r in results] == ["graded", "error"]
    error = results[1].error
    assert error is not None and error.code == "internal_error"
    assert "secret" not in error.message and "ZeroDivisionError" in error.message


def test_error_results_echo_only_sane_metadata() -> None:
    gate = QualityGate(load_settings(), LengthScorer())
    huge = {"blob": "x" * (gate.settings.limits.max_metadata_bytes + 1)}
    results = gate.grade(
        [{"id": "1", "metadata": {"rev": 1}}, {"id": "2", "metadata": huge}, {"metadata": [1]}]
    )
    assert [r.metadata for r in results] == [{"rev": 1}, {}, {}]
    assert all(r.status == "error" for r in results)


def test_public_names_resolve_lazily() -> None:
    import qualitygate

    assert set(qualitygate.__all__) == {
        "ContentItem",
        "GradeResult",
        "LanguageGuess",
        "QualityGate",
        "Settings",
        "detect_language",
        "load_settings",
    }
    assert qualitygate.QualityGate is QualityGate
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = qualitygate.nope


def test_deep_metadata_in_process_is_a_field_error(gate: QualityGate) -> None:
    deep: dict = {}
    for _ in range(900):
        deep = {"a": deep}
    results = gate.grade(
        [{"id": "deep", "text": "hi", "metadata": deep}, {"id": "fine", "text": "hello there"}]
    )
    assert [r.status for r in results] == ["error", "graded"]
    error = results[0].error
    assert error is not None and error.code == "invalid_item"
    assert error.message == "metadata: nested deeper than 32 levels (limits.max_nesting_depth)"
    assert results[0].id == "deep" and results[0].metadata == {}


def test_an_unusable_id_is_never_truncated(gate: QualityGate) -> None:
    results = gate.grade([{"id": "x" * 300, "text": "hi"}, {"id": 5, "text": "hi"}])
    assert [r.id for r in results] == ["", "5"]  # the rule of protocol.item_id_of
    assert all(r.status == "error" for r in results)


def test_with_settings_keeps_the_scorer_and_grades_with_the_new_config(gate: QualityGate) -> None:
    from qualitygate.live import candidate

    item = ContentItem(id="a", text="A friendly note about tomatoes in our garden.", language="en")
    table = {"method": "table", "points": [[-1e6, 0.95], [1e6, 0.96]]}
    _, settings = candidate(gate.settings, {}, {"languages": {"default": {"calibration": table}}})
    switched = gate.with_settings(settings)
    assert switched.scorer is gate.scorer
    [before], [after] = gate.grade([item]), switched.grade([item])
    assert (after.level, after.config_version) == ("excellent", settings.version)
    assert before.config_version == gate.settings.version != settings.version
    other_model = load_settings(model=gate.settings.model.model_dump() | {"name": "other"})
    with pytest.raises(ValueError, match="model"):
        gate.with_settings(other_model)
