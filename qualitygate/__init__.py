"""qualitygate: a multilingual content quality gate around a reward model.

The public names below are a promise; everything else may change.
"""

from qualitygate.config import Settings, load_settings
from qualitygate.language import LanguageGuess, detect_language
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, GradeResult

__all__ = [
    "ContentItem",
    "GradeResult",
    "LanguageGuess",
    "QualityGate",
    "Settings",
    "detect_language",
    "load_settings",
]
