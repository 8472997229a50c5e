"""Random reward models with the shapes the benchmarks need, written where the scorer loads them.

The benchmarks measure the project's real loading and scoring path, so the model goes to
disk as a checkpoint with the project's test tokenizer and chat template and comes back
through ``RewardScorer.load``. Weights are random and seeded: scores mean nothing, but
the arithmetic is the real one. The model carries the test-model marker for that reason.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Qwen3ForSequenceClassification

from qualitygate.config import ModelSettings, load_settings
from qualitygate.testmodel import TEST_SHAPE, ModelShape, build_tokenizer

# Big enough that matrix multiplies, not Python, dominate a forward pass on a CPU core.
CPU_BENCH_SHAPE = ModelShape(
    hidden_size=512,
    num_hidden_layers=8,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=64,
    intermediate_size=1536,
)
SMOKE_SHAPE = TEST_SHAPE


def make_bench_model(
    directory: str | Path, shape: ModelShape, max_positions: int = 32768, seed: int = 0
) -> Path:
    """Write a seeded random reward model of ``shape`` and the test tokenizer to ``directory``."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    model = Qwen3ForSequenceClassification(
        shape.qwen3_config(len(tokenizer), tokenizer.pad_token_id, max_positions)
    )
    # Spread the random rewards over a few units, like a real reward model's logits, so
    # a 1e-4 agreement between scoring methods is a real test and not a rounding artefact.
    with torch.no_grad():
        model.score.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed))
    model.eval().save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def bench_model_settings(
    model_dir: str | Path, max_length: int, batch_tokens: int, device: str = "cpu"
) -> ModelSettings:
    """The default model settings, pointed at a benchmark model, in float32 on ``device``."""
    defaults = load_settings().model.model_dump()
    return ModelSettings(
        **defaults
        | {
            "name": str(model_dir),
            "device": device,
            "dtype": "float32",
            "max_length": max_length,
            "batch_tokens": batch_tokens,
            "max_prompt_tokens": min(defaults["max_prompt_tokens"], max_length // 2 - 1),
        }
    )


def parameter_count(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
