"""The reward model: loading it and scoring (prompt, content) pairs in packed batches.

Owns the traps of reading a sequence-classification reward model correctly beyond the
token ids (``pair_encoding`` owns those: the chat template's frame, text that cannot forge
a turn, truncation that keeps the template's closing tokens): one label, the pad id set on
the model so batched scores equal unbatched ones, no key/value cache, batches packed to a
token budget cut to the device's memory, and a crash in a forward pass reported as a
ScoringError. It must not know about languages, rules or levels.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from qualitygate.config import ModelSettings
from qualitygate.device_memory import adapt_batch_tokens
from qualitygate.errors import ModelLoadError, ScoringError, first_line
from qualitygate.pair_encoding import (
    HOW_TO_FIX,
    PairEncoder,
    load_tokenizer,
    require_chat_template,
)
from qualitygate.schemas import ModelInfo

TEST_MODEL_MARKER = "qualitygate_test_model"


@runtime_checkable
class Scorer(Protocol):
    """Anything that gives one raw reward per (prompt, content) pair, in order."""

    @property
    def info(self) -> ModelInfo: ...

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


@runtime_checkable
class EncodingScorer(Scorer, Protocol):
    """A scorer whose tokenizing and forward pass can run apart (``score`` is both), so a
    worker can tokenize the next batch while this one is in the forward pass."""

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]: ...

    def score_encoded(self, encoded: Sequence[Sequence[int]]) -> list[float]: ...


def encoder_of(scorer: Scorer) -> EncodingScorer | None:
    """The scorer itself when its class tokenizes apart, else None. Looked up on the class,
    so a wrapper that forwards unknown attributes (and checks only ``score``) is never
    bypassed."""
    kind = type(scorer)
    if callable(getattr(kind, "encode_pairs", None)) and callable(
        getattr(kind, "score_encoded", None)
    ):
        return scorer  # type: ignore[return-value]
    return None


@dataclass
class ScorerStats:
    """Cumulative counters, for the CLI summary, benchmarks and metrics."""

    tokenize_s: float = 0.0
    forward_s: float = 0.0
    batches: int = 0
    items: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    load_s: float = 0.0
    compile_s: float = 0.0

    @property
    def padding_efficiency(self) -> float:
        return self.real_tokens / self.padded_tokens if self.padded_tokens else 1.0


# What one more forward pass costs beyond its tokens, in token-equivalents: it stops the
# packer from splitting batches to save a few pad tokens.
BATCH_OVERHEAD_TOKENS = 256


def pack_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Group indices into batches that minimise padded tokens, each within the budget.

    Items are sorted longest first, so a batch is a contiguous run whose cost is its row
    count times its first (longest) row, plus a fixed overhead per forward pass. A
    dynamic programme over the sorted run picks the cut points with the least total cost;
    the budget bounds rows times the longest row, which is what a forward pass costs.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    sorted_lengths = [lengths[i] for i in order]
    count = len(order)
    best_cost = [0.0] + [float("inf")] * count
    cut_at = [0] * (count + 1)
    for end in range(1, count + 1):
        for start in range(end - 1, -1, -1):
            padded = (end - start) * sorted_lengths[start]
            if padded > batch_tokens and end - start > 1:
                break
            cost = best_cost[start] + padded + BATCH_OVERHEAD_TOKENS
            if cost < best_cost[end]:
                best_cost[end], cut_at[end] = cost, start
    batches: list[list[int]] = []
    end = count
    while end > 0:
        start = cut_at[end]
        batches.append(order[start:end])
        end = start
    batches.reverse()
    return batches


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(
            f"model.device is '{device}' but CUDA is not available; set model.device to auto or cpu"
        )
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def _attention_implementation(device: torch.device) -> str:
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


@dataclass
class RewardScorer:
    """A loaded reward model and its pair encoder; one per worker process."""

    model: PreTrainedModel
    encoder: PairEncoder
    settings: ModelSettings
    model_info: ModelInfo
    device: torch.device
    stats: ScorerStats = field(default_factory=ScorerStats)
    #: Padded tokens per forward pass: ``model.batch_tokens``, cut to the device's memory.
    batch_tokens: int = 0

    def __post_init__(self) -> None:
        self.batch_tokens = self.batch_tokens or self.settings.batch_tokens
        self._pad_id = self.encoder.pad_id
        self.model.config.pad_token_id = self._pad_id
        # Scoring reads one position once: a key/value cache is copied memory for nothing.
        self.model.config.use_cache = False

    @classmethod
    def load(cls, settings: ModelSettings) -> RewardScorer:
        started = time.perf_counter()
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.dtype, device)
        tokenizer = load_tokenizer(settings)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                settings.name,
                revision=settings.revision,
                dtype=dtype,
                attn_implementation=_attention_implementation(device),
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load the reward model '{settings.name}' "
                f"(revision {settings.revision}): {first_line(exc)}. {HOW_TO_FIX}"
            ) from exc
        if model.config.num_labels != 1:
            raise ModelLoadError(
                f"'{settings.name}' has {model.config.num_labels} labels; a reward model has "
                f"exactly one. {HOW_TO_FIX}"
            )
        require_chat_template(tokenizer, settings.name)
        model.to(device)
        model.eval()
        info = ModelInfo(
            name=settings.name,
            revision=settings.revision,
            test_model=bool(getattr(model.config, TEST_MODEL_MARKER, False)),
        )
        scorer = cls(model, PairEncoder(tokenizer, settings), settings, info, device)
        scorer.batch_tokens = adapt_batch_tokens(
            model, device, settings.batch_tokens, settings.max_length, scorer._pad_id
        )
        if settings.compile:
            scorer.compile()
        scorer.stats.load_s = time.perf_counter() - started
        return scorer

    def compile(self) -> None:
        """``torch.compile`` the forward pass with dynamic shapes (one graph for every
        batch size and length, not one per batch), and pay the compiling now: two warm-up
        passes of different shapes, so the first real batch does not."""
        started = time.perf_counter()
        self.model.forward = torch.compile(self.model.forward, dynamic=True)
        row = self.encoder.template_parts("Warm up.")[0][:8] or [self._pad_id + 1]
        self._forward([row, row[:1]])
        self._forward([row + row, row, row[:2]])
        self.stats.compile_s = time.perf_counter() - started
        self.stats = ScorerStats(load_s=self.stats.load_s, compile_s=self.stats.compile_s)

    @property
    def info(self) -> ModelInfo:
        return self.model_info

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return self.encoder.tokenizer

    def encode_pair(self, prompt: str, content: str) -> list[int]:
        """Token ids of the templated pair, the content truncated (head and tail) to fit."""
        return self.encoder.encode_pair(prompt, content)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        return self.score_encoded(self.encode_pairs(pairs))

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """Token ids of each templated pair, as ``score`` feeds them to the model."""
        started = time.perf_counter()
        encoded = self.encoder.encode_pairs(pairs)
        self.stats.tokenize_s += time.perf_counter() - started
        return encoded

    def score_encoded(self, encoded: Sequence[Sequence[int]]) -> list[float]:
        """Rewards for rows ``encode_pair`` made, in order, packed to the token budget.

        The half of ``score`` after tokenizing, for callers that hold token ids already
        (benchmarks that feed exact lengths, a cache of encoded items).
        """
        scores: list[float] = [0.0] * len(encoded)
        lengths = [len(ids) for ids in encoded]
        for batch in pack_batches(lengths, self.batch_tokens):
            rows = [encoded[i] for i in batch]
            for index, value in zip(batch, self._forward(rows), strict=True):
                scores[index] = value
        self.stats.items += len(encoded)
        return scores

    def _forward(self, rows: Sequence[Sequence[int]]) -> list[float]:
        longest = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), longest), self._pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, : len(row)] = 1
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = self.model(
                    input_ids=to_device(input_ids, self.device),
                    attention_mask=to_device(attention_mask, self.device),
                )
            values = output.logits[:, 0].float().cpu().tolist()
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            raise ScoringError(
                f"the model failed on a batch of {len(rows)}: {first_line(exc)}"
            ) from exc
        self.stats.forward_s += time.perf_counter() - started
        self.stats.batches += 1
        self.stats.real_tokens += sum(len(row) for row in rows)
        self.stats.padded_tokens += input_ids.numel()
        return values


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on ``device``: through pinned memory without blocking on CUDA (the copy
    overlaps the host's next step; the forward pass on the same stream waits for it), as
    it is on the CPU."""
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def load_scorer(settings: ModelSettings) -> Scorer:
    """The production scorer for these settings (loads the model)."""
    return RewardScorer.load(settings)


__all__ = [
    "EncodingScorer",
    "RewardScorer",
    "Scorer",
    "ScorerStats",
    "encoder_of",
    "load_scorer",
    "pack_batches",
]
