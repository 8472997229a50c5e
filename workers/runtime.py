"""What one worker process holds: the settings, and the model and Redis client it loads
once, after any fork.

The main process only ever creates the Redis publisher (for messages it cannot hand to the
pool); the model is loaded in the pool process that scores, from ``worker_process_init``
or, failing that, on the first batch, so CUDA is never initialised before a fork. It
builds the batch's grading (``delivery_grader``) on the Redis state; it must not grade
anything itself, and holds no test hooks (tests install theirs from tests/support).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from functools import cached_property

from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError
from workers import metrics
from workers.batch import DeliveryGrader
from workers.delivery import Delivery, PassThrough, failure_for
from workers.live_config import LiveConfig
from workers.prepare_pool import PreparePool
from workers.publish import ResultPublisher
from workers.staged import StagedGrader
from workers.state import RedisWorkerState

logger = logging.getLogger("qualitygate.worker")


class WorkerRuntime:
    """The settings, and the model and Redis publisher each loaded once per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # the config files': live versions apply to the gate
        self._pid = os.getpid()
        self._current = None  # the gate on the live config version, once a batch ran

    @cached_property
    def gate(self):  # -> QualityGate; imported here so the main process never loads torch
        from transformers.utils import logging as hf_logging

        from qualitygate.pipeline import QualityGate

        hf_logging.disable_progress_bar()
        gate = QualityGate.from_settings(self.settings)
        info = gate.scorer.info
        logger.info(
            "model %s (revision %s) loaded in process %d%s",
            info.name,
            info.revision,
            os.getpid(),
            " (a random TEST MODEL: its scores mean nothing)" if info.test_model else "",
        )
        return gate

    @cached_property
    def prepare_pool(self) -> PreparePool | None:
        """The prepare processes of a staged worker (``worker.prepare_processes``), forked
        and started at once; None when items are prepared on the task's own thread."""
        worker = self.settings.worker
        if worker.pipeline != "staged" or worker.prepare_processes == 0:
            return None
        # Imported before the fork, so the prepare processes share what it loads.
        import qualitygate.pair_encoding  # noqa: F401

        pool = PreparePool(worker.prepare_processes, self.settings)
        if pool.start():
            logger.info(
                "%d prepare processes started for process %d",
                worker.prepare_processes,
                os.getpid(),
            )
        return pool

    @cached_property
    def publisher(self) -> ResultPublisher:
        return ResultPublisher.from_settings(self.settings)

    @cached_property
    def live(self) -> LiveConfig:
        return LiveConfig(self.settings, self.publisher.redis)

    @property
    def config_version(self) -> str:
        """The config version this process grades with: the live one once a batch ran (or
        the model loaded), else the files'. Right in a pool process; the main process never
        grades, so a heartbeat written there must ask a pool process or read Redis."""
        live = self.__dict__.get("live")
        return live.version if live is not None else self.settings.version

    def live_gate(self):  # -> QualityGate
        """The gate for the next batch: the loaded model under the active config version."""
        self._current = self.live.refresh(self._current or self.gate)
        return self._current

    def delivery_grader(self, pass_through: PassThrough = ()) -> DeliveryGrader | StagedGrader:
        """The grading of flushed batches in this (pool) process, on the loaded model and
        the live config version (checked with one GET per batch): staged
        (``worker.pipeline``) so CPU work overlaps the forward pass, or in sequence."""
        pool = self.prepare_pool  # first: it forks, best before the model has threads
        gate = self.live_gate()
        state = RedisWorkerState(self.publisher)
        grader = DeliveryGrader(gate, state, gate.settings, pass_through=pass_through)
        worker = self.settings.worker
        if worker.pipeline == "sequential":
            return grader
        return StagedGrader(grader, worker.stage_items, worker.stage_depth, pool)

    def publish_undeliverable(self, deliveries: list[Delivery], dead: bool = False) -> None:
        """Error results for messages that never reach the pool (not JSON, not a task);
        with ``dead``, each is also copied with its payload to the dead stream."""
        outgoing = [
            failure_for(d, InvalidItemError(d.problem or ""), self.settings) for d in deliveries
        ]
        if dead:
            outgoing = [
                replace(out, payload=d.payload, dead=True)
                for out, d in zip(outgoing, deliveries, strict=True)
            ]
        self.publisher.publish(outgoing)
        metrics.observe_results([out.result for out in outgoing])


_runtime: WorkerRuntime | None = None


def configure(settings: Settings) -> WorkerRuntime:
    global _runtime
    _runtime = WorkerRuntime(settings)
    return _runtime


def runtime() -> WorkerRuntime:
    if _runtime is None:
        raise RuntimeError("the worker runtime is not configured: build the app first")
    return _runtime
