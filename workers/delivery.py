"""A message as the worker's grading sees it: its task id and the item it carries.

Owns what a message's payload may be, which id its result gets, an item on its way to the
model (``Pending``, or from a prepare process ``Ready`` and ``Unprepared``) and the error
result for a message that never gets a grade. It must not talk to Redis or Celery: the task
turns Celery requests into deliveries, and the state (``workers.state``) publishes what
comes out.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError, QualityGateError
from qualitygate.protocol import item_id_of
from qualitygate.schemas import GradeResult, echoable_metadata
from workers.publish import Outgoing

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.preparing import PreparedItem, Preparer

# Exceptions that must reach the task instead of counting as a scoring crash, such as
# Celery's SoftTimeLimitExceeded: the batch then goes back to the queue.
PassThrough = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class Delivery:
    """One message: its task id and payload, or why the payload is not an item at all."""

    task_id: str
    payload: Any = None
    problem: str | None = None


@dataclass
class Pending:
    """A delivery prepared for the model, with its cache key, the scoring attempts
    counted for its task id so far (across deliveries: crashes that killed a process
    count too) and, once the staged worker has tokenized it ahead, its token ids."""

    delivery: Delivery
    prepared: PreparedItem
    cache_key: str
    attempts: int = 0
    token_ids: list[int] | None = None

    @property
    def task_id(self) -> str:
        return self.delivery.task_id


@dataclass(frozen=True)
class Unprepared:
    """Why a prepare process could not make a delivery ready: the error its result carries,
    and the traceback when the cause was a bug rather than the item (logged by the grader,
    in the worker's own log)."""

    error: QualityGateError
    bug: str | None = None


@dataclass
class Ready:
    """A delivery a prepare process made ready, with its token ids when it tokenized it."""

    prepared: PreparedItem
    token_ids: list[int] | None = None


def prepare_delivery(
    preparer: Preparer, delivery: Delivery, pass_through: PassThrough = ()
) -> Ready | Unprepared:
    """One delivery made ready, or the error its result gets: on the task's thread and in
    a prepare process alike. A bug costs this item alone and brings its traceback;
    ``pass_through`` (a soft time limit) is raised to the caller."""
    try:
        if delivery.problem is not None:
            raise InvalidItemError(delivery.problem)
        return Ready(preparer.prepare(delivery.payload))
    except pass_through:
        raise
    except QualityGateError as error:
        return Unprepared(error)
    except Exception as exc:
        return Unprepared(QualityGateError(first_line(exc)), bug=traceback.format_exc())


def delivery_from(task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Delivery:
    """The item a task message carries: its one positional argument (or ``item=``)."""
    if len(args) == 1 and not kwargs:
        return Delivery(task_id, args[0])
    if not args and set(kwargs) == {"item"}:
        return Delivery(task_id, kwargs["item"])
    return Delivery(
        task_id,
        {"args": list(args), "kwargs": dict(kwargs)},
        problem=(
            "message: expected the item as the task's only argument, got "
            f"{len(args)} positional and {len(kwargs)} keyword arguments"
        ),
    )


def result_id_for(payload: Any, task_id: str) -> str:
    """The item's own id when it is a usable one, else the task id submit returned."""
    return item_id_of(payload, fallback=task_id)


def failure_for(delivery: Delivery, error: QualityGateError, settings: Settings) -> Outgoing:
    """An error result for a message, under the best id it has, echoing sane metadata."""
    payload = delivery.payload
    result = GradeResult.failure(
        result_id_for(payload, delivery.task_id),
        error,
        settings.version,
        echoable_metadata(payload, settings.limits),
    )
    result.task_id = delivery.task_id
    return Outgoing(result, delivery.task_id)


def first_line(exc: BaseException) -> str:
    """An exception as one line for a result's error message: its type and first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
