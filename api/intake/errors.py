"""Why an intake request is refused, each with the HTTP status it answers.

A message names the part of the request that is wrong and why, and never quotes a secret,
a signature or a token: what the sender typed is data, and a signature echoed back would
help whoever is guessing one.
"""

from __future__ import annotations


class IntakeError(Exception):
    """Base: a refused request; ``status`` is the HTTP status, ``message`` the one line."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSourceError(IntakeError):
    status = 404


class AuthenticationError(IntakeError):
    """A missing, malformed, wrong, stale or replayed signature, or a wrong token."""

    status = 401


class BodyTooLargeError(IntakeError):
    status = 413


class MalformedBodyError(IntakeError):
    """The body is not JSON this intake can read (not UTF-8, not JSON, nested too deep)."""

    status = 422


class MappingError(IntakeError):
    """A mapped field is missing or invalid; names the source, field and expression."""

    status = 422

    def __init__(self, source: str, field: str, expression: str | None, reason: str) -> None:
        where = f"{field} (mapping {expression!r})" if expression else field
        super().__init__(f"intake source {source!r}: {where}: {reason}")
        self.source, self.field, self.expression, self.reason = source, field, expression, reason


class QueueUnavailableError(IntakeError):
    """Redis could not be reached; nothing was enqueued and the sender may retry."""

    status = 503
