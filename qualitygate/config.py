"""The one typed settings model, its layers, and the effective config's version hash.

Every default lives in ``config/default.yaml``; this module only declares types and
constraints, so there is no second place where a default is written. The names a verdict
uses (levels, decisions, severities, actions) are ``qualitygate.verdicts``'s. It must not
import Celery, Redis, torch or the adapters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cached_property
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import re2
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from qualitygate.config_intake import IntakeSettings
from qualitygate.errors import ConfigError
from qualitygate.guard.settings import GuardSettings
from qualitygate.redis_url import MASK, is_sentinel_url, mask_url, normalise_redis_url
from qualitygate.regex import compile_re2
from qualitygate.verdicts import LEVELS, Decision, Level, RuleAction, Severity

CONFIG_ENV_VAR = "QUALITYGATE_CONFIG"


def default_config_path() -> Path:
    """The packaged defaults in a wheel, else ``config/default.yaml`` of a source checkout."""
    packaged = resources.files("qualitygate").joinpath("default.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "config" / "default.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSettings(_Section):
    name: str = Field(min_length=1)
    revision: str = Field(min_length=1)
    device: str = Field(pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")
    dtype: Literal["auto", "float32", "bfloat16", "float16"]
    max_length: int = Field(ge=32, le=131072)
    max_prompt_tokens: int = Field(ge=1)
    batch_tokens: int = Field(ge=32)
    compile: bool

    @model_validator(mode="after")
    def _budget_fits_one_item(self) -> ModelSettings:
        if self.batch_tokens < self.max_length:
            raise ValueError(
                f"batch_tokens ({self.batch_tokens}) must be at least max_length "
                f"({self.max_length}), or the longest item fits no batch"
            )
        if self.max_prompt_tokens >= self.max_length // 2:
            raise ValueError("max_prompt_tokens must be under half of max_length")
        return self


class LogisticCalibration(_Section):
    """score = 1 / (1 + exp(-(raw - center) / scale))."""

    method: Literal["logistic"]
    center: float
    scale: PositiveFloat


class TableCalibration(_Section):
    """Piecewise-linear through (raw, score) points; flat beyond the ends."""

    method: Literal["table"]
    points: list[tuple[float, float]] = Field(min_length=2)

    @field_validator("points")
    @classmethod
    def _monotone_and_bounded(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for (x0, y0), (x1, y1) in pairwise(points):
            if not x1 > x0:
                raise ValueError("raw values must strictly increase")
            if y1 < y0:
                raise ValueError("scores must not decrease")
        if any(not 0.0 <= y <= 1.0 for _, y in points):
            raise ValueError("scores must lie in [0, 1]")
        return points


Calibration = Annotated[LogisticCalibration | TableCalibration, Field(discriminator="method")]


class LanguageSettings(_Section):
    """One language's options; a field left out is taken from the ``default`` entry."""

    calibration: Calibration | None = None
    max_repeat: int | None = Field(default=None, ge=2, le=1000)
    traditional_to_simplified: bool | None = None


class LevelThresholds(_Section):
    excellent: float = Field(ge=0.0, le=1.0)
    good: float = Field(ge=0.0, le=1.0)
    fair: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _descending(self) -> LevelThresholds:
        if not self.excellent > self.good > self.fair:
            raise ValueError(
                "thresholds must descend: excellent > good > fair "
                f"(got {self.excellent}, {self.good}, {self.fair})"
            )
        return self


class DecisionPolicy(_Section):
    by_level: dict[Level, Decision]
    escalate_on_rules: bool

    @field_validator("by_level")
    @classmethod
    def _every_level(cls, by_level: dict[str, str]) -> dict[str, str]:
        missing = [level for level in LEVELS if level not in by_level]
        if missing:
            raise ValueError(f"missing a decision for level(s) {', '.join(missing)}")
        return by_level


LocalizedTexts = dict[str, list[str]]


