"""Moderators' labels: what a label may say, and the record kept of it with the gate's grade.

A label is a person's verdict on graded content (``accept``/``reject``, or a level name).
Its record copies what the gate had said (raw reward, score, language, model, config
version, decision, level), so fitting calibration and measuring a candidate config never
need the content again and never re-score. The record is plain data: the client stores
it on the labels stream; this module must not read or write Redis, fit or print.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qualitygate.config import format_validation_error
from qualitygate.errors import InvalidItemError
from qualitygate.schemas import GradeResult, ModelInfo
from qualitygate.verdicts import LEVELS

# Excellent and good are content a person would publish; fair and poor content they would not.
ACCEPT_LABELS = frozenset({"accept", "excellent", "good"})
REJECT_LABELS = frozenset({"reject", "fair", "poor"})
LABELS = ("accept", "reject", *LEVELS)
MAX_REVIEWER_CHARS = 256
MAX_REASON_CHARS = 2000


def label_value(label: Any) -> int:
    """1 for a label that accepts, 0 for one that rejects; InvalidItemError otherwise."""
    if isinstance(label, str) and label.strip().lower() in ACCEPT_LABELS | REJECT_LABELS:
        return 1 if label.strip().lower() in ACCEPT_LABELS else 0
    raise InvalidItemError(
        f"label: {label!r} is not a label; use accept or reject, or a level name "
        f"({', '.join(LEVELS)})"
    )


class LabelRecord(BaseModel):
    """One label as the labels stream keeps it: the person's verdict and the gate's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    label: str
    reviewer: str | None = Field(default=None, min_length=1, max_length=MAX_REVIEWER_CHARS)
    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)
    labelled_at: float
    raw_reward: float
    score: float | None = None
    language: str
    model: ModelInfo | None = None
    config_version: str
    decision: str | None = None
    level: str | None = None
    content_sha256: str | None = None

    @property
    def accepted(self) -> int:
        return label_value(self.label)


def build_label(
    result: GradeResult | None,
    item_id: str,
    label: str,
    reviewer: str | None = None,
    reason: str | None = None,
    now: float | None = None,
) -> LabelRecord:
    """The record of a label on ``result``; InvalidItemError naming the field when the
    label, the reviewer or the reason is bad, or when there is no grade to label."""
    label_value(label)
    if result is None:
        raise InvalidItemError(
            f"id: no result is stored for {item_id!r} (never graded, or its result expired)"
        )
    if result.status != "graded" or result.raw_reward is None or result.language is None:
        raise InvalidItemError(f"id: {item_id!r} was not graded (status {result.status})")
    try:
        return LabelRecord(
            id=item_id,
            label=label.strip().lower(),
            reviewer=reviewer,
            reason=reason,
            labelled_at=time.time() if now is None else now,
            raw_reward=result.raw_reward,
            score=result.score,
            language=result.language,
            model=result.model,
            config_version=result.config_version,
            decision=result.decision,
            level=result.level,
            content_sha256=result.content_sha256,
        )
    except ValidationError as exc:
        raise InvalidItemError(format_validation_error(exc).replace("Value error, ", "")) from None


def dump_label(record: LabelRecord) -> str:
    return record.model_dump_json()


def load_label(raw: str | None) -> LabelRecord | None:
    """A record from the stream, or None for an entry that is not one."""
    if not raw:
        return None
    try:
        return LabelRecord.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None


def latest_per_id(records: Iterable[LabelRecord]) -> list[LabelRecord]:
    """One record per id, the newest (records come oldest first, as the stream holds
    them): a moderator who changes their mind replaces their earlier label."""
    newest: dict[str, LabelRecord] = {}
    for record in records:
        newest.pop(record.id, None)  # re-inserted last: order follows the latest labels
        newest[record.id] = record
    return list(newest.values())


def labels_for(
    read: Callable[[float | None], list[LabelRecord]], entries: Sequence[Any]
) -> dict[str, int]:
    """Id -> 1 accepted / 0 rejected for results stream ``entries`` (``(entry_id, result)``,
    oldest first), the latest label of each id winning. Labels are read from the oldest
    entry's time on (an entry id starts with its unix ms): a label always follows its
    result, so older labels cannot be about these results."""
    if not entries:
        return {}
    since = int(str(entries[0][0]).split("-")[0]) / 1000
    return {record.id: record.accepted for record in latest_per_id(read(since))}
