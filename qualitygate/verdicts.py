"""The vocabulary of a verdict: quality levels, decisions, and a rule hit's severity and action.

Config validates against these names, results carry them, grading and threshold tuning
order them; each is declared here once, with the one order that ranks it. This module owns
names and orders only: what a score or a flag turns into is ``qualitygate.grading``'s.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["excellent", "good", "fair", "poor"]
Decision = Literal["approve", "review", "reject"]
Severity = Literal["low", "medium", "high"]
RuleAction = Literal["flag", "review", "reject"]

# Best first: the order config lists thresholds in and reports print.
LEVELS: tuple[Level, ...] = ("excellent", "good", "fair", "poor")
# Mildest first: a rule hit may move a decision right along this order, never left.
DECISIONS: tuple[Decision, ...] = ("approve", "review", "reject")
DECISION_RANK: dict[Decision, int] = {decision: rank for rank, decision in enumerate(DECISIONS)}
