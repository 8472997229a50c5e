"""How many tokens one forward pass may hold on this device, measured at start.

Owns ``batch_tokens`` on a GPU: the configured budget is an upper bound, cut to what the
free device memory holds (``torch.cuda.mem_get_info`` after the model is loaded) at the
memory one token of a probe forward pass takes (a row of ``max_length`` tokens, the
longest an item can be, so attention's share is counted at its worst). A device that
cannot hold one item at ``max_length`` is an error at start, not an out-of-memory crash
on the first long item. On the CPU the configured value stands. It must not load models
or score anything beyond the probe.
"""

from __future__ import annotations

import logging

import torch

from qualitygate.errors import ModelLoadError

logger = logging.getLogger(__name__)

# Leave this share of free memory to the allocator's fragmentation and CUDA's workspaces.
HEADROOM = 0.85


def fit_batch_tokens(
    configured: int, max_length: int, free_bytes: int, bytes_per_token: float
) -> int:
    """The configured budget, or less where free memory is short; raises if one item at
    ``max_length`` cannot fit."""
    fits = int(free_bytes * HEADROOM / max(bytes_per_token, 1.0))
    if fits < max_length:
        raise ModelLoadError(
            f"model.max_length: one item of {max_length} tokens needs about "
            f"{max_length * bytes_per_token / 2**30:.2f} GiB for its forward pass, but "
            f"{free_bytes / 2**30:.2f} GiB of device memory is free; lower model.max_length "
            f"(this device holds about {fits} tokens per pass) or free the device"
        )
    return min(configured, fits - fits % 64 if fits >= 64 else fits)


def probe_bytes_per_token(
    model: torch.nn.Module, device: torch.device, max_length: int, pad_id: int
) -> float:
    """Peak memory a forward pass of one ``max_length`` row adds, per token (CUDA only)."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ids = torch.full((1, max_length), pad_id + 1, dtype=torch.long, device=device)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    del ids
    torch.cuda.empty_cache()
    return max(peak - before, 1) / max_length


def adapt_batch_tokens(
    model: torch.nn.Module, device: torch.device, configured: int, max_length: int, pad_id: int
) -> int:
    """``batch_tokens`` for this device: measured on CUDA, as configured elsewhere."""
    if device.type != "cuda":
        return configured
    per_token = probe_bytes_per_token(model, device, max_length, pad_id)
    free, total = torch.cuda.mem_get_info(device)
    budget = fit_batch_tokens(configured, max_length, free, per_token)
    logger.info(
        "batch_tokens %d (configured %d): %.0f KiB per token measured, %.1f of %.1f GiB free",
        budget,
        configured,
        per_token / 1024,
        free / 2**30,
        total / 2**30,
    )
    return budget
