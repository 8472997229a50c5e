"""The work of a worker's prepare processes: deliveries made ready for the model, beside it.

Owns the child side of ``workers.prepare_pool``. A chunk of deliveries arrives with the
config version the model's process grades it under and, pickled, that version's settings:
unpickled only when the version is new to this process, so a chunk costs no settings work.
Each delivery is prepared (``qualitygate.preparing``) and the chunk's ready items tokenized
in one call by the model's pair encoder, loaded from ``model.name`` without the model
(the model is a restart section, never a live one, so one encoder serves every version).
Each delivery comes back as ``Ready`` (with its token ids) or ``Unprepared`` (its error,
with the traceback when a bug rather than the item was the cause), never as an exception:
one item must cost one item. The process dies with its parent (Linux's PR_SET_PDEATHSIG),
so a killed worker leaves no orphan. It must not touch Redis, the model or Celery.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qualitygate.config import ModelSettings, Settings
from qualitygate.preparing import Preparer
from workers.delivery import Delivery, Ready, Unprepared, prepare_delivery

if TYPE_CHECKING:  # the worker's main process imports this module: no torch there
    from qualitygate.pair_encoding import PairEncoder

_PR_SET_PDEATHSIG = 1
# Versions a process keeps prepared for: the one being applied and the one before it.
_KEEP_VERSIONS = 2

_preparers: dict[str, Preparer] = {}
_encoders: dict[ModelSettings, PairEncoder] = {}


def initialise(parent: int, version: str, settings_blob: bytes) -> None:
    """At a prepare process's start: die with the parent, leave signals to the worker (the
    fork copied its handlers), and load what the files' version needs, so the first batch
    pays no loading."""
    _die_with_parent(parent)
    # The pool is the parallelism: a tokenizer thread pool per process would only fight
    # the other processes for the same cores.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN if number == signal.SIGINT else signal.SIG_DFL)
    preparer = _preparer_for(version, settings_blob)
    _encoder_for(preparer.settings.model)


def ping() -> int:
    """A no-op the pool sends to start every process at once (the pid says which ran it)."""
    return os.getpid()


def prepare_chunk(
    version: str, settings_blob: bytes, deliveries: Sequence[Delivery]
) -> list[Ready | Unprepared]:
    """Each delivery ready and tokenized, or the error its result gets."""
    preparer = _preparer_for(version, settings_blob)
    outcomes = [_prepare_one(preparer, delivery) for delivery in deliveries]
    ready = [outcome for outcome in outcomes if isinstance(outcome, Ready)]
    if ready:
        encoder = _encoder_for(preparer.settings.model)
        pairs = [(r.prepared.prompt, r.prepared.text) for r in ready]
        for outcome, ids in zip(ready, encoder.encode_pairs(pairs), strict=True):
            outcome.token_ids = ids
    return outcomes


def _prepare_one(preparer: Preparer, delivery: Delivery) -> Ready | Unprepared:
    outcome = prepare_delivery(preparer, delivery)
    if isinstance(outcome, Ready):
        # The grader sets its own adapter (``DeliveryGrader.admit_ready``); this one need not
        # cross, and cannot always (the zh adapter's OpenCC converter does not pickle).
        outcome.prepared.adapter = None  # type: ignore[assignment]
    return outcome


def _preparer_for(version: str, settings_blob: bytes) -> Preparer:
    preparer = _preparers.get(version)
    if preparer is None:
        settings: Settings = pickle.loads(settings_blob)
        previous = next(reversed(_preparers.values()), None)
        # Language detection is the slowest part to build; keep it when unchanged.
        same_detection = previous is not None and previous.settings.detection == settings.detection
        preparer = Preparer(settings, previous.detect if same_detection else None)
        _preparers[version] = preparer
        while len(_preparers) > _KEEP_VERSIONS:
            del _preparers[next(iter(_preparers))]
    return preparer


def _encoder_for(model: ModelSettings) -> PairEncoder:
    from qualitygate.pair_encoding import PairEncoder

    encoder = _encoders.get(model)
    if encoder is None:
        encoder = _encoders[model] = PairEncoder.load(model)
    return encoder


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent ends; elsewhere, do nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request took hold
        os._exit(1)
