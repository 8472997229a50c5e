"""The reward model on its real code path: template, truncation, batching, loading errors.

Runs the tiny random Qwen3 test model through transformers and tokenizers, so the
assertions hold for any checkpoint loaded the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qualitygate.config import ModelSettings, Settings
from qualitygate.errors import ModelLoadError
from qualitygate.scoring import RewardScorer, pack_batches
from qualitygate.testmodel import build_tokenizer

WORDS = "the river bends past old mills where families once ground wheat for the town".split()
PROMPT = "Write an informative article."


def article(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


@pytest.fixture(scope="module")
def scorer(settings: Settings) -> RewardScorer:
    return RewardScorer.load(settings.model)


def test_batched_scores_equal_unbatched(scorer: RewardScorer) -> None:
    pairs = [
        (PROMPT, "Nice post, thanks a lot!"),
        (PROMPT, article(3000)),
        ("짧은 댓글을 쓰세요.", "좋은 정보 감사합니다 ㅋㅋㅋ"),
        (PROMPT, article(400)),
    ]
    batched = scorer.score(pairs)
    one_by_one = [scorer.score([pair])[0] for pair in pairs]
    assert scorer.stats.batches > 0
    assert batched == pytest.approx(one_by_one, abs=1e-4)
    # Different inputs give different rewards: the comparison above is not vacuous.
    assert len({round(value, 6) for value in batched}) == len(pairs)


def test_reward_is_read_where_the_chat_template_ends(scorer: RewardScorer) -> None:
    content = "A short, friendly comment."
    ids = scorer.encode_pair(PROMPT, content)
    templated = scorer.tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": content}],
        tokenize=False,
    )
    assert ids == scorer.tokenizer(templated, add_special_tokens=False)["input_ids"]
    # The model's reward equals the score head applied at the template's last token,
    # even when the row sits in a padded batch beside a longer one.
    with torch.inference_mode():
        hidden = scorer.model.model(input_ids=torch.tensor([ids])).last_hidden_state
        expected = scorer.model.score(hidden[0, -1]).item()
    padded_batch = scorer.score([(PROMPT, content), (PROMPT, article(200))])
    assert padded_batch[0] == pytest.approx(expected, abs=1e-5)
    with torch.inference_mode():
        second_last = scorer.model.score(hidden[0, -2]).item()
    assert second_last != pytest.approx(expected, abs=1e-5)


def test_truncation_cuts_content_never_the_template(settings: Settings) -> None:
    short = settings.model.model_copy(update={"max_length": 256, "batch_tokens": 1024})
    scorer = RewardScorer.load(short)
    long_text = "BEGINNING " + article(2000) + " THE-END"
    ids = scorer.encode_pair(PROMPT, long_text)
    # The test model's Qwen-style template closes the assistant turn with these tokens.
    closing = scorer.tokenizer("<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert len(ids) <= 256
    assert ids[-len(closing) :] == closing
    decoded = scorer.tokenizer.decode(ids)
    assert "BEGINNING" in decoded and "THE-END" in decoded and "…" in decoded
    assert len(scorer.score([(PROMPT, long_text)])) == 1


def test_long_prompt_is_capped(settings: Settings) -> None:
    capped = settings.model.model_copy(
        update={"max_length": 512, "max_prompt_tokens": 64, "batch_tokens": 2048}
    )
    scorer = RewardScorer.load(capped)
    ids = scorer.encode_pair(article(1000), "fine")
    assert len(ids) < 64 + 40


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 4096), min_size=0, max_size=80),
    budget=st.integers(4096, 20000),
)
def test_pack_batches_covers_each_item_once_within_budget(lengths: list[int], budget: int) -> None:
    batches = pack_batches(lengths, budget)
    flat = [index for batch in batches for index in batch]
    assert sorted(flat) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= budget


def test_pack_batches_groups_similar_lengths() -> None:
    lengths = [4000, 20, 3900, 25, 30, 3950]
    batches = pack_batches(lengths, 16000)
    assert sorted(map(sorted, batches)) == [[0, 2, 5], [1, 3, 4]]


def test_missing_model_names_the_setting_to_change(tmp_path: Path, settings: Settings) -> None:
    missing = settings.model.model_copy(update={"name": str(tmp_path / "no-such-model")})
    with pytest.raises(ModelLoadError) as caught:
        RewardScorer.load(missing)
    assert "model.name" in caught.value.message
    assert "--model" in caught.value.message
    assert "make-test-model" in caught.value.message


def test_model_with_several_labels_is_refused(tmp_path: Path, settings: Settings) -> None:
    from transformers import AutoConfig, Qwen3ForSequenceClassification

    config = AutoConfig.from_pretrained(settings.model.name, num_labels=3)
    Qwen3ForSequenceClassification(config).save_pretrained(tmp_path)
    build_tokenizer().save_pretrained(tmp_path)
    bad = settings.model.model_copy(update={"name": str(tmp_path)})
    with pytest.raises(ModelLoadError, match="3 labels; a reward model has exactly one"):
        RewardScorer.load(bad)


def test_tokenizer_without_pad_token_is_refused(tmp_path: Path, settings: Settings) -> None:
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(settings.model.name).save_pretrained(
        tmp_path
    )
    tokenizer = build_tokenizer()
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    bad = settings.model.model_copy(update={"name": str(tmp_path)})
    with pytest.raises(ModelLoadError, match="no pad token"):
        RewardScorer.load(bad)


def test_cpu_runs_float32_and_reports_test_model(scorer: RewardScorer) -> None:
    assert next(scorer.model.parameters()).dtype == torch.float32
    assert scorer.info.test_model is True
    assert isinstance(scorer.settings, ModelSettings)
