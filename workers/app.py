"""The Celery app, built from the one settings model, and the worker's process lifecycle.

Owns every Celery and kombu setting the worker runs with (on top of the ones it shares with
producers, ``qualitygate.protocol.celery_settings``) and the signal handlers that
load the model in each pool process (after the fork), serve metrics from the main process
and format logs. ``celery -A workers.app worker`` and ``celery -A workers.app flower``
work with the module-level ``app``; ``qualitygate worker`` is the same app with the right
command line. The pool to use on a GPU is prefork with one process per GPU
(``--concurrency 1`` per worker, ``CUDA_VISIBLE_DEVICES`` picking the GPU): the model is
loaded in that one child, and time limits work only with prefork.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from celery import Celery, signals

from qualitygate.config import Settings, load_settings, mask_url
from qualitygate.protocol import SAFE_CONTENT, SERIALIZER, broker_options, celery_settings
from qualitygate.redis_connect import connect
from qualitygate.redis_url import is_sentinel_url
from workers import heartbeat, logs, metrics
from workers.backpressure import Backpressure
from workers.inbound import cap_decompression
from workers.redeliver import Redeliverer
from workers.runtime import configure, runtime
from workers.tasks import register_tasks

logger = logging.getLogger("qualitygate.worker")


def celery_config(settings: Settings) -> dict[str, Any]:
    worker = settings.worker
    return celery_settings(settings) | {
        "broker_transport_options": broker_options(settings)
        | {
            # A message held (buffered or being graded) longer than this is delivered again.
            "visibility_timeout": worker.visibility_timeout_s,
            # Sweep for messages a dead worker held every interval (kombu 5.7; older kombu
            # sweeps about every 100 s whatever this says).
            "unacked_restore_interval": worker.unacked_restore_interval_s,
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": worker.unacked_mutex_expire_s,
        },
        # kombu's Redis (or Sentinel) transport, surviving entries that are not kombu messages.
        "broker_transport": "workers.transport:"
        + ("SentinelTransport" if is_sentinel_url(settings.redis.url) else "Transport"),
        "accept_content": [SERIALIZER],
        "result_accept_content": [SERIALIZER],
        "event_serializer": SERIALIZER,
        "result_serializer": SERIALIZER,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Redis counts reserved-but-unacknowledged messages against the prefetch limit: one
        # batch being graded plus one filling up needs room for both.
        "worker_prefetch_multiplier": worker.batch_size * worker.prefetch_batches,
        "task_soft_time_limit": worker.soft_time_limit_s,
        "task_time_limit": worker.time_limit_s,
        "worker_send_task_events": True,
        "task_send_sent_event": False,
        "worker_proc_alive_timeout": worker.process_start_timeout_s,
        "worker_consumer": "workers.consumer:QualityGateConsumer",
        "worker_hijack_root_logger": True,
        "worker_redirect_stdouts": False,
    }


class UnsafeSerializerError(RuntimeError):
    """The Celery config lets the worker decode something other than JSON."""


def refuse_unsafe_serializers(conf: Any) -> None:
    """Fail unless every serializer setting is JSON. The settings model has no key for
    them, but ``celery --config MODULE`` or ``app.conf.update`` could still change them."""
    unsafe = {
        name: value
        for name in ("accept_content", "result_accept_content")
        if (value := conf.get(name)) is None or set(value) - SAFE_CONTENT
    } | {
        name: value
        for name in ("task_serializer", "result_serializer", "event_serializer")
        if conf.get(name) not in SAFE_CONTENT
    }
    if unsafe:
        found = ", ".join(f"{name}={value!r}" for name, value in sorted(unsafe.items()))
        raise UnsafeSerializerError(
            f"refusing to start: the worker accepts JSON only, but the config sets {found}; "
            "pickle from the queue would run code"
        )


def create_app(settings: Settings) -> Celery:
    configure(settings)
    # kombu inflates a compressed body as it receives it, before any check of ours.
    cap_decompression(settings.limits)
    app = Celery("qualitygate", set_as_current=True)
    app.conf.update(celery_config(settings))
    register_tasks(app, settings)
    return app


@signals.after_setup_logger.connect
def _format_logs(logger: logging.Logger, **_: Any) -> None:
    logs.apply_format(logger, runtime().settings.worker)


@signals.after_setup_task_logger.connect
def _format_task_logs(logger: logging.Logger, **_: Any) -> None:
    logs.apply_format(logger, runtime().settings.worker)


@signals.worker_init.connect
def _json_only(sender: Any = None, **_: Any) -> None:
    """The last look at the final config before the worker consumes anything. A signal
    handler's exception is only logged by Celery, so this exits the process itself."""
    conf = sender.app.conf if sender is not None else app.conf
    try:
        refuse_unsafe_serializers(conf)
    except UnsafeSerializerError as exc:
        logger.critical("%s", exc)
        print(f"error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)


@signals.worker_init.connect
def _fresh_metrics(**_: Any) -> None:
    metrics.forget_other_processes()


@signals.worker_process_init.connect
def _load_model(**_: Any) -> None:
    """Each pool process forks its prepare processes, if any, while it has no threads yet,
    then loads its own model, after the fork (CUDA must not cross it), and follows the live
    config version from then on (its metric shows the version at once)."""
    _ = runtime().prepare_pool
    _ = runtime().gate
    _ = runtime().live


@signals.worker_process_shutdown.connect
def _forget_process_metrics(**_: Any) -> None:
    metrics.process_exited(os.getpid())


@signals.worker_ready.connect
def _serve_metrics(sender: Any = None, **_: Any) -> None:
    settings = runtime().settings
    celery_app = getattr(sender, "app", None) or app
    hostname = getattr(sender, "hostname", None) or celery_app.conf.get("worker_hostname", "")
    backpressure = Backpressure(celery_app, settings, connect(settings.redis), hostname)
    backpressure.start()
    # While paused, items wait in the queue on purpose: sending them again is no help.
    redeliverer = Redeliverer(celery_app, settings, connect(settings.redis))
    redeliverer.hold = lambda: backpressure.paused
    redeliverer.start()
    port = metrics.serve(settings)
    heartbeat.start_for(sender, settings)
    logger.info(
        "worker ready: queue %s on %s, batches of %d or every %d ms, metrics on %s",
        settings.worker.queue,
        mask_url(settings.redis.url),
        settings.worker.batch_size,
        settings.worker.flush_ms,
        f"port {port}" if port else "no port (off)",
    )


@signals.worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    heartbeat.stop_current()


app = create_app(load_settings())
