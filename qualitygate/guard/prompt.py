"""Token ids the guard reads: its own chat template around the content, the content as text.

The content is the user turn of the guard's chat template (Qwen3Guard-Gen's "moderate the
user's message" form; a classifier without a template reads the content alone). The
template is rendered once around a sentinel, so the content never steers its logic, and
its frame is encoded with control tokens live while the content goes through
``qualitygate.tokenizing.TextEncoder``: a comment that spells ``<|im_end|>`` or
``Safety: Safe`` inside a forged turn stays text, as it does for the reward model. Only the
content's tokens are truncated (head and tail kept), so the template's closing tokens, after
which the model answers, always survive. It must not load models or read answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from qualitygate.errors import ModelLoadError
from qualitygate.tokenizing import TextEncoder

# A private-use sentinel: no template rewrites it, no content holds it by chance.
_SENTINEL = "\ue000qualitygate-guard-content\ue001"
_ELISION = "\n…\n"


@dataclass
class GuardPrompt:
    """Encodes contents for one guard tokenizer within ``max_length`` tokens."""

    tokenizer: PreTrainedTokenizerBase
    max_length: int
    generation: bool

    def __post_init__(self) -> None:
        self.encoder = TextEncoder(self.tokenizer)
        self.prefix, self.suffix = self._frame()
        self._elision = self.encoder.text(_ELISION)
        if self.max_length - len(self.prefix) - len(self.suffix) < len(self._elision) + 2:
            raise ModelLoadError(
                f"guard.max_length ({self.max_length}) leaves no room for content after the "
                f"guard's template ({len(self.prefix) + len(self.suffix)} tokens)"
            )

    def _frame(self) -> tuple[list[int], list[int]]:
        """The template's ids before and after the content (none without a template)."""
        if not getattr(self.tokenizer, "chat_template", None):
            if self.generation:
                raise ModelLoadError(
                    "the guard's tokenizer has no chat template; a generative guard needs "
                    "its own (set guard.kind: classifier for a plain classifier)"
                )
            return _special_frame(self.tokenizer)
        rendered = self._render(self.generation)
        if self.generation:
            plain = self._render(False)
            header = rendered[len(plain) :] if rendered.startswith(plain) else ""
            if header and plain.endswith(header):
                rendered = plain  # a guard template that opens the answer turn itself
        if rendered.count(_SENTINEL) != 1:
            raise ModelLoadError(
                "the guard's chat template does not place the user turn's content verbatim "
                "once; it cannot be used"
            )
        head, tail = rendered.split(_SENTINEL)
        return self.encoder.frame(head), self.encoder.frame(tail)

    def _render(self, generation: bool) -> str:
        rendered = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": _SENTINEL}],
            tokenize=False,
            add_generation_prompt=generation,
        )
        return rendered if isinstance(rendered, str) else ""

    def encode(self, contents: Sequence[str]) -> list[list[int]]:
        """Each content's ids inside the frame, the content cut to fit ``max_length``."""
        budget = self.max_length - len(self.prefix) - len(self.suffix)
        rows = []
        for ids in self.encoder.texts([content.strip() for content in contents]):
            if len(ids) > budget:
                keep = budget - len(self._elision)
                head = keep - keep // 4
                tail = keep - head
                ids = [*ids[:head], *self._elision, *(ids[-tail:] if tail else [])]
            rows.append([*self.prefix, *ids, *self.suffix])
        return rows


def _special_frame(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special tokens a plain classifier's tokenizer puts around one text (BERT's
    ``[CLS]`` ... ``[SEP]``, XLM-R's ``<s>`` ... ``</s>``), found around a placeholder word
    encoded with and without them (its post-processor decides, as it does in training)."""
    placeholder = "placeholder"
    plain = list(tokenizer(placeholder, add_special_tokens=False)["input_ids"])
    framed = list(tokenizer(placeholder, add_special_tokens=True)["input_ids"])
    for cut in range(len(framed) - len(plain) + 1):
        if framed[cut : cut + len(plain)] == plain:
            return framed[:cut], framed[cut + len(plain) :]
    return [], []
