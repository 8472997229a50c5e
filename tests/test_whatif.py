"""What-if: results graded again under a candidate config, without the model."""

from __future__ import annotations

from qualitygate.config import Settings
from qualitygate.live import candidate
from qualitygate.schemas import Flag, GradeResult
from qualitygate.whatif import ALL, regrade, replay_flags, summarise

# Under the default logistic calibration (center 0, scale 2): raw 4 -> 0.88 (excellent),
# raw 1 -> 0.62 (good), raw -4 -> 0.12 (poor).
EMAIL = Flag(
    rule_id="pii.email", category="pii", severity="medium", action="review", start=0, end=3
)


def result(item_id: str, raw: float, language: str = "en", flags=()) -> GradeResult:
    return GradeResult(
        id=item_id,
        status="graded",
        language=language,
        raw_reward=raw,
        config_version="v",
        flags=list(flags),
    )


def test_levels_moved_up_change_decisions_and_are_counted(settings: Settings) -> None:
    _, stricter = candidate(settings, {}, {"levels": {"excellent": 0.95, "good": 0.7}})
    results = [result("a", 4.0), result("b", 1.0), result("c", -4.0), result("d", 1.0, "ko")]
    labels = {"a": 1, "b": 0, "d": 1}
    diffs = summarise(regrade(results, settings, stricter, labels))
    assert list(diffs) == ["en", "ko", ALL]
    en = diffs["en"]
    assert (en.items, en.changed) == (3, 1)  # b: good (approve) -> fair (review)
    assert (en.before["approve"], en.after["approve"], en.after["review"]) == (2, 1, 1)
    # Before: a and b approved, one of them accepted; after: only a, accepted.
    assert (en.precision("before"), en.precision("after")) == (0.5, 1.0)
    assert (en.recall("before"), en.recall("after")) == (1.0, 1.0)
    assert (diffs["ko"].recall("before"), diffs["ko"].recall("after")) == (1.0, 0.0)
    assert (diffs[ALL].items, diffs[ALL].changed) == (4, 2)


def test_error_results_are_left_out(settings: Settings) -> None:
    failed = GradeResult(id="x", status="error", config_version="v")
    assert regrade([failed], settings, settings) == []
    assert summarise([]) == {}


def test_a_rule_switched_off_or_softened_is_replayed(settings: Settings) -> None:
    _, softened = candidate(settings, {}, {"rules": {"pii": {"email": {"action": "flag"}}}})
    _, off = candidate(settings, {}, {"rules": {"pii": {"email": {"enabled": False}}}})
    flagged = result("a", 4.0, flags=[EMAIL])
    [same] = regrade([flagged], settings, settings)
    assert (same.before, same.after) == ("review", "review")
    [soft] = regrade([flagged], settings, softened)
    assert soft.after == "approve"
    assert replay_flags([EMAIL], "en", off.rules) == []
    unknown = EMAIL.model_copy(update={"rule_id": "pattern.gone"})
    assert replay_flags([unknown], "en", off.rules) == [unknown]
