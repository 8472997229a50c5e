"""The loaded guard model: one per process, beside the reward model, batched like it.

Owns loading (a causal LM for ``kind: generative``, a multi-label sequence classifier for
``kind: classifier``), packing encoded texts into forward passes within
``guard.batch_tokens`` (longest first, as ``qualitygate.scoring.pack_batches`` packs the
reward model's), and turning the model's output into findings: a generative guard decodes
greedily for at most ``guard.max_new_tokens`` tokens and its answer goes through the strict
parser (an answer that does not parse is an ``unparsed`` finding, never a pass); a
classifier gives a sigmoid per label. A model failure is a ScoringError, so the worker
retries it as it retries the reward model. It must not know about languages, rules or
decisions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from qualitygate.errors import ModelLoadError, ScoringError, first_line
from qualitygate.guard.answer import UnparsedAnswer, parse_answer
from qualitygate.guard.flags import UNPARSED, UNSPECIFIED, Finding
from qualitygate.guard.labels import findings_from_probabilities
from qualitygate.guard.prompt import GuardPrompt
from qualitygate.guard.settings import GuardSettings
from qualitygate.schemas import ModelInfo
from qualitygate.scoring import TEST_MODEL_MARKER, pack_batches, resolve_device, resolve_dtype

_HOW_TO_FIX = (
    "Set guard.model.name to a hub name or local directory of a Qwen3Guard-Gen model "
    "(guard.kind: generative) or of a multi-label sequence classifier with id2label "
    "(guard.kind: classifier), or set guard.enabled: false; "
    "`qualitygate make-test-model --guard DIR` builds tiny test guards."
)


@runtime_checkable
class Guard(Protocol):
    """Anything that gives the findings for each text, in order."""

    @property
    def info(self) -> ModelInfo: ...

    def check(self, texts: Sequence[str]) -> list[list[Finding]]: ...


@dataclass
class GuardStats:
    """Cumulative counters, for benchmarks."""

    items: int = 0
    batches: int = 0
    tokenize_s: float = 0.0
    forward_s: float = 0.0
    input_tokens: int = 0
    generated_tokens: int = 0
    load_s: float = 0.0


@dataclass
class LoadedGuard:
    """A loaded guard model and tokenizer."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    settings: GuardSettings
    model_info: ModelInfo
    device: torch.device
    stats: GuardStats = field(default_factory=GuardStats)

    def __post_init__(self) -> None:
        generative = self.settings.kind == "generative"
        self.prompt = GuardPrompt(self.tokenizer, self.settings.max_length, generative)
        self._pad_id = _pad_id(self.tokenizer, generative)
        self.model.config.pad_token_id = self._pad_id
        if not generative:
            self.model.config.use_cache = False
            self._labels = _id2label(self.model)
        else:
            self._generation = GenerationConfig(
                max_new_tokens=self.settings.max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=self._pad_id,
                eos_token_id=_eos_ids(self.model, self.tokenizer),
                output_scores=True,
                return_dict_in_generate=True,
            )

    @classmethod
    def load(cls, settings: GuardSettings) -> LoadedGuard:
        started = time.perf_counter()
        spec = settings.model
        device = resolve_device(spec.device)
        dtype = resolve_dtype(spec.dtype, device)
        auto = (
            AutoModelForCausalLM
            if settings.kind == "generative"
            else (AutoModelForSequenceClassification)
        )
        try:
            tokenizer = AutoTokenizer.from_pretrained(spec.name, revision=spec.revision)
            model = auto.from_pretrained(
                spec.name, revision=spec.revision, dtype=dtype, attn_implementation="sdpa"
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load the guard model '{spec.name}' (revision {spec.revision}, "
                f"guard.kind {settings.kind}): {first_line(exc)}. {_HOW_TO_FIX}"
            ) from exc
        model.to(device)
        model.eval()
        info = ModelInfo(
            name=spec.name,
            revision=spec.revision,
            test_model=bool(getattr(model.config, TEST_MODEL_MARKER, False)),
        )
        guard = cls(model, tokenizer, settings, info, device)
        guard.stats.load_s = time.perf_counter() - started
        return guard

    @property
    def info(self) -> ModelInfo:
        return self.model_info

    def check(self, texts: Sequence[str]) -> list[list[Finding]]:
        if not texts:
            return []
        started = time.perf_counter()
        rows = self.prompt.encode(texts)
        self.stats.tokenize_s += time.perf_counter() - started
        return self.check_encoded(rows)

    def check_encoded(self, rows: Sequence[Sequence[int]]) -> list[list[Finding]]:
        """Findings for rows ``prompt.encode`` made, in order, packed to the budget."""
        findings: list[list[Finding]] = [[] for _ in rows]
        extra = self.settings.max_new_tokens if self.settings.kind == "generative" else 0
        lengths = [len(row) + extra for row in rows]
        for batch in pack_batches(lengths, self.settings.batch_tokens):
            started = time.perf_counter()
            batch_rows = [rows[i] for i in batch]
            try:
                with torch.inference_mode():
                    found = self._forward(batch_rows)
            except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
                raise ScoringError(
                    f"the guard model failed on a batch of {len(batch)}: {first_line(exc)}"
                ) from exc
            for index, value in zip(batch, found, strict=True):
                findings[index] = value
            self.stats.forward_s += time.perf_counter() - started
            self.stats.batches += 1
            self.stats.input_tokens += sum(len(row) for row in batch_rows)
        self.stats.items += len(rows)
        return findings

    def _forward(self, rows: Sequence[Sequence[int]]) -> list[list[Finding]]:
        if self.settings.kind == "generative":
            return self._generate(rows)
        return self._classify(rows)

    def _classify(self, rows: Sequence[Sequence[int]]) -> list[list[Finding]]:
        input_ids, attention_mask = _padded(rows, self._pad_id, left=False)
        logits = self.model(
            input_ids=input_ids.to(self.device), attention_mask=attention_mask.to(self.device)
        ).logits
        probabilities = torch.sigmoid(logits.float()).cpu().tolist()
        return [
            findings_from_probabilities(row, self._labels, self.settings) for row in probabilities
        ]

    def _generate(self, rows: Sequence[Sequence[int]]) -> list[list[Finding]]:
        # Left padding: every row's answer starts right after its own last prompt token.
        input_ids, attention_mask = _padded(rows, self._pad_id, left=True)
        output = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=attention_mask.to(self.device),
            generation_config=self._generation,
        )
        new_tokens = output.sequences[:, input_ids.shape[1] :].cpu()
        log_probs = torch.stack(
            [torch.log_softmax(step.float(), dim=-1) for step in output.scores], dim=1
        ).cpu()
        stops = set(self._generation.eos_token_id or []) | {self._pad_id}
        findings = []
        for row, row_log_probs in zip(new_tokens.tolist(), log_probs, strict=True):
            answer_ids = _until_stop(row, stops)
            self.stats.generated_tokens += len(answer_ids)
            chosen = [float(row_log_probs[t, token]) for t, token in enumerate(answer_ids)]
            findings.append(self._read_answer(answer_ids, chosen))
        return findings

    def _read_answer(self, answer_ids: list[int], log_probs: list[float]) -> list[Finding]:
        """The findings an answer gives; one ``unparsed`` finding when it does not parse."""
        answer = self.tokenizer.decode(answer_ids, skip_special_tokens=True)
        try:
            parsed = parse_answer(answer)
        except UnparsedAnswer as exc:
            detail = f"{exc.reason}; the guard answered {answer[:120]!r}"
            return [Finding(category=UNPARSED, verdict="unparsed", detail=detail)]
        if parsed.safety == "Safe":
            return []
        confidence = self._verdict_confidence(answer_ids, log_probs)
        verdict = "unsafe" if parsed.safety == "Unsafe" else "controversial"
        names = parsed.categories or (UNSPECIFIED,)
        return [
            Finding(category=name, verdict=verdict, confidence=confidence, detail=name)
            for name in names
        ]

    def _verdict_confidence(self, answer_ids: list[int], log_probs: list[float]) -> float:
        """The probability the model gave its first line (``Safety: ...``), token by token."""
        total = 0.0
        for count, log_prob in enumerate(log_probs, start=1):
            total += log_prob
            if "\n" in self.tokenizer.decode(answer_ids[:count]):
                break
        return math.exp(total)


