"""``QualityGate``: one item's way from CMS content to a ``GradeResult``, in process.

prepare (``preparing``: extract -> detect -> preprocess -> rules) -> score (and the
optional guard, whose findings join the rule flags) -> calibrate -> grade. Every step but
scoring is a pure function of the item and the config; scoring goes through the ``Scorer``
protocol and the guard through ``Guard``, so tests can hand in plain doubles. A bad item
becomes an error result in its place; it never stops the batch. No Celery and no Redis here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from adapters.base import Adapter
from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError, QualityGateError, ScoringError
from qualitygate.grading import decide, level_for, recommend
from qualitygate.guard.flags import flags_for
from qualitygate.preparing import Detector, PreparedItem, Preparer, elapsed_ms
from qualitygate.protocol import item_id_of
from qualitygate.schemas import ContentItem, GradeResult, echoable_metadata
from qualitygate.scoring import Scorer, load_scorer

if TYPE_CHECKING:  # the guard's model module imports torch; only a gate with a guard needs it
    from qualitygate.guard.model import Guard

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]

# With a progress callback, items are scored in length-sorted slices of about one forward
# pass each (by this estimate of UTF-8 bytes per token, near 4 for English and for CJK
# alike), so the callback hears of each pass as it ends and the scorer still packs full
# batches: smaller slices would cost forward passes (bench/progress.py).
BYTES_PER_TOKEN_ESTIMATE = 4


class QualityGate:
    """Grades CMS content with a reward model, per-language adapters and config."""

    def __init__(
        self,
        settings: Settings,
        scorer: Scorer,
        detector: Detector | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self._guard = guard
        self.preparer = Preparer(settings, detector)

    @classmethod
    def from_settings(cls, settings: Settings, scorer: Scorer | None = None) -> QualityGate:
        """Load the model named in settings (once) unless a scorer is handed in, and the
        guard model beside it when ``guard.enabled``."""
        gate = cls(settings, scorer if scorer is not None else load_scorer(settings.model))
        _ = gate.guard  # a guard that cannot load fails at start, like the reward model
        return gate

    @property
    def guard(self) -> Guard | None:
        """The guard model, loaded on first use when ``guard.enabled``; None when off."""
        if self._guard is None and self.settings.guard.enabled:
            from qualitygate.guard.model import load_guard

            self._guard = load_guard(self.settings.guard)
            info = self._guard.info
            logger.info(
                "guard model %s (revision %s, %s) loaded%s",
                info.name,
                info.revision,
                self.settings.guard.kind,
                " (a random TEST MODEL: its findings mean nothing)" if info.test_model else "",
            )
        return self._guard if self.settings.guard.enabled else None

    def with_settings(self, settings: Settings) -> QualityGate:
        """A gate for new settings that keeps this one's loaded model (and its language
        detector when ``detection`` is unchanged): rules, adapters, calibrators and grading
        are rebuilt from ``settings``; the guard model, when loaded, is kept too. ValueError
        when the ``model`` or ``guard`` section differs, since only loading a model again
        could honour that."""
        if settings.model != self.settings.model:
            raise ValueError("model: differs; a new model needs QualityGate.from_settings")
        if settings.guard != self.settings.guard:
            raise ValueError("guard: differs; a new guard model needs QualityGate.from_settings")
        same_detection = settings.detection == self.settings.detection
        detect = self.preparer.detect if same_detection else None
        return QualityGate(settings, self.scorer, detect, guard=self._guard)

    def adapter_for(self, language: str) -> Adapter:
        """The language's adapter, built once from its config entry and calibrator."""
        return self.preparer.adapter_for(language)

    def prepare(self, raw: ContentItem | Mapping[str, Any]) -> PreparedItem:
        """Validate, extract, detect, preprocess and check rules; raises QualityGateError."""
        return self.preparer.prepare(raw)

    def finish(self, prepared: PreparedItem, raw_reward: float) -> GradeResult:
        """Calibrate, grade and recommend for one scored item."""
        score = prepared.adapter.calibrate(raw_reward)
        level = level_for(score, self.settings.levels)
        code = prepared.language.code
        flags = [*prepared.flags, *prepared.guard_flags]
        advice = self.preparer.rules.advice(flags, code)
        return GradeResult(
            id=prepared.item.id,
            status="graded",
            language=code,
            language_confidence=round(prepared.language.confidence, 4),
            language_method=prepared.language.method,
            raw_reward=raw_reward,
            score=score,
            level=level,
            decision=decide(level, flags, self.settings.decisions),
            recommendations=recommend(level, code, self.settings.recommendations, advice),
            flags=flags,
            content_sha256=prepared.content_sha256,
            model=self.scorer.info,
            config_version=self.settings.version,
            timings_ms=prepared.timings_ms,
            metadata=prepared.item.metadata,
            guard=prepared.guard,
        )

    def error_result(self, raw: Any, error: QualityGateError) -> GradeResult:
        """An error result for whatever arrived, echoing its id and metadata where it can."""
        metadata = echoable_metadata(raw, self.settings.limits)
        return GradeResult.failure(item_id_of(raw), error, self.settings.version, metadata)

    def grade(
        self,
        items: Sequence[ContentItem | Mapping[str, Any]],
        on_scoring_error: Literal["result", "raise"] = "result",
        progress: Progress | None = None,
    ) -> list[GradeResult]:
        """One result per item, in order; bad items come back as error results.

        A model failure (not bad input) becomes error results by default; a worker that
        retries passes ``on_scoring_error="raise"`` to see the ScoringError instead.
        ``progress`` is called with a count each time that many more items have their
        result, so a progress bar moves as the work does; the counts add up to the items.
        """
        limit = self.settings.limits.max_items_per_request
        if len(items) > limit:
            raise InvalidItemError(
                f"items: {len(items)} in one request, over the limit of {limit} "
                "(limits.max_items_per_request)"
            )
        results: list[GradeResult | None] = [None] * len(items)
        prepared: list[tuple[int, PreparedItem]] = []
        for index, raw in enumerate(items):
            try:
                prepared.append((index, self.prepare(raw)))
            except QualityGateError as error:
                results[index] = self.error_result(raw, error)
            except Exception as exc:  # a bug must cost one item, never the batch
                logger.exception("preparing item %r failed", item_id_of(raw))
                error = QualityGateError(f"preparing the item failed ({type(exc).__name__})")
                results[index] = self.error_result(raw, error)
        if progress is not None and len(prepared) < len(items):
            progress(len(items) - len(prepared))
        if prepared:
            try:
                scored = self._score_in_slices([p for _, p in prepared], progress)
            except ScoringError as error:
                if on_scoring_error == "raise":
                    raise
                for index, _ in prepared:
                    results[index] = self.error_result(items[index], error)
            else:
                for (index, _), result in zip(prepared, scored, strict=True):
                    results[index] = result
        return [result for result in results if result is not None]

    def _score_in_slices(
        self, prepared: Sequence[PreparedItem], progress: Progress | None
    ) -> list[GradeResult]:
        """``score`` in one call, or in slices of about a forward pass, each reported."""
        if progress is None:
            return self.score(prepared)
        results: list[GradeResult | None] = [None] * len(prepared)
        left = len(prepared)
        for chunk in self._progress_slices(prepared):
            try:
                scored = self.score([prepared[i] for i in chunk])
            except ScoringError:
                progress(left)  # every item still gets its (error) result
                raise
            for index, result in zip(chunk, scored, strict=True):
                results[index] = result
            progress(len(chunk))
            left -= len(chunk)
        return [result for result in results if result is not None]

    def _progress_slices(self, prepared: Sequence[PreparedItem]) -> list[list[int]]:
        """Indices shortest first, cut where one more row would overflow the token budget."""
        model = self.settings.model
        sizes = [
            min(
                len(f"{p.prompt}{p.text}".encode("utf-8", "surrogatepass"))
                // BYTES_PER_TOKEN_ESTIMATE,
                model.max_length,
            )
            for p in prepared
        ]
        slices: list[list[int]] = []
        current: list[int] = []
        for index in sorted(range(len(prepared)), key=sizes.__getitem__):
            if current and (len(current) + 1) * sizes[index] > model.batch_tokens:
                slices.append(current)
                current = []
            current.append(index)
        return [*slices, current] if current else slices

    def score(
        self,
        prepared: Sequence[PreparedItem],
        encoded: Sequence[Sequence[int]] | None = None,
    ) -> list[GradeResult]:
        """Score prepared items in one call to the scorer, then calibrate and grade each.

        The scoring step on its own, for callers that prepare items themselves and decide
        what a failure costs (the worker retries items alone and counts attempts): any
        exception of the scorer propagates, and a scorer that answers with the wrong
        number of scores raises ScoringError. ``encoded`` are the items' token ids from the
        scorer's own ``encode_pairs``, for a caller that tokenized ahead (the worker's
        staged path); the scorer must then be an ``EncodingScorer``.
        """
        if not prepared:
            return []
        started = time.perf_counter()
        if encoded is None:
            rewards = self.scorer.score([(p.prompt, p.text) for p in prepared])
        else:
            rewards = self.scorer.score_encoded(encoded)  # type: ignore[attr-defined]
        if len(rewards) != len(prepared):
            raise ScoringError(f"the scorer returned {len(rewards)} scores for {len(prepared)}")
        score_ms = elapsed_ms(started) / len(prepared)
        self.check_guard(prepared)
        results = []
        for item, reward in zip(prepared, rewards, strict=True):
            item.timings_ms["score"] = round(score_ms, 3)
            finished = time.perf_counter()
            result = self.finish(item, float(reward))
            result.timings_ms["finish"] = elapsed_ms(finished)
            results.append(result)
        return results

    def check_guard(self, prepared: Sequence[PreparedItem]) -> None:
        """Run the guard, in one call, on the items whose language it runs for, and set
        their ``guard_flags`` and ``guard``; nothing when the guard is off.

        Raises ScoringError when the guard model fails (a crash: the worker retries it);
        a guard that answers with the wrong number of findings is one too.
        """
        guard = self.guard
        chosen = [p for p in prepared if self.settings.guard.runs_for(p.language.code)]
        if guard is None or not chosen:
            return
        started = time.perf_counter()
        found = guard.check([p.text for p in chosen])
        if len(found) != len(chosen):
            raise ScoringError(f"the guard returned {len(found)} answers for {len(chosen)}")
        guard_ms = round(elapsed_ms(started) / len(chosen), 3)
        for item, findings in zip(chosen, found, strict=True):
            item.guard_flags = flags_for(findings, self.settings.guard, len(item.text))
            item.guard = guard.info
            item.timings_ms["guard"] = guard_ms

    def rank(
        self,
        prompt: str,
        candidates: Iterable[str],
        top_k: int | None = None,
        return_documents: bool = False,
    ) -> list[dict[str, Any]]:
        """Candidates best first, like sentence-transformers' ``CrossEncoder.rank``.

        Each entry has ``corpus_id`` (the candidate's index) and ``score`` (calibrated,
        so candidates in different languages compare), plus ``raw_reward`` and
        ``language``; ``text`` too when ``return_documents`` is true.
        """
        documents = list(candidates)
        items = [
            ContentItem(id=str(i), text=text, prompt=prompt) for i, text in enumerate(documents)
        ]
        results = self.grade(items)
        ranked = []
        for index, result in enumerate(results):
            if result.status != "graded":
                continue
            entry: dict[str, Any] = {
                "corpus_id": index,
                "score": result.score,
                "raw_reward": result.raw_reward,
                "language": result.language,
            }
            if return_documents:
                entry["text"] = documents[index]
            ranked.append(entry)
        ranked.sort(key=lambda entry: (entry["score"], entry["raw_reward"]), reverse=True)
        return ranked[:top_k] if top_k is not None else ranked
