"""Tiny random guard models for tests, CI and demos: a generative Qwen3 guard whose chat
template asks for the real answer format, and a multi-label Qwen3 classifier.

Both reuse the reward test model's tokenizer and shape (``qualitygate.testmodel``) and carry
its test-model marker, so results say their guard findings come from a test model. The
generative one's random weights answer garbage, which the strict parser must turn into
``guard.unparsed``; ``force_answer`` rewires a copy so greedy decoding emits a chosen
answer token by token (each answer token's embedding is a basis vector, the layers add
nothing to the residual stream, the head maps each token to the next): a real model, real
``generate``, a known answer. Never for production.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import torch
from tokenizers import AddedToken
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedTokenizerFast,
    Qwen3ForCausalLM,
    Qwen3ForSequenceClassification,
)

from qualitygate.testmodel import IM_END, TEST_SHAPE, build_tokenizer

GENERATIVE, CLASSIFIER = "generative", "classifier"
CLASSIFIER_LABELS = ("violent", "sexual", "self_harm", "hate")
# The answer's fixed words as tokens (a real Qwen tokenizer nearly has them): a forced answer
# then repeats no token (":", " " and "\n" would), which a next-token table needs.
ANSWER_TOKENS = ("Safety: ", "\nCategories: ")
_POLICY = (
    "Violent; Non-violent Illegal Acts; Sexual Content or Sexual Acts; PII; "
    "Suicide & Self-Harm; Unethical Acts; Politically Sensitive Topics; Copyright Violation; "
    "Jailbreak"
)
_INSTRUCTION_HEAD = (
    "# Task:\\n1) Evaluate whether THE LAST USER's query belongs to safe or unsafe content "
    "based on our safety policy.\\n2) Identify the category of unsafe content found.\\n\\n"
    "<BEGIN SAFETY POLICY>\\n" + _POLICY + "\\n<END SAFETY POLICY>\\n\\n"
    "<BEGIN CONVERSATION>\\n\\nUSER: "
)
_INSTRUCTION_TAIL = (
    "\\n\\n<END CONVERSATION>\\n\\nProvide your safety assessment for ONLY THE LAST "
    "**USER's query** in the above conversation:\\n - The first line must be one of: "
    "'Safety: Safe', 'Safety: Unsafe', 'Safety: Controversial'.\\n - The second line must "
    "start with 'Categories:' followed by a list of any unsafe content categories, "
    "separated by commas. If the content is safe, use 'Categories: None'."
)
GUARD_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{ '<|im_start|>user\\n" + _INSTRUCTION_HEAD.replace("'", "\\'") + "' + message['content']"
    " + '" + _INSTRUCTION_TAIL.replace("'", "\\'") + "<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


def build_guard_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = build_tokenizer()
    tokenizer.add_tokens([AddedToken(token, normalized=False) for token in ANSWER_TOKENS])
    tokenizer.chat_template = GUARD_CHAT_TEMPLATE
    return tokenizer


def build_generative(seed: int = 0) -> tuple[Qwen3ForCausalLM, PreTrainedTokenizerFast]:
    torch.manual_seed(seed)
    tokenizer = build_guard_tokenizer()
    config = TEST_SHAPE.qwen3_config(len(tokenizer), tokenizer.pad_token_id, 32768)
    config.eos_token_id = tokenizer.convert_tokens_to_ids(IM_END)
    config.num_labels = 2  # unused by a causal LM; keeps the config a plain Qwen3 one
    return Qwen3ForCausalLM(config).eval(), tokenizer


def build_classifier(
    seed: int = 0,
) -> tuple[Qwen3ForSequenceClassification, PreTrainedTokenizerFast]:
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    config = TEST_SHAPE.qwen3_config(len(tokenizer), tokenizer.pad_token_id, 32768)
    config.num_labels = len(CLASSIFIER_LABELS)
    config.id2label = dict(enumerate(CLASSIFIER_LABELS))
    config.label2id = {label: i for i, label in enumerate(CLASSIFIER_LABELS)}
    config.problem_type = "multi_label_classification"
    return Qwen3ForSequenceClassification(config).eval(), tokenizer


def make_guard_test_models(directory: str | Path, seed: int = 0) -> Path:
    """Write ``DIR/generative`` and ``DIR/classifier``; returns ``DIR``."""
    target = Path(directory)
    for name, build in ((GENERATIVE, build_generative), (CLASSIFIER, build_classifier)):
        model, tokenizer = build(seed)
        model.save_pretrained(target / name)
        tokenizer.save_pretrained(target / name)
    return target


def force_answer(source: str | Path, target: str | Path, answer: str) -> Path:
    """Copy the generative guard at ``source`` to ``target``, rewired so greedy decoding
    answers ``answer`` (then its end token) whatever the text."""
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    frame = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True
    )
    frame_ids = tokenizer(frame, add_special_tokens=False)["input_ids"]
    chain = [
        frame_ids[-1],
        *tokenizer(answer, add_special_tokens=False)["input_ids"],
        tokenizer.convert_tokens_to_ids(IM_END),
    ]
    size = model.config.hidden_size
    if len(set(chain[:-1])) != len(chain) - 1 or len(chain) > size:
        raise ValueError(f"{answer!r} repeats a token or is too long to force")
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        for position, (token, following) in enumerate(pairwise(chain)):
            model.model.embed_tokens.weight[token] = 0.0
            model.model.embed_tokens.weight[token, position] = size**0.5
            model.lm_head.weight[following, position] = 10.0
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return Path(target)
