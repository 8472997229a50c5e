"""A guard's findings, and how they become flags: ``guard.<category>`` with the category's
severity and action from config and the model's confidence.

A flag is what a rule hit is, so the decision policy escalates on a guard finding exactly
as on a rule hit (``qualitygate.grading.decide``). A finding spans the whole text the guard
read: the model judges the text, not a span of it. Pure: no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from qualitygate.guard.settings import GuardCategory, GuardSettings
from qualitygate.schemas import Flag

FLAG_CATEGORY = "guard"
UNPARSED = "unparsed"
UNSPECIFIED = "unspecified"
Verdict = Literal["unsafe", "controversial", "unparsed"]

_NOT_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Finding:
    """One thing the guard found: a category (as the model names it), the verdict it came
    with, the model's confidence in it (a probability, when the model gives one), and
    what to show (the label, or the answer that did not parse)."""

    category: str
    verdict: Verdict
    confidence: float | None = None
    detail: str | None = None


def category_slug(name: str) -> str:
    """The config key and rule-id suffix of a category name: ``Suicide & Self-Harm`` ->
    ``suicide_self_harm``; a name with nothing usable is ``unspecified``."""
    slug = _NOT_KEY.sub("_", name.lower()).strip("_")[:64].rstrip("_")
    return slug or UNSPECIFIED


def flags_for(findings: Sequence[Finding], settings: GuardSettings, length: int) -> list[Flag]:
    """One flag per finding, in order, each covering ``length`` characters of text."""
    flags: list[Flag] = []
    for finding in findings:
        key = category_slug(finding.category)
        flags.append(
            Flag(
                rule_id=f"{FLAG_CATEGORY}.{key}",
                category=FLAG_CATEGORY,
                severity=_rule(finding, key, settings).severity,
                action=_rule(finding, key, settings).action,
                start=0,
                end=length,
                detail=finding.detail,
                confidence=None if finding.confidence is None else round(finding.confidence, 4),
            )
        )
    return flags


def _rule(finding: Finding, key: str, settings: GuardSettings) -> GuardCategory:
    if finding.verdict == "unparsed":
        return settings.unparsed
    if finding.verdict == "controversial":
        return settings.controversial
    return settings.category(key)