class RecommendationSettings(_Section):
    fallback_language: str = Field(min_length=2)
    levels: dict[Level, LocalizedTexts]
    # What to fix, per rule id (``length.too_short``) or, failing that, per rule category.
    rules: dict[str, LocalizedTexts]

    @model_validator(mode="after")
    def _fallback_everywhere(self) -> RecommendationSettings:
        for level in LEVELS:
            texts = self.levels.get(level, {})
            if self.fallback_language not in texts:
                raise ValueError(
                    f"levels.{level} has no '{self.fallback_language}' text "
                    "(the fallback_language must cover every level)"
                )
        for key, texts in self.rules.items():
            if self.fallback_language not in texts:
                raise ValueError(
                    f"rules.{key} has no '{self.fallback_language}' text "
                    "(the fallback_language must cover every rule)"
                )
        return self


class RuleSettings(_Section):
    """One moderation rule: whether it runs, how bad a hit is, and what a hit asks for."""

    enabled: bool
    severity: Severity
    action: RuleAction
    # Languages the rule runs for; empty means every language.
    languages: list[str]


class BlocklistSettings(RuleSettings):
    # Terms by language; the ``default`` list applies to every language.
    terms: dict[str, list[str]]

    @field_validator("terms")
    @classmethod
    def _no_blank_terms(cls, terms: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, words in terms.items():
            if any(not word.strip() for word in words):
                raise ValueError(f"{language}: a term must not be blank")
        return terms


class RepeatRuleSettings(RuleSettings):
    min_run: int = Field(ge=2, le=1000)


class LinkDensitySettings(RuleSettings):
    min_links: PositiveInt
    max_link_share: float = Field(gt=0.0, le=1.0)


class LengthRuleSettings(RuleSettings):
    chars: PositiveInt


# RE2 is linear, but a large program (counted repetitions expand: ``.{0,1000}`` is a
# thousand states) exhausts its DFA budget and falls back to a matcher hundreds of times
# slower: ``.{0,1000}.{0,1000}.{0,1000}b`` took 11-15 s per 200K-character item. A window
# counted after a narrow class (``[ab][ab ]{1000}c``) on random text over that class does
# the same at any program size: 7.9 s under the former bounds (3,000 instructions, 1,000
# counted), about 0.5 s under these. No static bound keeps such windows near 50 ms and
# still admits a ten-word case-insensitive list (68 instructions), so these bound the
# worst case; bench/patterns.py measures it.
PATTERN_MAX_PROGRAM_SIZE = 1000
PATTERN_MAX_REPETITION = 100
_COUNTED_REPEAT = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")


def _pattern_cost_error(pattern: str, compiled: re2._Regexp) -> str | None:
    """Why a compiled pattern is too costly to run on every item, or None."""
    if compiled.fullmatch("") is not None:
        # An empty match flags nothing, and finding one at every position is quadratic.
        return "it matches the empty string; make it need at least one character"
    size = max(compiled.programsize, compiled.reverseprogramsize)
    if size > PATTERN_MAX_PROGRAM_SIZE:
        return f"its RE2 program has {size} instructions, more than {PATTERN_MAX_PROGRAM_SIZE}"
    counts = [int(high or low) for low, high in _COUNTED_REPEAT.findall(pattern)]
    if sum(counts) > PATTERN_MAX_REPETITION:
        return (
            f"its counted repetitions add up to {sum(counts)}, more than {PATTERN_MAX_REPETITION}"
        )
    return None


class PatternRuleSettings(RuleSettings):
    """An operator's own pattern, compiled with RE2 (linear time: no backtracking)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    category: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)
    pattern: str = Field(min_length=1, max_length=2000)

    @field_validator("pattern")
    @classmethod
    def _compiles_with_re2(cls, pattern: str) -> str:
        try:
            compiled = compile_re2(pattern, spans_only=True)  # as the rules engine runs it
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ValueError(f"RE2 cannot compile it ({reason})") from None
        too_costly = _pattern_cost_error(pattern, compiled)
        if too_costly:
            raise ValueError(f"too costly to run on every item: {too_costly}")
        return pattern


class PiiRules(_Section):
    email: RuleSettings
    phone: RuleSettings
    payment_card: RuleSettings
    kr_rrn: RuleSettings
    cn_resident_id: RuleSettings
    jp_my_number: RuleSettings


class SpamRules(_Section):
    repeated_char: RepeatRuleSettings
    repeated_token: RepeatRuleSettings
    link_density: LinkDensitySettings


class LengthRules(_Section):
    too_short: LengthRuleSettings
    too_long: LengthRuleSettings


class RulesSettings(_Section):
    blocklists: dict[str, BlocklistSettings]
    # Han and kana terms: match anywhere, or only as whole words by a segmenter.
    cjk_match: dict[Literal["zh", "ja"], Literal["anywhere", "word"]]
    pii: PiiRules
    spam: SpamRules
    length: LengthRules
    patterns: list[PatternRuleSettings]

    @field_validator("blocklists")
    @classmethod
    def _list_names(cls, blocklists: dict[str, BlocklistSettings]) -> dict[str, BlocklistSettings]:
        for name in blocklists:
            if not name or not all(char.isalnum() or char in "_-" for char in name):
                raise ValueError(f"{name!r}: a list name is letters, digits, _ and - only")
        return blocklists

    @field_validator("patterns")
    @classmethod
    def _unique_ids(cls, patterns: list[PatternRuleSettings]) -> list[PatternRuleSettings]:
        ids = [pattern.id for pattern in patterns]
        duplicates = sorted({pattern_id for pattern_id in ids if ids.count(pattern_id) > 1})
        if duplicates:
            raise ValueError(f"pattern ids must be unique (repeated: {', '.join(duplicates)})")
        return patterns


class Limits(_Section):
    max_text_chars: PositiveInt
    max_markup_bytes: PositiveInt
    max_title_chars: PositiveInt
    max_prompt_chars: PositiveInt
    max_metadata_bytes: PositiveInt
    max_nesting_depth: int = Field(ge=1, le=200)
    max_items_per_request: PositiveInt


class SentinelSettings(_Section):
    """What a ``sentinel://`` URL needs besides the sentinels' addresses (kombu's form)."""

    master_name: str | None = Field(min_length=1)
    # The sentinels' own password (their requirepass), when it differs from the master's.
    password: str | None = Field(min_length=1)
    # TLS to the sentinels and the data nodes; the CA file verifies their certificates.
    tls: bool
    tls_ca_certs: str | None = Field(min_length=1)


class RedisSettings(_Section):
    url: str = Field(pattern=r"^(redis|rediss|unix|sentinel)://")
    sentinel: SentinelSettings

    @field_validator("url")
    @classmethod
    def _credentials_in_userinfo(cls, url: str) -> str:
        return normalise_redis_url(url)

    @model_validator(mode="after")
    def _sentinel_names_master(self) -> RedisSettings:
        if is_sentinel_url(self.url) and not self.sentinel.master_name:
            raise ValueError(
                "sentinel.master_name: a sentinel:// url needs the name of the master the "
                "sentinels watch (their 'sentinel monitor NAME ...')"
            )
        return self


class WorkerSettings(_Section):
    queue: str = Field(min_length=1)
    batch_size: PositiveInt
    flush_ms: PositiveInt
    visibility_timeout_s: PositiveInt
    max_retries: int = Field(ge=0, le=100)
    retry_backoff_s: PositiveFloat
    soft_time_limit_s: PositiveInt
    time_limit_s: PositiveInt
    metrics_port: int = Field(ge=0, le=65535)
    log_format: Literal["text", "json"]
    log_content: bool
    prefetch_batches: PositiveInt
    unacked_restore_interval_s: PositiveInt
    unacked_mutex_expire_s: PositiveInt
    redeliver_after_s: PositiveInt
    redeliver_scan_s: PositiveInt
    process_start_timeout_s: PositiveInt
    cache_ttl_s: int = Field(ge=0)
    heartbeat_s: PositiveFloat
    pipeline: Literal["staged", "sequential"]
    stage_items: PositiveInt
    stage_depth: int = Field(ge=1, le=64)
    prepare_processes: int = Field(ge=0, le=64)

    @model_validator(mode="after")
    def _limits_order(self) -> WorkerSettings:
        if self.soft_time_limit_s >= self.time_limit_s:
            raise ValueError("soft_time_limit_s must be below time_limit_s")
        # A message still buffered or running past the visibility timeout is delivered again.
        if self.redeliver_after_s <= self.visibility_timeout_s:
            raise ValueError(
                "redeliver_after_s must exceed visibility_timeout_s: messages a live worker "
                "holds come back through the visibility timeout first"
            )
        if self.visibility_timeout_s <= self.time_limit_s + self.flush_ms / 1000:
            raise ValueError(
                "visibility_timeout_s must exceed time_limit_s plus flush_ms, or Redis "
                "redelivers batches that are still being graded"
            )
        return self


class StreamSettings(_Section):
    results: str = Field(min_length=1)
    dead: str = Field(min_length=1)
    result_key_prefix: str = Field(min_length=1)
    maxlen: PositiveInt
    result_ttl_s: PositiveInt
    state_key_prefix: str = Field(min_length=1)
    reclaim_idle_ms: PositiveInt
    # What a worker does when its next results would trim entries a consumer group has not
    # read (or acknowledged): pause consuming until they are, or continue and count them.
    on_full: Literal["pause", "continue"]
    # Pause while the next this-many results would trim unread ones: at least what every
    # worker holds (batch_size x prefetch_batches each), so the pause comes before the loss.
    pause_headroom: PositiveInt
    full_check_ms: PositiveInt
    # How many trimmed-unread entry ids are kept per group for ``QualityGateClient.missed``.
    missed_maxlen: PositiveInt
    dead_deliveries: str = Field(min_length=1)
    labels: str = Field(min_length=1)

    @model_validator(mode="after")
    def _headroom_below_maxlen(self) -> StreamSettings:
        if self.pause_headroom >= self.maxlen:
            raise ValueError("pause_headroom must be smaller than maxlen")
        return self


ApiScope = Literal["submit", "read", "label", "admin"]


class RateLimit(_Section):
    """At most ``requests`` requests in any ``window_s`` seconds (a sliding window)."""

    requests: PositiveInt
    window_s: PositiveFloat


class ApiKey(_Section):
    """One API key: only its SHA-256 is in config, so a leaked config leaks no key."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[ApiScope] = Field(min_length=1)
    rate_limit: RateLimit | None = None
    # The name of a delivery.callbacks entry that receives this key's results.
    callback: str | None = Field(default=None, min_length=1, max_length=64)


class ApiSettings(_Section):
    """``qualitygate serve``: keys, the per-key rate limit, body and read bounds."""

    keys: list[ApiKey]
    rate_limit: RateLimit
    max_body_bytes: PositiveInt
    ready_worker_max_age_s: PositiveFloat
    max_block_ms: int = Field(ge=0, le=600000)
    max_count: int = Field(ge=1, le=100000)
    max_blocking_reads: int = Field(ge=1, le=1000)

    @field_validator("keys")
    @classmethod
    def _unique_keys(cls, keys: list[ApiKey]) -> list[ApiKey]:
        names = [key.name for key in keys]
        if len(set(names)) != len(names):
            raise ValueError("key names must be unique")
        if len({key.key_sha256 for key in keys}) != len(keys):
            raise ValueError("two keys have the same key_sha256")
        return keys


DetectorName = Literal["fasttext", "langdetect"]


class DetectionSettings(_Section):
    """How ``detect_language`` decides; see qualitygate/language.py for the order."""

    detector: DetectorName
    second_opinion: Literal["fasttext", "langdetect", "none"]
    second_opinion_weight: float = Field(ge=0.0, le=10.0)
    unsure_below: float = Field(ge=0.0, le=1.0)
    min_confidence: float = Field(ge=0.0, le=1.0)
    min_letters: int = Field(ge=1, le=1000)
    max_chars: int = Field(ge=16, le=100000)
    windows: int = Field(ge=1, le=64)
    cjk_min_share: float = Field(gt=0.0, le=1.0)
    candidates: list[str]

    @field_validator("candidates")
    @classmethod
    def _primary_subtags(cls, candidates: list[str]) -> list[str]:
        for code in candidates:
            if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()):
                raise ValueError(
                    f"{code!r} is not a lower-case ISO 639 code (use 'zh', not 'zh-TW')"
                )
        return candidates

    @model_validator(mode="after")
    def _second_opinion_differs(self) -> DetectionSettings:
        if self.second_opinion == self.detector:
            raise ValueError(
                f"second_opinion must be another detector than detector ({self.detector}) or 'none'"
            )
        return self


class CalibrationFitSettings(_Section):
    """How ``qualitygate calibrate`` fits per-language calibration from an operator's content."""

    min_items: int = Field(ge=2)
    min_per_class: PositiveInt
    isotonic_min_items: PositiveInt
    table_points: int = Field(ge=2, le=1000)
    ece_bins: int = Field(ge=2, le=100)
    cv_folds: int = Field(ge=2, le=20)
    max_reviewer_share: float = Field(gt=0.0, le=1.0)


class CallbackSettings(_Section):
    """One CMS endpoint results are POSTed to, and the secret they are signed with."""

    url: str = Field(min_length=1, max_length=2000)
    secret: SecretStr | None = None
    # The name of an environment variable holding the secret, read when `deliver` starts.
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _one_secret(self) -> CallbackSettings:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret or secret_env")
        if self.secret is not None and len(self.secret.get_secret_value()) < 16:
            raise ValueError("secret: at least 16 characters")
        return self


class DeliverySettings(_Section):
    """``qualitygate deliver``: where results go, how often it tries, which hosts it may
    reach. The checks that need the allow-list live in ``qualitygate.callback_policy``."""

    group: str = Field(min_length=1)
    consumer: str  # "" means host-pid
    callbacks: dict[str, CallbackSettings]
    routes: dict[str, str]
    default_callback: str  # "" means none: results without a route are skipped
    max_attempts: int = Field(ge=1, le=1000)
    backoff_base_s: PositiveFloat
    backoff_max_s: PositiveFloat
    timeout_s: PositiveFloat
    concurrency: int = Field(ge=1, le=256)
    batch_size: int = Field(ge=1, le=10000)
    block_ms: int = Field(ge=1, le=60000)
    allow_hosts: list[str]
    allow_private: list[str]
    metrics_port: int = Field(ge=0, le=65535)

    @model_validator(mode="after")
    def _consistent(self) -> DeliverySettings:
        from qualitygate.callback_policy import check_delivery

        check_delivery(self)
        return self


# Sections that change what a grade means; their hash is a result's config_version.
_GRADING_SECTIONS = (
    "model",
    "prompts",
    "levels",
    "decisions",
    "languages",
    "recommendations",
    "detection",
    "rules",
)


class Settings(BaseSettings):
    """The effective configuration: defaults file, then a user file, then QG_ variables."""

    model_config = SettingsConfigDict(
        env_prefix="QG_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    model: ModelSettings
    prompts: dict[str, str]
    levels: LevelThresholds
    decisions: DecisionPolicy
    languages: dict[str, LanguageSettings]
    detection: DetectionSettings
    recommendations: RecommendationSettings
    rules: RulesSettings
    limits: Limits
    redis: RedisSettings
    worker: WorkerSettings
    streams: StreamSettings
    calibration_fit: CalibrationFitSettings
    api: ApiSettings
    delivery: DeliverySettings
    intake: IntakeSettings
    guard: GuardSettings

    @field_validator("prompts")
    @classmethod
    def _prompts_have_default(cls, prompts: dict[str, str]) -> dict[str, str]:
        if "default" not in prompts:
            raise ValueError("needs a 'default' prompt for content types without their own")
        if any(not text.strip() for text in prompts.values()):
            raise ValueError("a prompt must not be empty")
        return prompts

    @field_validator("languages")
    @classmethod
    def _default_language_complete(
        cls, languages: dict[str, LanguageSettings]
    ) -> dict[str, LanguageSettings]:
        default = languages.get("default")
        if default is None:
            raise ValueError("needs a 'default' entry")
        missing = [name for name, value in default if value is None]
        if missing:
            raise ValueError(f"default: must set {', '.join(missing)} (other languages inherit it)")
        return languages

    @model_validator(mode="after")
    def _callbacks_exist(self) -> Settings:
        """Every callback an API key or an intake source names is a delivery.callbacks
        entry: a typo would otherwise send that CMS's results nowhere, silently."""
        named = [(f"api.keys.{i}.callback", key.callback) for i, key in enumerate(self.api.keys)]
        named += [
            (f"intake.sources.{n}.callback", s.callback) for n, s in self.intake.sources.items()
        ]
        for field, callback in named:
            if callback is not None and callback not in self.delivery.callbacks:
                raise ValueError(f"{field}: {callback!r} is not an entry of delivery.callbacks")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files: list[Path] = [default_config_path()]
        user_file = os.environ.get(CONFIG_ENV_VAR)
        if user_file:
            files.append(Path(user_file))
        yaml_source = InitSettingsSource(settings_cls, init_kwargs=read_layers(files))
        return (init_settings, env_settings, yaml_source)

    def language(self, code: str) -> LanguageSettings:
        """A language's options with what it leaves out filled from ``default``."""
        default = self.languages["default"]
        own = self.languages.get(code)
        if own is None:
            return default
        merged = default.model_dump() | own.model_dump(exclude_none=True)
        return LanguageSettings.model_validate(merged)

    def prompt_for(self, content_type: str) -> str:
        return self.prompts.get(content_type, self.prompts["default"])

    def public_dump(self) -> dict[str, Any]:
        """The effective config as plain data, with secrets masked."""
        data = self.model_dump(mode="json")
        data["redis"]["url"] = mask_url(self.redis.url)
        if self.redis.sentinel.password:
            data["redis"]["sentinel"]["password"] = MASK
        return data

    @cached_property
    def version(self) -> str:
        """A short hash of the sections that change grades, echoed in every result."""
        data = self.model_dump(mode="json", include=set(_GRADING_SECTIONS))
        if self.guard.enabled:  # a guard that is off leaves every version as it was
            data["guard"] = self.guard.model_dump(mode="json")
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# A calibration is replaced whole by a later layer, never merged key by key: a table
# written over the default logistic calibration must not inherit its center and scale.
_REPLACED_WHOLE = frozenset({"calibration"})


def merge_layer(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``layer`` deep-merged over ``base``; mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in layer.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict) and key not in _REPLACED_WHOLE:
            merged[key] = merge_layer(below, value)
        else:
            merged[key] = value
    return merged


def read_layers(files: list[Path]) -> dict[str, Any]:
    """The YAML files merged in order, later wins."""
    merged: dict[str, Any] = {}
    for path in files:
        try:
            with open(path, encoding="utf-8") as stream:
                data = yaml.safe_load(stream)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path}: not valid YAML ({exc})") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: expected a mapping of sections at the top")
        merged = merge_layer(merged, data)
    return merged


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the effective settings; a bad file or value raises ConfigError naming the field."""
    previous = os.environ.get(CONFIG_ENV_VAR)
    try:
        if config_file is not None:
            path = Path(config_file)
            if not path.is_file():
                raise ConfigError(f"config file {path} does not exist")
            os.environ[CONFIG_ENV_VAR] = str(path)
        elif previous and not Path(previous).is_file():
            raise ConfigError(f"{CONFIG_ENV_VAR}={previous} does not exist")
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix="config")) from None
    finally:
        if config_file is not None:
            if previous is None:
                os.environ.pop(CONFIG_ENV_VAR, None)
            else:
                os.environ[CONFIG_ENV_VAR] = previous


def format_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: the dotted field path, then pydantic's reason."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
        field = f"{prefix}.{location}" if prefix and location else (location or prefix)
        reason = error["msg"]
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{field}: {reason}" if field else reason)
    return "; ".join(lines)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in {"logistic", "table", "hmac", "bearer"}
