"""The ``guard`` config section: which safety model runs, for which languages, and what
each harm category it reports asks for.

Types and constraints only; every default lives in ``config/default.yaml``. It must not
import torch, transformers or ``qualitygate.config`` (which imports it).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qualitygate.verdicts import RuleAction, Severity

GuardKind = Literal["generative", "classifier"]
# A category's config key and its flag's rule id suffix: Qwen3Guard's "Suicide & Self-Harm"
# is ``suicide_self_harm`` (``qualitygate.guard.flags.category_slug``).
CATEGORY_KEY = r"^[a-z0-9][a-z0-9_]{0,63}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardModelSettings(_Section):
    name: str = Field(min_length=1)
    revision: str = Field(min_length=1)
    device: str = Field(pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")
    dtype: Literal["auto", "float32", "bfloat16", "float16"]


class GuardCategory(_Section):
    """What a finding of one category asks for, like a rule's severity and action."""

    severity: Severity
    action: RuleAction


class GuardSettings(_Section):
    """The optional safety model; off unless ``enabled``."""

    enabled: bool
    kind: GuardKind
    model: GuardModelSettings
    # By category key; ``default`` covers categories the config does not name.
    categories: dict[str, GuardCategory]
    # A generative guard's "Controversial" verdict: its categories are flagged with this.
    controversial: GuardCategory
    # An answer that does not parse: flagged ``guard.unparsed``, never a silent pass.
    unparsed: GuardCategory
    # A classifier's probability (sigmoid) at or above the label's threshold is a finding.
    thresholds: dict[str, float]
    # Languages (codes as detected, e.g. ko, ja, zh, en) the guard runs for; [] = every one.
    languages: list[str]
    max_length: int = Field(ge=32, le=131072)
    max_new_tokens: int = Field(ge=1, le=64)
    batch_tokens: int = Field(ge=32)

    @field_validator("categories", "thresholds")
    @classmethod
    def _keys_and_default(cls, value: dict[str, object]) -> dict[str, object]:
        if "default" not in value:
            raise ValueError("needs a 'default' entry (for categories the config does not name)")
        for key in value:
            if not _is_category_key(key):
                raise ValueError(
                    f"{key!r}: a category key is lower-case letters, digits and _ "
                    "(Qwen3Guard's 'Suicide & Self-Harm' is suicide_self_harm)"
                )
        return value

    @field_validator("thresholds")
    @classmethod
    def _probabilities(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for key, value in thresholds.items():
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{key}: a threshold is a probability in (0, 1], got {value}")
        return thresholds

    @field_validator("unparsed")
    @classmethod
    def _unparsed_is_seen(cls, unparsed: GuardCategory) -> GuardCategory:
        if unparsed.action == "flag":
            raise ValueError(
                "action must be review or reject: an answer the guard could not give "
                "must stop the item, not pass it"
            )
        return unparsed

    @model_validator(mode="after")
    def _budget_fits_one_item(self) -> GuardSettings:
        if self.batch_tokens < self.max_length + self.max_new_tokens:
            raise ValueError(
                f"batch_tokens ({self.batch_tokens}) must be at least max_length plus "
                f"max_new_tokens ({self.max_length + self.max_new_tokens}), or the longest "
                "item fits no batch"
            )
        return self

    def runs_for(self, language: str) -> bool:
        """Whether the guard checks text detected as ``language`` (primary subtag too)."""
        if not self.enabled:
            return False
        if not self.languages:
            return True
        return language in self.languages or language.split("-")[0] in self.languages

    def category(self, key: str) -> GuardCategory:
        return self.categories.get(key, self.categories["default"])

    def threshold(self, key: str) -> float:
        return self.thresholds.get(key, self.thresholds["default"])


def _is_category_key(key: str) -> bool:
    return re.fullmatch(CATEGORY_KEY, key) is not None
