"""The reward model: loading it, turning (prompt, content) pairs into token ids, scoring.

Owns the traps of reading a sequence-classification reward model correctly: the content
goes through the tokenizer's own chat template; only the template's frame produces control
tokens, the prompt and the content reach the model as text (``tokenizing``), so no string
can forge a chat turn; only the content's tokens are truncated (the template's closing
tokens, where the reward is read, always survive); and batches are padded with a pad token
the template never ends on, so batched scores equal unbatched ones. It must not know about
languages, rules or levels.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, runtime_checkable

import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from qualitygate.config import ModelSettings
from qualitygate.device_memory import adapt_batch_tokens
from qualitygate.errors import ModelLoadError, ScoringError, first_line
from qualitygate.schemas import ModelInfo
from qualitygate.tokenizing import TextEncoder

# Private-use characters: no chat template rewrites them, no text contains them by chance.
_SENTINEL = "\ue000qualitygate-content\ue001"
_PROMPT_SENTINEL = "\ue000qualitygate-prompt\ue001"
_ELISION = "\n…\n"
_HOW_TO_FIX = (
    "Set model.name in the config (or QG_MODEL__NAME, or --model) to a hub name or a local "
    "directory of a one-label sequence-classification reward model; "
    "`qualitygate make-test-model DIR` builds a tiny test model."
)
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
    """A loaded reward model and tokenizer; one per worker process."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    settings: ModelSettings
    model_info: ModelInfo
    device: torch.device
    stats: ScorerStats = field(default_factory=ScorerStats)
    #: Padded tokens per forward pass: ``model.batch_tokens``, cut to the device's memory.
    batch_tokens: int = 0

    def __post_init__(self) -> None:
        self.batch_tokens = self.batch_tokens or self.settings.batch_tokens
        self._pad_id = _require_pad_id(self.tokenizer, self.settings.name)
        self.model.config.pad_token_id = self._pad_id
        # Scoring reads one position once: a key/value cache is copied memory for nothing.
        self.model.config.use_cache = False
        self._encoder = TextEncoder(self.tokenizer)
        self._frame_text = self._render_frame()
        self._prompt_parts = lru_cache(maxsize=256)(self._template_parts)
        self._elision_ids = self._encode(_ELISION)
        # Check the template once, on a real prompt, so a bad checkpoint fails at start.
        _, suffix = self._prompt_parts("Check the chat template.")
        if suffix and suffix[-1] == self._pad_id:
            raise ModelLoadError(
                f"the tokenizer of '{self.settings.name}' pads with the token that ends the chat "
                "template, so the model would read the reward at the wrong position; give the "
                "tokenizer a distinct pad token"
            )

    @classmethod
    def load(cls, settings: ModelSettings) -> RewardScorer:
        started = time.perf_counter()
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.dtype, device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(settings.name, revision=settings.revision)
            model = AutoModelForSequenceClassification.from_pretrained(
                settings.name,
                revision=settings.revision,
                dtype=dtype,
                attn_implementation=_attention_implementation(device),
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load the reward model '{settings.name}' "
                f"(revision {settings.revision}): {first_line(exc)}. {_HOW_TO_FIX}"
            ) from exc
        if model.config.num_labels != 1:
            raise ModelLoadError(
                f"'{settings.name}' has {model.config.num_labels} labels; a reward model has "
                f"exactly one. {_HOW_TO_FIX}"
            )
        if not getattr(tokenizer, "chat_template", None):
            raise ModelLoadError(
                f"the tokenizer of '{settings.name}' has no chat template, so (prompt, content) "
                f"pairs cannot be formatted the way the model was trained. {_HOW_TO_FIX}"
            )
        model.to(device)
        model.eval()
        info = ModelInfo(
            name=settings.name,
            revision=settings.revision,
            test_model=bool(getattr(model.config, TEST_MODEL_MARKER, False)),
        )
        scorer = cls(model, tokenizer, settings, info, device)
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
        row = self._prompt_parts("Warm up.")[0][:8] or [self._pad_id + 1]
        self._forward([row, row[:1]])
        self._forward([row + row, row, row[:2]])
        self.stats.compile_s = time.perf_counter() - started
        self.stats = ScorerStats(load_s=self.stats.load_s, compile_s=self.stats.compile_s)

    @property
    def info(self) -> ModelInfo:
        return self.model_info

    def _encode(self, text: str) -> list[int]:
        return self._encoder.text(text)

    def _encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each untrusted text, its control tokens encoded as text."""
        return self._encoder.texts(texts)

    def _render_frame(self) -> tuple[str, str, str]:
        """The template's text before the prompt, between prompt and content, and after.

        Rendered once, around sentinels: the template never sees the prompt or the content,
        so neither can steer its logic (Qwen3's looks inside the turns it formats).
        """
        conversation = [
            {"role": "user", "content": _PROMPT_SENTINEL},
            {"role": "assistant", "content": _SENTINEL},
        ]
        templated = self.tokenizer.apply_chat_template(conversation, tokenize=False)
        if (
            not isinstance(templated, str)
            or templated.count(_PROMPT_SENTINEL) != 1
            or templated.count(_SENTINEL) != 1
            or templated.index(_PROMPT_SENTINEL) > templated.index(_SENTINEL)
        ):
            raise ModelLoadError(
                f"the chat template of '{self.settings.name}' does not place the user turn's "
                "and then the assistant turn's content verbatim once; it cannot be used for scoring"
            )
        head, rest = templated.split(_PROMPT_SENTINEL)
        middle, tail = rest.split(_SENTINEL)
        return head, middle, tail

    def _template_parts(self, prompt: str) -> tuple[list[int], list[int]]:
        """The template's token ids before and after the content, for one prompt.

        The prompt is the user turn's text, an item's own or a content type's from config:
        it is encoded as text, so only the template's frame produces control tokens.
        """
        prompt_ids = self._encode(prompt)
        if len(prompt_ids) > self.settings.max_prompt_tokens:
            prompt = self.tokenizer.decode(prompt_ids[: self.settings.max_prompt_tokens])
        head, middle, tail = self._frame_text
        prefix = self._encoder.around(head, prompt, middle)
        suffix = self._encoder.frame(tail)
        bos = self.tokenizer.bos_token_id
        # A template that writes BOS itself plus a tokenizer that adds one gives two.
        while bos is not None and prefix[:2] == [bos, bos]:
            prefix = prefix[1:]
        return prefix, suffix

    def encode_pair(self, prompt: str, content: str) -> list[int]:
        """Token ids of the templated pair, the content truncated (head and tail) to fit."""
        return self._wrap(prompt, self._encode(content.strip()))

    def _wrap(self, prompt: str, content_ids: list[int]) -> list[int]:
        """The content's ids, truncated to fit, between the prompt's template parts."""
        prefix, suffix = self._prompt_parts(prompt)
        budget = self.settings.max_length - len(prefix) - len(suffix)
        if len(content_ids) > budget:
            keep = budget - len(self._elision_ids)
            head = keep - keep // 4
            tail = keep - head
            content_ids = [
                *content_ids[:head],
                *self._elision_ids,
                *(content_ids[-tail:] if tail else []),
            ]
        return [*prefix, *content_ids, *suffix]

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        return self.score_encoded(self.encode_pairs(pairs))

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """Token ids of each templated pair, as ``score`` feeds them to the model."""
        if not pairs:
            return []
        started = time.perf_counter()
        contents = self._encode_many([content.strip() for _, content in pairs])
        encoded = [
            self._wrap(prompt, ids) for (prompt, _), ids in zip(pairs, contents, strict=True)
        ]
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


def _require_pad_id(tokenizer: PreTrainedTokenizerBase, name: str) -> int:
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        raise ModelLoadError(
            f"the tokenizer of '{name}' has no pad token, so batched scores would be read at "
            "the wrong position; give the tokenizer a pad token distinct from its end tokens"
        )
    return int(pad_id)


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
