"""Per-key rate limits: a sliding window in Redis, 429 with Retry-After, one key's traffic
never spending another's."""

from __future__ import annotations

from api.ratelimit import RateLimiter
from qualitygate.client import QualityGateClient
from qualitygate.config import RateLimit
from tests.support.api import api_app, api_settings, bearer, key_entries


def test_over_the_limit_is_429_with_retry_after(api_run: str) -> None:
    keys = key_entries(rate_limit={"requests": 3, "window_s": 30})
    settings = api_settings(api_run, keys=keys)
    with api_app(settings) as (_client, http):
        codes = [http.get("/v1/results/x", headers=bearer("cms")).status_code for _ in range(3)]
        assert codes == [404, 404, 404]
        limited = http.get("/v1/results/x", headers=bearer("cms"))
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 30
        assert "3 requests per 30 s" in limited.json()["detail"]
        # Another key has its own window (the default one).
        assert http.get("/v1/results/x", headers=bearer("reader")).status_code == 404
        text = http.get("/metrics").text
        assert 'qualitygate_api_rate_limited_total{key="cms"} 1.0' in text


def test_the_window_slides(api_run: str) -> None:
    settings = api_settings(api_run)
    with QualityGateClient(settings=settings) as client:
        limiter = RateLimiter(client.redis, client.keys)
        limit = RateLimit(requests=2, window_s=0.3)
        assert limiter.check("k", limit) is None
        assert limiter.check("k", limit) is None
        wait = limiter.check("k", limit)
        assert wait is not None and 0 < wait <= 0.3
        import time

        time.sleep(wait + 0.05)
        assert limiter.check("k", limit) is None
        assert client.redis.pttl(client.keys.rate_limit("k")) > 0  # it cleans up after itself


def test_refused_requests_do_not_fill_the_window(api_run: str) -> None:
    settings = api_settings(api_run)
    with QualityGateClient(settings=settings) as client:
        limiter = RateLimiter(client.redis, client.keys)
        limit = RateLimit(requests=2, window_s=60)
        for _ in range(10):
            limiter.check("k", limit)
        assert client.redis.zcard(client.keys.rate_limit("k")) == 2
