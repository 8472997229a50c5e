"""``calibrate --from-labels``: moderators' labels from the stream as the fit's samples.

Each label record carries the raw reward and language the gate graded with, so no model is
loaded and no content is read. Only the latest label per id counts, and only labels given
on results of one model (the newest's): raw rewards of two models are not comparable. A
language where one reviewer gave more than ``calibration_fit.max_reviewer_share`` of the
labels gets a warning: its calibration would learn one person's taste. It must not read
Redis (the client does), fit or print.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from qualitygate.calibrate.samples import Sample, SampleSet
from qualitygate.errors import InvalidItemError
from qualitygate.labels import LabelRecord, latest_per_id

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as seconds; InvalidItemError otherwise."""
    match = _SINCE.match(text)
    if match is None:
        raise InvalidItemError(
            f"--since: {text!r} is not a duration; use a number and s, m, h, d or w (30d)"
        )
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def samples_from_labels(records: Sequence[LabelRecord]) -> SampleSet:
    """The latest label of each id as a sample (its position in the stream as its line);
    labels on another model's results than the newest label's are listed as skipped."""
    latest = latest_per_id(records)
    result = SampleSet()
    model = latest[-1].model if latest else None
    for number, record in enumerate(latest, start=1):
        if model is not None and record.model is not None and record.model != model:
            result.skipped.append(
                f"label {number} (id {record.id!r}): graded by {record.model.name}, "
                f"not {model.name}"
            )
            continue
        result.samples.append(Sample(number, record.language, record.raw_reward, record.accepted))
    result.model = model
    return result


def reviewer_warnings(records: Sequence[LabelRecord], max_share: float) -> list[str]:
    """One line per language where one reviewer gave more than ``max_share`` of the
    labels (anonymous labels count as one reviewer, ``(none)``)."""
    by_language: dict[str, Counter[str]] = defaultdict(Counter)
    for record in latest_per_id(records):
        by_language[record.language][record.reviewer or "(none)"] += 1
    warnings = []
    for language, counts in sorted(by_language.items()):
        reviewer, given = counts.most_common(1)[0]
        total = sum(counts.values())
        if given / total > max_share:
            warnings.append(
                f"{language}: {given} of {total} labels ({given / total:.0%}) come from one "
                f"reviewer ({reviewer}), over calibration_fit.max_reviewer_share "
                f"({max_share:.0%}); the fit learns one person's judgement"
            )
    return warnings
