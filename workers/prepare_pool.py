"""A worker's prepare processes: the CPU work before the forward pass, on more than one core.

Owns the pool of ``worker.prepare_processes`` processes that run ``workers.prepare_child``
for the model's process, and how work crosses to them. Why processes: preparing an item
(extract, detect, preprocess, rules) is Python that holds the GIL, so in threads it could
never use a second core, and the forward pass of a 0.6B model on a GPU is as short as that
work (bench/overlap.py). Why forked, and at the pool process's start: a fork copies one
thread, so it must happen before the model's process has torch's and the tokenizer's
threads (and, on a GPU, CUDA); the spawning start methods are no way round it, because a
Celery pool process is billiard's, whose process object the standard library refuses to
pickle. The settings go with each chunk, pickled once per config version, so a live config
switch reaches the prepare processes with the next chunk and never mixes versions within
one. A pool that broke (a prepare process killed) is forked again on the next submit, at
most ``MAX_RESTARTS`` times; that later fork happens in a process with threads, so a chunk
unanswered for ``CHUNK_TIMEOUT_S`` also gives the pool up. Given up, it forks nothing more
and the caller prepares on its own thread (``workers.staged``), which is also where the
chunks a dead process held are prepared, so nothing is lost. It must not grade, publish or
touch Redis.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from qualitygate.config import Settings
from qualitygate.errors import first_line
from workers import prepare_child
from workers.delivery import Delivery

logger = logging.getLogger("qualitygate.worker")

__all__ = ["BrokenProcessPool", "PreparePool"]

# Times a pool that broke is started again before this process prepares on its own thread.
MAX_RESTARTS = 3
# A chunk no prepare process answered within this long is taken as a hung pool (a fork
# after the model loaded that deadlocked): the pool is given up, the chunk prepared here.
CHUNK_TIMEOUT_S = 120.0


class PreparePool:
    """``processes`` prepare processes, started at once, started again when they break."""

    def __init__(self, processes: int, settings: Settings) -> None:
        if processes < 1:
            raise ValueError("a prepare pool needs at least one process")
        self.processes = processes
        self._settings = settings
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self.restarts = 0

    @property
    def window(self) -> int:
        """Chunks worth submitting ahead: one running and one waiting per process."""
        return 2 * self.processes

    @property
    def usable(self) -> bool:
        """False once the pool broke more than ``MAX_RESTARTS`` times."""
        return self.restarts <= MAX_RESTARTS

    def start(self, timeout_s: float = 120) -> bool:
        """Fork every process now and wait until they answer, so the first batch pays no
        start (each loads the files' config version and the model's tokenizer). A pool
        that cannot start is given up, saying why: the task's thread prepares instead."""
        executor = self._current()
        pings = [executor.submit(prepare_child.ping) for _ in range(self.processes)]
        done, late = wait(pings, timeout=timeout_s)
        failed = [error for error in (f.exception() for f in done) if error is not None]
        if late or failed:
            why = first_line(failed[0]) if failed else f"no answer in {timeout_s:.0f} s"
            self.give_up(f"the prepare processes did not start ({why})")
            return False
        return True

    def submit(self, settings: Settings, deliveries: Sequence[Delivery]) -> Future:
        """A future of each delivery ``Ready`` or ``Unprepared``, prepared under ``settings``;
        it raises BrokenProcessPool when a prepare process died with it, and so does this
        call once the pool is given up (``usable``)."""
        if not self.usable:
            raise BrokenProcessPool("the prepare pool was given up")
        args = (settings.version, self._blob(settings), list(deliveries))
        try:
            return self._current().submit(prepare_child.prepare_chunk, *args)
        except BrokenProcessPool:
            self._replace()
            self.restarts += 1
            if not self.usable:
                self.give_up(f"the prepare processes died {self.restarts} times")
                raise
            logger.error("a prepare process died; starting the prepare processes again")
            return self._current().submit(prepare_child.prepare_chunk, *args)

    def give_up(self, why: str) -> None:
        """Stop the processes for good: from now on the task's thread prepares."""
        self.restarts = MAX_RESTARTS + 1
        self._replace()
        logger.error("%s; preparing on the task's thread from now on", why)

    def close(self) -> None:
        """Stop the prepare processes (they also die with this process, however it ends)."""
        self._replace()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = self._new_executor()
            return self._executor

    def _replace(self) -> None:
        with self._lock:
            broken, self._executor = self._executor, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def _new_executor(self) -> ProcessPoolExecutor:
        # A Celery prefork child is a daemonic process, and multiprocessing refuses children
        # to those, lest they outlive it: each prepare process asks Linux to kill it when
        # its parent ends (``prepare_child.initialise``), which is that guarantee, kept.
        multiprocessing.current_process().daemon = False
        settings = self._settings
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=prepare_child.initialise,
            initargs=(os.getpid(), settings.version, self._blob(settings)),
        )

    def _blob(self, settings: Settings) -> bytes:
        blob = self._blobs.get(settings.version)
        if blob is None:
            blob = self._blobs[settings.version] = pickle.dumps(settings, pickle.HIGHEST_PROTOCOL)
            while len(self._blobs) > 4:
                del self._blobs[next(iter(self._blobs))]
        return blob
