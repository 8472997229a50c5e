"""The ``intake`` config section: which CMS webhooks ``POST /v1/intake/{source}`` accepts.

Owns the typed shape of a source (how its requests are authenticated, how its payload maps
to a ContentItem by JMESPath, which events to ignore) and the checks that make a bad source
fail at start, naming the source and the field: expressions are compiled here, and a secret
given by environment variable must be set. It must not verify requests or touch Redis (that
is ``api/intake``), and it never puts a secret's value in an error or a dump: secrets are
``SecretStr`` and environment variables are named, not read out. A secret's variable is
read by the API when it builds its routes (``secret_bytes``), not at load, so a worker
sharing the config file needs no webhook secret in its environment.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)

#: A source's name is part of the URL path and of the origin record ``source:NAME``.
SOURCE_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$"

# What the signature is computed over, as the CMSs do it:
# - body: the raw body (WP Webhooks, WooCommerce, GitHub-style hubs);
# - timestamp.body: "{timestamp}.{body}" (Stripe-style, and our own callbacks);
# - id.timestamp.body: "{id}.{timestamp}.{body}" (Standard Webhooks / Svix);
# - contentful: Contentful's canonical request, "METHOD\nPATH\nHEADERS\nBODY", where
#   HEADERS are the lower-cased headers named in x-contentful-signed-headers, sorted,
#   as "name:value" joined by ";".
SignedPayload = Literal["body", "timestamp.body", "id.timestamp.body", "contentful"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissingSecretError(ValueError):
    """A secret's environment variable is not set; the message names the variable."""


def _env_secret(variable: str | None, field: str) -> bytes | None:
    """The value of a secret's environment variable, or None when none is named."""
    if variable is None:
        return None
    value = os.environ.get(variable, "")
    if not value:
        raise MissingSecretError(f"{field}: the environment variable {variable} is not set")
    return value.encode("utf-8")


def _one_of(given: SecretStr | None, variable: str | None, name: str) -> None:
    if (given is None) == (variable is None):
        raise ValueError(f"give exactly one of {name} or {name}_env")
    if given is not None and not given.get_secret_value():
        raise ValueError(f"{name}: must not be empty")


class HmacAuth(_Part):
    """An HMAC-SHA256 signature in a header, over the raw body (or a string built on it)."""

    kind: Literal["hmac"]
    secret: SecretStr | None = None
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    header: str = Field(pattern=_HEADER_NAME)
    encoding: Literal["hex", "base64"]
    # Text before the signature in the header, e.g. "sha256=" or "v1,".
    prefix: str | None = Field(default=None, max_length=32)
    signed_payload: SignedPayload
    # The signing time (Unix seconds or milliseconds, told apart by size); requests
    # outside the window are stale. Without one, only the replay cache guards replays.
    timestamp_header: str | None = Field(default=None, pattern=_HEADER_NAME)
    # A delivery id the sender signs (Standard Webhooks' webhook-id).
    id_header: str | None = Field(default=None, pattern=_HEADER_NAME)
    # Overrides intake.tolerance_s for this source.
    tolerance_s: PositiveInt | None = None

    @model_validator(mode="after")
    def _complete(self) -> HmacAuth:
        _one_of(self.secret, self.secret_env, "secret")
        needs_timestamp = self.signed_payload != "body"
        if needs_timestamp and self.timestamp_header is None:
            raise ValueError(f"signed_payload {self.signed_payload} needs a timestamp_header")
        if self.signed_payload == "id.timestamp.body" and self.id_header is None:
            raise ValueError("signed_payload id.timestamp.body needs an id_header")
        return self

    def secret_bytes(self) -> bytes:
        """The shared secret. One named by variable is read here, when the API builds its
        routes, not at config load: workers share the config file but need no secret."""
        from_env = _env_secret(self.secret_env, "secret_env")
        if from_env is not None:
            return from_env
        assert self.secret is not None
        return self.secret.get_secret_value().encode("utf-8")


class BearerAuth(_Part):
    """``Authorization: Bearer TOKEN``, what Strapi and Directus send as a custom header."""

    kind: Literal["bearer"]
    token: SecretStr | None = None
    token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _complete(self) -> BearerAuth:
        _one_of(self.token, self.token_env, "token")
        return self

    def token_bytes(self) -> bytes:
        from_env = _env_secret(self.token_env, "token_env")
        if from_env is not None:
            return from_env
        assert self.token is not None
        return self.token.get_secret_value().encode("utf-8")


IntakeAuth = Annotated[HmacAuth | BearerAuth, Field(discriminator="kind")]


def compile_expression(expression: str) -> jmespath.parser.ParsedResult:
    """A JMESPath expression compiled, or ValueError with the parser's reason."""
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(f"not a JMESPath expression ({reason})") from None


class IntakeMapping(_Part):
    """JMESPath expressions over the webhook's JSON body, one per ContentItem field.

    ``id`` may give a string or an integer (written in decimal); ``metadata`` an object;
    the others a string. An optional expression that finds nothing (or "") is left out.
    """

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    title: str | None = None
    format: str | None = None
    language: str | None = None
    content_type: str | None = None
    metadata: str | None = None

    @field_validator("*")
    @classmethod
    def _compiles(cls, expression: str | None) -> str | None:
        if expression is not None:
            compile_expression(expression)
        return expression


class IntakeSource(_Part):
    """One CMS (or one webhook of it) that may POST to ``/v1/intake/NAME``."""

    auth: IntakeAuth
    mapping: IntakeMapping
    # Events for which this is falsy (false, null, "", [], {}) are answered 200 ignored.
    accept_if: str | None = None
    # The item's content_type when the mapping gives none.
    content_type: str | None = Field(default=None, min_length=1, max_length=64)
    # The name of a delivery.callbacks entry that receives this source's results.
    callback: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("accept_if")
    @classmethod
    def _accept_if_compiles(cls, expression: str | None) -> str | None:
        if expression is not None:
            compile_expression(expression)
        return expression


class IntakeSettings(_Part):
    """CMS webhooks accepted by the HTTP API, by source name (empty: none)."""

    # How far a signed timestamp may be from now, either way, in seconds.
    tolerance_s: PositiveInt
    sources: dict[str, IntakeSource]

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, IntakeSource]) -> dict[str, IntakeSource]:
        for name in sources:
            if not re.match(SOURCE_NAME, name):
                raise ValueError(
                    f"{name!r}: a source name is 1 to 64 of a-z, 0-9, _ and -, "
                    "starting with a letter or digit"
                )
        return sources

    def tolerance_for(self, source: IntakeSource) -> int:
        own = source.auth.tolerance_s if isinstance(source.auth, HmacAuth) else None
        return own or self.tolerance_s
