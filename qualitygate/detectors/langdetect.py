"""langdetect (the Java language-detection port), seeded so one text always gets one answer.

langdetect samples n-grams at random: unseeded, the same text can come back as two
languages. We use our own ``DetectorFactory`` with ``seed = 0`` rather than the
module-level one, so nothing else in the process can change it, and fold its
``zh-cn``/``zh-tw`` into ``zh``. It costs milliseconds a call; the profiles load lazily,
once per process.
"""

from __future__ import annotations

import threading

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from qualitygate.detectors.base import Prediction
from qualitygate.langcode import primary_subtag

SEED = 0


class LangdetectDetector:
    """langdetect with a private, seeded factory: deterministic, 55 languages."""

    name = "langdetect"

    def __init__(self) -> None:
        self._factory: DetectorFactory | None = None
        self._load_lock = threading.Lock()

    def _loaded(self) -> DetectorFactory:
        with self._load_lock:
            if self._factory is None:
                factory = DetectorFactory()
                factory.seed = SEED
                factory.load_profile(PROFILES_DIRECTORY)
                self._factory = factory
            return self._factory

    def predict(self, text: str, k: int = 3) -> list[Prediction]:
        detector = self._loaded().create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # no letters it knows: nothing to rank
            return []
        merged: dict[str, float] = {}
        for hit in ranked:  # zh-cn and zh-tw both count for zh
            code = primary_subtag(hit.lang)
            merged[code] = merged.get(code, 0.0) + float(hit.prob)
        best = sorted(merged.items(), key=lambda item: item[1], reverse=True)[:k]
        return [Prediction(code, min(prob, 1.0)) for code, prob in best]
