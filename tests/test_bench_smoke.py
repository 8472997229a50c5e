"""The benchmarks still run and still measure what they claim, on tiny inputs.

No timings are asserted: speed lives in bench/results. These tests check the parts a
benchmark's numbers rest on: the corpus is the same every time and within its ranges, the
three scoring methods see the same tokens and agree on scores, the packer wastes no more
padding than fixed batches, and the GPU benchmark's FLOP count rests on the real
parameter count of the 8B shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench import corpus, gpu, pipeline, scoring
from bench.models import SMOKE_SHAPE
from qualitygate.scoring import Scorer


def test_corpus_is_seeded_and_within_its_ranges() -> None:
    first, second = corpus.generate(64, seed=7), corpus.generate(64, seed=7)
    assert first == second
    assert corpus.generate(64, seed=8) != first
    for item in first:
        kind = corpus.KIND_BY_NAME[item.kind]
        assert kind.min_chars <= len(item.text) <= kind.max_chars, (item.kind, len(item.text))
    assert {item.language for item in first} == set(corpus.LANGUAGES)
    assert len({item.id for item in first}) == len(first)


def test_scoring_set_has_every_kind_and_language() -> None:
    items = corpus.scoring_items()
    assert len(items) == corpus.SCORING_ITEM_COUNT
    assert {item.kind for item in items} == {kind.name for kind in corpus.KINDS}
    for language in corpus.LANGUAGES:
        assert sum(item.language == language for item in items) == len(items) // 4


@pytest.mark.parametrize("language", corpus.LANGUAGES)
def test_text_of_bytes_stays_within_its_size(language: str) -> None:
    text = corpus.text_of_bytes(language, 1024)
    size = len(text.encode("utf-8"))
    assert 0.8 * 1024 <= size <= 1024


def test_scoring_methods_agree_and_the_scorer_pads_least() -> None:
    payload = scoring.run_benchmark(
        items=12,
        max_length=256,
        batch_tokens=1024,
        threads=1,
        methods=("a", "b", "c", "c32"),
        shape=SMOKE_SHAPE,
        in_process=True,
    )
    runs = payload["results"]
    real_tokens = {run["real_tokens"] for run in runs.values()}
    assert len(real_tokens) == 1, "every method must score the same token ids"
    for method in ("b", "c", "c32"):
        assert runs[method]["max_score_difference_vs_a"] < 1e-4
    assert runs["a"]["padding_efficiency"] == 1.0
    assert runs["c"]["padding_efficiency"] >= runs["b"]["padding_efficiency"]
    assert payload["corpus"]["tokens_max"] <= 256
    assert payload["score_range"][0] < payload["score_range"][1]


def test_gpu_bench_smoke_packs_to_the_budget() -> None:
    payload = gpu.run_benchmark(
        tiny=True, item_tokens=64, items=8, batch_token_budgets=[128, 256], peak_tflops=1.0
    )
    first, second = payload["results"]
    assert (first["forward_passes"], second["forward_passes"]) == (4, 2)
    for run in payload["results"]:
        assert run["scores_finite"]
        assert run["padding_efficiency"] == 1.0
        assert run["mfu"] == pytest.approx(run["achieved_tflops"] / 1.0)


def test_gpu_flops_rest_on_the_8b_parameter_count() -> None:
    shape = gpu.SKYWORK_QWEN3_8B_SHAPE
    model = gpu.build_random_model(
        shape, gpu.SKYWORK_QWEN3_VOCAB, 0, torch.device("meta"), torch.bfloat16
    )
    hidden, kv_width = shape.hidden_size, shape.num_key_value_heads * shape.head_dim
    per_layer = (
        2 * hidden * hidden  # q and o projections (32 heads x 128 = hidden)
        + 2 * hidden * kv_width  # k and v projections
        + 3 * hidden * shape.intermediate_size  # gate, up, down
        + 2 * hidden  # the two RMSNorms
        + 2 * shape.head_dim  # q_norm and k_norm
    )
    expected = shape.num_hidden_layers * per_layer + hidden + hidden  # final norm, score head
    assert gpu.matmul_parameters(model) == expected
    assert 6.9e9 < expected < 7.0e9
    flops = gpu.forward_flops([2000], expected, shape)
    assert flops == 2 * expected * 2000 + 2 * 36 * 2000**2 * 32 * 128


def test_pipeline_bench_uses_a_scorer_double_and_reports_every_case(tmp_path: Path) -> None:
    assert isinstance(pipeline.ConstantScorer(), Scorer)
    payload = pipeline.run_benchmark(
        count_small=4,
        count_large=2,
        languages=("ko", "en"),
        formats=("plain", "html"),
        profile_to=tmp_path / "profile.txt",
    )
    cases = {(row["language"], row["size"], row["format"]) for row in payload["results"]}
    assert len(cases) == 2 * 2 * 2
    for row in payload["results"]:
        assert row["total"]["p50_ms"] <= row["total"]["p99_ms"]
    assert "time_item" in (tmp_path / "profile.txt").read_text(encoding="utf-8")


def test_scorer_tokenizes_the_corpus_as_the_tokenizer_does(tmp_path: Path) -> None:
    """The benchmark's token counts are the tokenizer's own: the fast path changes no id."""
    from bench.models import bench_model_settings, make_bench_model
    from qualitygate.scoring import RewardScorer

    make_bench_model(tmp_path, SMOKE_SHAPE)
    scorer = RewardScorer.load(bench_model_settings(tmp_path, 4096, 16384))
    texts = [item.text for item in corpus.generate(40, seed=3)]
    expected = [scorer.tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    assert scorer.encoder.text_encoder.texts(texts) == expected
    assert [scorer.encoder.text_encoder.text(text) for text in texts] == expected


def test_scorer_ignores_padding_and_truncation_saved_in_tokenizer_json(tmp_path: Path) -> None:
    """A tokenizer.json saved after ``padding=True`` must not pad or cut the scorer's ids."""
    from bench.models import bench_model_settings, make_bench_model
    from qualitygate.scoring import RewardScorer
    from qualitygate.testmodel import build_tokenizer

    make_bench_model(tmp_path, SMOKE_SHAPE)
    tokenizer = build_tokenizer()
    texts = ["short", "a much longer text than the first one, with more tokens in it"]
    expected = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    tokenizer(texts, padding=True)  # leaves padding switched on in the Rust backend
    tokenizer.backend_tokenizer.enable_truncation(max_length=4)
    tokenizer.save_pretrained(tmp_path)
    scorer = RewardScorer.load(bench_model_settings(tmp_path, 4096, 16384))
    assert scorer.encoder.text_encoder.texts(texts) == expected


