"""Reading a webhook's raw body, bounded while it arrives.

The signature is computed over the exact bytes sent, so the body is read raw (never
re-serialised from parsed JSON), and a body over the limit is refused as soon as the
declared length or the bytes received pass it, never after buffering all of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from api.intake.errors import BodyTooLargeError
from qualitygate.config import Limits
from qualitygate.schemas import max_message_bytes


def body_limit(limits: Limits) -> int:
    """The largest webhook body accepted: what one item within ``limits`` can take as
    fully escaped JSON plus its envelope (``max_message_bytes``), which leaves a CMS's
    own fields around the content ample room."""
    return max_message_bytes(limits)


async def read_limited(
    chunks: AsyncIterator[bytes], declared_length: str | None, limit: int
) -> bytes:
    """The whole body, or BodyTooLargeError once it is known to be over ``limit``."""
    declared = declared_length.strip() if declared_length is not None else ""
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(
            f"body: Content-Length {int(declared)} is over the limit of {limit} bytes"
        )
    received = bytearray()
    async for chunk in chunks:
        received.extend(chunk)
        if len(received) > limit:
            raise BodyTooLargeError(f"body: over the limit of {limit} bytes")
    return bytes(received)
