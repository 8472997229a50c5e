"""Token ids of (prompt, content) pairs exactly as the reward model reads them.

Owns the tokenizer half of scoring: the tokenizer's own chat template, rendered once around
sentinels, frames each pair; only that frame produces control tokens, the prompt and the
content reach the model as text (``tokenizing``), so no string can forge a chat turn; only
the content's tokens are truncated (head and tail), so the template's closing tokens, where
the reward is read, always survive; and the pad token is checked against the template's
last token, so batched scores equal unbatched ones. It needs the tokenizer alone, so a
process that prepares items for a worker (``workers.prepare_pool``) tokenizes them without
loading the model. It must not load a model or score.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from qualitygate.config import ModelSettings
from qualitygate.errors import ModelLoadError, first_line
from qualitygate.tokenizing import TextEncoder

# Private-use characters: no chat template rewrites them, no text contains them by chance.
_SENTINEL = "\ue000qualitygate-content\ue001"
_PROMPT_SENTINEL = "\ue000qualitygate-prompt\ue001"
_ELISION = "\n…\n"
HOW_TO_FIX = (
    "Set model.name in the config (or QG_MODEL__NAME, or --model) to a hub name or a local "
    "directory of a one-label sequence-classification reward model; "
    "`qualitygate make-test-model DIR` builds a tiny test model."
)


def load_tokenizer(settings: ModelSettings) -> PreTrainedTokenizerBase:
    """The model's tokenizer, by hub name or path; ModelLoadError saying how to fix it."""
    try:
        return AutoTokenizer.from_pretrained(settings.name, revision=settings.revision)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(
            f"cannot load the reward model '{settings.name}' "
            f"(revision {settings.revision}): {first_line(exc)}. {HOW_TO_FIX}"
        ) from exc


def require_pad_id(tokenizer: PreTrainedTokenizerBase, name: str) -> int:
    """The tokenizer's pad id; a tokenizer without one cannot batch rows of any length."""
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        raise ModelLoadError(
            f"the tokenizer of '{name}' has no pad token, so batched scores would be read at "
            "the wrong position; give the tokenizer a pad token distinct from its end tokens"
        )
    return int(pad_id)


def require_chat_template(tokenizer: PreTrainedTokenizerBase, name: str) -> None:
    """A reward model is read through the template it was trained on; without one, refuse."""
    if not getattr(tokenizer, "chat_template", None):
        raise ModelLoadError(
            f"the tokenizer of '{name}' has no chat template, so (prompt, content) "
            f"pairs cannot be formatted the way the model was trained. {HOW_TO_FIX}"
        )


class PairEncoder:
    """Templated, truncated token ids of (prompt, content) pairs, for one tokenizer."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, settings: ModelSettings) -> None:
        self.tokenizer = tokenizer
        self.settings = settings
        self.pad_id = require_pad_id(tokenizer, settings.name)
        self.text_encoder = TextEncoder(tokenizer)
        self._frame_text = self._render_frame()
        self.template_parts = lru_cache(maxsize=256)(self._template_parts)
        self._elision_ids = self.text_encoder.text(_ELISION)
        # Check the template once, on a real prompt, so a bad checkpoint fails at start.
        _, suffix = self.template_parts("Check the chat template.")
        if suffix and suffix[-1] == self.pad_id:
            raise ModelLoadError(
                f"the tokenizer of '{settings.name}' pads with the token that ends the chat "
                "template, so the model would read the reward at the wrong position; give the "
                "tokenizer a distinct pad token"
            )

    @classmethod
    def load(cls, settings: ModelSettings) -> PairEncoder:
        """The encoder of the model ``settings`` name, its tokenizer loaded alone."""
        tokenizer = load_tokenizer(settings)
        require_chat_template(tokenizer, settings.name)
        return cls(tokenizer, settings)

    def encode_pair(self, prompt: str, content: str) -> list[int]:
        """Token ids of the templated pair, the content truncated (head and tail) to fit."""
        return self._wrap(prompt, self.text_encoder.text(content.strip()))

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """Token ids of each templated pair; the contents in one backend call, on all cores."""
        if not pairs:
            return []
        contents = self.text_encoder.texts([content.strip() for _, content in pairs])
        return [self._wrap(prompt, ids) for (prompt, _), ids in zip(pairs, contents, strict=True)]

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
        prompt_ids = self.text_encoder.text(prompt)
        if len(prompt_ids) > self.settings.max_prompt_tokens:
            prompt = self.tokenizer.decode(prompt_ids[: self.settings.max_prompt_tokens])
        head, middle, tail = self._frame_text
        prefix = self.text_encoder.around(head, prompt, middle)
        suffix = self.text_encoder.frame(tail)
        bos = self.tokenizer.bos_token_id
        # A template that writes BOS itself plus a tokenizer that adds one gives two.
        while bos is not None and prefix[:2] == [bos, bos]:
            prefix = prefix[1:]
        return prefix, suffix

    def _wrap(self, prompt: str, content_ids: list[int]) -> list[int]:
        """The content's ids, truncated to fit, between the prompt's template parts."""
        prefix, suffix = self.template_parts(prompt)
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
