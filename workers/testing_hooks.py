"""Fault injection for the reliability tests, and nothing else: inert unless the
environment variable ``QUALITYGATE_TEST_CRASH_MARKER`` is set.

With it set, the worker's scorer kills its own process (``os._exit``, no cleanup, as a
segfault in a native library or the kernel's OOM killer would) whenever a text it is
asked to score contains the marker. tests/reliability uses it to prove that a poison
message ends in the dead stream after the bounded retries. Never set it in production.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger("qualitygate.worker")

CRASH_MARKER_VAR = "QUALITYGATE_TEST_CRASH_MARKER"
CRASH_EXIT_CODE = 86


class _CrashingScorer:
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


def install(gate: Any) -> Any:
    """Wrap the gate's scorer when the test variable is set; otherwise return it as is."""
    marker = os.environ.get(CRASH_MARKER_VAR)
    if marker:
        logger.warning(
            "TEST HOOK ACTIVE: scoring a text containing the crash marker kills this process"
        )
        gate.scorer = _CrashingScorer(gate.scorer, marker)
    return gate
