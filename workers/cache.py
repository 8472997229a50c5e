"""The cache of grades for identical content: which key an item has, and how a cached
grade answers a new message.

Owns what makes two items the same for the model (content hash, prompt, model and
revision, config version, format, language hint) and which fields of a cached grade are
the new message's own. It must not read or write Redis (the state loads and stores
entries) and must not score anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qualitygate.config import Settings
from qualitygate.schemas import GradeResult, ModelInfo
from workers.delivery import Pending
from workers.publish import Outgoing
from workers.state import WorkerState

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.preparing import PreparedItem


def cache_key_for(
    prepared: PreparedItem, model: ModelInfo, settings: Settings, state: WorkerState
) -> str:
    """Items with the same key get the same grade: same content, prompt, model, config."""
    return state.cache_key(
        [
            prepared.content_sha256,
            prepared.prompt,
            model.name,
            model.revision,
            settings.version,
            prepared.item.format,
            prepared.item.language,
        ]
    )


def answer_from_cache(pending: Pending, hit: GradeResult) -> Outgoing:
    """The cached grade under this message's id, metadata, task id and timings."""
    item = pending.prepared.item
    result = hit.model_copy(
        update={
            "id": item.id,
            "metadata": item.metadata,
            "task_id": pending.task_id,
            "cached": True,
            "attempts": 1,
            "timings_ms": pending.prepared.timings_ms,
        }
    )
    return Outgoing(result, pending.task_id)
