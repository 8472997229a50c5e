"""What a CMS does when it sends a webhook, for the intake tests: sign a body the way each
CMS signs it, written here from the CMSs' documentation and independently of
``api/intake/signature.py`` (a test that reused the code under test would prove nothing),
and the example sources of ``config/examples/`` as one config layer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import yaml

from qualitygate.config import read_layers

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "config" / "examples"
PAYLOADS = ROOT / "tests" / "data" / "webhooks"

#: The secrets and tokens the example sources read from the environment in tests.
SECRETS = {
    "WORDPRESS_WEBHOOK_SECRET": "wp-secret-for-tests-only-7f3a",
    "STRAPI_WEBHOOK_TOKEN": "strapi-token-for-tests-only-19bd",
    "CONTENTFUL_WEBHOOK_SECRET": "cf" * 32,
    "DIRECTUS_WEBHOOK_TOKEN": "directus-token-for-tests-only-c2e8",
}
#: Each example source with its sample payload file.
SAMPLES = {
    "wordpress": "wordpress_post_update.json",
    "strapi": "strapi_entry_create.json",
    "contentful": "contentful_entry_publish.json",
    "directus": "directus_items_create.json",
}


def payload(source: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / SAMPLES[source]).read_text(encoding="utf-8"))


def sample_body(source: str) -> bytes:
    """The sample payload as the CMS sends it: the file's bytes, untouched."""
    return (PAYLOADS / SAMPLES[source]).read_bytes()


def examples_config(directory: Path, *sources: str, extra: dict[str, Any] | None = None) -> Path:
    """One config layer with the example sources named (all four by default)."""
    names = sources or tuple(SAMPLES)
    merged = read_layers([EXAMPLES / f"{name}.yaml" for name in names])
    if extra:
        merged |= extra
    path = directory / "intake.yaml"
    path.write_text(yaml.safe_dump(merged, allow_unicode=True), encoding="utf-8")
    return path


def wp_webhooks_signature(secret: str, body: bytes) -> str:
    """WP Webhooks' X-WP-Webhook-Signature: base64_encode(hash_hmac('sha256', $body,
    $secret, true))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def contentful_headers(
    secret: str, path: str, body: bytes, timestamp_ms: int, method: str = "POST"
) -> dict[str, str]:
    """The headers Contentful adds to a signed webhook, as @contentful/node-apps-toolkit's
    signRequest computes them: the listed headers and its own two, lower-cased and sorted,
    ``name:value`` joined by ';', in ``METHOD\\nPATH\\nHEADERS\\nBODY``, HMAC-SHA256 hex."""
    headers = {
        "x-contentful-crn": "crn:contentful:::content:spaces/yadj1kx9rmg0",
        "x-contentful-topic": "ContentManagement.Entry.publish",
    }
    signed_names = sorted([*headers, "x-contentful-signed-headers", "x-contentful-timestamp"])
    headers["x-contentful-signed-headers"] = ",".join(signed_names)
    headers["x-contentful-timestamp"] = str(timestamp_ms)
    canonical_headers = ";".join(f"{name}:{headers[name]}" for name in signed_names)
    canonical = f"{method}\n{path}\n{canonical_headers}\n".encode() + body
    headers["x-contentful-signature"] = hmac.new(
        secret.encode(), canonical, hashlib.sha256
    ).hexdigest()
    return headers


def standard_webhooks_signature(
    secret: bytes, delivery_id: str, timestamp: int, body: bytes
) -> str:
    """Standard Webhooks (Svix): ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    message = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()
