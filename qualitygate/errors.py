"""The project's exceptions, each named after what went wrong, each with a stable code.

A code is what a result's ``error.code`` carries to the CMS, so codes never change meaning.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a
    one-line error, a log line or a result's ``error.message`` quotes of a foreign error."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class QualityGateError(Exception):
    """Base of every error qualitygate raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(QualityGateError):
    """The effective config is invalid; raised at start, naming the field and the reason."""

    code = "config_invalid"


class ModelLoadError(QualityGateError):
    """The reward model or its tokenizer cannot be loaded or is not a one-label reward model."""

    code = "model_unavailable"


class InvalidItemError(QualityGateError):
    """An item fails validation; the message names the field and the reason."""

    code = "invalid_item"


class ExtractionError(QualityGateError):
    """HTML or Markdown could not be turned into text."""

    code = "extraction_failed"


class EmptyContentError(QualityGateError):
    """Nothing is left to grade after extraction and preprocessing."""

    code = "empty_content"


class ScoringError(QualityGateError):
    """The model failed on a batch: a crash, not bad input, so it is worth retrying."""

    code = "scoring_failed"


class RedisUnavailableError(QualityGateError):
    """Redis cannot be reached (refused, timed out, wrong password); the message names
    ``redis.url`` with its password masked."""

    code = "redis_unavailable"
