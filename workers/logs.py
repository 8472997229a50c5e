"""The worker's log format: Celery's text lines, or one JSON object per line.

Owns the formatter and the fields every grading log line carries. Content text never goes
into a log line unless ``worker.log_content`` is true; ids, counts and codes do.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from qualitygate.config import WorkerSettings

JSON_FIELDS = "{asctime}{levelname}{name}{processName}{process}{message}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
    )


def apply_format(logger: logging.Logger, worker: WorkerSettings) -> None:
    """Give the handlers Celery set up the configured format (text stays Celery's)."""
    if worker.log_format != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(json_formatter())


def content_field(text: str, worker: WorkerSettings) -> dict[str, str]:
    """The content to add to a log line's extra fields: nothing unless asked for."""
    return {"content": text} if worker.log_content else {}