def _padded(
    rows: Sequence[Sequence[int]], pad_id: int, left: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(longest - len(row), longest) if left else slice(0, len(row))
        input_ids[i, span] = torch.tensor(row, dtype=torch.long)
        attention_mask[i, span] = 1
    return input_ids, attention_mask


def _until_stop(tokens: Sequence[int], stops: set[int]) -> list[int]:
    answer = []
    for token in tokens:
        if token in stops:
            break
        answer.append(token)
    return answer


def _pad_id(tokenizer: PreTrainedTokenizerBase, generative: bool) -> int:
    """The pad token; a generative guard pads on the left under a mask, so its end token
    serves where it has none. A classifier reads the last non-pad token and needs its own."""
    pad = tokenizer.pad_token_id
    if pad is None and generative:
        pad = tokenizer.eos_token_id
    if pad is None:
        raise ModelLoadError(
            "the guard's tokenizer has no pad token, so batched texts would be read at the "
            "wrong position; give it a pad token distinct from its end tokens"
        )
    return int(pad)


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    configured = getattr(model.generation_config, "eos_token_id", None)
    if configured is None:
        configured = tokenizer.eos_token_id
    if configured is None:
        raise ModelLoadError("the guard model has no end-of-answer token (eos_token_id)")
    return [int(i) for i in (configured if isinstance(configured, list) else [configured])]


def _id2label(model: PreTrainedModel) -> dict[int, str]:
    labels = {int(i): str(name) for i, name in (model.config.id2label or {}).items()}
    if not labels or sorted(labels) != list(range(model.config.num_labels)):
        raise ModelLoadError(
            "the guard classifier has no id2label naming each of its labels; "
            "guard.kind: classifier needs one"
        )
    return labels


def load_guard(settings: GuardSettings) -> Guard:
    """The production guard for these settings (loads the model)."""
    return LoadedGuard.load(settings)


__all__ = ["Guard", "GuardStats", "LoadedGuard", "load_guard"]
