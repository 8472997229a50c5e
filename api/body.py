"""Request bodies read within a size limit, and parsed as JSON with a clear error.

Owns the rule that a body over ``api.max_body_bytes`` gets ``413`` before it is buffered:
a ``Content-Length`` over the limit is refused up front, and a body without one (chunked)
is read chunk by chunk and refused as soon as it passes the limit. ``BodyLimit`` holds
the same rule for every route (a route that declares a pydantic body, or another branch's
router, would otherwise have FastAPI buffer whatever arrives). It must not know what the
body means.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse


def _too_large(limit: int) -> HTTPException:
    # The rest of the body is never read: the connection closes after the answer.
    return HTTPException(
        413,
        detail=f"body: larger than {limit} bytes (api.max_body_bytes)",
        headers={"Connection": "close"},
    )


class BodyLimit:
    """ASGI middleware: 413 for a declared length over ``limit``, and for a body that
    grows past it while being read (raised from ``receive``, answered by FastAPI)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            error = _too_large(self.limit)
            response = JSONResponse({"detail": error.detail}, 413, headers=error.headers)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _too_large(self.limit)
            return message

        await self.app(scope, limited, send)


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
