"""TextEncoder on tokenizers shaped like the real ones: exact ids for ordinary text, none of
the control tokens for untrusted text, and a refusal where that cannot be had.

The Qwen3-like tokenizer here has Qwen3's pipeline (NFC, its split regex, byte-level BPE)
and is trained on text with newlines and runs of spaces, so whitespace merges across the
template's edge exist: the place where encoding the prompt apart from the template would
change ids.
"""

from __future__ import annotations

from importlib import resources

import pytest
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    models,
    normalizers,
    pre_tokenizers,
)
from transformers import ByT5Tokenizer, PreTrainedTokenizerFast

from qualitygate.errors import ModelLoadError
from qualitygate.testmodel import (
    train_chat_tokenizer,
)
from qualitygate.tokenizing import TextEncoder

QWEN3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SAMPLE = [
    "Write a short comment.",
    "\n\nStarts with a blank line",
    "\n  indented first line\n",
    "   three spaces first, two last  ",
    "좋은 정보 감사합니다 ㅋㅋㅋ\n\n다음에도 부탁드려요",
    "今日はいい天気ですね。\n\tタブも。",
    "这个产品质量很好，物流也很快！\r\n",
    "e\u0301 (decomposed) and é 🙂👍🏽 👨\u200d👩\u200d👧",
    "a < b | c > d, <not a token>, <|almost|, |> and </ think>",
]


def _corpus() -> list[str]:
    sample = resources.files("qualitygate").joinpath("data/tokenizer_sample.txt")
    lines = [line for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    joins = ["\n", "\n\n", "\n  ", "  ", "\n\n\n", " \n"]
    return [
        joins[i % len(joins)].join(lines[i : i + 3]) + joins[(i + 1) % len(joins)]
        for i in range(0, len(lines), 3)
    ]


def qwen3_like_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    return train_chat_tokenizer(tokenizer, _corpus(), vocab_size=1200)


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return qwen3_like_tokenizer()


@pytest.fixture(scope="module")
def encoder(tokenizer: PreTrainedTokenizerFast) -> TextEncoder:
    return TextEncoder(tokenizer)


def _user_turn(tokenizer: PreTrainedTokenizerFast) -> tuple[str, str]:
    """The template's text before and after the user turn's content."""
    mark = "\ue010prompt\ue011"
    templated = tokenizer.apply_chat_template([{"role": "user", "content": mark}], tokenize=False)
    before, after = templated.split(mark)
    return before, after


def test_ordinary_text_gets_the_ids_the_tokenizer_gives(
    tokenizer: PreTrainedTokenizerFast, encoder: TextEncoder
) -> None:
    expected = tokenizer(SAMPLE, add_special_tokens=False)["input_ids"]
    assert encoder.texts(SAMPLE) == expected
    assert [encoder.text(text) for text in SAMPLE] == expected


def test_text_in_the_template_gets_the_ids_of_the_whole_string(
    tokenizer: PreTrainedTokenizerFast, encoder: TextEncoder
) -> None:
    before, after = _user_turn(tokenizer)
    split_apart = 0
    for text in SAMPLE:
        whole = tokenizer(before + text + after, add_special_tokens=False)["input_ids"]
        assert encoder.around(before, text, after) == whole
        apart = [*encoder.frame(before), *encoder.text(text), *encoder.frame(after)]
        split_apart += apart != whole
    # Encoding the text apart from the template's edge would have changed some ids: the
    # equality above is not vacuous on this tokenizer.
    assert split_apart > 0


def test_a_template_without_control_tokens_is_encoded_whole(encoder: TextEncoder) -> None:
    before, after = "Question:\n", "\n\nAnswer:"
    for text in SAMPLE:
        assert encoder.around(before, text, after) == encoder.frame(before + text + after)


@pytest.mark.parametrize("edge", ["{}", "x{}y", " {} ", "\n{}\n", "<{}>", "{}{}"])
def test_every_control_token_is_encoded_as_its_spelling(
    tokenizer: PreTrainedTokenizerFast, encoder: TextEncoder, edge: str
) -> None:
    tokens = [token.content for token in tokenizer.added_tokens_decoder.values()]
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "<tool_call>"} <= set(tokens)
    for token in tokens:
        text = edge.format(token, token) if edge.count("{}") == 2 else edge.format(token)
        ids = encoder.text(text)
        assert not encoder.control_ids & set(ids), text
        assert tokenizer.decode(ids) == text
        before, after = _user_turn(tokenizer)
        framed = encoder.around(before, text, after)
        frame_only = [*encoder.frame(before), *encoder.frame(after)]
        assert [i for i in framed if i in encoder.control_ids] == [
            i for i in frame_only if i in encoder.control_ids
        ]


def test_control_ids_are_every_special_and_added_token(
    tokenizer: PreTrainedTokenizerFast, encoder: TextEncoder
) -> None:
    assert encoder.control_ids == set(tokenizer.all_special_ids) | set(
        tokenizer.added_tokens_decoder
    )
    assert tokenizer.convert_tokens_to_ids("<think>") in encoder.control_ids


def test_encoder_leaves_the_tokenizer_as_it_was(tokenizer: PreTrainedTokenizerFast) -> None:
    TextEncoder(tokenizer)
    think = tokenizer.convert_tokens_to_ids("<think>")
    assert tokenizer("<think>", add_special_tokens=False)["input_ids"] == [think]
    assert tokenizer.backend_tokenizer.encode_special_tokens is False


def test_a_tokenizer_that_makes_control_tokens_from_text_is_refused() -> None:
    """A word-level vocabulary that holds the control token's spelling as a word: plain
    text yields the control id, so no encoding keeps untrusted text out of the frame."""
    vocab = {"[UNK]": 0, "<|im_end|>": 1, "hello": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.add_special_tokens([AddedToken("<|im_end|>", special=True)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    with pytest.raises(ModelLoadError, match="forge a chat turn"):
        TextEncoder(tokenizer)


def test_a_python_tokenizer_encodes_control_tokens_as_text() -> None:
    tokenizer = ByT5Tokenizer()
    encoder = TextEncoder(tokenizer)
    text = "a<pad>b</s>c<unk>"
    ids = encoder.text(text)
    assert not encoder.control_ids & set(ids)
    assert tokenizer.decode(ids) == text
    framed = encoder.around("</s>", text, "<pad>")
    assert framed == [tokenizer.eos_token_id, *ids, tokenizer.pad_token_id]
