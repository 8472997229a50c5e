"""Statistical language detectors behind one small interface (see ``base``).

Each implementation lives in its own module and loads its model lazily, once per
process; ``build_detector`` picks one by its config name. Script analysis and the
decision of which detector to trust live in ``qualitygate.language``, not here.
"""

from qualitygate.detectors.base import LanguageDetector, Prediction, build_detector

__all__ = ["LanguageDetector", "Prediction", "build_detector"]