def test_the_overlap_double_sleeps_the_flop_formula_and_says_it_is_no_model() -> None:
    from bench import overlap_double
    from qualitygate.testmodel import build_tokenizer

    model = gpu.build_random_model(SMOKE_SHAPE, 300, 0, torch.device("cpu"), torch.float32)
    assert overlap_double.matmul_parameters(SMOKE_SHAPE) == gpu.matmul_parameters(model)
    shape = overlap_double.SHAPES["0.6b"]
    params = overlap_double.matmul_parameters(shape)
    flops = gpu.forward_flops([350, 1200], params, shape)
    expected_s = flops / (overlap_double.PEAK_TFLOPS * 1e12 * overlap_double.MFU)
    assert overlap_double.forward_seconds([350, 1200], shape) == pytest.approx(expected_s)
    assert 0.4e-3 < overlap_double.forward_seconds([350], shape) < 1e-3  # the "< 1 ms"

    class Encoder:
        def encode_pairs(self, pairs: list[tuple[str, str]]) -> list[list[int]]:
            return [build_tokenizer()(text)["input_ids"] for _, text in pairs]

    double = overlap_double.SleepScorer(Encoder(), "0.6b")
    assert isinstance(double, Scorer)
    assert double.info.test_model and "NOT a real model" in double.info.name
    assert len(double.score([("p", "one text"), ("p", "another")])) == 2
