"""Request bodies read within a size limit, and parsed as JSON with a clear error.

Owns the rule that a body over ``api.max_body_bytes`` gets ``413`` before it is buffered:
a ``Content-Length`` over the limit is refused up front, and a body without one (chunked)
is read chunk by chunk and refused as soon as it passes the limit. It must not know what
the body means.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request


def _too_large(limit: int) -> HTTPException:
    # The rest of the body is never read: the connection closes after the answer.
    return HTTPException(
        413,
        detail=f"body: larger than {limit} bytes (api.max_body_bytes)",
        headers={"Connection": "close"},
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, detail="Content-Length: not a number of bytes")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``, or 400 naming where and why it is not JSON."""
    if not body.strip():
        raise HTTPException(400, detail="body: empty; expected JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, detail=f"body: not UTF-8 text (at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(
            400,
            detail=f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
        ) from None
    except RecursionError:
        raise HTTPException(400, detail="body: JSON nested too deep") from None
