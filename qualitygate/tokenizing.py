"""Token ids for the scorer: the template's frame with its control tokens, untrusted text without.

Owns the rule that keeps a comment from forging a chat turn. A tokenizer matches its added
tokens (``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``, Qwen3's ``<think>`` and
``<tool_call>``) inside any text it encodes, ``add_special_tokens=False`` or not. The
``tokenizers`` switch that turns this off, ``encode_special_tokens`` (what transformers'
``split_special_tokens`` sets), skips only tokens flagged special, and Qwen3 flags
``<think>`` and ``<tool_call>`` as not special. So untrusted text is encoded by a private
copy of the Rust backend in which every added token is flagged special and that switch is
on: the text still runs through the same normalizer, pre-tokenizer and BPE model, so
ordinary text gets the very ids it always got, and a control token's spelling becomes
ordinary BPE tokens. The template's own text goes through the tokenizer itself, control
tokens live. It must not know about prompts, models or scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import AddedToken, Tokenizer
from transformers import PreTrainedTokenizerBase

from qualitygate.errors import ModelLoadError


class TextEncoder:
    """Encodes trusted template text with its control tokens, untrusted text as plain text."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self.control_ids: frozenset[int] = frozenset(
            [*tokenizer.all_special_ids, *tokenizer.added_tokens_decoder]
        )
        self._text = _literal_backend(tokenizer)
        self._check_literal()

    def frame(self, text: str) -> list[int]:
        """Ids of the chat template's own text, control tokens live: only trusted text."""
        return list(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def text(self, text: str) -> list[int]:
        """Ids of untrusted text, every control token spelled out as ordinary tokens."""
        return self.texts([text])[0]

    def texts(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of each untrusted text; one backend call for all, on all cores.

        The raw backend gives the same ids as calling the tokenizer without its per-call
        Python bookkeeping (a third of the cost of a 1 KB item), and it does not warn about
        texts longer than the model, which the scorer truncates itself.
        """
        if self._text is None:
            encoded = self.tokenizer(
                list(texts), add_special_tokens=False, split_special_tokens=True, verbose=False
            )
            return [list(ids) for ids in encoded["input_ids"]]
        encodings = self._text.encode_batch(list(texts), add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def around(self, before: str, text: str, after: str) -> list[int]:
        """Ids of trusted ``before`` + untrusted ``text`` + trusted ``after``.

        The same ids one encoding of the whole string gives, except that control tokens in
        ``text`` stay text: a tokenizer encodes the stretch between two control tokens as
        one piece, so the template's plain text next to ``text`` (``user\\n``) is encoded
        with it, and a prompt that starts with a newline merges with the template's newline
        as it always did. A tokenizer that gives no offsets to cut at (one without a Rust
        backend) has its three parts encoded apart.
        """
        head = self._cut_frame(before, keep_head=True)
        tail = self._cut_frame(after, keep_head=False)
        if head is None or tail is None:
            return [*self.frame(before), *self.text(text), *self.frame(after)]
        (head_ids, head_end), (tail_ids, tail_start) = head, tail
        middle = self.text(before[head_end:] + text + after[:tail_start])
        return [*head_ids, *middle, *tail_ids]

    def _cut_frame(self, frame: str, keep_head: bool) -> tuple[list[int], int] | None:
        """The frame's ids up to its last control token (``keep_head``) or from its first,
        and where that cut falls in the string; the plain text past it is left to ``around``.
        None when the tokenizer gives no offsets."""
        encoded = self.tokenizer(
            frame, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        if "offset_mapping" not in encoded:
            return None
        ids, offsets = list(encoded["input_ids"]), encoded["offset_mapping"]
        positions = [i for i, token in enumerate(ids) if token in self.control_ids]
        if not positions:
            return [], 0 if keep_head else len(frame)
        if keep_head:
            return ids[: positions[-1] + 1], offsets[positions[-1]][1]
        return ids[positions[0] :], offsets[positions[0]][0]

    def _check_literal(self) -> None:
        """Refuse a tokenizer whose plain-text encoding still yields a control token."""
        for token in self.tokenizer.added_tokens_decoder.values():
            spelled = (token.content, f" {token.content} ", f"a{token.content}a")
            for ids in self.texts(spelled):
                if self.control_ids.intersection(ids):
                    raise ModelLoadError(
                        f"the tokenizer turns the plain text {token.content!r} into a control "
                        "token, so a comment could forge a chat turn; it cannot be used for scoring"
                    )


def _literal_backend(tokenizer: PreTrainedTokenizerBase) -> Tokenizer | None:
    """A private copy of a fast tokenizer's Rust backend that matches no added token.

    Every added token is flagged special and ``encode_special_tokens`` is on. Padding and
    truncation are off: a tokenizer.json can carry them (saved by whoever last called the
    tokenizer with ``padding=True``); the tokenizer's own ``__call__`` resets them on every
    call, a raw backend would apply them.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not getattr(tokenizer, "is_fast", False) or backend is None:
        return None
    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    copy.no_truncation()
    copy.add_special_tokens(
        [_as_special(token) for token in copy.get_added_tokens_decoder().values()]
    )
    copy.encode_special_tokens = True
    return copy


def _as_special(token: AddedToken) -> AddedToken:
    return AddedToken(
        token.content,
        single_word=token.single_word,
        lstrip=token.lstrip,
        rstrip=token.rstrip,
        normalized=token.normalized,
        special=True,
    )


__all__ = ["TextEncoder"]
