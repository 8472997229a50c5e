"""A multi-label classifier's reading: one sigmoid probability per label, each held against
its threshold from config (``guard.thresholds``, by category key, else ``default``).

Any ``AutoModelForSequenceClassification`` with ``id2label`` works: a toxicity model's
``toxicity``, ``threat``, ``insult`` ... become ``guard.toxicity``, ``guard.threat`` ...
Pure: the probabilities come in, findings go out, highest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qualitygate.guard.flags import Finding, category_slug
from qualitygate.guard.settings import GuardSettings


def findings_from_probabilities(
    probabilities: Sequence[float], id2label: Mapping[int, str], settings: GuardSettings
) -> list[Finding]:
    """The labels whose probability reaches their threshold, most probable first."""
    found = [
        Finding(category=id2label[index], verdict="unsafe", confidence=p, detail=id2label[index])
        for index, p in enumerate(probabilities)
        if p >= settings.threshold(category_slug(id2label[index]))
    ]
    return sorted(found, key=lambda finding: -(finding.confidence or 0.0))
