"""What a queue message must be before the worker buffers it, checked in the main process.

Owns the bounds every message meets before celery-batches sees it: its size (compressed
bodies are inflated with a cap, since kombu inflates them before any other code runs),
its shape (a task message as ``qualitygate.protocol.decode_task`` reads it) and the
nesting depth of each field. A message that fails one gets a one-line problem naming
the field and the limit; ``workers.unreadable`` answers it. Nothing here grades, publishes
or imports the model.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kombu import compression

from qualitygate.config import Limits
from qualitygate.protocol import MalformedTaskError, decode_task, usable_id
from qualitygate.schemas import check_nesting, max_message_bytes, nesting_depth

_LIMIT_NAMES = "limits.max_text_chars, max_title_chars, max_prompt_chars, max_metadata_bytes"


class RefusedMessageError(ValueError):
    """A compressed body refused while kombu inflates it: too large, truncated, or a codec
    the worker does not inflate. Its text is the problem to report."""


class _Inflater(Protocol):
    eof: bool

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def too_large(size: int, cap: int) -> str:
    return f"message: {size} bytes, over the {cap} an item within {_LIMIT_NAMES} can need"


def capped_inflater(make: Callable[[], _Inflater], cap: int) -> Callable[[bytes], bytes]:
    """A kombu decoder that stops inflating one byte past ``cap``: a zlib bomb of a few
    kilobytes would otherwise become gigabytes in the worker's main process."""

    def inflate(body: bytes) -> bytes:
        inflater = make()
        data = body.encode("latin-1") if isinstance(body, str) else bytes(body)
        out = inflater.decompress(data, cap + 1)
        if len(out) > cap:
            raise RefusedMessageError(
                f"message: the compressed body inflates past {cap} bytes, the most an item "
                f"within {_LIMIT_NAMES} can need"
            )
        if not inflater.eof:
            raise RefusedMessageError("message: the compressed body is truncated")
        return out

    return inflate


def _refuse(body: bytes) -> bytes:
    raise RefusedMessageError("message: this compression is not accepted (use zlib, bzip2 or lzma)")


def cap_decompression(limits: Limits) -> int:
    """Replace kombu's decoders: zlib, bzip2 and lzma inflate to at most the largest
    message ``limits`` allow; any other codec kombu knows (brotli, zstd) is refused.
    Returns the cap."""
    cap = max_message_bytes(limits)
    capped: dict[str, Callable[[], _Inflater]] = {
        "application/x-gzip": zlib.decompressobj,
        "application/x-bz2": bz2.BZ2Decompressor,
        "application/x-lzma": lzma.LZMADecompressor,
    }
    for content_type in compression.encoders():
        encoder, _ = compression.get_encoder(content_type)
        make = capped.get(content_type)
        decoder = capped_inflater(make, cap) if make is not None else _refuse
        compression.register(encoder, decoder, content_type)
    return cap


@dataclass(frozen=True)
class Refusal:
    """Why a message is not buffered, and the item it carries when that is known (its
    result then echoes the item's id)."""

    problem: str
    item: Any = None


def message_problem(message: Any, body: Any, limits: Limits) -> Refusal | None:
    """Why this message cannot be buffered, or None. Decoding errors (not JSON, refused
    content types) propagate: Celery's consumer reports those itself."""
    cap = max_message_bytes(limits)
    size = len(message.body or b"")
    if size > cap:
        return Refusal(too_large(size, cap))
    headers = message.headers if isinstance(message.headers, dict) else {}
    if body is None and usable_id(headers.get("id")) is None:
        return Refusal("message: its task id (headers.id) is not a string of 1 to 256 characters")
    try:
        if body is None:
            args, kwargs, embed = decode_task(message.payload, version=2)
        else:
            args, kwargs, embed = decode_task(body, version=1)
    except MalformedTaskError as exc:
        return Refusal(str(exc))
    return nesting_problem([*args, *kwargs.values()], embed, limits)


def nesting_problem(items: list[Any], rest: Any, limits: Limits) -> Refusal | None:
    """The first field of the carried items nested too deep (pickling a batch for the
    pool process would hit the recursion limit), or anything else in the body that is."""
    for item in items:
        try:
            check_nesting(item, limits)
        except ValueError as exc:
            return Refusal(str(exc), item)
    limit = limits.max_nesting_depth
    if nesting_depth(rest, limit + 2) > limit + 2:
        return Refusal(f"message: nested deeper than {limit} levels (limits.max_nesting_depth)")
    return None
