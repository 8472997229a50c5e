"""qualitygate: a multilingual content quality gate around a reward model.

The public names below are a promise; everything else may change. They are imported on
first use, so ``import qualitygate.config`` (the CLI, the worker's main process, the CMS
client) does not pay for torch and transformers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qualitygate.config import Settings, load_settings
    from qualitygate.language import LanguageGuess, detect_language
    from qualitygate.pipeline import QualityGate
    from qualitygate.schemas import ContentItem, GradeResult

_EXPORTS = {
    "ContentItem": "qualitygate.schemas",
    "GradeResult": "qualitygate.schemas",
    "LanguageGuess": "qualitygate.language",
    "QualityGate": "qualitygate.pipeline",
    "Settings": "qualitygate.config",
    "detect_language": "qualitygate.language",
    "load_settings": "qualitygate.config",
}
__all__ = [
    "ContentItem",
    "GradeResult",
    "LanguageGuess",
    "QualityGate",
    "Settings",
    "detect_language",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualitygate' has no attribute {name!r}")
    return getattr(import_module(module), name)
