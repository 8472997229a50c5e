"""Builds the tiny random reward model that tests, CI and demos run on.

Its scores mean nothing, but every code path is the real one: a
``Qwen3ForSequenceClassification`` checkpoint on disk, a byte-level BPE tokenizer trained
from the multilingual sample shipped in ``qualitygate/data``, a distinct pad token and a
Qwen-style chat template, all loaded back through ``from_pretrained``. Its tokenizer has Qwen3's
control tokens too, flagged as Qwen3 flags them, so the scorer is tested against the real
tokenizer's traps. The config carries a marker so every place that shows its scores can say
it is a test model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForSequenceClassification

from qualitygate.scoring import TEST_MODEL_MARKER

PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
# Qwen3's reasoning and tool-call tokens are added tokens *not* flagged special: the
# tokenizer still matches them inside any text, and `split_special_tokens` leaves them live.
QWEN3_PLAIN_ADDED_TOKENS = (
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)
QWEN_STYLE_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


def _sample_text() -> list[str]:
    sample = resources.files("qualitygate").joinpath("data/tokenizer_sample.txt")
    return sample.read_text(encoding="utf-8").splitlines()


def build_tokenizer(vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE: any Unicode text encodes, so no input is ever out of vocabulary."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    return train_chat_tokenizer(tokenizer, _sample_text(), vocab_size)


def train_chat_tokenizer(
    tokenizer: Tokenizer, texts: Iterable[str], vocab_size: int
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE ``tokenizer`` (its normaliser and pre-tokenizer already set) on
    ``texts``, with Qwen3's control tokens flagged as Qwen3 flags them and a Qwen-style chat
    template: the traps of the real tokenizer, in a few kilobytes."""
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_tokens(
        [AddedToken(token, special=False, normalized=False) for token in QWEN3_PLAIN_ADDED_TOKENS]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        eos_token=IM_END,
        extra_special_tokens=[IM_START],
        chat_template=QWEN_STYLE_CHAT_TEMPLATE,
        model_max_length=32768,
    )


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a Qwen3 decoder; the parameter count follows from them."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int

    def qwen3_config(self, vocab_size: int, pad_token_id: int, max_positions: int) -> Qwen3Config:
        """A one-label reward model's config of this shape, marked as a test model."""
        config = Qwen3Config(
            vocab_size=vocab_size,
            max_position_embeddings=max_positions,
            num_labels=1,
            pad_token_id=pad_token_id,
            tie_word_embeddings=False,
            **asdict(self),
        )
        setattr(config, TEST_MODEL_MARKER, True)
        return config


# The tiny shape tests and demos run on: a forward pass in about a millisecond on a CPU.
TEST_SHAPE = ModelShape(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    intermediate_size=64,
)


def build_model(
    vocab_size: int, pad_token_id: int, seed: int = 0
) -> Qwen3ForSequenceClassification:
    torch.manual_seed(seed)
    config = TEST_SHAPE.qwen3_config(vocab_size, pad_token_id, max_positions=32768)
    return Qwen3ForSequenceClassification(config).eval()


def _centre_score_head(
    model: Qwen3ForSequenceClassification, tokenizer: PreTrainedTokenizerFast
) -> None:
    """Point the random score head away from the hidden states' shared direction.

    A random head reads mostly the direction every final hidden state shares, so all
    rewards land on one side of zero and a demo shows a single level. Removing that
    component and scaling the head gives rewards centred near zero with a spread of
    about two units on the shipped sample (templated as chats, as the scorer sees
    text), like a real reward model's logits. The rewards still come from the forward
    pass; they stay meaningless.
    """
    chats = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "Write a post."}, {"role": "assistant", "content": line}],
            tokenize=False,
        )
        for line in _sample_text()
        if line.strip()
    ]
    batch = tokenizer(chats, padding=True, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        hidden = model.model(**batch).last_hidden_state
        last = batch["attention_mask"].sum(dim=1) - 1
        states = hidden[torch.arange(len(chats)), last]
        shared = states.mean(dim=0)
        weight = model.score.weight[0]
        weight -= (weight @ shared) / (shared @ shared) * shared
        spread = (states @ weight).std()
        model.score.weight.mul_(2.0 / spread)
    # Batch encoding switched padding on in the backend; it must not be saved with it.
    tokenizer.backend_tokenizer.no_padding()


def make_test_model(directory: str | Path, seed: int = 0) -> Path:
    """Write the tiny model and tokenizer to ``directory``; returns the path."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    model = build_model(len(tokenizer), tokenizer.pad_token_id, seed=seed)
    _centre_score_head(model, tokenizer)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
