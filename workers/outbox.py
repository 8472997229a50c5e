"""The results of one batch on their way out, and which of them are already published.

Owns the publishing order of a batch: results are added as they are decided, and
``flush`` publishes those not yet sent. The worker flushes before each risky try alone, so
a crash cannot charge (and dead-letter) finished neighbours, and when time runs out, so
what is done is not lost. It must not decide results or touch Redis except through the
state's ``commit``.
"""

from __future__ import annotations

from collections.abc import Sequence

from qualitygate.schemas import GradeResult
from workers.delivery import Pending
from workers.publish import Outgoing
from workers.state import WorkerState


class Outbox:
    """A batch's results in order; ``new_results`` are those this batch put on the stream."""

    def __init__(self, state: WorkerState) -> None:
        self.state = state
        self.items: list[Outgoing] = []
        self.scored: list[tuple[Pending, Outgoing]] = []
        self.new_results: list[GradeResult] = []
        self._sent = 0

    def add(self, outgoing: Outgoing) -> None:
        self.items.append(outgoing)

    def add_scored(self, pending: Pending, outgoing: Outgoing) -> None:
        """A result the model produced (or gave up on): grades of these are cached."""
        self.items.append(outgoing)
        self.scored.append((pending, outgoing))

    def flush(self, remember: Sequence[tuple[str, GradeResult]] = ()) -> None:
        """Publish every result not yet sent (and cache ``remember``) in one commit."""
        unsent = self.items[self._sent :]
        if not unsent and not remember:
            return
        new = self.state.commit(unsent, remember)
        self._sent = len(self.items)
        self.new_results.extend(
            out.result for out, is_new in zip(unsent, new, strict=True) if is_new
        )

    def commit(self) -> None:
        """The batch's last write: what is left to publish, and the fresh grades to cache."""
        self.flush(
            [(p.cache_key, out.result) for p, out in self.scored if out.result.status == "graded"]
        )
