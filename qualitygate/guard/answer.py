"""The strict parser of a generative guard's answer (Qwen3Guard-Gen's format).

The model is asked for exactly::

    Safety: Safe|Unsafe|Controversial
    Categories: None | Name[, Name ...]

optionally followed by a ``Refusal: Yes|No`` line (the format's answer for an assistant
turn). Anything else (a missing or misspelt label, a category line absent, extra text, a
"Safe" verdict that names categories) is ``UnparsedAnswer``: the caller flags it, it is
never read as a pass. Category names are taken as the model wrote them and only checked
for shape: a name the config does not know gets the ``default`` category's action. This
module is pure: no model, no config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Safety = Literal["Safe", "Unsafe", "Controversial"]

_SAFETY = re.compile(r"Safety: (Safe|Unsafe|Controversial)")
_CATEGORIES = re.compile(r"Categories: (.+)")
_REFUSAL = re.compile(r"Refusal: (Yes|No)")
# A category name: letters, digits, spaces and the punctuation of Qwen3Guard's names
# ("Suicide & Self-Harm", "Non-violent Illegal Acts"), at most 64 characters.
_CATEGORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 &/\-]{0,63}")
NONE = "None"


class UnparsedAnswer(ValueError):
    """The guard's answer is not in its format; ``answer`` is what it said."""

    def __init__(self, answer: str, reason: str) -> None:
        super().__init__(f"{reason}: {answer[:120]!r}")
        self.answer = answer
        self.reason = reason


@dataclass(frozen=True)
class GuardAnswer:
    """A parsed answer: the verdict and the categories it names (none when safe)."""

    safety: Safety
    categories: tuple[str, ...]


def parse_answer(answer: str) -> GuardAnswer:
    """The verdict and categories of ``answer``, or UnparsedAnswer saying what is wrong."""
    lines = answer.strip().splitlines()
    if len(lines) not in (2, 3):
        raise UnparsedAnswer(answer, f"expected 2 or 3 lines, got {len(lines)}")
    safety = _SAFETY.fullmatch(lines[0].strip())
    if safety is None:
        raise UnparsedAnswer(answer, "the first line is not 'Safety: Safe|Unsafe|Controversial'")
    listed = _CATEGORIES.fullmatch(lines[1].strip())
    if listed is None:
        raise UnparsedAnswer(answer, "the second line is not 'Categories: ...'")
    if len(lines) == 3 and _REFUSAL.fullmatch(lines[2].strip()) is None:
        raise UnparsedAnswer(answer, "the third line is not 'Refusal: Yes|No'")
    names = [name.strip() for name in listed.group(1).split(",")]
    if any(_CATEGORY_NAME.fullmatch(name) is None for name in names):
        raise UnparsedAnswer(answer, "a category name is empty or not a name")
    verdict: Safety = safety.group(1)  # type: ignore[assignment]
    if names == [NONE]:
        names = []
    elif NONE in names:
        raise UnparsedAnswer(answer, "'None' listed with other categories")
    if verdict == "Safe" and names:
        raise UnparsedAnswer(answer, "a 'Safe' verdict that names categories")
    return GuardAnswer(safety=verdict, categories=tuple(dict.fromkeys(names)))
