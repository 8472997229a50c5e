"""An item made ready for the model: validate, extract, detect, preprocess, check rules.

Owns everything before the model: the item validated against the limits, its text
extracted from HTML or Markdown (with the language the page declares), its language
detected (the caller's hint first), the language's adapter built from its config entry and
calibrator, the text normalised by that adapter, and the rules checked on it. Every step is
a pure function of the item and the config, so ``QualityGate`` does this in process and a
worker's prepare processes (``workers.prepare_pool``) do it beside the model's process.
No model, Celery or Redis here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.base import Adapter
from adapters.registry import adapter_class_for
from qualitygate.calibration import build_calibrator
from qualitygate.config import Settings
from qualitygate.errors import EmptyContentError
from qualitygate.extract import extract
from qualitygate.language import LanguageGuess, LanguageIdentifier
from qualitygate.rules import RuleEngine
from qualitygate.schemas import (
    ContentItem,
    Flag,
    ModelInfo,
    check_extracted_size,
    validate_item,
)


class Detector(Protocol):
    """Language detection: the caller's hint, then the text, then what the page declares."""

    def __call__(
        self, text: str, hint: str | None, declared: str | None = None
    ) -> LanguageGuess: ...


@dataclass
class PreparedItem:
    """An item made ready for the model: everything but its score."""

    item: ContentItem
    text: str
    language: LanguageGuess
    adapter: Adapter
    prompt: str
    flags: list[Flag]
    content_sha256: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Set by the guard (when one runs for the item's language): its flags and model. Kept
    # apart from ``flags`` so scoring an item again (a retry) replaces them, never adds.
    guard_flags: list[Flag] = field(default_factory=list)
    guard: ModelInfo | None = None


def content_sha256(item: ContentItem) -> str:
    """Hash of what was submitted, so the CMS can match a result to a revision."""
    return hashlib.sha256(item.text.encode("utf-8", "surrogatepass")).hexdigest()


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a ``perf_counter`` reading), for an item's timings."""
    return round((time.perf_counter() - started) * 1000, 3)


class Preparer:
    """Prepares items under one config: its detector, adapters and rules, built once."""

    def __init__(self, settings: Settings, detector: Detector | None = None) -> None:
        self.settings = settings
        # The settings' own detection section, never the process-wide default's: a gate
        # built from an operator's file must detect languages the way that file says.
        self.detect = detector or LanguageIdentifier.from_settings(settings.detection)
        self._adapters: dict[str, Adapter] = {}
        # Block-list terms are normalised by the same adapter as the text they are matched in.
        self.rules = RuleEngine(settings, normalise=self._preprocess)

    def _preprocess(self, language: str, text: str) -> str:
        return self.adapter_for(language).preprocess(text)

    def adapter_for(self, language: str) -> Adapter:
        """The language's adapter, built once from its config entry and calibrator."""
        adapter = self._adapters.get(language)
        if adapter is None:
            options = self.settings.language(language)
            calibrator = build_calibrator(options.calibration)  # type: ignore[arg-type]
            adapter_class = adapter_class_for(language)
            adapter = adapter_class(calibrator, options.model_dump(exclude={"calibration"}))
            self._adapters[language] = adapter
        return adapter

    def prepare(self, raw: ContentItem | Mapping[str, Any]) -> PreparedItem:
        """Validate, extract, detect, preprocess and check rules; raises QualityGateError."""
        started = time.perf_counter()
        item = validate_item(raw, self.settings.limits)
        extracted = extract(item.text, item.format)
        check_extracted_size(extracted.text, self.settings.limits)
        guess = self.detect(extracted.text, item.language, extracted.declared_language)
        adapter = self.adapter_for(guess.code)
        normalised = adapter.preprocess(extracted.text)
        if not normalised:
            raise EmptyContentError("text: nothing left to grade after extraction and cleanup")
        flags = self.rules.check(normalised, guess.code)
        prompt = item.prompt or self.settings.prompt_for(item.content_type)
        return PreparedItem(
            item=item,
            text=normalised,
            language=guess,
            adapter=adapter,
            prompt=prompt,
            flags=flags,
            content_sha256=content_sha256(item),
            timings_ms={"prepare": elapsed_ms(started)},
        )
