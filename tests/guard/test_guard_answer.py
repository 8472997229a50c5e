"""The strict parser of a generative guard's answer, and findings turned into flags."""

from __future__ import annotations

import pytest

from qualitygate.config import load_settings
from qualitygate.grading import decide
from qualitygate.guard.answer import GuardAnswer, UnparsedAnswer, parse_answer
from qualitygate.guard.flags import Finding, category_slug, flags_for


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Safety: Safe\nCategories: None", GuardAnswer("Safe", ())),
        ("Safety: Unsafe\nCategories: Violent", GuardAnswer("Unsafe", ("Violent",))),
        (
            "Safety: Controversial\nCategories: PII, Suicide & Self-Harm\n",
            GuardAnswer("Controversial", ("PII", "Suicide & Self-Harm")),
        ),
        (
            "Safety: Unsafe\nCategories: Jailbreak\nRefusal: No",
            GuardAnswer("Unsafe", ("Jailbreak",)),
        ),
        ("  Safety: Unsafe\nCategories: Violent, Violent", GuardAnswer("Unsafe", ("Violent",))),
        ("Safety: Unsafe\nCategories: None", GuardAnswer("Unsafe", ())),
    ],
)
def test_answers_in_the_format_parse(answer: str, expected: GuardAnswer) -> None:
    assert parse_answer(answer) == expected


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "expected 2 or 3 lines, got 0"),
        ("�� C��も���I ou�شك할し", "expected 2 or 3 lines, got 1"),
        ("Safety: Unsafe", "expected 2 or 3 lines, got 1"),
        ("safety: unsafe\nCategories: Violent", "the first line is not"),
        ("Safety: Probably fine\nCategories: None", "the first line is not"),
        ("Safety: Safe\nCategory: None", "the second line is not"),
        ("Safety: Safe\nCategories: None\nSafety: Unsafe", "the third line is not"),
        ("Safety: Safe\nCategories: None\nRefusal: No\nmore", "expected 2 or 3 lines, got 4"),
        ("Safety: Safe\nCategories: Violent", "a 'Safe' verdict that names categories"),
        ("Safety: Unsafe\nCategories: Violent,", "a category name is empty"),
        ("Safety: Unsafe\nCategories: <script>", "not a name"),
        ("Safety: Unsafe\nCategories: None, PII", "'None' listed with other categories"),
    ],
)
def test_anything_else_is_unparsed_never_a_pass(answer: str, reason: str) -> None:
    with pytest.raises(UnparsedAnswer) as caught:
        parse_answer(answer)
    assert reason in caught.value.reason
    assert caught.value.answer == answer


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Violent", "violent"),
        ("Suicide & Self-Harm", "suicide_self_harm"),
        ("Non-violent Illegal Acts", "non_violent_illegal_acts"),
        ("identity_attack", "identity_attack"),
        ("&&&", "unspecified"),
    ],
)
def test_category_slugs_are_config_keys(name: str, slug: str) -> None:
    assert category_slug(name) == slug


def test_findings_become_flags_with_the_category_settings() -> None:
    guard = load_settings().guard
    findings = [
        Finding("Violent", "unsafe", 0.91234, "Violent"),
        Finding("Politically Sensitive Topics", "unsafe", 0.5, "Politically Sensitive Topics"),
        Finding("Brand New Harm", "unsafe", None, "Brand New Harm"),
        Finding("PII", "controversial", 0.7, "PII"),
        Finding("unparsed", "unparsed", None, "the first line is not ..."),
    ]
    flags = flags_for(findings, guard, length=42)
    assert [f.rule_id for f in flags] == [
        "guard.violent",
        "guard.politically_sensitive_topics",
        "guard.brand_new_harm",
        "guard.pii",
        "guard.unparsed",
    ]
    assert [(f.severity, f.action) for f in flags] == [
        ("high", "reject"),
        ("low", "flag"),
        (guard.categories["default"].severity, guard.categories["default"].action),
        (guard.controversial.severity, guard.controversial.action),
        ("medium", "review"),
    ]
    assert {f.category for f in flags} == {"guard"}
    assert all((f.start, f.end) == (0, 42) for f in flags)
    assert flags[0].confidence == 0.9123 and flags[2].confidence is None
    assert flags[4].detail == "the first line is not ..."


def test_guard_flags_escalate_decisions_as_rule_hits_do() -> None:
    settings = load_settings()
    violent = flags_for([Finding("Violent", "unsafe", 0.9)], settings.guard, 5)
    unparsed = flags_for([Finding("unparsed", "unparsed")], settings.guard, 5)
    political = flags_for([Finding("Politically Sensitive Topics", "unsafe")], settings.guard, 5)
    assert decide("excellent", violent, settings.decisions) == "reject"
    assert decide("excellent", unparsed, settings.decisions) == "review"
    assert decide("excellent", political, settings.decisions) == "approve"
    assert decide("poor", political, settings.decisions) == "reject"  # never softens


def test_a_rule_flag_has_no_confidence_key_in_json() -> None:
    rule_like = flags_for([Finding("x", "unsafe")], load_settings().guard, 1)[0]
    assert '"confidence"' not in rule_like.model_dump_json()
