"""A scorer double for bench/overlap.py: real tokenizing, then a GIL-free wait as long as a
forward pass of a stated model on a stated GPU would take, and scores that mean nothing.

The wait is ``time.sleep`` of the useful forward FLOPs of the batch's real token counts
(the formula of ``bench.gpu.forward_flops``, padding not counted) over the card's dense
bf16 peak times an assumed utilisation. It reaches a worker only through
``bench/overlap_site/sitecustomize.py`` (``PYTHONPATH`` and ``QUALITYGATE_BENCH_DOUBLE``,
set by the benchmark alone), which swaps it in for the pool process's scorer after the
model loads; no production path knows it. Its ``ModelInfo`` says it is not a real model,
so every result it touches says so too.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.gpu import SKYWORK_QWEN3_0_6B_SHAPE, SKYWORK_QWEN3_8B_SHAPE
from bench.models import ModelShape
from qualitygate.schemas import ModelInfo

DOUBLE_VAR = "QUALITYGATE_BENCH_DOUBLE"

SHAPES = {"0.6b": SKYWORK_QWEN3_0_6B_SHAPE, "8b": SKYWORK_QWEN3_8B_SHAPE}
# The stated card: H100 SXM dense bf16 peak, at half of it (the 50% MFU).
CARD = "H100 SXM bf16"
PEAK_TFLOPS = 989.4
MFU = 0.5


def matmul_parameters(shape: ModelShape) -> int:
    """``bench.gpu.matmul_parameters`` from the shape alone: every parameter but the
    embedding table (projections, MLP, norms, the one-label head)."""
    h, hd = shape.hidden_size, shape.head_dim
    attention = h * hd * (2 * shape.num_attention_heads + 2 * shape.num_key_value_heads)
    mlp = 3 * h * shape.intermediate_size
    norms = 2 * h + 2 * hd
    return shape.num_hidden_layers * (attention + mlp + norms) + 2 * h


def forward_seconds(lengths: Sequence[int], shape: ModelShape) -> float:
    """What a forward pass over rows of these lengths takes on the stated card."""
    params = matmul_parameters(shape)
    width = shape.num_attention_heads * shape.head_dim
    flops = sum(2 * params * s + 2 * shape.num_hidden_layers * s * s * width for s in lengths)
    return flops / (PEAK_TFLOPS * 1e12 * MFU)


@dataclass
class SleepScorer:
    """The real scorer's tokenizing; a sleep in place of its forward pass."""

    real: Any
    shape_name: str

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name=f"sleep double of Qwen3-{self.shape_name} on {CARD} at {MFU:.0%} MFU "
            "(NOT a real model)",
            revision="double",
            test_model=True,
        )

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        return self.real.encode_pairs(pairs)

    def score_encoded(self, encoded: Sequence[Sequence[int]]) -> list[float]:
        time.sleep(forward_seconds([len(ids) for ids in encoded], SHAPES[self.shape_name]))
        return [float(len(ids) % 7) - 3.0 for ids in encoded]

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self.score_encoded(self.encode_pairs(pairs))


def install(**_: Any) -> None:
    """Swap the double in for this pool process's scorer (loading the real one first)."""
    spec = os.environ.get(DOUBLE_VAR)
    if not spec:
        return
    from workers.runtime import runtime

    gate = runtime().gate
    gate.scorer = SleepScorer(gate.scorer, json.loads(spec)["shape"])
    logging.getLogger("qualitygate.worker").warning(
        "BENCHMARK DOUBLE ACTIVE: %s", gate.scorer.info.name
    )
