"""Fault injection for the reliability tests, installed from the tests' side: the worker's
runtime path has no test code.

A worker started with ``crash_hook_env(marker)`` in its environment imports
``tests/support/crash_site/sitecustomize.py`` at interpreter start (``PYTHONPATH``), which
connects ``install`` to Celery's ``worker_process_init``: each pool process then wraps its
gate's scorer so that it kills its own process (``os._exit``, no cleanup, as a segfault in
a native library or the kernel's OOM killer would) whenever a text it is asked to score
contains the marker. tests/reliability uses it to prove that a poison message ends in the
dead stream after the bounded retries.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("qualitygate.worker")

CRASH_MARKER_VAR = "QUALITYGATE_TEST_CRASH_MARKER"
CRASH_EXIT_CODE = 86
_SITE_DIR = Path(__file__).with_name("crash_site")
_REPO_ROOT = Path(__file__).resolve().parents[2]


class CrashingScorer:
    """The real scorer, except that a pair whose text holds the marker kills the process."""

    def __init__(self, scorer: Any, marker: str) -> None:
        self._scorer = scorer
        self._marker = marker

    @property
    def info(self) -> Any:
        return self._scorer.info

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if any(self._marker in text for _, text in pairs):
            os._exit(CRASH_EXIT_CODE)
        return self._scorer.score(pairs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)


def crash_hook_env(marker: str) -> dict[str, str]:
    """Environment for a worker subprocess whose scorer dies on ``marker``."""
    path = os.pathsep.join([str(_SITE_DIR), str(_REPO_ROOT)])
    return {CRASH_MARKER_VAR: marker, "PYTHONPATH": path}


def install(**_: Any) -> None:
    """Wrap this process's scorer (loading the model now, as the worker would anyway)."""
    marker = os.environ.get(CRASH_MARKER_VAR)
    if not marker:
        return
    from workers.runtime import runtime

    gate = runtime().gate
    if not isinstance(gate.scorer, CrashingScorer):
        logger.warning(
            "TEST HOOK ACTIVE: scoring a text containing the crash marker kills this process"
        )
        gate.scorer = CrashingScorer(gate.scorer, marker)
